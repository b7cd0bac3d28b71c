"""Run the three stages as OS processes, restart the ones that crash, stop when all is written.

Stages are started in their own process group, so a Ctrl+C in the supervisor's
terminal reaches only the supervisor, which turns it into a STOP request.
Exit codes of a stage: 0 = its output is complete; 2 = unusable settings or input
(restarting would not help); 3 = disk full (restarting would not help either: the
session stops, and `resume` continues once space is freed); anything else = a
crash, restarted with backoff.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from stages import atomic, lock
from stages.config import SupervisorConfig
from stages.spool import Session

log = logging.getLogger("supervisor")
STAGES = ("capture", "transcribe", "summarize")
EXIT_UNUSABLE = 2
EXIT_DISK_FULL = 3
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 20.0


@dataclass
class StageProcess:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None
    done: bool = False
    gave_up: str | None = None


def stage_command(name: str, session: Session, args: list[str]) -> list[str]:
    return [sys.executable, "-m", f"stages.{name}", str(session.path), *args]


def spawn(name: str, session: Session, args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env[lock.SUPERVISOR_ENV] = str(os.getpid())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    extra: dict[str, object] = {}
    if os.name == "nt":
        extra["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined,unused-ignore]
    else:
        extra["start_new_session"] = True
    with atomic.open_append(session.log_path(name)) as out:
        proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            stage_command(name, session, args), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, **extra)
        return proc


def kill_orphans(session: Session) -> None:
    """Stages left running by a supervisor that died: stop them before starting new ones."""
    for name in STAGES:
        owner = lock.holder(session, name)
        if owner is None:
            continue
        try:
            proc = psutil.Process(owner.pid)
            log.warning("stopping %s left running by a previous supervisor (pid %d)", name, owner.pid)
            proc.kill()
            proc.wait(timeout=10)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass


def tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Supervisor:
    def __init__(self, session: Session, cfg: SupervisorConfig, stage_args: dict[str, list[str]] | None = None,
                 on_change: Callable[[dict[str, int]], None] | None = None) -> None:
        self.session = session
        self.cfg = cfg
        self.stages = [StageProcess(n, (stage_args or {}).get(n, [])) for n in STAGES]
        self.on_change = on_change

    def pids(self) -> dict[str, int]:
        return {s.name: s.proc.pid for s in self.stages if s.proc and s.proc.poll() is None}

    def start(self) -> None:
        kill_orphans(self.session)
        for stage in self.stages:
            self._launch(stage)

    def _launch(self, stage: StageProcess) -> None:
        stage.proc = spawn(stage.name, self.session, stage.args)
        stage.restart_at = None
        log.info("%s started (pid %d)", stage.name, stage.proc.pid)
        if self.on_change:
            self.on_change(self.pids())

    def poll(self) -> None:
        now = time.monotonic()
        for stage in self.stages:
            if stage.done or stage.gave_up:
                continue
            if stage.proc is None:
                if stage.restart_at is not None and now >= stage.restart_at:
                    self._launch(stage)
                continue
            code = stage.proc.poll()
            if code is None:
                continue
            stage.proc = None
            if code == 0:
                stage.done = True
                log.info("%s finished", stage.name)
            elif code == EXIT_UNUSABLE:
                stage.gave_up = f"{stage.name} cannot run (exit {code}):\n{tail(self.session.log_path(stage.name))}"
            elif code == EXIT_DISK_FULL:
                stage.gave_up = (f"{stage.name} stopped: the disk holding {self.session.path} is full. "
                                 f"Everything written so far is safe; free some space, then resume.\n"
                                 f"{tail(self.session.log_path(stage.name), 3)}")
            else:
                self._crashed(stage, code, now)
            if self.on_change:
                self.on_change(self.pids())

    def _crashed(self, stage: StageProcess, code: int, now: float) -> None:
        stage.crashes = [t for t in stage.crashes if now - t < self.cfg.restart_window_s] + [now]
        if len(stage.crashes) > self.cfg.max_restarts:
            stage.gave_up = (f"{stage.name} crashed {len(stage.crashes)} times in {self.cfg.restart_window_s:.0f} s; "
                             f"giving up. Last lines of {self.session.log_path(stage.name)}:\n"
                             f"{tail(self.session.log_path(stage.name))}")
            return
        delay = self.cfg.backoff_s * 2 ** (len(stage.crashes) - 1)
        stage.restart_at = now + delay
        log.warning("%s exited with code %d; restarting in %.1f s (crash %d of %d allowed)",
                    stage.name, code, delay, len(stage.crashes), self.cfg.max_restarts)

    @property
    def finished(self) -> bool:
        return all(s.done for s in self.stages)

    @property
    def failure(self) -> str | None:
        return next((s.gave_up for s in self.stages if s.gave_up), None)

    def stage_done(self, name: str) -> bool:
        return next(s.done for s in self.stages if s.name == name)

    def terminate(self) -> None:
        for stage in self.stages:
            if stage.proc and stage.proc.poll() is None:
                stage.proc.terminate()
        for stage in self.stages:
            if stage.proc:
                try:
                    stage.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    stage.proc.kill()

    def wind_down(self) -> None:
        """After a give-up: let capture flush its last batch, then stop the rest (all resumable)."""
        self.session.request("STOP")
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and not self.stage_done("capture"):
            capture = self.stages[0]
            if capture.proc is None or capture.gave_up:
                break
            self.poll()
            time.sleep(0.2)
        self.terminate()
