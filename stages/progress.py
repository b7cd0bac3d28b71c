"""What a session's files say about it: the single source for `status`, `list` and the dashboard."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from stages import config, lock
from stages.models import BatchMeta, EngineState, SessionManifest, TranscriptBatch
from stages.spool import Session, read_model
from stages.summarize import chunker


@dataclass(frozen=True)
class SessionStatus:
    name: str
    title: str
    state: str  # running, paused, stopping, finished, interrupted
    language: str
    source: str
    created_at: str
    captured: int
    transcribed: int
    quarantined: int
    gaps: int  # stretches of speech the transcriber heard but could not put into words
    audio_seconds: float
    lag_batches: int
    lag_seconds: float  # age of the oldest batch still waiting for its transcript
    behind_seconds: float  # audio captured after the start of the first batch still waiting
    engine: str  # what transcribes, and how a server answers
    chunks: int
    summaries_waiting: int  # windows whose transcript is there but not their mini-summary (1: the one in hand)
    summaries_behind_seconds: float  # meeting time from the oldest of them to the end of the transcript
    report_ready: bool
    capture_ended: bool
    transcript_ended: bool
    supervisor_pid: int | None
    stage_pids: dict[str, int]


def _duration(session: Session, batches: list[int]) -> float:
    if not batches:
        return 0.0
    try:
        meta = read_model(session.meta_path(batches[-1]), BatchMeta)
    except ValueError:
        meta = None
    return meta.start + meta.duration if meta else 0.0


_GAPS: dict[tuple[str, int], int] = {}  # (transcript file, mtime): its gaps; the files are written once


def count_gaps(session: Session, batches: list[int]) -> int:
    """Gap segments in the transcript files, each file read once per process (the dashboard asks often)."""
    total = 0
    for index in batches:
        path = session.transcript_path(index)
        try:
            key = (str(path), path.stat().st_mtime_ns)
            if key not in _GAPS:
                doc = read_model(path, TranscriptBatch)
                _GAPS[key] = sum(seg.gap for seg in doc.segments) if doc else 0
        except (OSError, ValueError):
            continue
        total += _GAPS[key]
    return total


def engine_of(session: Session, manifest: SessionManifest) -> str:
    """One line: the local model or the server that transcribes, and whether the server answers."""
    try:
        state = read_model(session.engine_path, EngineState)
    except ValueError:
        state = None
    if state is None:  # not started yet (or a session older than engine.json): what its settings ask for
        tcfg = manifest.config.get("transcribe", {})
        tcfg = tcfg if isinstance(tcfg, dict) else {}
        server = tcfg.get("openai", {}) if tcfg.get("engine") == "openai" else None
        return f"server {server.get('base_url')}" if isinstance(server, dict) else f"local {tcfg.get('model', '')}"
    if state.engine == "local":
        return f"local {state.label}"
    since = f" since {state.down_since[11:19]}" if state.down_since else ""
    return {
        "ok": f"server {state.label}",
        "retrying": f"server {state.label}: not answering{since} ({state.error}); retrying",
        "fallback": f"{state.label}: the server is down{since} ({state.error}); tried again with backoff",
        "waiting": f"waiting for the server {state.server}: down{since} ({state.error}), no local model to take over; "
                   "the audio waits on disk",
    }[state.state]


def summaries_waiting(session: Session, manifest: SessionManifest, transcribed_until: float) -> tuple[int, float]:
    """Windows the summarizer could read but has not written, and how far back the oldest starts."""
    try:
        cfg = config.validate(manifest.config).summarize
    except config.ConfigError:
        return 0, 0.0
    interval_s = cfg.interval_minutes * 60.0
    window_s = min(cfg.window_minutes, cfg.interval_minutes) * 60.0
    ready = chunker.plan(transcribed_until, False, transcribed_until, interval_s, window_s).windows
    folder = session.summaries / "windows"
    waiting = [w for w in ready if not (folder / f"{chunker.window_key(w)}.json").exists()]
    return len(waiting), (transcribed_until - waiting[0].start if waiting else 0.0)


def status_of(session: Session) -> SessionStatus:
    manifest = session.manifest()
    audio = session.audio_batches()
    done = set(session.transcribed_batches())
    waiting = [i for i in audio if i not in done]
    lag_s = behind_s = 0.0
    transcribed_until = _duration(session, audio)
    if waiting:
        try:
            lag_s = max(0.0, time.time() - session.wav_path(waiting[0]).stat().st_mtime)
            first = read_model(session.meta_path(waiting[0]), BatchMeta)
            behind_s = max(0.0, transcribed_until - first.start) if first else 0.0
            transcribed_until = first.start if first else 0.0
        except (OSError, ValueError):
            pass
    report_ready = (session.report / "END.json").exists()
    windows_waiting, summaries_behind = (0, 0.0) if report_ready else summaries_waiting(session, manifest,
                                                                                        transcribed_until)
    owner = lock.holder(session)
    if owner is not None:
        state = "paused" if session.requested("PAUSE") else "stopping" if session.requested("STOP") else "running"
    elif manifest.state == "finished":
        state = "finished"
    else:
        state = "interrupted"
    return SessionStatus(
        name=session.name, title=manifest.name, state=state, language=manifest.language, source=manifest.source,
        created_at=manifest.created_at, captured=len(audio), transcribed=len(done & set(audio)),
        quarantined=len(session.failures()), gaps=count_gaps(session, sorted(done)),
        audio_seconds=_duration(session, audio), lag_batches=len(waiting),
        lag_seconds=lag_s, behind_seconds=behind_s, engine=engine_of(session, manifest),
        chunks=len(list(session.summaries.glob("chunk_*.json"))), summaries_waiting=windows_waiting,
        summaries_behind_seconds=summaries_behind, report_ready=report_ready,
        capture_ended=session.audio_end_path.exists(), transcript_ended=session.transcript_end_path.exists(),
        supervisor_pid=owner.pid if owner else None, stage_pids=owner.stages if owner else {},
    )


def summaries_line(st: SessionStatus) -> str | None:
    """Said when the LLM is more than the window in hand behind: the meeting goes on, summaries catch up."""
    if st.summaries_waiting < 2:
        return None
    return (f"summaries behind: {st.summaries_waiting} windows waiting ({clock(st.summaries_behind_seconds)} "
            "of meeting); the LLM is short of CPU, they will be read together as it frees up")


def clock(seconds: float) -> str:
    return str(dt.timedelta(seconds=round(seconds)))
