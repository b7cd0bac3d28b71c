"""The whole pipeline as a user runs it: `supervisor.py up` with three real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from stages.spool import Session, iter_sessions
from tests.conftest import DEMO_EN, ROOT, run_cli
from tests.speech import reference_text, wer
from tests.spoolkit import make_session

pytestmark = pytest.mark.slow


def start_up(spool: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONIOENCODING="utf-8")
    return subprocess.Popen([sys.executable, str(ROOT / "supervisor.py"), "up", "--spool", str(spool), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            stdin=subprocess.DEVNULL)


def wait_for(predicate, timeout: float = 120.0, step: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(step)


def stage_pids(session: Path) -> dict[str, int]:
    try:
        return dict(json.loads((session / "supervisor.lock").read_text(encoding="utf-8"))["stages"])
    except (OSError, ValueError, KeyError):
        return {}


def only_session(spool: Path) -> Session:
    sessions = list(iter_sessions(spool))
    assert len(sessions) == 1, sessions
    return sessions[0]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, str, dict[str, int]]:
    """One file-source session through the three processes, watching their pids while it runs."""
    spool = tmp_path_factory.mktemp("spool")
    proc = start_up(spool, "--name", "Réunion démo", "--source", f"file:{DEMO_EN}", "--language", "en",
                    "--llm", "offline")
    seen: dict[str, int] = {}
    while proc.poll() is None:
        sessions = list(iter_sessions(spool))
        if sessions:
            seen.update(stage_pids(sessions[0].path))
            for name, pid in stage_pids(sessions[0].path).items():
                try:
                    cmd = " ".join(psutil.Process(pid).cmdline())
                except psutil.NoSuchProcess:
                    continue
                if cmd:  # empty: it has exited and is not reaped yet
                    assert f"stages.{name}" in cmd
        time.sleep(0.1)
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, out
    return only_session(spool), out, seen


def test_file_source_runs_three_processes_to_a_report(demo_run: tuple[Session, str, dict[str, int]]) -> None:
    session, _, seen = demo_run
    assert "reunion-demo" in session.name
    assert set(seen) >= {"capture", "transcribe", "summarize"}
    assert len(set(seen.values())) == len(seen)  # separate OS processes
    segments = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    assert segments and set(segments[0]) >= {"start", "end", "speaker", "text"}
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    error = wer(reference_text("en"), " ".join(s["text"] for s in segments), "en")
    assert error < 0.15, f"WER {error:.3f}"
    assert (session.report / "transcript.md").read_text(encoding="utf-8").strip()
    assert session.transcribed_batches() == session.audio_batches()
    assert session.manifest().state == "finished"
    assert not (session.path / "supervisor.lock").exists()


def test_status_and_list_tell_the_truth(demo_run: tuple[Session, str, dict[str, int]]) -> None:
    session, _, _ = demo_run
    n = len(session.audio_batches())
    status = run_cli("status", str(session.path))
    assert status.returncode == 0, status.stderr
    assert f"batches captured     {n}" in status.stdout or f"batches captured {n}" in " ".join(status.stdout.split())
    assert "finished" in status.stdout
    listing = run_cli("list", "--spool", str(session.path.parent), "--json")
    rows = json.loads(listing.stdout)
    assert rows[0]["captured"] == n and rows[0]["transcribed"] == n and rows[0]["state"] == "finished"


def test_kill_9_of_the_transcriber_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    proc = start_up(tmp_path, "--name", "kill test", "--source", f"file:{DEMO_EN}", "--language", "en",
                    "--llm", "offline")
    wait_for(lambda: any(len(s.transcribed_batches()) >= 2 for s in iter_sessions(tmp_path)))
    session = only_session(tmp_path)
    victim = stage_pids(session.path)["transcribe"]
    psutil.Process(victim).kill()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    log = (session.logs / "supervisor.log").read_text(encoding="utf-8") if (session.logs / "supervisor.log").exists() \
        else out
    assert "transcribe exited with code" in out + log
    assert stage_pids(session.path) == {} or not (session.path / "supervisor.lock").exists()
    audio = session.audio_batches()
    assert session.transcribed_batches() == audio  # exactly one transcript file per batch
    assert sorted(p.name for p in session.transcript.iterdir()) == [f"{i:06d}.json" for i in audio] + [
        "END.json", "speakers.json"]
    segments = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    error = wer(reference_text("en"), " ".join(s["text"] for s in segments), "en")
    assert error < 0.15, f"WER {error:.3f}"


def test_a_stage_that_keeps_crashing_is_given_up_clearly(tmp_path: Path) -> None:
    session = make_session(tmp_path / "20260101-0000-crashy", sources=["system"], language="en",
                           source=f"file:{DEMO_EN}", supervisor={"max_restarts": 2, "backoff_s": 0.1})
    (session.path / "transcribe.lock").mkdir()  # the transcriber now crashes at start, every time
    result = run_cli("resume", str(session.path), timeout=300)
    assert result.returncode == 1
    said = result.stdout + result.stderr
    assert "transcribe crashed 3 times" in said and "giving up" in said
    assert session.manifest().state == "interrupted"


@pytest.mark.parametrize("args,expected", [
    (["--source", "speakers"], "system, mic, system+mic, file:PATH"),
    (["--source", "file:/nowhere/call.mp3"], "/nowhere/call.mp3"),
    (["--model", "/nowhere/whisper-model/"], "/nowhere/whisper-model"),
    (["--model", "no-such-model-name"], "could not be downloaded"),
    (["--language", "klingon"], "[session] language = 'klingon'"),
])
def test_bad_start_says_what_to_do_and_leaves_no_session(tmp_path: Path, args: list[str], expected: str) -> None:
    result = run_cli("up", "--name", "x", "--spool", str(tmp_path / "spool"), *args, timeout=120)
    assert result.returncode == 2
    assert expected in " ".join((result.stdout + result.stderr).split())
    assert not list(iter_sessions(tmp_path / "spool"))
