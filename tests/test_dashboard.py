"""The live dashboard in a real terminal (tmux): what a person sees, and the p/s/q keys."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages.cli.dashboard import silent_legs
from stages.models import BatchMeta
from stages.spool import iter_sessions
from tests.conftest import DEMO_EN, ROOT

pytestmark = pytest.mark.slow


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(name: str) -> str:
    return tmux("capture-pane", "-t", name, "-p")


def wait_screen(name: str, text: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        shown = screen(name)
        if text in shown:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never shown; screen:\n{shown}")
        time.sleep(0.5)


def test_dashboard_shows_levels_progress_lines_and_obeys_keys(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    name = f"dash{time.monotonic_ns()}"
    spool = tmp_path / "spool"
    command = (f"MEETING_ASSISTANT_NO_USER_CONFIG=1 {sys.executable} {ROOT / 'supervisor.py'} up --name 'Réunion tmux' "
               f"--source file:{DEMO_EN} --realtime --language en --llm offline --spool {spool}; sleep 60")
    tmux("new-session", "-d", "-s", name, "-x", "140", "-y", "45", command)
    try:
        shown = wait_screen(name, "Others", timeout=60)
        assert "Réunion tmux" in shown and "dBFS" in shown and "batches captured" in shown
        assert "import" in shown and "ETA" in shown  # a file source shows its progress
        wait_screen(name, "Good morning", timeout=90)  # a transcript line with its speaker (its voice's label)
        assert "Speaker 1" in screen(name)
        tmux("send-keys", "-t", name, "p")
        wait_screen(name, "Paused")
        (session,) = iter_sessions(spool)
        assert session.requested("PAUSE")
        tmux("send-keys", "-t", name, "p")
        wait_screen(name, "Resumed")
        assert not session.requested("PAUSE")
        tmux("send-keys", "-t", name, "s")
        wait_screen(name, "captured in")
        tmux("send-keys", "-t", name, "q")
        shown = wait_screen(name, "Report ready", timeout=120)
        assert str(session.report) in shown.replace("\n", "") or "report" in shown
        assert (session.report / "END.json").exists()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def meta(i: int, mic: bool, system: bool) -> BatchMeta:
    return BatchMeta(index=i, start=10.0 * i, duration=10.0, wall_clock="", sources=["mic", "system"],
                     level_dbfs={"mic": -90.0 if mic else -20.0, "system": -90.0 if system else -20.0},
                     silent={"mic": mic, "system": system})


def test_silent_leg_warning_needs_30_s_of_silence_while_the_other_side_speaks() -> None:
    newest_first = [meta(5, False, True), meta(4, False, True), meta(3, False, True), meta(2, False, False)]
    assert silent_legs(newest_first, ["mic", "system"]) == {"system": 30.0}
    assert silent_legs(newest_first[:2], ["mic", "system"]) == {}  # only 20 s
    both_quiet = [meta(i, True, True) for i in range(5, 1, -1)]
    assert silent_legs(both_quiet, ["mic", "system"]) == {}  # nobody speaks: a pause, not a lost leg
    assert silent_legs(newest_first, ["system"]) == {}
