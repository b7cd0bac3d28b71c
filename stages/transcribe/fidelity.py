"""Judging a decode against its audio: speech it left without text, and repetitions the audio does not hold.

Whisper's text is checked against what Silero VAD hears, with word times from
faster-whisper's cross-attention alignment (`word_timestamps`):

- a stretch of speech (VAD) that no word covers was skipped: the engine decodes it
  again on its own, and marks it as a gap if that still gives nothing;
- a phrase written several times in a row is a repetition loop only where the audio
  does not hold it: copies that each sit on their own speech, at a rate people speak,
  are what was said ("Can you hear me? Can you hear me?"); copies packed into too
  short a stretch, or laid over silence, are Whisper repeating itself. Three copies or
  more are also heard again: their audio decoded on its own must say the phrase again.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from stages.transcribe import filters
from stages.transcribe.filters import collapse_hyphen_loops, cut_copy, normalise
from stages.transcribe.pieces import Piece, Word
from stages.transcribe.windowing import Span

log = logging.getLogger("transcribe")
COVER_TOLERANCE_S = 0.3  # a word's aligned time may miss its audio by this much
MIN_UNCOVERED_S = 1.0  # speech shorter than this without text is left alone (a breath, a click)
JOIN_S = 0.6  # uncovered speech this close together is one stretch, decoded at once
MAX_CHARS_PER_S = 25.0  # faster than anyone speaks (espeak's fast voices: about 17)
MIN_CRAMMED_CHARS = 5  # a word's worth of slack: one short word may be timed at a point
MIN_SPEECH_SHARE = 0.5  # a copy said aloud lies mostly on speech
MIN_COPY_SPEECH_S = 0.25
MAX_JUDGED_UNIT = 40  # a whole sentence said again, over several segments
WORD_S = (0.4, 0.1)  # the longest a word plausibly takes: 0.4 s + 0.1 s a letter ("la" 0.6 s, "conférence" 1.4 s)
STRADDLE_S = 0.3  # a word over this much of a pause, with speech on both sides, spans two utterances
MIN_REPEAT_WORDS = 4  # "I think I think": shorter repeats ("no no") are never judged
CONFIRM_COPIES = 3  # a repetition of this many copies, each on speech, is decoded again to confirm it

Confirm = Callable[[float, float], list[Word]]  # the words heard in [start, end] decoded on their own


def overlap(a0: float, a1: float, spans: list[Span]) -> float:
    """Seconds of `spans` inside [a0, a1]."""
    return sum(max(0.0, min(a1, s.end) - max(a0, s.start)) for s in spans)


def _merge(intervals: list[tuple[float, float]], join: float = 0.0) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1].end + join:
            out[-1] = Span(out[-1].start, max(out[-1].end, b))
        else:
            out.append(Span(a, b))
    return out


def uncovered(speech: list[Span], words: list[Word], start: float, end: float) -> list[Span]:
    """Stretches of speech between `start` and `end` that no word covers, each holding >= MIN_UNCOVERED_S of speech.

    Each stretch is returned as the span of its speech (its first to its last uncovered speech).
    """
    covered = _merge([(w.start - COVER_TOLERANCE_S, w.end + COVER_TOLERANCE_S) for w in words])
    parts: list[tuple[float, float]] = []
    for s in speech:
        a, b = max(s.start, start), min(s.end, end)
        for c in covered:
            if b <= a:
                break
            if c.end <= a or c.start >= b:
                continue
            if c.start > a:
                parts.append((a, c.start))
            a = max(a, c.end)
        if b > a:
            parts.append((a, b))
    stretches = _merge(parts, JOIN_S)
    return [s for s in stretches if overlap(s.start, s.end, [Span(a, b) for a, b in parts]) >= MIN_UNCOVERED_S]


def said_aloud(copy: list[Word], speech: list[Span]) -> bool:
    """Does this copy of a repeated phrase have speech of its own, long enough to say it?"""
    a, b = copy[0].start, copy[-1].end
    heard = overlap(a, b, speech)
    chars = len(" ".join(w.text.strip() for w in copy))
    return (heard >= MIN_COPY_SPEECH_S and heard >= MIN_SPEECH_SHARE * (b - a)
            and chars <= MAX_CHARS_PER_S * heard)


def plausible_cover(words: list[Word], speech: list[Span]) -> float:
    """Seconds of speech that the words cover, each word held no longer than it takes to say it."""
    held = _merge([(w.start - COVER_TOLERANCE_S, min(w.end, w.start + _longest(w)) + COVER_TOLERANCE_S)
                   for w in words])
    return sum(overlap(h.start, h.end, speech) for h in held)


def _longest(w: Word) -> float:
    return WORD_S[0] + WORD_S[1] * sum(c.isalnum() for c in w.text)


def crammed(piece: Piece) -> bool:
    """Is more text timed into this piece than anyone says in that time?

    What a decode of audio cut inside a word gives at its end: a sentence Whisper made up from the first
    syllable, its words squeezed into the last fraction of a second (a server, on the demo meeting: "We'll
    see you next week." in 0.44 s where "Same here" begins).
    """
    return len(piece.text.strip()) > MAX_CHARS_PER_S * max(piece.end - piece.start, 0.0) + MIN_CRAMMED_CHARS


def stretched(words: list[Word], speech: list[Span]) -> bool:
    """Is the alignment of these words implausible: a word held far longer than it takes to say, or laid
    over a pause between two utterances?

    That is what the alignment does when Whisper's segment spans speech its text does not hold (live,
    "la conférence débutera ..." timed over 6.6 s: "la" 1.4 s, "conférence" 2.7 s across a pause, where
    another sentence, "utilisateur se joindra à la conférence", was said and skipped).
    """
    pauses = [(a.end, b.start) for a, b in itertools.pairwise(speech) if b.start - a.end >= STRADDLE_S]
    for w in words:
        # the speech under it, not its length: the first word of an utterance is often timed from the silence
        # before it (the demo: "I" over 0.62 s, 0.2 s of it speech), which holds nothing to skip
        if overlap(w.start, w.end, speech) > _longest(w):
            return True
        for a, b in pauses:
            if w.start < a - STRADDLE_S and w.end > b + STRADDLE_S:
                return True
    return False


@dataclass(frozen=True)
class Repeat:
    """`copies` consecutive copies of a `unit`-word phrase, starting at word `first`."""

    first: int
    unit: int
    copies: int

    def copy(self, words: list[Word], k: int) -> list[Word]:
        i = self.first + k * self.unit
        return words[i:i + self.unit]


def repeats(words: list[Word], min_copies: int, min_words: int, max_unit: int) -> list[Repeat]:
    """Every run of a phrase said `min_copies` times or more in a row (at least `min_words` words in all)."""
    keys = [normalise(w.text) for w in words]
    found: list[Repeat] = []
    i = 0
    while i < len(keys):
        hit = None
        for unit in range(1, max_unit + 1):
            phrase = keys[i:i + unit]
            if len(phrase) < unit or not all(phrase):
                break
            copies = 1
            while keys[i + copies * unit:i + (copies + 1) * unit] == phrase:
                copies += 1
            if copies >= min_copies and copies * unit >= min_words:
                hit = Repeat(i, unit, copies)
                break
        if hit is None:
            i += 1
            continue
        found.append(hit)
        i += hit.unit * hit.copies
    return found


def confirmed(rep: Repeat, words: list[Word], later: list[int], confirm: Confirm) -> bool:
    """Does the audio of the `later` copies, decoded on its own, say the phrase again (half as often)?

    Whisper also loops over speech that says something else, each copy timed on speech at a plausible
    rate (espeak French: "de l'obligation" ten times over 26 s of five people's turns). Decoded again
    without the prompt, that audio gives other words; a phrase really said again comes out again."""
    start, end = rep.copy(words, later[0])[0].start, rep.copy(words, later[-1])[-1].end
    again = [k for k in (normalise(w.text) for w in confirm(start, end)) if k]
    phrase = [normalise(w.text) for w in rep.copy(words, 0)]
    found, i = 0, 0
    while i + rep.unit <= len(again):
        if again[i:i + rep.unit] == phrase:
            found, i = found + 1, i + rep.unit
        else:
            i += 1
    return found >= max(1, len(later) // 2)


def judge_repeats(words: list[Word], speech: list[Span],
                  confirm: Confirm | None = None) -> tuple[list[Word | None], set[int]]:
    """Each word as kept: None where it is a copy the audio does not hold, or a trailing cut copy
    of one; a hyphenated word's inner loop collapsed. Also the indices of words in repetitions
    the audio holds in full. The first copy of a phrase is kept, unless it goes on from a loop just cut: Whisper
    looping on a shorter part of its phrase ("Can everyone hear me? I have a new headset." eight times over
    silence, then "Can everyone hear me?" eleven times), which the audio must hold like any other copy.
    With `confirm`, CONFIRM_COPIES copies or more on speech must also be heard again (`confirmed`)."""
    out: list[Word | None] = [replace(w, text=collapse_hyphen_loops(w.text)) for w in words]
    real: set[int] = set()
    keys = [normalise(w.text) for w in words]
    for rep in repeats(words, 2, MIN_REPEAT_WORDS, MAX_JUDGED_UNIT):
        span = range(rep.first, rep.first + rep.unit * rep.copies)
        looping = rep.first > 0 and out[rep.first - 1] is None
        said = [(k == 0 and not looping) or said_aloud(rep.copy(words, k), speech) for k in range(rep.copies)]
        later = [k for k in range(1, rep.copies) if said[k]]
        if confirm is not None and len(later) + 1 >= CONFIRM_COPIES and not confirmed(rep, words, later, confirm):
            log.info("%d copies of %r over speech that says something else", len(later) + 1,
                     "".join(w.text for w in rep.copy(words, 0)).strip())
            said = [said[0]] + [False] * (rep.copies - 1)
        if all(said):
            real.update(span)
            continue
        for k, ok in enumerate(said):
            if not ok:
                for i in range(rep.first + k * rep.unit, rep.first + (k + 1) * rep.unit):
                    out[i] = None
        rest = keys[span.stop:span.stop + rep.unit]
        if cut_copy(rest, keys[rep.first:rep.first + rep.unit]):  # the loop was cut off mid-copy
            for i in range(span.stop, span.stop + len(rest)):
                out[i] = None
    return out, real


def settle_repeats(pieces: list[Piece], speech: list[Span], confirm: Confirm | None = None) -> list[Piece]:
    """A call's pieces with the repetitions their audio does not hold cut; `loop` marks the pieces cut.

    The whole call is judged at once: a loop often runs over several segments (live, six
    copies of one sentence in six segments), and Whisper's gzip ratio, which flags it, is
    one figure for all the text of a pass. A repetition loop never becomes the next call's
    prompt: conditioned on it, Whisper repeats it again, window after window (a 15-minute
    French import decoded at temperature 0 only went from 66.8 % to 93.4 % WER that way).
    A repetition the audio holds is what was said: it stays in the prompt, as whole-file
    decoding keeps it (resetting the prompt there lost the context that had Whisper spell a
    recurring phrase right: "the meeting about X" came out as "the meeting and out of X" five
    times in a 6-minute meeting).
    """
    if not any(p.words for p in pieces):  # no word times: judged on the text alone
        return [replace(p, text=filters.collapse_loops(p.text), resets=True) if p.loop else p for p in pieces]
    judged, real = judge_repeats([w for p in pieces for w in p.words], speech, confirm)
    out: list[Piece] = []
    i = 0
    for piece in pieces:
        n = len(piece.words)
        mine, shaky = judged[i:i + n], piece.loop and not real  # a real repetition explains a high gzip ratio
        i += n
        words = [w for w in mine if w is not None]
        if not words:
            if n:
                log.info("repetition loop dropped: %r", piece.text)
                continue
            out.append(piece)
            continue
        if words == list(piece.words):
            out.append(replace(piece, resets=piece.resets or shaky, loop=False))
            continue
        text = "".join(w.text for w in words).strip()
        log.info("repetition loop cut to %r", text)
        out.append(replace(piece, start=words[0].start, end=max(words[0].start, words[-1].end), text=text,
                           resets=True, loop=True, words=tuple(words)))
    return out
