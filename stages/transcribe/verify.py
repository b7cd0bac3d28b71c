"""The audio checks of a call's text: speech it left without words is decoded again, or kept as a gap.

Two ways Whisper loses speech, both found by comparing word times with the speech that
Silero VAD hears (`fidelity`), both repaired by decoding the stretch again on its own,
without the prompt, which is then usually heard:

- it skips a stretch: no word covers it (`fill`);
- it times one sentence over two and skips the other: its words are stretched over the
  speech they do not hold, so nothing looks uncovered (`recheck`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from stages.transcribe.fidelity import (
    COVER_TOLERANCE_S,
    MIN_UNCOVERED_S,
    plausible_cover,
    settle_repeats,
    stretched,
    uncovered,
)
from stages.transcribe.pieces import Piece, Word
from stages.transcribe.windowing import Span
from stages.wavio import RATE, Audio

log = logging.getLogger("transcribe")
REDECODE_PAD_S = 0.3  # audio kept around a stretch decoded again on its own
FILL_TEMPERATURES = [0.4, 0.8]  # a skipped stretch that greedy decoding still leaves empty is sampled
FILL_CONTEXT_S = 3.0  # first with this much of the audio before it: Whisper hears a short clip alone badly
MIN_PROGRESS_S = 1.0  # a call ended early (a loop, speech left to the next call) must have moved this far
SAME_CLIP_S = 0.5  # a clip with less context than this more is the same clip: its greedy decode is not tried again

DecodeAlone = Callable[[Audio, float, list[float]], list[Piece]]  # (clip, its offset, temperatures)


class Checks:
    """The checks of one call: its audio, where it starts, the speech in it, and how to decode a stretch."""

    def __init__(self, decode: DecodeAlone, audio: Audio, offset: float, speech: list[Span]) -> None:
        self.decode, self.audio, self.offset, self.speech = decode, audio, offset, speech

    def _clip(self, start: float, end: float) -> tuple[float, float]:
        """[start, end] (session times) padded a little, as seconds into the call's audio."""
        return (max(0.0, start - self.offset - REDECODE_PAD_S),
                min(len(self.audio) / RATE, end - self.offset + REDECODE_PAD_S))

    def _alone(self, start: float, end: float, temperatures: list[float]) -> list[Piece]:
        """The pieces of [start, end] (session times, padded a little) decoded on their own."""
        a, b = self._clip(start, end)
        return self.decode(self.audio[round(a * RATE):round(b * RATE)], self.offset + a, temperatures)

    def heard_alone(self, start: float, end: float) -> list[Word]:
        """The words of [start, end] decoded on their own (greedy), their repetitions judged."""
        return heard(self._alone(start, end, [0.0]), self.speech)[0]

    def recheck(self, pieces: list[Piece]) -> list[Piece]:
        """Decode again, on its own, a piece whose word times are implausible; keep what covers more speech.

        Whisper sometimes times one sentence over two (it skipped the other, often a near-copy of
        the one before), and the alignment then stretches its words over the speech it skipped,
        so that no stretch looks uncovered.
        """
        out: list[Piece] = []
        for piece in pieces:
            if not stretched(list(piece.words), self.speech):
                out.append(piece)
                continue
            got = [p for p in settle_repeats(self._alone(piece.start, piece.end, [0.0]), self.speech)
                   if piece.start - COVER_TOLERANCE_S <= p.start < piece.end]
            before = plausible_cover(list(piece.words), self.speech)
            if plausible_cover([w for p in got for w in p.words], self.speech) >= before + MIN_UNCOVERED_S:
                log.info("%.1f-%.1f s: %r timed over speech it does not hold; decoded on its own: %r", piece.start,
                         piece.end, piece.text, " ".join(p.text for p in got))
                out += [replace(p, tokens=()) for p in got]
            else:
                out.append(piece)
        return out

    def fill(self, pieces: list[Piece], end: float) -> tuple[list[Piece], list[Span]]:
        """Decode again, on its own, each stretch of speech before `end` that no word covers.

        Whisper skips speech now and then: the start of a window that begins mid-sentence, a
        sentence between two others (on a 21-minute import, three sentences of an action item
        in one 28 s call). Alone, without the prompt, it is usually heard; when even a sampled
        decode gives nothing, the stretch is kept as a gap, so the transcript says that
        something was said there rather than pretending it was silence.

        Several stretches are first decoded together, in one clip from just before the first to the end
        of the last: a pass that looped leaves most of its call uncovered, and each stretch on its own
        costs a whole encode (0.9 s on one thread) and overlaps its neighbours' context; live, the
        French bench meeting's slowest call was four to five such decodes after a loop.
        """
        words = [w for p in pieces for w in p.words]
        gaps: list[Span] = []
        stretches = uncovered(self.speech, words, self.offset, end)
        together = None
        if len(stretches) > 1:
            together = heard(self._alone(stretches[0].start - FILL_CONTEXT_S, stretches[-1].end, [0.0]), self.speech)
        for stretch in stretches:
            found = found_in(together, stretch, words) if together is not None else None
            found = found or self._redecode(stretch, words, context=together is None)
            if found is None:
                log.warning("%.1f-%.1f s: speech that no decode put into words: kept as a gap",
                            stretch.start, stretch.end)
                gaps.append(stretch)
                continue
            log.info("%.1f-%.1f s: speech the call skipped, decoded on its own: %r", stretch.start, stretch.end,
                     found.text)
            pieces.append(found)
            words += found.words
        pieces.sort(key=lambda p: p.start)
        return pieces, gaps

    def _redecode(self, stretch: Span, words: list[Word], context: bool) -> Piece | None:
        """The words that a decode without the prompt finds in `stretch`: first with the audio just before it
        (unless it was decoded with its neighbours, which gave it that), then the stretch alone, then sampled;
        None if none."""
        attempts = [(FILL_CONTEXT_S, [0.0])] if context else []
        attempts += [(0.0, [0.0]), (0.0, FILL_TEMPERATURES)]
        tried: list[tuple[float, list[float]]] = []
        for before, temperatures in attempts:
            begins = self._clip(stretch.start - before, stretch.end)[0]
            if any(abs(begins - b) < SAME_CLIP_S and t == temperatures for b, t in tried):
                continue  # the call's audio began too soon to give it context: the same clip, the same decode
            tried.append((begins, temperatures))
            found = found_in(heard(self._alone(stretch.start - before, stretch.end, temperatures), [stretch]),
                             stretch, words)
            if found is not None:
                return found
        return None


