"""The spool: one folder per session, plain files, the only link between stages.

Layout (documented for people in README.md, "The spool"):

    <root>/<YYYYMMDD-HHMM>-<slug>/
      session.json                 SessionManifest
      audio/000001.wav             10 s, 16 kHz, int16, stereo [mic, system]
      audio/000001.json            BatchMeta (written before the WAV: the WAV is the commit)
      audio/END.json               AudioEnd: no more batches will come
      transcript/000001.json       TranscriptBatch: segments that start in batch 1
      transcript/END.json          TranscriptEnd
      engine.json                  EngineState: what transcribes now (local model or server, and its state)
      summaries/chunk_0001.json    mini-summary of minutes 0-10
      report/                      transcript.json, transcript.md, final.*
      control/STOP, control/PAUSE  requests to the running stages (any tool may create them)
      failed/                      quarantined inputs + NAME.reason.json
      logs/<stage>.log             what each process said
      supervisor.lock, <stage>.lock  pid of the process that owns the session / the stage

An output that exists is done; a stage started on a folder does what is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from stages import atomic
from stages.models import AudioEnd, FailedNote, SessionManifest, TranscriptEnd

DIR_MODE = 0o700
BATCH_RE = re.compile(r"^(\d{6})\.(wav|json)$")
M = TypeVar("M", bound=BaseModel)


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def slugify(name: str) -> str:
    """'Réunion Projet X' -> 'reunion-projet-x' (ASCII, safe on every filesystem)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].strip("-") or "meeting"


def make_private_dir(path: Path) -> None:
    """Create `path` (and parents) readable by the owner only (POSIX 0700; per-user profile on Windows).

    Missing parents are made 0700 too (`mkdir(parents=True)` would give them the umask,
    and a world-readable spool folder lists every meeting's name); folders that already
    exist above `path` are the user's and keep their mode.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        if os.name == "posix":
            os.chmod(folder, DIR_MODE)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if os.name == "posix":
        os.chmod(path, DIR_MODE)


def read_model(path: Path, model: type[M]) -> M | None:
    """The parsed file, or None when it does not exist. A torn or invalid file raises ValueError."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}") from exc


