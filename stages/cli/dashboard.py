"""The live view of `up` in a terminal: levels, a loud warning for a silent leg, progress, last lines.

Everything shown is read from the session's files, like `status`: the dashboard
is just another reader of the spool.
"""

from __future__ import annotations

import functools
import json

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from stages import progress
from stages.models import BatchMeta, TranscriptBatch
from stages.spool import Session, read_model

SILENT_WARNING_S = 30.0
METER_FLOOR_DBFS = -60.0
LAST_LINES = 6
LABELS = {"mic": "You (mic)", "system": "Others (system)"}


def _recent_meta(session: Session, count: int) -> list[BatchMeta]:
    metas = []
    for index in reversed(session.audio_batches()[-count:]):
        try:
            meta = read_model(session.meta_path(index), BatchMeta)
        except ValueError:
            continue
        if meta is not None:
            metas.append(meta)
    return metas  # newest first


def silent_legs(metas: list[BatchMeta], channels: list[str]) -> dict[str, float]:
    """Seconds each leg has been silent while another leg was not (newest batches first)."""
    out: dict[str, float] = {}
    if len(channels) < 2:
        return out
    for ch in channels:
        quiet, others_spoke = 0.0, False
        for meta in metas:
            if not meta.silent.get(ch, False):
                break
            quiet += meta.duration
            others_spoke |= any(not meta.silent.get(o, True) for o in channels if o != ch)
        if quiet >= SILENT_WARNING_S and others_spoke:
            out[ch] = quiet
    return out


def meter(dbfs: float, width: int = 30) -> Text:
    filled = round(width * max(0.0, min(1.0, (dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS)))
    color = "green" if dbfs > -40 else "yellow" if dbfs > -55 else "red"
    return Text("█" * filled, style=color) + Text("░" * (width - filled), style="dim") + Text(f" {dbfs:6.1f} dBFS")


def last_lines(session: Session, count: int = LAST_LINES) -> list[tuple[float, str, str]]:
    lines: list[tuple[float, str, str]] = []
    for index in reversed(session.transcribed_batches()[-8:]):
        try:
            doc = read_model(session.transcript_path(index), TranscriptBatch)
        except ValueError:
            continue
        if doc is not None:
            lines = [(s.start, s.speaker, s.text) for s in doc.segments] + lines
        if len(lines) >= count:
            break
    return lines[-count:]


def latest_summary(session: Session) -> str:
    chunks = sorted(session.summaries.glob("chunk_*.json"))
    if not chunks:
        return ""
    try:
        return str(json.loads(chunks[-1].read_text(encoding="utf-8")).get("summary", ""))
    except (OSError, ValueError):
        return ""


@functools.lru_cache(maxsize=8)
def file_duration(path: str) -> float | None:
    """Length of an imported file in seconds (None if the container does not say)."""
    import av

    try:
        with av.open(path) as container:
            return container.duration / av.time_base if container.duration else None
    except (OSError, av.error.FFmpegError):
        return None


def import_progress(session: Session, source: str, elapsed_s: float) -> tuple[float, float, float | None] | None:
    """(done seconds, total seconds, ETA seconds) of an imported file, by transcribed audio."""
    total = file_duration(source[5:]) if source.startswith("file:") else None
    if not total:
        return None
    done_batches = session.transcribed_batches()
    done = 0.0
    if done_batches:
        try:
            doc = read_model(session.transcript_path(done_batches[-1]), TranscriptBatch)
            done = doc.end if doc else 0.0
        except ValueError:
            pass
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    return min(done, total), total, eta


def import_line(session: Session, source: str, elapsed_s: float) -> str:
    found = import_progress(session, source, elapsed_s)
    if found is None:
        return ""
    done, total, eta = found
    return f"import {100 * done / total:.0f} % · ETA {progress.clock(eta) if eta is not None else '?'}"


def render(session: Session, help_line: str = "p pause/resume · s status · q stop and write the report",
           elapsed_s: float = 0.0) -> RenderableType:
    st = progress.status_of(session)
    channels: list[str] = list(session.manifest().sources)
    metas = _recent_meta(session, 12)
    parts: list[RenderableType] = []
    imported = import_progress(session, st.source, elapsed_s)
    if imported:
        done, total, eta = imported
        bar = Table.grid(padding=(0, 1))
        bar.add_row(Text("import", style="bold"), ProgressBar(total=total, completed=done, width=40),
                    Text(f"{100 * done / total:.0f} % of {progress.clock(total)} · "
                         f"ETA {progress.clock(eta) if eta is not None else '?'}"))
        parts.append(bar)
    levels = Table.grid(padding=(0, 1))
    for ch in channels:
        level = metas[0].level_dbfs.get(ch, -120.0) if metas else -120.0
        levels.add_row(Text(LABELS[ch], style="bold"), meter(level))
    parts.append(levels)
    for ch, quiet in silent_legs(metas, channels).items():
        parts.append(Text(f"⚠  NO SOUND FROM {LABELS[ch].upper()} FOR {quiet:.0f} s while the other side speaks: "
                          "check the device, or this part of the meeting is lost", style="bold white on red"))
    parts.append(Text(f"{st.state} · {progress.clock(st.audio_seconds)} recorded · {st.captured} batches captured, "
                      f"{st.transcribed} transcribed · lag {st.lag_batches} batch(es) ({st.lag_seconds:.0f} s)"
                      + (f" · {st.quarantined} quarantined" if st.quarantined else "")
                      + (f" · {st.gaps} gap(s) in the transcript" if st.gaps else "")))
    behind = progress.summaries_line(st)
    if behind:
        parts.append(Text(behind, style="yellow"))
    if not st.engine.startswith("local "):  # a server: say which, and whether it answers
        parts.append(Text(f"transcribed by {st.engine}", style="yellow" if "down" in st.engine else ""))
    lines = Table.grid(padding=(0, 1))
    for start, speaker, text in last_lines(session):
        lines.add_row(Text(progress.clock(start), style="dim"), Text(speaker, style="cyan"), Text(text))
    parts.append(Panel(lines, title="last lines", title_align="left"))
    summary = latest_summary(session)
    if summary:
        parts.append(Panel(Text(summary), title="latest mini-summary", title_align="left"))
    parts.append(Text(help_line, style="dim"))
    return Panel(Group(*parts), title=f"[bold]{st.title}[/]", subtitle=session.name)
