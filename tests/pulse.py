"""A PulseAudio server with a null sink named `meeting` as the default output, for live capture tests.

What plays on the null sink (paplay) is heard on its monitor, `meeting.monitor`,
which is exactly what the capture stage records as the system channel. Starts
the server when none answers (`pulseaudio -D --exit-idle-time=-1`, fine as
root). When that is impossible the test is skipped, unless CI=true: there a
missing server is a broken setup and fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

SINK = "meeting"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PulseAudio needed under CI: {reason}")
    pytest.skip(reason)


def _pactl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10,
                          env=dict(os.environ, LC_ALL="C"))


def server_answers() -> bool:
    return _pactl("info").returncode == 0


def ensure_null_sink() -> str:
    """Make sure a server runs with the null sink as default; returns the sink name."""
    for tool in ("pactl", "paplay", "parec"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)")
    if not server_answers():
        if shutil.which("pulseaudio") is None:
            _unavailable("no PulseAudio server answers and pulseaudio is not installed")
        subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1"], capture_output=True, timeout=20)
        deadline = time.monotonic() + 10
        while not server_answers():
            if time.monotonic() > deadline:
                _unavailable("pulseaudio -D did not start a server that answers pactl")
            time.sleep(0.2)
    if SINK not in _pactl("list", "short", "sinks").stdout.split():
        loaded = _pactl("load-module", "module-null-sink", f"sink_name={SINK}")
        if loaded.returncode != 0:
            _unavailable(f"cannot load a null sink: {loaded.stderr.strip()}")
    _pactl("set-default-sink", SINK)
    return SINK


def tone_wav(path: Path, seconds: float, freq: float = 440.0, rate: int = 44100, level: float = 0.5) -> Path:
    """A stereo 16-bit sine to play with paplay."""
    t = np.arange(round(seconds * rate)) / rate
    mono = (level * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(mono, 2).tobytes())
    return path


def noise_wav(path: Path, seconds: float, rate: int = 44100, level: float = 0.3, seed: int = 1) -> Path:
    """Stereo white noise: unlike a tone, its position can be measured to the sample."""
    rng = np.random.default_rng(seed)
    mono = np.clip(level * rng.standard_normal(round(seconds * rate)), -1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat((mono * 32767).astype("<i2"), 2).tobytes())
    return path


def play(path: Path) -> None:
    """Play a file on the null sink and wait until it has been played; low latency, like a call app."""
    subprocess.run(["paplay", f"--device={SINK}", "--latency-msec=30", str(path)], check=True, timeout=60)


def wake_sink(folder: Path) -> None:
    """Play 0.2 s of silence: the first sound after the null sink idled reaches its monitor ~0.8 s late
    (measured here), a quirk of the null sink's start-up, not of capture; later sounds take ~0.1 s."""
    play(noise_wav(folder / "wake.wav", 0.2, level=0.0))
