"""Verbs for past meetings: show, search, purge."""

from __future__ import annotations

import typer
from rich.markdown import Markdown

from stages import archive, progress
from stages.cli.common import SpoolOpt, console, fail, pick_session, settings
from stages.cli.info import status
from stages.sessions import spool_root


def show(
    session_key: str = typer.Argument(None, metavar="[SESSION]", help="Default: the latest session."),
    spool: str = SpoolOpt,
) -> None:
    """A session's state and its report, in the terminal.

    Example: python supervisor.py show reunion-projet-x
    """
    session = pick_session(session_key, spool, running_first=False)
    status(session.name if session_key is None else session_key, spool)
    report = session.report / "final.md"
    if report.exists():
        console.print(Markdown(report.read_text(encoding="utf-8")))
        console.print(f"HTML: {session.report / 'final.html'}")
    else:
        console.print("No report yet.")


def search(
    query: str = typer.Argument(..., help="Words to find (case and accents ignored)."),
    spool: str = SpoolOpt,
) -> None:
    """Find text in the transcripts and summaries of every meeting, with the times.

    Example: python supervisor.py search "budget"
    """
    found = 0
    for hit in archive.search(spool_root(settings(spool=spool)), query):
        found += 1
        when = progress.clock(hit.start) if hit.start is not None else hit.where
        console.print(f"[bold]{hit.session}[/] [dim]{when}[/] [cyan]{hit.speaker}[/] {hit.text}")
    if not found:
        console.print(f"Nothing matches {query!r}.")
        raise typer.Exit(1)


def purge(
    session_key: str = typer.Argument(..., metavar="SESSION"),
    spool: str = SpoolOpt,
    everything: bool = typer.Option(False, "--all", help="Delete the whole session folder, report included."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a meeting's raw audio (transcript, summaries and report are kept), or everything with --all.

    Example: python supervisor.py purge 20261123-1405-reunion-projet-x
    """
    session = pick_session(session_key, spool, running_first=False)
    what = "the whole folder" if everything else "its raw audio"
    if not yes and not typer.confirm(f"Delete {what} of {session.name}?"):
        raise typer.Exit(1)
    try:
        if everything:
            archive.purge_all(session)
            console.print(f"Deleted {session.path}")
        else:
            freed = archive.purge_audio(session)
            console.print(f"Deleted the audio of {session.name} ({freed / 1e6:.1f} MB); transcript and report kept.")
    except RuntimeError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command("show")(show)
    app.command("search")(search)
    app.command("purge")(purge)
