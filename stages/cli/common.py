"""What every verb shares: the console, settings with command-line overrides, finding sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from stages import config
from stages.sessions import spool_root
from stages.spool import Session, find_session, iter_sessions

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def settings(config_file: Path | None = None, **overrides: Any) -> config.PipelineConfig:
    """pipeline.toml layers + command-line values (None = not given)."""
    sections = {
        "session": {"spool": overrides.get("spool"), "language": overrides.get("language"),
                    "source": overrides.get("source")},
        "transcribe": {"model": overrides.get("model")},
        "summarize": {"llm": overrides.get("llm"), "interval_minutes": overrides.get("interval_minutes")},
        "capture": {"realtime": overrides.get("realtime")},
    }
    if overrides.get("whisper_url"):  # the short form of [transcribe] engine = "openai" + base_url
        sections["transcribe"].update(engine="openai", openai={"base_url": overrides["whisper_url"]})
    try:
        return config.load(config_file, sections)
    except config.ConfigError as exc:
        fail(str(exc))


def pick_session(key: str | None, spool: str | None, running_first: bool = True) -> Session:
    """SESSION given (path, folder name or part of the name), else the running one, else the latest."""
    from stages import lock

    root = spool_root(settings(spool=spool))
    if key:
        try:
            return find_session(root, key)
        except LookupError as exc:
            fail(str(exc))
    sessions = list(iter_sessions(root))
    if not sessions:
        fail(f"no session under {root}; start one with `python supervisor.py up --name NAME`")
    if running_first:
        running = [s for s in sessions if lock.is_running(s)]
        if running:
            return running[-1]
    return sessions[-1]


SpoolOpt = typer.Option(None, "--spool", help="Spool folder (default: \\[session] spool in pipeline.toml).")
