"""The audio batches on disk, as the transcriber sees them: validated, in runs, decoded on demand."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from stages.models import BatchMeta
from stages.spool import Session, read_model
from stages.wavio import RATE, Audio, BadWav, read

log = logging.getLogger("transcribe")
CONTIGUOUS_S = 0.05  # batches closer than this are one continuous recording


@dataclass(frozen=True)
class Batch:
    index: int
    start: float
    end: float


@dataclass(frozen=True)
class Run:
    """Batches recorded back to back; a pause or a quarantined batch ends a run."""

    batches: tuple[Batch, ...]

    @property
    def start(self) -> float:
        return self.batches[0].start

    @property
    def end(self) -> float:
        return self.batches[-1].end


class BatchStore:
    """Validates new batches once (quarantining bad ones) and keeps decoded audio only while needed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[int, Batch] = {}
        self.cache: dict[int, tuple[Audio, Audio]] = {}

    def scan(self) -> list[Batch]:
        """Every valid batch, in order. Bad ones go to failed/ with the reason, and the rest goes on."""
        for index in self.session.audio_batches():
            if index in self.known:
                continue
            batch = self._validate(index)
            if batch is not None:
                self.known[index] = batch
        present = set(self.session.audio_batches())
        for gone in [i for i in self.known if i not in present]:  # moved away by hand: forget it
            del self.known[gone]
            self.cache.pop(gone, None)
        return [self.known[i] for i in sorted(self.known)]

    def _validate(self, index: int) -> Batch | None:
        wav, meta_path = self.session.wav_path(index), self.session.meta_path(index)
        start = end = None
        try:
            meta = read_model(meta_path, BatchMeta)
            if meta is None:
                raise BadWav("its metadata file is missing")
            start, end = meta.start, meta.start + meta.duration
            duration = len(read(wav)[0]) / RATE
            if abs(duration - meta.duration) > 0.01:
                raise BadWav(f"holds {duration:.2f} s of audio, its metadata says {meta.duration:.2f} s")
        except (BadWav, ValueError) as exc:
            reason = f"audio batch {index:06d} unusable: {exc}"
            log.warning("%s -> failed/", reason)
            self.session.quarantine(wav, "transcribe", reason, start, end)
            if meta_path.exists():
                self.session.quarantine(meta_path, "transcribe", reason, start, end)
            return None
        return Batch(index, meta.start, meta.start + duration)

    def audio(self, batch: Batch) -> tuple[Audio, Audio]:
        found = self.cache.get(batch.index)
        if found is None:
            found = read(self.session.wav_path(batch.index))
            self.cache[batch.index] = found
        return found

    def slice(self, channel: int, run: Run, t0: float, t1: float) -> Audio:
        """Samples of one channel between two session times inside a run."""
        parts = []
        for batch in run.batches:
            if batch.end <= t0 or batch.start >= t1:
                continue
            data = self.audio(batch)[channel]
            i0 = max(0, round((t0 - batch.start) * RATE))
            i1 = min(len(data), round((t1 - batch.start) * RATE))
            parts.append(data[i0:i1])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def forget_before(self, t: float) -> None:
        """Drop decoded audio that no window can need any more (keeps memory flat)."""
        for index in [i for i, b in self.known.items() if b.end <= t and i in self.cache]:
            del self.cache[index]


def runs_of(batches: list[Batch]) -> list[Run]:
    runs: list[list[Batch]] = []
    for batch in batches:
        if runs and abs(batch.start - runs[-1][-1].end) < CONTIGUOUS_S:
            runs[-1].append(batch)
        else:
            runs.append([batch])
    return [Run(tuple(r)) for r in runs]
