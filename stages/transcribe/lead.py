"""A live call's lead: final audio heard again before its new audio, and where its new words begin.

A live call gets about 10 s of new audio, too little context for Whisper: alone, the French Kokoro dev
meeting came out at 24.9 % WER live against 18.1 % imported in 30-s calls. So a call also hears up to
`live_lead_s` of the audio before it, already written by earlier calls, and only its words after that
lead are new. Where they begin is found first by the text (the last final words, said again near the
seam), then by the words' times: a word's aligned time can be off by a few tenths of a second, enough
to write a word twice or to lose one at a seam placed in a short pause.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from stages.transcribe.pieces import Piece, Word

ANCHOR_WORDS = (4, 3, 2)  # the last final words looked for, longest first
ANCHOR_NEAR_S = 1.5  # ...ending this close to the seam
SAID_KEPT = max(ANCHOR_WORDS)


def _plain(word: str) -> str:
    return re.sub(r"[^\w']+", "", word.lower())


def first_new(words: list[Word], seam: float, said: list[str]) -> int:
    """How many of a call's first `words` the final text before `seam` already holds.

    The last words said before the seam (`said`), found again in the call's words ending near the seam, end
    the old text; without them, a word is old when its middle comes before the seam."""
    plain = [_plain(w.text) for w in words]
    for n in ANCHOR_WORDS:
        tail = [_plain(w) for w in said[-n:]]
        if len(tail) < n or not all(tail):
            continue
        ends = [i + n for i in range(len(words) - n + 1)
                if plain[i:i + n] == tail and abs(words[i + n - 1].end - seam) <= ANCHOR_NEAR_S]
        if ends:
            return min(ends, key=lambda k: abs(words[k - 1].end - seam))
    return sum((w.start + w.end) / 2 < seam for w in words)


def after(pieces: list[Piece], seam: float, said: list[str], encode: Callable[[str], tuple[int, ...]]) -> list[Piece]:
    """What `pieces` say that is new after `seam` (see `first_new`). A piece cut in two is re-encoded for the
    prompt; a piece whose words do not spell its text (a cut loop) is kept whole or dropped by its middle."""
    spelled = [p.spelled for p in pieces]
    old = first_new([w for p, ok in zip(pieces, spelled, strict=True) if ok for w in p.words], seam, said)
    out = []
    for piece, ok in zip(pieces, spelled, strict=True):
        if not ok:
            if (piece.start + piece.end) / 2 >= seam:
                out.append(replace(piece, start=max(seam, piece.start)))
            continue
        drop = min(old, len(piece.words))
        old -= drop
        kept = piece.words[drop:]
        if not drop:
            out.append(replace(piece, start=max(seam, piece.start)))
        elif kept:
            text = "".join(w.text for w in kept).strip()
            out.append(replace(piece, start=max(seam, kept[0].start), text=text, tokens=encode(text), words=kept))
    return out


LEAD_PAD_S = 0.2  # a lead starts this much before its first piece (a segment's start can be a little late)
MIN_LEAD_S = 1.0  # a shorter lead is not worth it


class Recent:
    """One channel's last final pieces, in memory: where a lead may start (a piece's start), the prompt that went
    before that piece (so the lead's words are not in the prompt too), and the last words said."""

    def __init__(self) -> None:
        self.starts: list[tuple[float, tuple[int, ...]]] = []
        self.said: list[str] = []

    def add(self, piece: Piece, context_before: list[int]) -> None:
        # no lead over a loop or a sampled decode: heard again, it may loop again (and it resets the prompt)
        self.starts = [] if piece.resets else [*self.starts, (piece.start, tuple(context_before))]
        self.said = [*self.said, *([w.text for w in piece.words] if piece.spelled else piece.text.split())]
        self.said = self.said[-SAID_KEPT:]

    def forget_before(self, t: float) -> None:
        self.starts = [s for s in self.starts if s[0] >= t]

    def lead(self, earliest: float, start: float) -> tuple[float, list[int], list[str]] | None:
        """(where to start hearing, the prompt, the last words said) for a call from `start`, hearing no earlier
        than `earliest`; None without a piece to start at."""
        for at, context in self.starts:
            if earliest <= at - LEAD_PAD_S and at < start - MIN_LEAD_S:
                return at - LEAD_PAD_S, list(context), list(self.said)
        return None
