"""The transcript as the transcriber leaves it in the spool, read incrementally.

Transcript files are immutable once written, so each is parsed once. What the
summarizer may rely on is the *covered* time: every segment that starts before
it is on disk, because every batch up to there has its file (or was quarantined).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

from stages.models import Segment, TranscriptBatch
from stages.spool import Session, read_model
from stages.summarize.schema import Gap

log = logging.getLogger("summarize")
INDEX_RE = re.compile(r"^(\d{6})\.")


class TranscriptView:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.batches: dict[int, TranscriptBatch] = {}
        self._bad: dict[int, tuple[int, int, int]] = {}  # unreadable files, by what they were on disk
        self._segments: list[Segment] | None = None
        self.covered_until = 0.0
        self.complete = False

    def refresh(self) -> bool:
        """Read new transcript files; True when something changed."""
        changed = False
        for index in self.session.transcribed_batches():
            if index in self.batches:
                continue
            path = self.session.transcript_path(index)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            # the transcriber moves a broken file to failed/ and writes the batch again: a new file, read it
            identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self._bad.get(index) == identity:
                continue
            try:
                doc = read_model(path, TranscriptBatch)
            except ValueError as exc:  # atomic writes make this rare: the transcriber quarantines it
                log.warning("transcript %06d unreadable, waiting for the transcriber: %s", index, exc)
                self._bad[index] = identity
                continue
            self._bad.pop(index, None)
            if doc is not None:
                self.batches[index] = doc
                self._segments = None
                changed = True
        complete = self.session.transcript_end_path.exists()
        if complete != self.complete:
            self.complete = complete
            changed = True
        covered = self._covered()
        if covered != self.covered_until:
            self.covered_until = covered
            changed = True
        return changed

    def _covered(self) -> float:
        if self.complete:
            return float("inf")
        quarantined = set(self.session.quarantined_batches())
        present = sorted(set(self.batches) | quarantined)
        if not present:
            return 0.0
        covered = 0.0
        expect = present[0]
        for index in present:
            if index != expect:
                break
            if index in self.batches:
                covered = max(covered, self.batches[index].end)
            expect = index + 1
        return covered

    def segments(self) -> list[Segment]:
        if self._segments is None:
            self._segments = sorted((s for b in self.batches.values() for s in b.segments if s.text.strip()),
                                    key=lambda s: (s.start, s.channel))
        return self._segments

    def between(self, start: float, end: float) -> list[Segment]:
        return [s for s in self.segments() if start <= s.start < end]

    def end_time(self) -> float:
        """When the meeting ended, as far as the transcript says."""
        ends = [b.end for b in self.batches.values()] + [s.end for s in self.segments()]
        ends += [g.end for g in self.gaps() if g.end is not None]
        return max(ends, default=0.0)

    def language_batches(self) -> list[TranscriptBatch]:
        return list(self.batches.values())

    def gaps(self) -> list[Gap]:
        """Stretches of audio that have no transcript because an input was quarantined."""
        found: dict[tuple[float | None, float | None], Gap] = {}
        for note in self.session.failures():
            m = INDEX_RE.match(note.file)
            if m and int(m.group(1)) in self.batches:
                continue  # the batch was redone: no hole left
            found.setdefault((note.start, note.end), Gap(start=note.start, end=note.end, reason=note.reason))
        return sorted(found.values(), key=lambda g: g.start if g.start is not None else -1.0)


class Timed(Protocol):
    start: float
    end: float
    speaker: str
    text: str


def blocks(segments: Sequence[Timed], gap_s: float = 3.0) -> list[tuple[float, float, str, str]]:
    """(start, end, speaker, text): consecutive pieces of one speaker joined, for people to read."""
    out: list[tuple[float, float, str, str]] = []
    for seg in segments:
        text = " ".join(seg.text.split())
        if not text:
            continue
        if out and out[-1][2] == seg.speaker and seg.start - out[-1][1] <= gap_s:
            start, _, speaker, joined = out[-1]
            out[-1] = (start, max(seg.end, out[-1][1]), speaker, f"{joined} {text}")
        else:
            out.append((seg.start, seg.end, seg.speaker, text))
    return out
