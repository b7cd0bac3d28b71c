"""Reading, from Linux, the sessions that the Windows processes write under Élodie's spool."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import av
import numpy as np

from stages.spool import Session
from tests.conftest import DEMO_EN
from tests.windows import wine


def folders(spool: Path) -> set[Path]:
    return {p for p in spool.iterdir() if (p / "session.json").is_file()} if spool.is_dir() else set()


def new_session(spool: Path, before: set[Path], timeout: float = 120) -> Session:
    """The one session folder that appeared in `spool` since `before` was listed."""
    wine.wait_for(lambda: folders(spool) - before, timeout, f"a new session folder in {spool}")
    (path,) = folders(spool) - before
    return Session(path)


def log_text(session: Session, stage: str) -> str:
    try:
        return session.log_path(stage).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def stage_pids(session: Session) -> dict[str, int]:
    """Windows process ids of the stages, from supervisor.lock."""
    try:
        owner = json.loads((session.path / "supervisor.lock").read_text(encoding="utf-8"))
        return {k: int(v) for k, v in owner["stages"].items()}
    except (OSError, ValueError, KeyError):
        return {}


def recording(session: Session, timeout: float = 120) -> None:
    """Wait until capture has opened the WASAPI loopback and it delivers (first callback ~1.75 s after open)."""
    wine.wait_for(lambda: "recording from" in log_text(session, "capture"), timeout, "capture to open its device")


def windows_processes() -> dict[int, str]:
    """pid -> image name of every Windows process (Wine's tasklist)."""
    out = wine.run(["tasklist", "/FO", "CSV", "/NH"], timeout=60).stdout
    procs: dict[int, str] = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.strip().split('","')]
        if len(cells) >= 2 and cells[1].isdigit():
            procs[int(cells[1])] = cells[0]
    return procs


def demo_clip(path: Path, seconds: float) -> Path:
    """The first `seconds` of the demo meeting as a 16-bit WAV (to play, or to import)."""
    with av.open(str(DEMO_EN)) as src:
        rate = src.streams.audio[0].rate
        mono = np.concatenate([f.to_ndarray().reshape(-1) for f in src.decode(audio=0)])[: round(seconds * rate)]
    if mono.dtype.kind == "f":
        mono = np.clip(mono, -1, 1) * 32767
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(mono.astype("<i2").tobytes())
    return path


def play(sink: str, path: Path) -> None:
    subprocess.run(["paplay", f"--device={sink}", str(path)], check=True, timeout=600)


def stop(proc: wine.Proc, session: Session, timeout: float = 600) -> str:
    """`down` from another Windows process; the recording process's output once it has ended (exit 0)."""
    down = wine.supervisor("down", session.name, timeout=timeout)
    assert down.returncode == 0, down.stdout
    out = proc.finish(300)
    assert proc.returncode == 0, out
    return out
