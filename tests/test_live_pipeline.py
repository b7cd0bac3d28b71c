"""Real loopback capture: a meeting played into a PulseAudio null sink, recorded, transcribed, reported.

Linux's equivalent of WASAPI loopback: the monitor of the default sink. Windows
capture (PyAudioWPatch) cannot run on this machine; it is type-checked only.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from stages.spool import iter_sessions
from tests.conftest import DEMO_EN, run_cli
from tests.pulse import ensure_null_sink
from tests.speech import reference_text, wer
from tests.test_pipeline import stage_pids, start_up, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.pulse]


def test_meeting_played_on_the_speakers_is_captured_and_transcribed(tmp_path: Path) -> None:
    sink = ensure_null_sink()
    spool = tmp_path / "spool"
    proc = start_up(spool, "--name", "Live loopback", "--source", "system", "--language", "en", "--llm", "offline")
    try:
        wait_for(lambda: any("capture" in stage_pids(s.path) for s in iter_sessions(spool)), timeout=60)
        (session,) = iter_sessions(spool)
        wait_for(lambda: "device" in session.log_path("capture").read_text(encoding="utf-8"), timeout=30)
        time.sleep(2.0)  # the monitor stream opens just after the device is named
        subprocess.run(["paplay", "--device", sink, str(DEMO_EN)], check=True, timeout=400)
        time.sleep(1.0)
        down = run_cli("down", "--spool", str(spool), timeout=600)
        assert down.returncode == 0, down.stdout + down.stderr
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    end = session.audio_end()
    assert end is not None and end.reason
    assert session.transcribed_batches() == session.audio_batches()
    segments = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    speakers = {s["speaker"] for s in segments}  # three voices, numbered from 1 with no hole (at most one too many)
    assert speakers in ({f"Speaker {i}" for i in range(1, k + 1)} for k in (3, 4)), speakers
    error = wer(reference_text("en"), " ".join(s["text"] for s in segments), "en")
    print(f"loopback capture WER {error:.3f}")
    assert error < 0.25, f"WER {error:.3f} on loopback capture"
