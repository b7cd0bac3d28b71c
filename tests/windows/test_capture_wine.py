"""WASAPI capture and the supervisor as Windows processes under Wine: silence, crashes, resume.

Each test records from the loopback of the default output (the PulseAudio null sink) with the
small English model and the offline summary, so that the capture, not the transcription, is tested.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import threading
import wave
from pathlib import Path, PureWindowsPath

import pytest

from stages.models import BatchMeta
from stages.spool import Session, read_model
from tests.pulse import ensure_null_sink
from tests.windows import wine
from tests.windows.sessions import demo_clip, folders, new_session, play, recording, stage_pids, stop, windows_processes

pytestmark = pytest.mark.usefixtures("installed", "pulse_lock")
FAST = ["--source", "system", "--model", "tiny.en"]


def start(spool: Path, name: str, *extra: str) -> tuple[wine.Proc, Session]:
    before = folders(spool)
    up = wine.start([str(wine.VENV_PY), "supervisor.py", "up", "--name", name, *FAST, *extra])
    session = new_session(spool, before)
    recording(session)
    return up, session


def assert_complete(session: Session) -> list[BatchMeta]:
    """Batches 1..N, none overlapping another, each transcribed exactly once, and the report written."""
    batches = session.audio_batches()
    assert batches == list(range(1, len(batches) + 1)), batches
    found = [read_model(session.meta_path(i), BatchMeta) for i in batches]
    assert [m.index for m in found] == batches
    for a, b in itertools.pairwise(found):
        assert b.start >= a.start + a.duration - 1e-6, (a, b)
    assert session.transcribed_batches() == batches
    for i in batches:
        assert json.loads(session.transcript_path(i).read_text(encoding="utf-8"))["batch"] == i
    assert (session.report / "END.json").is_file()
    return found


def pulse_sinks() -> str:
    return subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, check=True).stdout


def batches_at_least(session: Session, n: int) -> bool:
    return len(session.audio_batches()) >= n


def test_batches_every_10_s_while_nothing_plays(user_config: PureWindowsPath) -> None:
    """Windows' loopback delivers no frames at all while nothing plays; Wine's delivers zeros from an idle
    sink, but nothing from a suspended one, so the sink is suspended for the whole recording."""
    sink = ensure_null_sink()
    subprocess.run(["pactl", "suspend-sink", sink, "1"], check=True)
    try:
        up, session = start(wine.host(user_config), "Silence")
        wine.wait_for(lambda: batches_at_least(session, 4), 120, "four batches of silence")
        state = next(line for line in pulse_sinks().splitlines() if line.split("\t")[1] == sink)
        assert state.endswith("SUSPENDED"), state  # so the loopback delivered nothing: all padded
    finally:
        subprocess.run(["pactl", "suspend-sink", sink, "0"], check=True)
    stop(up, session)
    found = assert_complete(session)
    full = found[:-1]  # the last one is the partial batch flushed by `down`
    assert len(full) >= 4
    for i, meta in enumerate(full):
        assert meta.duration == pytest.approx(10.0) and meta.start == pytest.approx(10.0 * i)
        assert meta.silent["system"], meta
        with wave.open(str(session.wav_path(meta.index))) as w:
            assert (w.getnframes(), w.getnchannels(), w.getframerate()) == (160000, 2, 16000)
    # timed by the wall clock: each batch starts 10 s of wall time after the previous one
    walls = [dt.datetime.fromisoformat(m.wall_clock).timestamp() for m in full]
    assert all(b - a == pytest.approx(10.0, abs=0.01) for a, b in itertools.pairwise(walls)), walls
    segments = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    assert segments == []  # silence gives no text


def test_killed_stages_are_restarted_and_nothing_is_lost(user_config: PureWindowsPath, tmp_path: Path) -> None:
    sink = ensure_null_sink()
    up, session = start(wine.host(user_config), "Coupures")
    player = threading.Thread(target=play, args=(sink, demo_clip(tmp_path / "clip.wav", 65.0)), daemon=True)
    player.start()
    try:
        for stage, after in (("capture", 2), ("transcribe", 4)):
            wine.wait_for(lambda n=after: batches_at_least(session, n), 120, f"batch {after}")  # type: ignore[misc]
            victim = stage_pids(session)[stage]
            wine.taskkill(victim)
            wine.wait_for(lambda s=stage, v=victim: stage_pids(session).get(s, v) != v, 60,  # type: ignore[misc]
                          f"the supervisor to restart {stage}")
        wine.wait_for(lambda: batches_at_least(session, 6), 120, "batch 6")
    finally:
        player.join(timeout=300)
    out = stop(up, session)  # the supervisor's log lines go to its window
    assert_complete(session)
    assert "capture exited with code" in out and "transcribe exited with code" in out, out


def test_killed_supervisor_then_resume_loses_nothing(user_config: PureWindowsPath) -> None:
    ensure_null_sink()
    up, session = start(wine.host(user_config), "Reprise")
    wine.wait_for(lambda: batches_at_least(session, 2), 120, "batch 2")
    owner = json.loads((session.path / "supervisor.lock").read_text(encoding="utf-8"))
    capture = int(owner["stages"]["capture"])
    wine.taskkill(int(owner["pid"]))
    up.finish(120)
    # capture notices it is orphaned and stops recording; `resume` ends the other stages it finds
    wine.wait_for(lambda: capture not in windows_processes(), 120, "the orphaned capture to stop")
    before = len(session.audio_batches())
    resumed = wine.start([str(wine.VENV_PY), "supervisor.py", "resume", session.name])
    wine.wait_for(lambda: batches_at_least(session, before + 2), 120, "two more batches after resume")
    stop(resumed, session)
    assert_complete(session)
    assert session.manifest().parts == 2
