"""Committing batches to the spool: metadata first, then the WAV that commits it.

The order matters for crash safety: a reader that sees `NNNNNN.wav` can rely
on `NNNNNN.json`; a `.json` left without its WAV by a crash is simply
rewritten by the next run. Both writes are atomic (temp + fsync + rename).
"""

from __future__ import annotations

import datetime as dt
import logging
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stages import atomic, wavio
from stages.capture.errors import DiskFullError, is_disk_full
from stages.models import CHANNELS, BatchMeta, Channel
from stages.spool import Session, read_model

log = logging.getLogger("capture")

Pcm = npt.NDArray[np.int16]
SILENT_WARN_AFTER_S = 30.0  # warn when a captured leg stays silent this long...
SILENT_WARN_EVERY_S = 120.0  # ...and again at this interval while it lasts


@dataclass(frozen=True)
class ResumePoint:
    """Where a (re)started capture continues in an existing session."""

    next_index: int
    next_start: float  # session seconds where the last committed batch ended
    last_wall_end: dt.datetime | None  # wall-clock end of that batch, to make a crash gap visible


def resume_point(session: Session, batch_seconds: float) -> ResumePoint:
    """After the highest batch ever committed (quarantined ones count: their index is taken)."""
    indices = session.audio_batches() + session.quarantined_batches()
    if not indices:
        return ResumePoint(1, 0.0, None)
    last = max(indices)
    try:
        meta = read_model(session.meta_path(last), BatchMeta)
    except ValueError:
        meta = None
    if meta is None:
        duration = _wav_seconds(session, last)
        return ResumePoint(last + 1, (last - 1) * batch_seconds + (duration or batch_seconds), None)
    try:
        wall_end = dt.datetime.fromisoformat(meta.wall_clock) + dt.timedelta(seconds=meta.duration)
    except ValueError:
        wall_end = None
    return ResumePoint(last + 1, meta.start + meta.duration, wall_end)


def _wav_seconds(session: Session, index: int) -> float | None:
    try:
        with wave.open(str(session.wav_path(index)), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (OSError, wave.Error, EOFError, ZeroDivisionError):
        return None


class SilenceWatch:
    """Loud warnings when a captured leg stays silent: the usual way a meeting is lost."""

    def __init__(self, channels: list[Channel]) -> None:
        self.silent_for = dict.fromkeys(channels, 0.0)
        self.warned_at = dict.fromkeys(channels, 0.0)

    def update(self, meta: BatchMeta) -> None:
        for ch in self.silent_for:
            if not meta.silent.get(ch, True):
                if self.warned_at[ch]:
                    log.info("%s channel has sound again (after %.0f s of silence)", ch, self.silent_for[ch])
                self.silent_for[ch] = self.warned_at[ch] = 0.0
                continue
            self.silent_for[ch] += meta.duration
            due = SILENT_WARN_AFTER_S if not self.warned_at[ch] else self.warned_at[ch] + SILENT_WARN_EVERY_S
            if self.silent_for[ch] >= due:
                self.warned_at[ch] = self.silent_for[ch]
                log.warning("!!! %s channel SILENT for %.0f s: %s", ch, self.silent_for[ch], _hint(ch))


def _hint(channel: Channel) -> str:
    if channel == "system":
        return ("is the call playing on the captured output device? set [capture] system_device "
                "or switch the default output")
    return "is the microphone muted or the wrong one? set [capture] mic_device or change the default input"


class BatchWriter:
    """Writes one batch: BatchMeta JSON, then the stereo [mic, system] WAV."""

    def __init__(self, session: Session, sources: list[Channel], silence_dbfs: float) -> None:
        self.session = session
        self.sources = sources
        self.silence_dbfs = silence_dbfs
        self.silence = SilenceWatch(sources)
        self.last_index: int | None = None

    def write(self, index: int, start: float, audio: dict[Channel, Pcm], wall_clock: str) -> BatchMeta:
        """Commit batch `index`; channels missing from `audio` are written as zeros."""
        frames = max(a.shape[0] for a in audio.values())
        stereo = np.zeros((frames, len(CHANNELS)), dtype=np.int16)
        for col, ch in enumerate(CHANNELS):
            if ch in audio:
                stereo[: audio[ch].shape[0], col] = audio[ch]
        levels = {ch: round(wavio.level_dbfs(stereo[:, col]), 1) for col, ch in enumerate(CHANNELS)}
        meta = BatchMeta(
            index=index, start=round(start, 3), duration=frames / wavio.RATE, wall_clock=wall_clock,
            sources=list(self.sources), level_dbfs=levels,
            silent={ch: levels[ch] < self.silence_dbfs for ch in CHANNELS},
        )
        try:
            atomic.write_json(self.session.meta_path(index), meta)
            wavio.write(self.session.wav_path(index), stereo)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFullError(
                    f"disk full while writing batch {index:06d} in {self.session.audio}: free some space, "
                    f"then resume the session (batches up to {self.last_index or 0:06d} are safe)") from exc
            raise
        self.last_index = index
        log.info("batch %06d  %8.1f-%.1f s  %s", index, meta.start, meta.start + meta.duration,
                 "  ".join(f"{ch} {levels[ch]:6.1f} dBFS{' (silent)' if meta.silent[ch] else ''}"
                           for ch in self.sources))
        self.silence.update(meta)
        return meta
