"""Where to cut the audio between two Whisper calls, so that no word is cut in two.

A call covers up to `max_window_s` (Whisper's 30 s window, the size it was trained
on) from the cursor, the end of the last final word. It ends in the last pause
found by Silero VAD; the unfinished tail is carried into the next call. When
nobody pauses for 30 s, the last segment is left for the next call instead.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from faster_whisper.vad import VadOptions, get_speech_timestamps

from stages.wavio import RATE, Audio

SPEECH_PAD_MS = 100
MAX_TRAILING_CUT_S = 1.0


@dataclass(frozen=True)
class Span:
    start: float  # seconds from the start of the analysed audio
    end: float


def speech_spans(audio: Audio, pause_ms: int) -> list[Span]:
    """Speech regions; any gap between two of them is a pause of at least `pause_ms`."""
    options = VadOptions(min_silence_duration_ms=pause_ms, speech_pad_ms=SPEECH_PAD_MS)
    return [Span(c["start"] / RATE, c["end"] / RATE) for c in get_speech_timestamps(audio, options)]


def choose_cut(spans: list[Span], length: float, earliest: float) -> float | None:
    """The latest point >= `earliest` that falls in a pause, or None.

    Trailing silence counts as a pause only when it is long enough that the
    speaker has really stopped (the VAD needs `pause_ms` of it to say so).
    """
    candidates = [(a.end + b.start) / 2 for a, b in itertools.pairwise(spans)]
    if spans and length - spans[-1].end >= SPEECH_PAD_MS / 1000 * 3:
        candidates.append(min(spans[-1].end + MAX_TRAILING_CUT_S, (spans[-1].end + length) / 2))
    good = [c for c in candidates if earliest <= c < length]
    return max(good) if good else None