def hand_on(pieces: list[Piece], speech: list[Span], offset: float, end: float) -> tuple[list[Piece], float] | None:
    """A live call that looped: its pieces before the first speech it left without words, and where (seconds
    into its audio) the next call starts to decode that speech; None if that is too soon to move on.

    After a loop, most of the call's speech is uncovered, and decoded alone it often loops again: beside a
    video call, the French bench meeting's slowest live calls were a looping main pass (12-14 s on one
    thread) and then 14-21 s of re-decodes, most of which looped again. The next call decodes that
    audio anyway, with a fresh prompt after a loop and the audio after it as context, for the cost of its
    words: the encoder pass is paid once per call whatever its length.
    """
    words = [w for p in pieces for w in p.words]
    stretches = uncovered(speech, words, offset, end)
    if not stretches:
        return None
    cut = max([stretches[0].start - REDECODE_PAD_S] + [w.end for w in words if w.end <= stretches[0].start])
    kept = []
    for piece in pieces:
        if piece.end > cut + COVER_TOLERANCE_S:
            cut = min(cut, piece.start)  # a piece on both sides of the stretch is decoded again, whole
            break
        kept.append(piece)
    if cut - offset < MIN_PROGRESS_S:
        return None
    log.info("%.1f-%.1f s: speech the looping call left without words goes to the next call", cut, end)
    return kept, cut - offset


Heard = tuple[list[Word], float]  # a re-decode's words, its repetitions judged, and its confidence


def heard(got: list[Piece], speech: list[Span]) -> Heard:
    """What a re-decode heard, its repetitions judged against `speech` once (the joint decode serves every
    stretch, and each judging logs what it cut)."""
    return [w for p in settle_repeats(got, speech) for w in p.words], min((p.confidence for p in got), default=0.0)


def found_in(decode: Heard, stretch: Span, words: list[Word]) -> Piece | None:
    """The words of a re-decode that fall in `stretch` and on no word already there, as one piece; None if none."""
    decoded, confidence = decode
    found = [w for w in decoded
             if stretch.start - COVER_TOLERANCE_S <= (w.start + w.end) / 2 <= stretch.end + COVER_TOLERANCE_S
             and not any(o.start < w.end and w.start < o.end for o in words)]
    if not found:
        return None
    return Piece(found[0].start, found[-1].end, "".join(w.text for w in found).strip(), confidence,
                 words=tuple(found))
