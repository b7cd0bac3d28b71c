"""Wall-clock timeline for live legs: where each received chunk belongs in time.

Live devices do not deliver a steady stream: WASAPI loopback sends nothing
while nothing plays, a PulseAudio monitor starts a second or two late, a busy
machine delays a reader thread. Time therefore comes from the wall clock and
each leg's audio is placed on it: a chunk whose arrival shows a gap is
preceded by silence, a leg that runs ahead has its surplus dropped, and the
batch writer takes exactly B seconds per batch, padding what did not come.
Both channels share one clock, so mic and system stay aligned.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque

import numpy as np
import numpy.typing as npt

from stages.wavio import RATE

Samples = npt.NDArray[np.float32]

GAP_TOLERANCE_S = 0.5  # a later chunk than this means the device was silent: pad the gap
AHEAD_TOLERANCE_S = 0.5  # a leg further ahead of the clock than this loses its surplus


class Clock:
    """Monotonic time of this capture run, in frames at 16 kHz, anchored to the wall clock."""

    def __init__(self, rate: int = RATE) -> None:
        self.rate = rate
        self.t0 = time.monotonic()
        self.wall0 = dt.datetime.now().astimezone()

    def frame_at(self, mono: float) -> int:
        return round((mono - self.t0) * self.rate)

    def now_frame(self) -> int:
        return self.frame_at(time.monotonic())

    def mono_of(self, frame: int) -> float:
        return self.t0 + frame / self.rate

    def wall_iso(self, frame: int) -> str:
        when = self.wall0 + dt.timedelta(seconds=frame / self.rate)
        return when.isoformat(timespec="milliseconds")


class LegBuffer:
    """One leg's samples on the run's timeline, bounded; filled by a reader thread, drained per batch."""

    def __init__(self, clock: Clock, max_seconds: float,
                 gap_tolerance_s: float = GAP_TOLERANCE_S,
                 ahead_tolerance_s: float = AHEAD_TOLERANCE_S) -> None:
        self.clock = clock
        self._max = int(max_seconds * clock.rate)
        self._gap_tol = int(gap_tolerance_s * clock.rate)
        self._ahead_tol = int(ahead_tolerance_s * clock.rate)
        self._lock = threading.Lock()
        self._chunks: deque[Samples] = deque()
        self._base = 0  # timeline frame of the first buffered sample
        self._count = 0  # buffered samples
        self._anchor = True  # the next chunk ends at its arrival time exactly (a stream just opened)
        self.received = 0  # samples delivered by the device since the start (for "is it alive")
        self.padded = 0  # silence inserted for gaps (device gave nothing)
        self.dropped = 0  # samples thrown away (leg ahead of the clock, or buffer full)

    @property
    def frontier(self) -> int:
        """Timeline frame just after the last sample placed so far."""
        with self._lock:
            return self._base + self._count

    def push(self, samples: Samples, arrived: float | None = None) -> None:
        """Place a mono 16 kHz chunk that ended at monotonic time `arrived` (now by default)."""
        m = int(samples.shape[0])
        if m == 0:
            return
        end_estimate = self.clock.frame_at(time.monotonic() if arrived is None else arrived)
        with self._lock:
            self.received += m
            frontier = self._base + self._count
            lag = end_estimate - (frontier + m)
            if self._anchor:  # a new stream: its first chunk fixes where this leg stands on the clock
                self._anchor = False
                if lag > 0:
                    self._append(np.zeros(lag, dtype=np.float32))
                    self.padded += lag
            elif lag > self._gap_tol:  # the device delivered nothing for a while
                self._append(np.zeros(lag, dtype=np.float32))
                self.padded += lag
            elif lag < -self._ahead_tol:  # more audio than time passed: drop the surplus
                surplus = min(m, -lag - self._ahead_tol)
                samples = samples[surplus:]
                self.dropped += surplus
            if samples.shape[0]:
                self._append(np.ascontiguousarray(samples, dtype=np.float32))
            overflow = self._count - self._max
            if overflow > 0:
                self._discard_head(overflow)
                self.dropped += overflow

    def anchor(self) -> None:
        """A stream (re)opened: place its first chunk by its arrival time, whatever the gap."""
        with self._lock:
            self._anchor = True

    def take(self, start: int, end: int) -> Samples:
        """Samples for timeline frames [start, end), zeros where the leg had none; older ones are dropped."""
        out = np.zeros(max(0, end - start), dtype=np.float32)
        with self._lock:
            if self._base < start:
                self._discard_head(min(self._count, start - self._base))
                if self._count == 0:
                    self._base = max(self._base, start)
            pos = self._base
            while self._chunks and pos < end:
                chunk = self._chunks[0]
                n = min(chunk.shape[0], end - pos)
                out[pos - start: pos - start + n] = chunk[:n]
                if n == chunk.shape[0]:
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[n:]
                self._count -= n
                pos += n
            self._base = max(pos, end)  # time not delivered by now is padded: later audio comes after it
        return out

    def discard(self, end: int) -> None:
        """Forget everything before timeline frame `end` (pause)."""
        with self._lock:
            self._discard_head(min(self._count, max(0, end - self._base)))
            if self._count == 0:
                self._base = max(self._base, end)

    def _append(self, samples: Samples) -> None:
        self._chunks.append(samples)
        self._count += int(samples.shape[0])

    def _discard_head(self, n: int) -> None:
        while n > 0 and self._chunks:
            chunk = self._chunks[0]
            if chunk.shape[0] <= n:
                self._chunks.popleft()
                n -= chunk.shape[0]
                self._count -= chunk.shape[0]
                self._base += chunk.shape[0]
            else:
                self._chunks[0] = chunk[n:]
                self._count -= n
                self._base += n
                n = 0


def to_int16(samples: Samples) -> npt.NDArray[np.int16]:
    """Float [-1, 1] -> int16, clipped (a clipped peak beats a wrapped one)."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
