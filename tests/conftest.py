"""Shared fixtures: the project's own speech, sessions in temporary spools, stage processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_EN = ROOT / "stages" / "demo" / "meeting_en.flac"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests see the project's pipeline.toml only, never the developer's own settings.

    The user config folder itself points to a temporary one, so that what the product
    writes there (the first-run notice marker) never lands in the developer's profile.
    """
    monkeypatch.setenv("MEETING_ASSISTANT_NO_USER_CONFIG", "1")
    profile = str(tmp_path_factory.getbasetemp() / "user-config")
    # not XDG_CONFIG_HOME: PulseAudio keeps its cookie there, and capture tests need the real server
    monkeypatch.setenv("MEETING_ASSISTANT_CONFIG_DIR", profile)


def run_cli(*args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python supervisor.py ARGS` as a user would type it."""
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONIOENCODING="utf-8", COLUMNS="200")
    return subprocess.run([sys.executable, str(ROOT / "supervisor.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT, env=env, stdin=subprocess.DEVNULL)


def _stage(stage: str, session: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONPATH=str(ROOT))
    return [sys.executable, "-m", f"stages.{stage}", str(session), *args], env


def run_stage(stage: str, session: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command, env = _stage(stage, session, *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def start_stage(stage: str, session: Path, *args: str) -> subprocess.Popen[bytes]:
    """The stage as a background process (output discarded), to kill or wait for."""
    command, env = _stage(stage, session, *args)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
