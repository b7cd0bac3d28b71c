"""Live capture from a real PulseAudio server: a tone played on the null sink lands where and when it played."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from stages import config
from stages.capture import SourceError, check_source
from stages.models import AudioEnd
from stages.spool import Session
from tests import pulse
from tests.conftest import ROOT
from tests.spoolkit import make_session
from tests.test_capture_file import channels, metas, wait_for

pytestmark = pytest.mark.pulse

B = 2.0
TONE_S = 1.5


@pytest.fixture
def sink() -> str:
    """Before every test: another test (or program) may have made another sink the default since."""
    return pulse.ensure_null_sink()


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pulse.tone_wav(tmp_path_factory.mktemp("tone") / "tone.wav", TONE_S)


def live_session(root: Path, source: str, **capture: object) -> Session:
    sources = ["system", "mic"] if "+" in source else [source]
    return make_session(root, sources=sources, source=source, capture={"batch_seconds": B, **capture})  # type: ignore[arg-type]


class Capture:
    """`python -m stages.capture` running on a session, its log in a file."""

    def __init__(self, session: Session, backend: str = "") -> None:
        self.session = session
        self.log = session.path / "capture-test.log"
        env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONPATH=str(ROOT))
        if backend:
            env["MEETING_ASSISTANT_AUDIO_BACKEND"] = backend
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "stages.capture", str(session.path)], cwd=ROOT,
                                         env=env, stdout=out, stderr=out)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_recording(self, channel: str = "system") -> None:
        wait_for(lambda: f"{channel}: recording from" in self.text() or self.proc.poll() is not None, 15)
        assert self.proc.poll() is None, self.text()

    def stop(self) -> int:
        self.session.request("STOP")
        return self.proc.wait(timeout=20)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def captures() -> Iterator[list[Capture]]:
    started: list[Capture] = []
    yield started
    for c in started:
        c.kill()


def tone_region(x: npt.NDArray[np.int16], freq: float) -> tuple[float, float]:
    """(first, last) second of the 50 ms windows dominated by a sine at `freq`.

    Dominance rather than loudness: another test sharing this PulseAudio server may play
    speech on the same sink at the same time; it does not concentrate its energy at one frequency.
    """
    win = 800
    frames = x[: x.size // win * win].astype(np.float64).reshape(-1, win) * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    k = round(freq * win / 16000)
    share = power[:, k - 1: k + 2].sum(axis=1) / (power.sum(axis=1) + 1e-9)
    hits = np.flatnonzero(share > 0.6)
    assert hits.size, "the tone was not captured"
    return hits[0] * win / 16000, (hits[-1] + 1) * win / 16000


def loudest_second(x: npt.NDArray[np.int16]) -> int:
    """Start sample of the loudest 1 s stretch (on a 0.1 s grid)."""
    step = 1600
    energy = np.convolve((x.astype(np.float64) ** 2)[: x.size // step * step].reshape(-1, step).sum(axis=1),
                         np.ones(10), mode="valid")
    return int(np.argmax(energy)) * step


def seconds_since(start_iso: str, when: dt.datetime) -> float:
    return (when - dt.datetime.fromisoformat(start_iso)).total_seconds()


@pytest.mark.parametrize("backend", ["parec", "soundcard"])
def test_a_tone_played_on_the_default_output_is_captured_when_it_played(
        tmp_path: Path, sink: str, tone: Path, captures: list[Capture], backend: str) -> None:
    session = live_session(tmp_path / "live", "system")
    cap = Capture(session, backend)
    captures.append(cap)
    cap.wait_recording()
    pulse.wake_sink(tmp_path)
    time.sleep(0.5)
    played_at = dt.datetime.now().astimezone()
    pulse.play(tone)
    time.sleep(1.0)
    assert cap.stop() == 0, cap.text()
    end = AudioEnd.model_validate_json(session.audio_end_path.read_text())
    found = metas(session)
    assert end.reason == "stopped" and end.last_batch == found[-1].index
    assert [m.start for m in found] == pytest.approx([i * B for i in range(len(found))], abs=1e-3)
    assert all(m.duration == B for m in found[:-1]) and found[-1].duration <= B
    mic, system = channels(session)
    assert not mic.any()  # source "system": the mic channel is not captured
    first, last = tone_region(system, 440.0)
    expected = seconds_since(found[0].wall_clock, played_at)
    assert first == pytest.approx(expected, abs=0.25), cap.text()  # measured: within 50 ms
    assert last - first == pytest.approx(TONE_S, abs=0.3)
    tone_batches = {m.index for m in found if m.start < last and m.start + m.duration > first}
    assert all(not m.silent["system"] for m in found if m.index in tone_batches)


def test_mic_and_system_legs_stay_aligned_and_a_pause_leaves_a_visible_gap(
        tmp_path: Path, sink: str, captures: list[Capture]) -> None:
    """Both legs record the same monitor here (mic_device names it), as two streams: no offset between them."""
    session = live_session(tmp_path / "both", "system+mic", mic_device=f"{sink}.monitor")
    cap = Capture(session)
    captures.append(cap)
    cap.wait_recording("mic")
    pulse.wake_sink(tmp_path)
    pulse.play(pulse.noise_wav(tmp_path / "noise.wav", 1.5))
    session.request("PAUSE")
    wait_for(lambda: "paused" in cap.text())
    before = len(session.audio_batches())
    time.sleep(B + 0.5)
    assert len(session.audio_batches()) == before  # nothing written while paused
    session.withdraw("PAUSE")
    wait_for(lambda: "resumed" in cap.text())
    time.sleep(0.5)
    assert cap.stop() == 0, cap.text()
    found = metas(session)
    gaps = [b.start - (a.start + a.duration) for a, b in itertools.pairwise(found)]
    assert [g > B + 0.4 for g in gaps if g > 1e-3] == [True]  # one gap, the pause; batches contiguous otherwise
    assert all(m.sources == ["system", "mic"] for m in found)
    mic, system = channels(session)
    at = max(800, loudest_second(system))  # the noise burst
    a = system[at: at + 16000].astype(np.float64)
    b = mic[at - 800: at + 16000 + 800].astype(np.float64)
    lag = int(np.argmax(np.correlate(b, a, mode="valid"))) - 800
    assert abs(lag) <= 160, f"legs {lag / 16:.1f} ms apart"


def test_live_capture_resumes_after_kill_9_with_the_gap_visible(tmp_path: Path, sink: str,
                                                                captures: list[Capture]) -> None:
    session = live_session(tmp_path / "crash", "system")
    first = Capture(session)
    captures.append(first)
    wait_for(lambda: len(session.audio_batches()) >= 1, 15)
    first.kill()
    before = metas(session)
    killed_at = dt.datetime.now().astimezone()
    time.sleep(1.0)
    second = Capture(session)
    captures.append(second)
    wait_for(lambda: len(session.audio_batches()) > len(before), 15)
    assert second.stop() == 0, second.text()
    after = metas(session)
    assert [m.index for m in after] == list(range(1, len(after) + 1))
    resumed = after[len(before)]
    gap = resumed.start - (before[-1].start + before[-1].duration)
    assert gap >= seconds_since(killed_at.isoformat(), killed_at) + 1.0 - 0.1  # killed 1 s+ before restart
    assert "a gap in the audio" in second.text()


def test_probe_names_the_device_or_says_what_to_do(sink: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config.PipelineConfig()
    assert any(f"{sink}.monitor" in line for line in check_source("system", cfg))
    cfg.capture.system_device = "no-such-device"
    with pytest.raises(SourceError, match=f"system_device = 'no-such-device'.*{sink}.monitor"):
        check_source("system", cfg)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'nothing-here'}")
    with pytest.raises(SourceError, match=r"no PulseAudio/PipeWire server answers.*file:PATH"):
        check_source("system+mic", config.PipelineConfig())
    session = live_session(tmp_path / "noserver", "system")
    cap = Capture(session)
    assert cap.proc.wait(timeout=20) == 2
    assert "no PulseAudio/PipeWire server answers" in cap.text()
