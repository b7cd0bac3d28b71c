"""Creating a session folder from the settings, and the channels a source records."""

from __future__ import annotations

from pathlib import Path

from stages.config import PipelineConfig
from stages.models import Channel, SessionManifest
from stages.spool import Session, new_session_path, now_iso, slugify


def channels_of(source: str) -> list[Channel]:
    """Which legs of the stereo batch carry sound: an imported file is 'the others'."""
    if source == "mic":
        return ["mic"]
    if source == "system+mic":
        return ["mic", "system"]
    return ["system"]  # system, file:PATH


def spool_root(cfg: PipelineConfig) -> Path:
    return Path(cfg.session.spool).expanduser().resolve()


def create(cfg: PipelineConfig, name: str) -> Session:
    """A new session folder (owner-only) with its manifest; nothing else is written yet."""
    session = Session(new_session_path(spool_root(cfg), name))
    session.ensure_layout()
    session.write_manifest(SessionManifest(
        name=name, slug=slugify(name), created_at=now_iso(), language=cfg.session.language,
        sources=channels_of(cfg.session.source), source=cfg.session.source,
        config=cfg.model_dump(mode="json"),
    ))
    return session
