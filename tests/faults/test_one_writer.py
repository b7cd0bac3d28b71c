"""One writer per session: a second supervisor or stage is refused; a dead owner's lock is taken over.

Real processes: `up` paced in real time (so it is still running while we poke
at it), `resume` and `python -m stages.transcribe` from other "terminals",
kill -9 of the supervisor, and locks left behind by processes that are gone or
whose pid now belongs to someone else.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from stages import lock
from stages.spool import Session, iter_sessions
from tests.conftest import DEMO_EN, run_cli, run_stage
from tests.faults.chaos import cli_env, live_targets, start_cli, stray_processes, up_args
from tests.faults.conftest import Observed, copy_session

pytestmark = pytest.mark.slow


def wait_until(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_second_writer_refused_then_dead_supervisor_taken_over(tmp_path: Path) -> None:
    spool, log = tmp_path / "spool", tmp_path / "up.log"
    with log.open("ab") as out:
        up = start_cli(up_args(DEMO_EN, spool, "Busy", "en", "--realtime"), out)
        wait_until(lambda: bool(list(iter_sessions(spool))))
        (session,) = list(iter_sessions(spool))
        wait_until(lambda: set(live_targets(session, up)) == {"supervisor", "capture", "transcribe", "summarize"})

        second = run_cli("resume", str(session.path), timeout=120)
        said = " ".join((second.stdout + second.stderr).split())
        assert second.returncode == 2, said
        assert f"session {session.name} is already running" in said and "down" in said
        by_hand = run_stage("transcribe", session.path, timeout=120)
        assert by_hand.returncode == 2
        assert "has its transcribe stage running" in by_hand.stderr

        orphans = {k: v for k, v in live_targets(session, up).items() if k != "supervisor"}
        up.kill()  # kill -9: supervisor.lock stays behind, the stages run on in their own process group
        up.wait()
        assert (session.path / "supervisor.lock").exists()
        assert all(psutil.pid_exists(pid) for pid in orphans.values())
        assert "interrupted" in run_cli("status", str(session.path)).stdout

        resumed = start_cli(["resume", str(session.path)], out)
        wait_until(lambda: json.loads((session.path / "supervisor.lock").read_text(encoding="utf-8"))["pid"]
                   == resumed.pid and len(live_targets(session, resumed)) == 4)
        for name, pid in orphans.items():  # the stages of the dead supervisor were stopped, not doubled
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, name
        assert len(stray_processes(session)) == 4  # resume + its three stages, nothing else
        down = run_cli("down", str(session.path), timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
        assert resumed.wait(timeout=300) == 0, log.read_text(encoding="utf-8")
    assert "left running by a previous supervisor" in log.read_text(encoding="utf-8")
    assert session.transcribed_batches() == session.audio_batches()
    assert (session.report / "END.json").exists() and not list(session.path.glob("*.lock"))
    assert stray_processes(session) == []


def stale_lock(session: Session, name: str, pid: int, age_s: float) -> None:
    started = (dt.datetime.now().astimezone() - dt.timedelta(seconds=age_s)).isoformat(timespec="milliseconds")
    (session.path / f"{name}.lock").write_text(json.dumps({"pid": pid, "started_at": started, "stages": {}}),
                                               encoding="utf-8")


def test_a_lock_whose_pid_was_reused_is_stale_and_that_process_is_left_alone(clean_demo: Observed,
                                                                             tmp_path: Path) -> None:
    """After a reboot (or on Windows, which recycles pids fast) the dead owner's pid may be someone else's."""
    session = copy_session(clean_demo.session, tmp_path / "20260101-1300-reused-pid")
    manifest = session.manifest()
    manifest.state = "recording"  # what a crash leaves
    session.write_manifest(manifest)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        for name in ("supervisor", "capture", "transcribe", "summarize"):
            stale_lock(session, name, stranger.pid, age_s=3600)  # written an hour before `stranger` started
        status = run_cli("status", str(session.path))
        assert "interrupted" in status.stdout, status.stdout
        result = run_cli("resume", str(session.path), timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert stranger.poll() is None  # not mistaken for an orphan stage and killed
        assert not (session.path / "supervisor.lock").exists()
        assert all(lock.holder(session, name) is None for name in ("capture", "transcribe", "summarize"))
    finally:
        stranger.kill()
        stranger.wait()


def test_a_live_owner_is_not_taken_for_stale(clean_demo: Observed, tmp_path: Path) -> None:
    """The other side: a lock written just after its (live) owner started still refuses a second writer."""
    session = copy_session(clean_demo.session, tmp_path / "20260101-1400-live-owner")
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=cli_env())
    try:
        time.sleep(0.5)
        stale_lock(session, "supervisor", owner.pid, age_s=0)
        result = run_cli("resume", str(session.path), timeout=120)
        assert result.returncode == 2
        assert f"already running (pid {owner.pid})" in " ".join((result.stdout + result.stderr).split()) or \
            "is already running" in result.stdout + result.stderr
    finally:
        owner.kill()
        owner.wait()
