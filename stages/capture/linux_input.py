"""Live input on Linux (and macOS): pick the backend, probe the devices, build the legs.

Backend: `parec` + `pactl` when installed (pulseaudio-utils; PipeWire's
pulse server answers them too), else the `soundcard` package. The
environment variable MEETING_ASSISTANT_AUDIO_BACKEND=parec|soundcard forces one.
"""

from __future__ import annotations

import os

from stages.capture import pulse, soundcard_input
from stages.capture.errors import SourceError
from stages.capture.legthread import Device, LegThread, ThreadedInput
from stages.config import CaptureConfig
from stages.models import Channel

BACKENDS = ("parec", "soundcard")


def backend() -> str:
    forced = os.environ.get("MEETING_ASSISTANT_AUDIO_BACKEND", "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise SourceError(f"MEETING_ASSISTANT_AUDIO_BACKEND={forced!r}: use one of {', '.join(BACKENDS)}")
        return forced
    return "parec" if pulse.available() else "soundcard"


def _wanted(channel: Channel, cfg: CaptureConfig) -> str:
    return (cfg.system_device if channel == "system" else cfg.mic_device).strip()


def _device(channel: Channel, cfg: CaptureConfig, name: str) -> Device:
    if name == "parec":
        return pulse.PulseDevice(channel, _wanted(channel, cfg))
    return soundcard_input.SoundcardDevice(channel, _wanted(channel, cfg))


def probe(channels: list[Channel], cfg: CaptureConfig) -> list[str]:
    """'channel: device (backend)' per channel; SourceError when a device is missing or no server answers."""
    name = backend()
    lines = []
    for channel in channels:
        _, label = _device(channel, cfg, name).resolve()
        lines.append(f"{channel}: {label} (via {name})")
    return lines


def open_input(channels: list[Channel], cfg: CaptureConfig) -> ThreadedInput:
    name = backend()
    return ThreadedInput([LegThread(ch, _device(ch, cfg, name)) for ch in channels])
