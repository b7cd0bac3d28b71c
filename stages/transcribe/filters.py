"""Gates against invented text: Whisper's confidence, and its known hallucinated phrases.

Whisper trained on subtitled video and fills silence or noise with their credits.
VAD removes most non-speech before decoding; these gates catch what slips through.
"""

from __future__ import annotations

import re
import unicodedata

from stages.config import TranscribeConfig

# Phrases Whisper produces on silence/noise, per language (normalised: lowercase, no accents/punctuation).
HALLUCINATIONS: dict[str, tuple[str, ...]] = {
    "fr": (
        "sous titres realises par la communaute d amara org",
        "sous titres realises para la communaute d amara org",
        "sous titrage st 501",
        "sous titrage societe radio canada",
        "sous titrage fr",
        "merci d avoir regarde cette video",
        "merci d avoir regarde",
        "abonnez vous",
        "n oubliez pas de vous abonner",
        "merci de votre attention",
        "sous titres par",
    ),
    "en": (
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "please subscribe",
        "subscribe to my channel",
        "like and subscribe",
        "subtitles by the amara org community",
        "transcribed by",
        "see you in the next video",
        "thank you",
        "bye",
        "you",
    ),
}
# Always a hallucination, whatever the confidence: nobody says these in a meeting.
ALWAYS = ("amara org", "sous titrage st", "radio canada")

LOW_CONFIDENCE_LOGPROB = -0.5
MAX_COMPRESSION = 2.4  # above this gzip ratio a segment is a repetition loop (Whisper's own threshold)
LOOP_MIN_COPIES = 3
LOOP_MIN_WORDS = 6
LOOP_MAX_UNIT = 12
# A loop inside one word: "BUBUJADIC-MANTI-MANTI-MANTI-…-MA" (a part said three times or more, maybe cut).
HYPHEN_LOOP = re.compile(r"\b(\w+)(?:-\1\b){2,}(?:-(\w+))?", re.IGNORECASE)


def normalise(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def is_known_hallucination(text: str, language: str) -> bool:
    norm = normalise(text)
    if not norm:
        return True
    phrases = HALLUCINATIONS.get(language, ()) + HALLUCINATIONS["en"] + HALLUCINATIONS["fr"]
    return any(norm == p or (len(p) > 12 and p in norm and len(norm) < len(p) + 25) for p in phrases)


def keep(text: str, avg_logprob: float, no_speech_prob: float, compression_ratio: float,
         language: str, cfg: TranscribeConfig) -> bool:
    """False for a segment that is probably not what was said."""
    norm = normalise(text)
    if not norm:
        return False
    if any(p in norm for p in ALWAYS):
        return False
    if no_speech_prob > cfg.no_speech_threshold and avg_logprob < cfg.log_prob_threshold:
        return False
    if is_loop(compression_ratio) and avg_logprob < LOW_CONFIDENCE_LOGPROB:
        return False  # an unsure repetition loop
    unsure = avg_logprob < LOW_CONFIDENCE_LOGPROB or no_speech_prob > 0.3
    return not (unsure and is_known_hallucination(text, language))


def is_loop(compression_ratio: float) -> bool:
    return compression_ratio > MAX_COMPRESSION


def collapse_loops(text: str) -> str:
    """One copy of each phrase said three times or more in a row, and no trailing part copy.

    A confident repetition loop ("on s'ouvre, on s'ouvre, ...") keeps the real words
    before it; what the loop hid is lost either way.
    """
    words = collapse_hyphen_loops(text).split()
    keys = [normalise(w) for w in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        unit, copies = _repeat_at(keys, i)
        if not unit:
            out.append(words[i])
            i += 1
            continue
        out.extend(words[i:i + unit])
        i += unit * copies
        if cut_copy(keys[i:], keys[i - unit:i]):
            break  # the loop was cut off mid-copy at the end of the window
    return " ".join(out)


def collapse_hyphen_loops(text: str) -> str:
    """One copy of a part repeated inside a hyphenated word ("MANTI-MANTI-MANTI-MA" -> "MANTI")."""
    return HYPHEN_LOOP.sub(_one_part, text)


def _one_part(m: re.Match[str]) -> str:
    cut = m.group(2)
    return m.group(1) if cut is None or m.group(1).lower().startswith(cut.lower()) else f"{m.group(1)}-{cut}"


def cut_copy(rest: list[str], phrase: list[str]) -> bool:
    """Is `rest` the start of `phrase`, its last word maybe cut short?"""
    if not rest or len(rest) > len(phrase):
        return False
    *whole, last = rest
    return whole == phrase[:len(whole)] and phrase[len(whole)].startswith(last)


def _repeat_at(keys: list[str], i: int) -> tuple[int, int]:
    """(unit length, copies) of the shortest phrase repeated from `i`, or (0, 0)."""
    for unit in range(1, LOOP_MAX_UNIT + 1):
        phrase = keys[i:i + unit]
        if len(phrase) < unit:
            break
        copies = 1
        while keys[i + copies * unit:i + (copies + 1) * unit] == phrase:
            copies += 1
        if copies >= LOOP_MIN_COPIES and copies * unit >= LOOP_MIN_WORDS:
            return unit, copies
    return 0, 0
