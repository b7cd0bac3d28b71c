"""One writer per session and per stage: `NAME.lock` holds the owner's pid.

`supervisor.lock` guards the session; `capture.lock`, `transcribe.lock` and
`summarize.lock` guard each stage, so a stage started by hand never runs twice.
A lock whose pid is dead is stale and taken over (a crash leaves one behind); so is
one whose pid now belongs to a process started after the lock was written: the
pid was reused (after a reboot, or on Windows, which recycles pids quickly), and
that process must neither block the session nor be killed as an orphan.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import psutil
from pydantic import BaseModel, Field

from stages import atomic
from stages.spool import Session, now_iso


class SessionBusy(RuntimeError):
    """Another live supervisor owns the session."""


class LockInfo(BaseModel):
    pid: int
    started_at: str
    stages: dict[str, int] = Field(default_factory=dict)  # stage name -> pid, for `status`


# A process created this long after its lock was written cannot be the one that wrote it.
# Generous, because Linux derives process start times from the current wall clock: a
# clock step smaller than this must never make a live owner look stale.
REUSED_PID_SLACK_S = 30.0


def _alive(info: LockInfo) -> bool:
    """The lock's owner is still running (not dead, not a zombie, not a stranger with its pid)."""
    if info.pid == os.getpid():
        return True
    try:
        proc = psutil.Process(info.pid)
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = float(proc.create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    try:
        written = dt.datetime.fromisoformat(info.started_at).timestamp()
    except ValueError:
        return True
    return created <= written + REUSED_PID_SLACK_S


def _path(session: Session, name: str) -> Path:
    return session.path / f"{name}.lock"


def holder(session: Session, name: str = "supervisor") -> LockInfo | None:
    """The live owner of the lock, or None (no lock, or a stale one)."""
    try:
        info = LockInfo.model_validate_json(_path(session, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if _alive(info) else None


class SessionLock:
    def __init__(self, session: Session, name: str = "supervisor") -> None:
        self.session = session
        self.name = name
        self.path = _path(session, name)
        self.info = LockInfo(pid=os.getpid(), started_at=now_iso())

    def __enter__(self) -> SessionLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        path = self.path
        for _ in range(3):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                live = holder(self.session, self.name)
                if live is not None and live.pid != os.getpid():
                    what = "is already running" if self.name == "supervisor" else f"has its {self.name} stage running"
                    raise SessionBusy(f"session {self.session.name} {what} (pid {live.pid}); "
                                      f"stop it with `python supervisor.py down {self.session.name}`") from None
                path.unlink(missing_ok=True)  # stale: its supervisor died
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.info.model_dump_json())
            return
        raise SessionBusy(f"could not take the lock {path}")

    def update(self, stages: dict[str, int]) -> None:
        self.info.stages = dict(stages)
        atomic.write_text(self.path, self.info.model_dump_json())

    def release(self) -> None:
        try:
            if json.loads(self.path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass


def is_running(session: Session) -> bool:
    return holder(session) is not None


SUPERVISOR_ENV = "MEETING_ASSISTANT_SUPERVISOR_PID"


def orphaned() -> bool:
    """True when this stage was started by a supervisor that is no longer running.

    Stages outlive a killed supervisor on purpose (nothing is lost meanwhile), but
    must not run forever: a live capture would keep recording with nobody to stop it.
    `resume` starts fresh stages that carry on from the files.
    """
    pid = os.environ.get(SUPERVISOR_ENV, "")
    if not pid.isdigit():
        return False
    try:
        proc = psutil.Process(int(pid))
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False
