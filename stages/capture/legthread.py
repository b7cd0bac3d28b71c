"""One live leg in its own thread: open the device, read, reopen when it fails or the default moves.

A meeting is lost when a leg dies quietly, so a leg never gives up: on any
error it logs, waits, resolves the device again and reopens it; meanwhile the
batch writer pads silence (and the silence watch warns). With the default
device selected (no `*_device` substring), the leg checks every few seconds
whether the default changed and follows it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from stages.capture.timeline import LegBuffer, Samples
from stages.models import Channel

log = logging.getLogger("capture")

RETRY_S = 2.0
FOLLOW_EVERY_S = 3.0
WARN_EVERY_S = 60.0
JOIN_S = 2.0


class Stream(Protocol):
    """An open recording: 16 kHz mono float32 chunks."""

    def read(self) -> Samples | None:
        """The next chunk (blocking); None when the stream ended."""
        ...

    def interrupt(self) -> None:
        """Make a blocked read() return soon (called from another thread)."""
        ...

    def close(self) -> None: ...


class Device(Protocol):
    """How a leg finds and opens its device; `resolve` is called again on every (re)open."""

    follows_default: bool

    def resolve(self) -> tuple[str, str]:
        """(device id, human description); raises when no such device exists now."""
        ...

    def open(self, device_id: str) -> Stream: ...


class LegThread:
    """Reads one channel into its LegBuffer until stopped, surviving device errors."""

    def __init__(self, channel: Channel, device: Device) -> None:
        self.channel = channel
        self.device = device
        self._stop = threading.Event()
        self._stream: Stream | None = None
        self._thread: threading.Thread | None = None
        self._last_warning = 0.0

    def start(self, buffer: LegBuffer) -> None:
        self._thread = threading.Thread(target=self._run, args=(buffer,), name=f"leg-{self.channel}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.interrupt()
        if self._thread is not None:
            self._thread.join(JOIN_S)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if not self._last_warning or now - self._last_warning >= WARN_EVERY_S:
            self._last_warning = now
            log.warning(message, *args)

    def _run(self, buffer: LegBuffer) -> None:
        while not self._stop.is_set():
            try:
                device_id, label = self.device.resolve()
                stream = self.device.open(device_id)
            except Exception as exc:
                self._warn("%s: cannot open the device (%s); retrying every %.0f s, silence recorded meanwhile",
                           self.channel, exc, RETRY_S)
                self._stop.wait(RETRY_S)
                continue
            self._stream = stream
            buffer.anchor()
            log.info("%s: recording from %s", self.channel, label)
            failure: Exception | None = None
            try:
                self._read(stream, buffer, device_id)
            except Exception as exc:
                failure = exc
            finally:
                self._stream = None
                stream.close()
            if failure is not None and not self._stop.is_set():
                self._warn("%s: recording failed (%s); reopening in %.0f s, silence recorded meanwhile",
                           self.channel, failure, RETRY_S)
                self._stop.wait(RETRY_S)

    def _read(self, stream: Stream, buffer: LegBuffer, device_id: str) -> None:
        next_check = time.monotonic() + FOLLOW_EVERY_S
        while not self._stop.is_set():
            chunk = stream.read()
            if chunk is None:
                if self._stop.is_set():
                    return
                raise EOFError("the recording stream ended")
            buffer.push(chunk)
            self._last_warning = 0.0
            if self.device.follows_default and time.monotonic() >= next_check:
                next_check = time.monotonic() + FOLLOW_EVERY_S
                if self._default_moved(device_id):
                    return

    def _default_moved(self, device_id: str) -> bool:
        try:
            new_id, label = self.device.resolve()
        except Exception:
            return False  # cannot tell now; keep recording what works
        if new_id != device_id:
            log.info("%s: the default device changed to %s; following it", self.channel, label)
            return True
        return False


def stop_all(legs: list[LegThread], on_stuck: Callable[[str], None] | None = None) -> bool:
    """Stop every leg; True when all threads ended (a stuck one is left as a daemon)."""
    for leg in legs:
        leg.stop()
    stuck = [leg.channel for leg in legs if leg.alive]
    if stuck and on_stuck is not None:
        on_stuck(", ".join(stuck))
    return not stuck


class ThreadedInput:
    """A LiveInput made of one LegThread per channel."""

    def __init__(self, legs: list[LegThread]) -> None:
        self.legs = legs

    def start(self, buffers: dict[Channel, LegBuffer]) -> None:
        for leg in self.legs:
            leg.start(buffers[leg.channel])

    def stop(self) -> None:
        stop_all(self.legs, lambda names: log.warning("leg(s) %s did not stop in time; left behind", names))
