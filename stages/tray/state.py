"""What the tray shows, read from the session's files alone (the same files `status` reads)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages import lock
from stages.spool import Session, iter_sessions

GREEN = (0x1E, 0xB4, 0x3C)  # ready: not recording
RED = (0xDC, 0x14, 0x14)  # recording

TEXT = {
    "fr": {"recording": "Enregistrement en cours", "paused": "En pause", "stopping": "Arrêt : compte rendu en cours",
           "ready": "Prêt", "stop": "Arrêter l'enregistrement", "open": "Ouvrir le dernier compte rendu"},
    "en": {"recording": "Recording", "paused": "Paused", "stopping": "Stopping: writing the report",
           "ready": "Ready", "stop": "Stop recording", "open": "Open the last report"},
}


@dataclass(frozen=True)
class TrayState:
    running: bool  # the supervisor still holds the session; the tray ends when it does not
    recording: bool
    tip: str  # the icon's tooltip (at most 127 characters)
    labels: dict[str, str]  # menu item -> text


def read(session: Session) -> TrayState:
    manifest = session.manifest()
    text = TEXT.get(manifest.language, TEXT["en"])
    running = lock.is_running(session)
    if not running:
        what = "ready"
    elif session.requested("STOP") or session.audio_end() is not None:
        what = "stopping"
    elif session.requested("PAUSE"):
        what = "paused"
    else:
        what = "recording"
    return TrayState(running, what == "recording", f"{text[what]}: {manifest.name}"[:127], text)


def last_report(spool: Path) -> Path | None:
    """The report of the newest finished session in `spool` (END.json is written last: the report is whole)."""
    done = [s.report / "final.html" for s in iter_sessions(spool) if (s.report / "END.json").is_file()]
    return next((p for p in reversed(done) if p.is_file()), None)
