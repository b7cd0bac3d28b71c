"""One writer per session and per stage: `NAME.lock` holds the owner's pid.

`supervisor.lock` guards the session; `capture.lock`, `transcribe.lock` and
`summarize.lock` guard each stage, so a stage started by hand never runs twice.
A lock whose pid is dead is stale and taken over (a crash leaves one behind).
"""

from __future__ import annotations

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


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        proc = psutil.Process(pid)
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _path(session: Session, name: str) -> Path:
    return session.path / f"{name}.lock"


def holder(session: Session, name: str = "supervisor") -> LockInfo | None:
    """The live owner of the lock, or None (no lock, or a stale one)."""
    try:
        info = LockInfo.model_validate_json(_path(session, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if _alive(info.pid) else None


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
