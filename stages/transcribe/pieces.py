"""What a decode gives, as the transcriber passes it around: words, pieces (segments) and a call's result."""

from __future__ import annotations

from dataclasses import dataclass, field

from stages.transcribe.windowing import Span

UNSURE_WORD = 0.5


@dataclass(frozen=True)
class Word:
    """One word with its aligned time, seconds from the session start."""

    start: float
    end: float
    text: str
    probability: float = 1.0  # the decoder's, for this word's tokens


@dataclass(frozen=True)
class Piece:
    """One recognised segment, times in seconds from the session start."""

    start: float
    end: float
    text: str
    confidence: float
    tokens: tuple[int, ...] = ()  # what the next call may be conditioned on
    resets: bool = False  # a loop, or decoded at a high temperature: not trusted as a prompt
    loop: bool = False  # a repetition loop, cut back to one copy
    words: tuple[Word, ...] = ()  # aligned words: what the fidelity checks compare with the audio

    @property
    def unsure(self) -> float:
        """The share of its words the decoder was unsure of (probability under UNSURE_WORD)."""
        return sum(w.probability < UNSURE_WORD for w in self.words) / len(self.words) if self.words else 0.0


@dataclass(frozen=True)
class Decoded:
    """What one call gave: its pieces, where the next call starts when this one ended early
    (seconds into its audio: a repetition loop, or a last segment left to be redone), and the
    stretches of speech that no decode could put into words (absolute times)."""

    pieces: list[Piece]
    until: float | None = None
    gaps: list[Span] = field(default_factory=list)
