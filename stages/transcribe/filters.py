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
MAX_COMPRESSION = 2.4


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
    if compression_ratio > MAX_COMPRESSION and avg_logprob < LOW_CONFIDENCE_LOGPROB:
        return False  # a repetition loop
    unsure = avg_logprob < LOW_CONFIDENCE_LOGPROB or no_speech_prob > 0.3
    return not (unsure and is_known_hallucination(text, language))
