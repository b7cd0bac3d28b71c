"""`python supervisor.py VERB` / `meeting-assistant VERB`: one module per verb group."""

from __future__ import annotations

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
    app()
