"""The transcript as the transcriber leaves it in the spool, read incrementally.

Transcript files are immutable once written, so each is parsed once. What the
summarizer may rely on is the *covered* time: every segment that starts before
it is on disk, because every batch up to there has its file (or was quarantined).
Only the text not yet summarized stays in memory, so a two-hour meeting costs
what ten minutes do; the report reads the files again for the full transcript.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from stages.models import Segment, SpeakerLabels, TranscriptBatch
from stages.speakers.labels import names as given_names
from stages.spool import Session, read_model
from stages.summarize.schema import Gap

log = logging.getLogger("summarize")
INDEX_RE = re.compile(r"^(\d{6})\.")
ENDING_BATCHES = 3  # this close to capture's last batch, the transcript is complete within seconds (live)


class Mark(NamedTuple):
    """What is kept of a transcript file once read: where it ends, and in which language it spoke."""

    end: float
    language: str
    spoke: bool
    model: str = ""  # what transcribed it (a transcription server, or the local model taking over from one)


def spoken_segments(doc: TranscriptBatch) -> list[Segment]:
    return [seg for seg in doc.segments if seg.text.strip()]


def time_order(seg: Segment) -> tuple[float, str]:
    return seg.start, seg.channel


class Speakers:
    """The speaker of each segment as the report shows it: the transcriber's final labels
    (transcript/speakers.json, once the transcript is complete) instead of the live ones, then the
    names given with `report --speaker`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.final: SpeakerLabels | None = None
        self.names = given_names(session)

    def owners(self, docs: list[tuple[int, TranscriptBatch]]) -> dict[str, str]:
        """Live label -> the report's name for it (the final label most of its speech got, or its given name):
        summaries written during the meeting name owners by live labels."""
        votes: dict[str, dict[str, float]] = {}
        for index, doc in docs:
            for before, after in zip(doc.segments, self.apply(index, doc).segments, strict=True):
                votes.setdefault(before.speaker, {}).setdefault(after.speaker, 0.0)
                votes[before.speaker][after.speaker] += max(0.01, before.end - before.start)
        return {live: max(v, key=lambda k: v[k]) for live, v in votes.items()}

    def apply(self, index: int, doc: TranscriptBatch) -> TranscriptBatch:
        if self.final is None and self.session.speakers_path.exists():
            self.final = read_model(self.session.speakers_path, SpeakerLabels)
        final = self.final.labels.get(f"{index:06d}") if self.final else None
        if final is not None and len(final) != len(doc.segments):
            final = None  # not the file the final pass read: keep its own labels
        if final is None and not self.names:
            return doc
        segments = [seg.model_copy(update={"speaker": self.names.get(label, label)})
                    for seg, label in zip(doc.segments, final or [s.speaker for s in doc.segments], strict=True)]
        return doc.model_copy(update={"segments": segments})


class TranscriptView:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.batches: dict[int, Mark] = {}
        self._bad: dict[int, tuple[int, int, int]] = {}  # unreadable files, by what they were on disk
        self._kept: list[Segment] = []  # segments starting at or after `horizon`
        self._unheard: list[Gap] = []  # speech the transcriber could not put into words (few)
        self._sorted = True
        self.horizon = 0.0
        self.last_end = 0.0
        self.covered_until = 0.0
        self.complete = False
        self.speakers = Speakers(session)

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
                self._add(index, self.speakers.apply(index, doc))
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

    def ending(self) -> bool:
        """Capture has stopped and at most a few batches still wait for their transcript file."""
        end = self.session.audio_end()
        return end is not None and end.last_batch - max(self.batches, default=-1) <= ENDING_BATCHES

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

    def _add(self, index: int, doc: TranscriptBatch) -> None:
        spoken = spoken_segments(doc)
        self.batches[index] = Mark(doc.end, doc.language, bool(doc.segments), doc.model)
        self.last_end = max([self.last_end, *(seg.end for seg in spoken)])
        self._kept += [seg for seg in spoken if seg.start >= self.horizon]
        self._sorted = False
        self._unheard += [Gap(start=seg.start, end=seg.end, reason=f"speech not understood ({seg.speaker})")
                          for seg in doc.segments if seg.gap]

    def forget_before(self, t: float) -> None:
        """Segments starting before `t` are summarized: let them go (the report rereads the files)."""
        if t > self.horizon:
            self.horizon = t
            self._kept = [seg for seg in self._kept if seg.start >= t]

    def segments(self) -> list[Segment]:
        """The segments not yet forgotten, in time order."""
        if not self._sorted:
            self._kept.sort(key=time_order)
            self._sorted = True
        return self._kept

    def between(self, start: float, end: float) -> list[Segment]:
        return [seg for seg in self.segments() if start <= seg.start < end]

    def all_segments(self) -> list[Segment]:
        """The whole transcript, read again from the files (for the report)."""
        found: list[Segment] = []
        for index in sorted(self.batches):
            doc = read_model(self.session.transcript_path(index), TranscriptBatch)
            found += spoken_segments(self.speakers.apply(index, doc)) if doc else []
        return sorted(found, key=time_order)

    def owner_names(self) -> dict[str, str]:
        """How owners written with live speaker labels read in the report (see `Speakers.owners`)."""
        docs = [(i, read_model(self.session.transcript_path(i), TranscriptBatch)) for i in sorted(self.batches)]
        return self.speakers.owners([(i, d) for i, d in docs if d is not None])

    def end_time(self) -> float:
        """When the meeting ended, as far as the transcript says."""
        ends = [mark.end for mark in self.batches.values()] + [self.last_end]
        ends += [g.end for g in self.gaps() if g.end is not None]
        return max(ends, default=0.0)

    def languages(self) -> list[str]:
        """The language of every transcript file that has speech."""
        return [mark.language for mark in self.batches.values() if mark.spoke]

    def engine_notes(self) -> list[str]:
        """For the report: which batches what transcribed, when that changed during the meeting (a server down)."""
        runs: list[list[str | int]] = []  # [model, first batch, last batch]
        for index in sorted(self.batches):
            model = self.batches[index].model
            if runs and runs[-1][0] == model:
                runs[-1][2] = index
            else:
                runs.append([model, index, index])
        if len(runs) < 2 and not any("fallback" in str(r[0]) for r in runs):
            return []
        return ["Transcription: " + "; ".join(f"batch {a}" + (f"-{b}" if b != a else "") + f" by {m}"
                                              for m, a, b in runs)]

    def gaps(self) -> list[Gap]:
        """Stretches of audio without transcript: quarantined inputs, and speech no decode put into words."""
        found: dict[tuple[float | None, float | None], Gap] = {(g.start, g.end): g for g in self._unheard}
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
