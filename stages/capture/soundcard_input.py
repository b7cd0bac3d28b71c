"""Live legs through the `soundcard` package: the fallback when `pactl`/`parec` are missing, and macOS.

soundcard talks to PulseAudio in-process (Linux) or CoreAudio (macOS). It is
imported only here, inside functions: importing it connects to the sound
server at once and fails without one. Known limit (see pulse.py): if the
pulse server restarts, libpulse aborts the process; the supervisor restarts
the stage. macOS has no loopback: route the call to a virtual device
(BlackHole, Loopback) and set `[capture] system_device` to its name.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from stages.capture.errors import SourceError
from stages.capture.timeline import Samples
from stages.models import Channel
from stages.wavio import RATE

BLOCK = RATE // 10  # 100 ms


def soundcard_module() -> Any:
    try:
        import soundcard
    except Exception as exc:  # it connects on import: AssertionError/RuntimeError without a server
        raise SourceError(f"no sound server reachable through soundcard ({type(exc).__name__}: {exc}); "
                          "on Linux start PulseAudio (`pulseaudio --start`) or PipeWire, "
                          "or import a recording with --source file:PATH") from exc
    return soundcard


def _pick(mics: list[Any], wanted: str) -> Any | None:
    key = wanted.casefold()
    return next((m for m in mics if key in str(m.name).casefold() or key in str(m.id).casefold()), None)


def _names(mics: list[Any]) -> str:
    return "; ".join(str(m.name) for m in mics) or "none"


def resolve(channel: Channel, wanted: str) -> Any:
    """The soundcard microphone object that records `channel` now."""
    sc = soundcard_module()
    everything = list(sc.all_microphones(include_loopback=True))
    loopbacks = [m for m in everything if m.isloopback]
    inputs = [m for m in everything if not m.isloopback]
    if channel == "system":
        if wanted:
            found = _pick(loopbacks, wanted) or _pick(inputs, wanted)  # macOS: a virtual loopback is an input
            if found is None:
                raise SourceError(f"no device matches [capture] system_device = {wanted!r}; "
                                  f"available: {_names(everything)}")
            return found
        if sys.platform == "darwin":
            raise SourceError("macOS cannot record what it plays: install a virtual loopback device "
                              "(e.g. BlackHole), send the call's output to it and set [capture] system_device")
        speaker = sc.default_speaker()
        found = next((m for m in loopbacks if m.id == f"{speaker.id}.monitor" or speaker.name in m.name), None)
        if found is None:
            raise SourceError(f"the default output {speaker.name!r} has no loopback to record; "
                              f"set [capture] system_device to one of: {_names(loopbacks)}")
        return found
    if wanted:
        found = _pick(inputs, wanted) or _pick(loopbacks, wanted)
        if found is None:
            raise SourceError(f"no input matches [capture] mic_device = {wanted!r}; inputs: {_names(inputs)}")
        return found
    try:
        return sc.default_microphone()
    except Exception as exc:
        raise SourceError(f"no default input device (microphone) ({exc}); plug one in, set [capture] mic_device, "
                          "or use --source system") from exc


class SoundcardStream:
    """An entered soundcard recorder; must be used and closed by the thread that opened it."""

    def __init__(self, mic: Any) -> None:
        self._recorder = mic.recorder(samplerate=RATE, channels=1, blocksize=BLOCK)
        self._recorder.__enter__()

    def read(self) -> Samples | None:
        data = self._recorder.record(numframes=None)
        return np.ascontiguousarray(np.asarray(data, dtype=np.float32).reshape(-1))

    def interrupt(self) -> None:
        """Nothing safe to do from another thread: the reader stops after its next chunk."""

    def close(self) -> None:
        self._recorder.__exit__(None, None, None)


class SoundcardDevice:
    def __init__(self, channel: Channel, wanted: str) -> None:
        self.channel = channel
        self.wanted = wanted
        self.follows_default = not wanted
        self._mics: dict[str, Any] = {}

    def resolve(self) -> tuple[str, str]:
        mic = resolve(self.channel, self.wanted)
        self._mics[str(mic.id)] = mic
        return str(mic.id), str(mic.name)

    def open(self, device_id: str) -> SoundcardStream:
        return SoundcardStream(self._mics[device_id])
