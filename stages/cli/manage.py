"""Verbs that act on a running or finished session: down (stop), pause, stage, report."""

from __future__ import annotations

import subprocess
import time

import typer

from stages import lock
from stages.cli.common import SpoolOpt, console, fail, pick_session, settings
from stages.sessions import spool_root
from stages.speakers.labels import rename_speakers
from stages.spool import iter_sessions
from stages.supervise import STAGES, stage_command


def down(
    session_key: str = typer.Argument(None, metavar="[SESSION]", help="Default: every running session."),
    spool: str = SpoolOpt,
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the report is written."),
    timeout: float = typer.Option(600.0, help="Seconds to wait at most."),
) -> None:
    """Stop recording: the last batch is flushed, the transcript finished and the report written.

    Works from any terminal (it creates control/STOP in the session folder).
    Example: python supervisor.py down
    """
    if session_key:
        targets = [pick_session(session_key, spool)]
    else:
        targets = [s for s in iter_sessions(spool_root(settings(spool=spool))) if lock.is_running(s)]
    if not targets:
        fail("no session is running", code=1)
    for session in targets:
        session.request("STOP")
        console.print(f"Stop requested for {session.name}")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while any(lock.is_running(s) for s in targets):
        if time.monotonic() > deadline:
            fail(f"still running after {timeout:.0f} s; see `python supervisor.py status`", code=1)
        time.sleep(0.5)
    for session in targets:
        console.print(f"[green]Done:[/] {session.report}")


def pause(
    session_key: str = typer.Argument(None, metavar="[SESSION]", help="Default: the running session."),
    spool: str = SpoolOpt,
) -> None:
    """Pause recording, or resume it when already paused (the gap is kept, not transcribed).

    Example: python supervisor.py pause
    """
    session = pick_session(session_key, spool)
    if session.requested("PAUSE"):
        session.withdraw("PAUSE")
        console.print(f"Recording resumed: {session.name}")
    else:
        session.request("PAUSE")
        console.print(f"Recording paused: {session.name} (run pause again to resume)")


def stage(
    name: str = typer.Argument(..., help="capture, transcribe or summarize."),
    session_key: str = typer.Argument(..., metavar="SESSION"),
    spool: str = SpoolOpt,
) -> None:
    """Run one stage by hand on a session folder; it does only what is missing there.

    Example: python supervisor.py stage transcribe 20261123-1405-reunion-projet-x
    """
    if name not in STAGES:
        fail(f"unknown stage {name!r}: choose one of {', '.join(STAGES)}")
    session = pick_session(session_key, spool)
    raise typer.Exit(subprocess.call(stage_command(name, session, [])))


def report(
    session_key: str = typer.Argument(None, metavar="[SESSION]", help="Default: the latest session."),
    spool: str = SpoolOpt,
    llm: str = typer.Option(None, "--llm", help="Backend for the new summaries: auto, ollama, local, openai, "
                                                "anthropic, offline."),
    speaker: list[str] = typer.Option(None, "--speaker", help='Name a speaker everywhere: "Speaker 2=Bob" '
                                                              "(repeat for several)."),
) -> None:
    """Rewrite the mini-summaries and the report, for example with another LLM or with speakers' names.

    Example: python supervisor.py report 20261123-1405-reunion-projet-x --llm local --speaker "Speaker 2=Bob"
    """
    from stages.summarize import regenerate

    session = pick_session(session_key, spool, running_first=False)
    if lock.is_running(session):
        fail(f"{session.name} is still running; stop it first (`python supervisor.py down`)")
    if speaker:
        try:
            named = rename_speakers(session, speaker)
        except ValueError as exc:
            fail(str(exc))
        console.print("Speakers: " + ", ".join(f"{k} = {v}" for k, v in named.items()))
    try:
        folder = regenerate(session, llm)
    except PermissionError as exc:
        fail(f"the report was not replaced: another program holds a file of {session.report} open ({exc}). "
             "Close it, then run this command again; the previous report is unchanged.")
    console.print(f"Report written: {folder}")


def register(app: typer.Typer) -> None:
    app.command("down")(down)
    app.command("stop", help="Alias of down.")(down)
    app.command("pause")(pause)
    app.command("stage")(stage)
    app.command("report")(report)
