"""The notification-area icon of a live session on Windows (`[session] tray`): red while recording, green
when not (paused, stopping, report written); its menu stops the session or opens the last report.

Its own process, started by the supervisor: a stuck shell never stalls the recording. It stops the
session as `down` does (control/STOP), and ends by itself once the supervisor has let the session go.
"""

from __future__ import annotations

import os
import subprocess
import sys

from stages import atomic
from stages.config import PipelineConfig
from stages.spool import Session
from stages.supervise import PACKAGE_ROOT


def start(session: Session, cfg: PipelineConfig) -> None:
    """The icon of a live session on Windows, when `[session] tray` asks for it (an import shows none)."""
    if sys.platform != "win32" or not cfg.session.tray or cfg.session.source.startswith("file:"):
        return
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])))
    with atomic.open_append(session.log_path("tray")) as out:
        subprocess.Popen([sys.executable, "-m", "stages.tray", str(session.path)], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=subprocess.STDOUT, env=env, creationflags=subprocess.CREATE_NO_WINDOW)
