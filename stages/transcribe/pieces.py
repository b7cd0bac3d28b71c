"""What a decode gives, as the transcriber passes it around: words, pieces (segments) and a call's result."""

from __future__ import annotations

from dataclasses import dataclass, field

from stages.transcribe.windowing import Span

UNSURE_WORD = 0.5
SENTENCE_MIN_S = 1.0  # a shorter sentence stays with its neighbour: too short to tell its voice
SENTENCE_ENDS = (".", "?", "!", "…")
NOT_AN_END = {"mr.", "mrs.", "ms.", "dr.", "st.", "m.", "mme.", "mlle.", "etc.", "vs.", "cf."}


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
    def spelled(self) -> bool:
        """Its words spell its text, so it can be cut by its words (a cut loop's cannot)."""
        return bool(self.words) and "".join(w.text for w in self.words).strip() == self.text.strip()

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


def _ends_sentence(word: str) -> bool:
    text = word.strip().rstrip("\"'»)]")
    if not text.endswith(SENTENCE_ENDS) or text.lower() in NOT_AN_END:
        return False
    return not (len(text) == 2 and text[0].isupper())  # an initial ("J. Smith")


def sentences(piece: Piece) -> list[tuple[float, float, str]]:
    """(start, end, text) of each sentence of `piece`, from its aligned words.

    Whisper often runs one segment across a change of speaker ("Can you send it? Yes, tonight."),
    and a segment gets one voice; its sentences can each get their own. A sentence shorter than
    SENTENCE_MIN_S stays with its neighbour, and a piece whose words do not spell its text (a cut
    loop) stays whole."""
    words = piece.words
    whole = [(piece.start, piece.end, piece.text)]
    if len(words) < 2 or not piece.spelled:
        return whole
    parts: list[list[Word]] = [[]]
    for k, word in enumerate(words):
        parts[-1].append(word)
        rest = words[k + 1:]
        if (rest and _ends_sentence(word.text) and word.end - parts[-1][0].start >= SENTENCE_MIN_S
                and rest[-1].end - rest[0].start >= SENTENCE_MIN_S):
            parts.append([])
    if len(parts) == 1:
        return whole
    out = []
    for k, part in enumerate(parts):
        start = piece.start if k == 0 else part[0].start
        end = piece.end if k == len(parts) - 1 else part[-1].end
        out.append((start, max(start, end), "".join(w.text for w in part).strip()))
    return out