class Session:
    """Paths and small queries on one session folder; holds no state of its own."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).resolve()

    def __repr__(self) -> str:
        return f"Session({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    # folders
    @property
    def audio(self) -> Path:
        return self.path / "audio"

    @property
    def transcript(self) -> Path:
        return self.path / "transcript"

    @property
    def summaries(self) -> Path:
        return self.path / "summaries"

    @property
    def report(self) -> Path:
        return self.path / "report"

    @property
    def control(self) -> Path:
        return self.path / "control"

    @property
    def failed(self) -> Path:
        return self.path / "failed"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def manifest_path(self) -> Path:
        return self.path / "session.json"

    def ensure_layout(self) -> None:
        make_private_dir(self.path)
        for folder in (self.audio, self.transcript, self.summaries, self.report, self.control,
                       self.failed, self.logs):
            make_private_dir(folder)

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    # manifest
    def manifest(self) -> SessionManifest:
        found = read_model(self.manifest_path, SessionManifest)
        if found is None:
            raise FileNotFoundError(f"{self.path} is not a session folder (no session.json)")
        return found

    def write_manifest(self, manifest: SessionManifest) -> None:
        atomic.write_json(self.manifest_path, manifest)

    # audio batches
    def wav_path(self, index: int) -> Path:
        return self.audio / f"{index:06d}.wav"

    def meta_path(self, index: int) -> Path:
        return self.audio / f"{index:06d}.json"

    def transcript_path(self, index: int) -> Path:
        return self.transcript / f"{index:06d}.json"

    def audio_batches(self) -> list[int]:
        """Indices of the batches whose WAV exists (the WAV is written last: it commits the batch)."""
        return _indices(self.audio, "wav")

    def quarantined_batches(self) -> list[int]:
        return sorted(int(p.name[:6]) for p in self.failed.glob("[0-9]" * 6 + ".wav*")
                      if not p.name.endswith(".reason.json"))

    def transcribed_batches(self) -> list[int]:
        return _indices(self.transcript, "json")

    @property
    def audio_end_path(self) -> Path:
        return self.audio / "END.json"

    @property
    def transcript_end_path(self) -> Path:
        return self.transcript / "END.json"

    @property
    def engine_path(self) -> Path:
        return self.path / "engine.json"

    @property
    def speakers_path(self) -> Path:
        """The final speaker labels (transcriber, written before END.json)."""
        return self.transcript / "speakers.json"

    @property
    def names_path(self) -> Path:
        """Names people gave to speaker labels (`report --speaker "Speaker 2=Bob"`)."""
        return self.path / "names.json"

    def audio_end(self) -> AudioEnd | None:
        return read_model(self.audio_end_path, AudioEnd)

    def transcript_end(self) -> TranscriptEnd | None:
        return read_model(self.transcript_end_path, TranscriptEnd)

    # control files: how any terminal talks to the running stages (no signals: Windows)
    def request(self, what: str) -> None:
        make_private_dir(self.control)
        atomic.write_text(self.control / what, now_iso() + "\n")

    def withdraw(self, what: str) -> None:
        (self.control / what).unlink(missing_ok=True)

    def requested(self, what: str) -> bool:
        return (self.control / what).exists()

    # quarantine
    def quarantine(self, path: Path, stage: str, reason: str,
                   start: float | None = None, end: float | None = None) -> Path:
        """Move a bad input to failed/ with a NAME.reason.json saying why; never deletes it."""
        make_private_dir(self.failed)
        target = self.failed / path.name
        n = 1
        while target.exists():
            target = self.failed / f"{path.name}.{n}"
            n += 1
        if path.exists():
            atomic.replace_with_retry(path, target)
        note = FailedNote(file=target.name, stage=stage, reason=reason, start=start, end=end,
                          failed_at=now_iso())
        atomic.write_json(self.failed / f"{target.name}.reason.json", note)
        return target

    def failures(self) -> list[FailedNote]:
        notes = []
        for p in sorted(self.failed.glob("*.reason.json")):
            try:
                notes.append(FailedNote.model_validate_json(p.read_text(encoding="utf-8")))
            except (ValueError, OSError):
                continue
        return notes

    def log_path(self, stage: str) -> Path:
        return self.logs / f"{stage}.log"


def _indices(folder: Path, ext: str) -> list[int]:
    found = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    for name in names:
        m = BATCH_RE.match(name)
        if m and m.group(2) == ext:
            found.append(int(m.group(1)))
    return sorted(found)


def new_session_path(root: Path, name: str, when: dt.datetime | None = None) -> Path:
    """`<root>/<YYYYMMDD-HHMM>-<slug>`, with `-2`, `-3`… if that folder exists."""
    when = when or dt.datetime.now()
    base = f"{when:%Y%m%d-%H%M}-{slugify(name)}"
    path = root / base
    n = 2
    while path.exists():
        path = root / f"{base}-{n}"
        n += 1
    return path


def iter_sessions(root: Path) -> Iterator[Session]:
    """Session folders under `root`, oldest first (folder names start with the date)."""
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        if (child / "session.json").is_file():
            yield Session(child)


def find_session(root: Path, key: str) -> Session:
    """A session by folder path, folder name, or unique part of its name."""
    direct = Path(key)
    if (direct / "session.json").is_file():
        return Session(direct)
    matches = [s for s in iter_sessions(root) if s.name == key]
    if not matches:
        slug = slugify(key)
        matches = [s for s in iter_sessions(root) if slug in s.name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"no session matches {key!r} under {root}")
    raise LookupError(f"{key!r} matches several sessions: " + ", ".join(s.name for s in matches))


def read_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=False)
