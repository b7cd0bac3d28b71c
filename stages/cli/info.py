"""Verbs that only read the spool: status, list."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from stages import progress
from stages.cli.common import SpoolOpt, console, pick_session, settings
from stages.sessions import spool_root
from stages.spool import iter_sessions


def status(
    session_key: str = typer.Argument(None, metavar="[SESSION]", help="Default: the running or latest session."),
    spool: str = SpoolOpt,
) -> None:
    """What a session's files say: batches captured and transcribed, lag, state, processes.

    Example: python supervisor.py status
    """
    session = pick_session(session_key, spool)
    st = progress.status_of(session)
    table = Table(show_header=False, box=None)
    rows = [
        ("session", f"{st.title} ({st.name})"), ("folder", str(session.path)), ("state", st.state),
        ("source", st.source), ("language", st.language), ("audio", progress.clock(st.audio_seconds)),
        ("batches captured", str(st.captured)), ("batches transcribed", str(st.transcribed)),
        ("transcribed by", st.engine),
        ("lag", f"{st.lag_batches} batch(es) ({st.behind_seconds:.0f} s of audio), "
                f"oldest waiting {st.lag_seconds:.0f} s"),
        ("quarantined files", str(st.quarantined)), ("speech not understood (gaps)", str(st.gaps)),
        ("summary chunks", str(st.chunks)),
        ("summaries", progress.summaries_line(st) or f"keeping up ({st.summaries_waiting} window(s) in hand)"),
        ("capture ended", str(st.capture_ended)), ("transcript complete", str(st.transcript_ended)),
        ("report", str(session.report) if st.report_ready else "not yet"),
        ("processes", ", ".join(f"{k} {v}" for k, v in st.stage_pids.items()) or "none"),
    ]
    for key, value in rows:
        table.add_row(f"[bold]{key}[/]", value)
    console.print(table)
    for note in session.failures():
        console.print(f"[yellow]failed/{note.file}[/]: {note.reason}")


def list_sessions(spool: str = SpoolOpt, as_json: bool = typer.Option(False, "--json")) -> None:
    """Past and running meetings: date, name, duration, language, state, batches.

    Example: python supervisor.py list
    """
    rows = []
    for session in iter_sessions(spool_root(settings(spool=spool))):
        try:
            rows.append(progress.status_of(session))
        except (OSError, ValueError):
            continue
    if as_json:
        console.print_json(json.dumps([r.__dict__ for r in rows]))
        return
    table = Table("date", "name", "duration", "language", "state", "batches", "report", "folder")
    for r in rows:
        table.add_row(r.created_at[:16].replace("T", " "), r.title, progress.clock(r.audio_seconds), r.language,
                      r.state, f"{r.transcribed}/{r.captured}", "yes" if r.report_ready else "no", r.name)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("list")(list_sessions)
