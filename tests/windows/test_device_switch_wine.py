"""Switching Windows' default output during a recording (Wine: the default a user picks in winecfg, the
registry value `HKCU\\Software\\Wine\\Drivers\\winepulse.drv\\DefaultOutput`): capture follows it, no batch lost.

Two null sinks of our own stand for the speakers and a headset; a 440 Hz tone plays on the first,
then, after the switch, an 880 Hz tone on the second. The pulse default sink is not touched.
"""

from __future__ import annotations

import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import numpy as np
import pytest

from stages.spool import Session
from tests.pulse import tone_wav
from tests.windows import wine
from tests.windows.sessions import folders, log_text, new_session, play, recording, stop

pytestmark = pytest.mark.usefixtures("installed", "pulse_lock")
SINKS = {"wt_win_speakers": "HautParleurs", "wt_win_headset": "Casque", "wt_win_usb": "Casque_USB"}
WINE_DRIVER_KEY = r"HKCU\Software\Wine\Drivers\winepulse.drv"


@pytest.fixture
def two_outputs() -> Iterator[None]:
    modules = []
    for sink, description in SINKS.items():
        loaded = subprocess.run(["pactl", "load-module", "module-null-sink", f"sink_name={sink}",
                                 f"sink_properties=device.description={description}"],
                                capture_output=True, text=True, check=True)
        modules.append(loaded.stdout.strip())
    try:
        yield
    finally:
        wine.run(["reg", "delete", WINE_DRIVER_KEY, "/v", "DefaultOutput", "/f"], timeout=60)
        for module in modules:
            subprocess.run(["pactl", "unload-module", module], capture_output=True)


def endpoint_id(friendly: str) -> str:
    """Windows' id of the output endpoint named `friendly` (listed in the registry once Wine has seen it)."""
    found = wine.python(r"tests\windows\win_endpoint.py", friendly, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
    return found.stdout.strip()


def set_default_output(friendly: str) -> None:
    done = wine.run(["reg", "add", WINE_DRIVER_KEY, "/v", "DefaultOutput", "/t", "REG_SZ", "/d",
                     endpoint_id(friendly), "/f"], timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def tone_seconds(path: Path, freq: float) -> float:
    """Seconds of the system channel (right) in which `freq` dominates."""
    with wave.open(str(path)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)[:, 1].astype(float)
    hits = 0
    for block in audio[: len(audio) // 1600 * 1600].reshape(-1, 1600):  # 0.1 s
        spectrum = np.abs(np.fft.rfft(block))
        if block.std() > 300 and abs(np.argmax(spectrum) * 10 - freq) <= 20:
            hits += 1
    return hits / 10


def reopened_on(session: Session, device: str, times: int = 1) -> None:
    """Wait until capture has opened `device`'s loopback `times` times in all (exact name: not Casque_USB)."""
    line = f"recording from {device} [Loopback]"
    try:
        wine.wait_for(lambda: log_text(session, "capture").count(line) >= times, 60, line)
    except AssertionError as exc:
        seen = wine.python("-c", "from stages.capture.wasapi_watch import defaults; print(defaults())", timeout=120)
        raise AssertionError(f"{exc}; a new process sees the defaults {seen.stdout.strip()!r}; "
                             f"capture.log:\n{log_text(session, 'capture')}") from None


def test_switching_the_default_output_is_followed(two_outputs: None, user_config: PureWindowsPath,
                                                  tmp_path: Path) -> None:
    """First switch at once, while capture's device watcher is still starting (seconds under Wine), then back."""
    probe = wine.python("-c", "import pyaudiowpatch as p; p.PyAudio().terminate()", timeout=120)  # registers them
    assert probe.returncode == 0, probe.stdout + probe.stderr
    set_default_output("HautParleurs")
    spool = wine.host(user_config)
    before = folders(spool)
    up = wine.start([str(wine.VENV_PY), "supervisor.py", "up", "--name", "Changement de sortie",
                     "--source", "system", "--model", "tiny.en"])
    try:
        session = new_session(spool, before)
        recording(session)
        assert "recording from HautParleurs [Loopback]" in log_text(session, "capture")
        set_default_output("Casque")
        reopened_on(session, "Casque")
        time.sleep(2.5)
        play("wt_win_headset", tone_wav(tmp_path / "b.wav", 8.0, 880.0))
        set_default_output("HautParleurs")
        reopened_on(session, "HautParleurs", times=2)
        time.sleep(2.5)
        play("wt_win_speakers", tone_wav(tmp_path / "a.wav", 8.0, 440.0))
        time.sleep(1.0)
        stop(up, session)
    finally:
        if up.poll() is None:
            up.kill()
    assert log_text(session, "capture").count("default devices changed") == 2
    batches = session.audio_batches()
    assert batches == list(range(1, len(batches) + 1)) and session.transcribed_batches() == batches
    heard = {f: sum(tone_seconds(session.wav_path(i), f) for i in batches) for f in (440.0, 880.0)}
    print(f"device switch under Wine: {len(batches)} batches, seconds of tone heard {heard}")
    assert heard[440.0] >= 6.0 and heard[880.0] >= 6.0, heard  # each tone lasts 8 s
