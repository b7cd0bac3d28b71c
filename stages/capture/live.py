"""The live capture loop: one batch per B seconds of wall time, pause and stop from control files.

Each batch covers exactly B seconds of this run's clock; a leg that delivered
less is padded with zeros, more is dropped (timeline.LegBuffer), so the
channels stay aligned with each other and with session time. A pause writes
the partial batch, discards audio while control/PAUSE exists, and the next
batch starts at the resume time: the gap shows in `start`. A restart after a
crash continues after the last batch, the crash gap likewise visible.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from stages.capture.errors import SupervisorGone
from stages.capture.sources import LiveInput
from stages.capture.timeline import Clock, LegBuffer, to_int16
from stages.capture.writer import BatchWriter, ResumePoint
from stages.lock import orphaned
from stages.models import Channel
from stages.spool import Session
from stages.wavio import RATE

log = logging.getLogger("capture")

POLL_S = 0.1
GRACE_S = 0.6  # wait this long past a batch boundary for late chunks (device and pipe latency)
BUFFER_MARGIN_S = 3.0  # a leg buffer holds at most one batch plus this
MIN_PARTIAL_S = 0.1  # a shorter partial batch (pause, stop) is not worth a file


def session_offset(resume: ResumePoint) -> float:
    """Session seconds at which this run starts: after the last batch, plus the wall-clock gap since."""
    if resume.last_wall_end is None:
        return resume.next_start
    gap = (dt.datetime.now().astimezone() - resume.last_wall_end).total_seconds()
    if gap > 0:
        log.info("resuming after batch %06d: %.1f s since it ended (a gap in the audio)",
                 resume.next_index - 1, gap)
    return resume.next_start + max(0.0, gap)


class LiveLoop:
    """Runs until control/STOP or `max_seconds` of session time; returns the END reason and the last batch."""

    def __init__(self, session: Session, writer: BatchWriter, live: LiveInput, channels: list[Channel],
                 batch_seconds: float, resume: ResumePoint, max_seconds: float = float("inf")) -> None:
        self.session = session
        self.max_seconds = max_seconds
        self.writer = writer
        self.live = live
        self.size = round(batch_seconds * RATE)
        self.clock = Clock()
        self.offset = session_offset(resume)
        self.buffers = {ch: LegBuffer(self.clock, batch_seconds + BUFFER_MARGIN_S) for ch in channels}
        self.index = resume.next_index
        self.last: int | None = None

    def run(self) -> tuple[str, int | None]:
        self.live.start(self.buffers)
        try:
            return self._loop()
        finally:
            self.live.stop()

    def _loop(self) -> tuple[str, int | None]:
        seg = 0  # timeline frame where the batch in progress starts
        while True:
            now = self.clock.now_frame()
            if self.session.requested("STOP"):
                log.info("stop requested (control/STOP)")
                self._write(seg, now, partial=True)
                return "stopped", self.last
            if self.offset + now / RATE >= self.max_seconds:
                log.warning("stopping by itself: the session has lasted %.2f h ([session] max_duration_hours); "
                            "the transcript and report are finished as after `down`", self.max_seconds / 3600)
                self._write(seg, now, partial=True)
                return "max_duration", self.last
            if self.session.requested("PAUSE"):
                self._write(seg, now, partial=True)
                seg = self._pause()
                continue
            if now >= seg + self.size:
                if orphaned():
                    self._write(seg, now, partial=True)
                    raise SupervisorGone("the supervisor is gone: stopped recording (nothing was lost); "
                                         "`python supervisor.py resume` continues the session")
                if now > seg + 2 * self.size:  # asleep or starved: do not write minutes of padding
                    self._write(seg, seg + self.size)
                    log.warning("capture stalled for %.1f s (machine asleep or overloaded): a gap in the audio",
                                (now - seg - self.size) / RATE)
                    seg = self.clock.now_frame()
                    continue
                self._write(seg, seg + self.size)
                seg += self.size
                continue
            wait = self.clock.mono_of(seg + self.size) - time.monotonic()
            time.sleep(max(0.005, min(POLL_S, wait)))

    def _pause(self) -> int:
        """Discard audio while control/PAUSE exists; the frame where recording resumes."""
        log.info("paused (control/PAUSE): nothing is recorded until it is removed")
        paused_at = time.monotonic()
        while self.session.requested("PAUSE") and not self.session.requested("STOP"):
            for buffer in self.buffers.values():
                buffer.discard(self.clock.now_frame())
            time.sleep(POLL_S)
        resumed = self.clock.now_frame()
        for buffer in self.buffers.values():
            buffer.discard(resumed)
        if not self.session.requested("STOP"):
            log.info("resumed after %.1f s of pause", time.monotonic() - paused_at)
        return resumed

    def _write(self, start: int, end: int, partial: bool = False) -> None:
        if end - start < (MIN_PARTIAL_S * RATE if partial else 1):
            return
        deadline = self.clock.mono_of(end) + GRACE_S
        while any(b.frontier < end for b in self.buffers.values()) and time.monotonic() < deadline:
            time.sleep(0.02)
        audio = {ch: to_int16(b.take(start, end)) for ch, b in self.buffers.items()}
        self.writer.write(self.index, self.offset + start / RATE, audio, self.clock.wall_iso(start))
        self.last, self.index = self.index, self.index + 1
