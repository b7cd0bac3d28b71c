"""One capture run on a session folder: read the manifest, resume, capture, write END.json."""

from __future__ import annotations

import logging
from pathlib import Path

from stages import atomic, config
from stages.capture import sources
from stages.capture.errors import EXIT_OK, DiskFullError, SourceError, is_disk_full
from stages.capture.filesource import run_file
from stages.capture.live import LiveLoop
from stages.capture.writer import BatchWriter, resume_point
from stages.lock import SessionBusy, SessionLock
from stages.models import AudioEnd, Channel
from stages.spool import Session, now_iso

log = logging.getLogger("capture")


def run_capture(session_dir: Path, realtime: bool | None = None) -> int:
    """Capture into `session_dir` until STOP or end of file; the exit code (see errors.py)."""
    session = Session(session_dir)
    try:
        manifest = session.manifest()
    except (FileNotFoundError, ValueError) as exc:
        raise SourceError(f"cannot capture: {exc}") from exc
    try:
        cfg = config.validate(manifest.config, f"{session.manifest_path} [config]")
    except config.ConfigError as exc:
        raise SourceError(str(exc)) from exc
    spec = sources.parse_source(manifest.source)
    channels = list(spec.channels)
    if sorted(manifest.sources) != sorted(channels):
        log.warning("session.json lists sources %s but source %r captures %s; using the latter",
                    manifest.sources, manifest.source, channels)
    if session.audio_end() is not None:
        log.info("audio/END.json exists: this session's audio is complete, nothing to do")
        return EXIT_OK
    try:
        with SessionLock(session, "capture"):
            return _capture(session, cfg, spec, channels, realtime)
    except SessionBusy as exc:
        raise SourceError(str(exc)) from exc


def _capture(session: Session, cfg: config.PipelineConfig, spec: sources.SourceSpec, channels: list[Channel],
             realtime: bool | None) -> int:
    session.ensure_layout()
    atomic.remove_stale_temps(session.audio)
    batch_s = cfg.capture.batch_seconds
    resume = resume_point(session, batch_s)
    writer = BatchWriter(session, channels, cfg.capture.silence_dbfs)
    log.info("capture %s: source %s, batches of %.1f s, next batch %06d at %.1f s",
             session.name, spec.canonical(), batch_s, resume.next_index, resume.next_start)
    try:
        if session.requested("STOP"):
            reason, last = "stopped", None
        elif spec.path is not None:
            path = spec.path if spec.path.is_absolute() else Path.cwd() / spec.path
            pace = cfg.capture.realtime if realtime is None else realtime
            reason, last = run_file(session, writer, path, batch_s, pace, resume,
                                    lambda: session.requested("STOP"))
        else:
            try:
                for line in sources.probe_live(channels, cfg.capture):
                    log.info("device %s", line)
            except SourceError as exc:
                if resume.next_index == 1:
                    raise
                log.warning("%s; resuming anyway, the legs retry and record silence meanwhile", exc)
            live = sources.open_live(channels, cfg.capture)
            reason, last = LiveLoop(session, writer, live, channels, batch_s, resume,
                                    cfg.session.max_duration_hours * 3600).run()
        end = AudioEnd(last_batch=last or resume.next_index - 1, reason=reason, ended_at=now_iso())
        atomic.write_json(session.audio_end_path, end)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"disk full in {session.path}: free some space, then resume the session") from exc
        raise
    log.info("done: %s, last batch %06d, audio/END.json written", reason, end.last_batch)
    return EXIT_OK
