"""`python supervisor.py VERB` / `meeting-assistant VERB`: one module per verb group."""

from __future__ import annotations

import sys

import typer

from stages.cli import archive, info, manage, start

app = typer.Typer(
    name="meeting-assistant",
    help="Record a meeting on this computer, transcribe it and summarize it. Nothing leaves the machine "
         "unless you choose a cloud LLM.\n\nExample: python supervisor.py up --name \"Réunion Projet X\"",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
start.register(app)
manage.register(app)
info.register(app)
archive.register(app)


def main() -> None:
    try:
        app()
    except OSError as exc:  # a full disk is the user's to fix, not a bug: say so instead of a traceback
        from rich.markup import escape

        from stages.capture.errors import EXIT_DISK_FULL, is_disk_full
        from stages.cli.common import err

        if not is_disk_full(exc):
            raise
        where = f" (writing {escape(str(exc.filename))})" if exc.filename else ""
        err.print(f"[bold red]error:[/] the disk is full{where}. Free some space, then run the command again; "
                  "`resume` continues a session where it stopped.", highlight=False)
        sys.exit(EXIT_DISK_FULL)
