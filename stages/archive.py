"""Past meetings: finding text in them and removing what the user no longer wants to keep."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stages import lock
from stages.models import TranscriptBatch
from stages.spool import Session, iter_sessions, read_model
from stages.transcribe.filters import normalise

SUMMARY_FIELDS = ("summary", "key_points", "decisions", "action_items", "open_questions", "highlights")


@dataclass(frozen=True)
class Hit:
    session: str
    where: str  # "transcript" or the summary file name
    start: float | None
    speaker: str
    text: str


def _segments(session: Session) -> Iterator[tuple[float, str, str]]:
    for index in session.transcribed_batches():
        try:
            doc = read_model(session.transcript_path(index), TranscriptBatch)
        except ValueError:
            continue
        for seg in doc.segments if doc else []:
            yield seg.start, seg.speaker, seg.text


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def search(root: Path, query: str) -> Iterator[Hit]:
    """Every transcript line and summary item containing `query` (case and accents ignored)."""
    needle = normalise(query)
    for session in iter_sessions(root):
        for start, speaker, text in _segments(session):
            if needle in normalise(text):
                yield Hit(session.name, "transcript", start, speaker, text)
        for chunk in sorted(session.summaries.glob("chunk_*.json")):
            try:
                data = json.loads(chunk.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for field in SUMMARY_FIELDS:
                for text in _strings(data.get(field)):
                    if needle in normalise(text):
                        yield Hit(session.name, chunk.name, None, field, text)


def purge_audio(session: Session) -> int:
    """Delete the raw audio batches; transcripts, summaries and reports stay. Returns bytes freed."""
    if lock.is_running(session):
        raise RuntimeError(f"{session.name} is running; stop it before purging its audio")
    freed = 0
    for wav in list(session.audio.glob("*.wav")) + list(session.failed.glob("*.wav*")):
        if wav.name.endswith(".reason.json"):
            continue
        freed += wav.stat().st_size
        wav.unlink()
    return freed


def purge_all(session: Session) -> None:
    if lock.is_running(session):
        raise RuntimeError(f"{session.name} is running; stop it before deleting it")
    shutil.rmtree(session.path)


def apply_retention(root: Path, keep_days: int, now: dt.datetime | None = None) -> list[str]:
    """Purge the audio of finished sessions older than `keep_days` (0 = keep forever)."""
    if keep_days <= 0:
        return []
    now = now or dt.datetime.now().astimezone()
    purged = []
    for session in iter_sessions(root):
        try:
            manifest = session.manifest()
            created = dt.datetime.fromisoformat(manifest.created_at)
        except (ValueError, OSError):
            continue
        if manifest.state != "finished" or lock.is_running(session) or not any(session.audio.glob("*.wav")):
            continue
        if (now - created).days >= keep_days:
            purge_audio(session)
            purged.append(session.name)
    return purged
