"""Speaker echo: the other side, played by the speakers, leaks into the microphone.

The same words then come out of both channels. The system channel is the clean
copy, so a mic segment that overlaps a system segment in time and says nearly
the same thing is dropped.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from stages.models import Segment
from stages.transcribe.filters import normalise

MIN_OVERLAP = 0.3  # of the shorter segment
MIN_SIMILARITY = 0.6


def _overlap(a: Segment, b: Segment) -> float:
    shared = min(a.end, b.end) - max(a.start, b.start)
    shorter = max(1e-3, min(a.end - a.start, b.end - b.start))
    return max(0.0, shared) / shorter


def is_echo(mic: Segment, system: list[Segment]) -> bool:
    """The mic segment says what one system segment it overlaps says, or what they say together
    (the system channel may be cut by sentence, the mic's echo is not)."""
    text = normalise(mic.text)
    near = [s for s in system if _overlap(mic, s) >= MIN_OVERLAP]
    together = [" ".join(s.text for s in near)] if len(near) > 1 else []
    return any(SequenceMatcher(None, text, normalise(other)).ratio() >= MIN_SIMILARITY
               for other in [*(s.text for s in near), *together])


def drop_echo(segments: list[Segment]) -> list[Segment]:
    system = [s for s in segments if s.channel == "system"]
    return [s for s in segments if s.channel == "system" or not is_echo(s, system)]
