"""Verbs that start work: up (start), resume, demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer
from rich.markup import escape

from stages import atomic, config, lock, notice
from stages.archive import apply_retention
from stages.cli.common import SpoolOpt, console, fail, pick_session, settings
from stages.cli.run import run_session
from stages.sessions import create, spool_root
from stages.spool import Session
from stages.supervise import PACKAGE_ROOT
from stages.transcribe.models import ModelError, ensure_available

DEMO = PACKAGE_ROOT / "stages" / "demo" / "meeting_en.flac"


def _preflight(cfg: config.PipelineConfig) -> None:
    """Everything that can be checked before a session folder exists, so a bad start leaves nothing behind."""
    from stages.capture import SourceError, check_source, resolve_source

    try:
        check_source(cfg.session.source, cfg)
        cfg.session.source = resolve_source(cfg.session.source)  # stages run from another folder
        if cfg.transcribe.engine == "local":  # a server's engine uses the local model only when it is installed
            ensure_available(cfg.transcribe.model)
    except (SourceError, ModelError) as exc:
        fail(str(exc))
    if cfg.transcribe.engine == "openai" and (warning := cfg.transcribe.openai.unencrypted_warning()):
        console.print(f"[bold yellow]warning:[/] {escape(warning)}")


def _launch(session: Session, cfg: config.PipelineConfig, detach: bool) -> None:
    if not detach:
        raise typer.Exit(run_session(session, cfg, console))
    extra: dict[str, object] = {}
    if os.name == "nt":
        extra["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined,unused-ignore]
    else:
        extra["start_new_session"] = True
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])))
    with atomic.open_append(session.log_path("supervisor")) as out:
        subprocess.Popen([sys.executable, "-m", "stages.cli.detached", str(session.path)], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=subprocess.STDOUT, env=env, **extra)  # type: ignore[call-overload]
    console.print(f"Recording in the background: {session.path}\n"
                  f"Stop with `python supervisor.py down {session.name}`.")


def up(
    name: str = typer.Option(None, "--name", "-n", help="Meeting name; the session folder is named after it."),
    source: str = typer.Option(None, "--source", help="system, mic, system+mic, or file:PATH (any audio/video)."),
    spool: str = SpoolOpt,
    model: str = typer.Option(None, "--model", help="Whisper model name or folder (e.g. base, small, tiny.en)."),
    language: str = typer.Option(None, "--language", "-l", help="Meeting language (fr, en, …) or auto."),
    llm: str = typer.Option(None, "--llm", help="auto, ollama, local, openai, anthropic or offline."),
    interval_minutes: float = typer.Option(None, "--interval-minutes", help="Minutes per mini-summary."),
    realtime: bool = typer.Option(None, "--realtime/--fast", help="File sources: pace like a live meeting."),
    whisper_url: str = typer.Option(None, "--whisper-url", help="Transcribe on this OpenAI-compatible Whisper "
                                    "server (e.g. http://asr.lan:8000/v1): [transcribe] engine = openai."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Run in the background; stop with `down`."),
    config_file: Path = typer.Option(None, "--config", help="An extra pipeline.toml to layer on top."),
) -> None:
    """Start recording a meeting (or import a file) and write the report at the end.

    Example: python supervisor.py up --name "Réunion Projet X" --source system+mic
    """
    cfg = settings(config_file, spool=spool, language=language, source=source, model=model, llm=llm,
                   interval_minutes=interval_minutes, realtime=realtime, whisper_url=whisper_url)
    _preflight(cfg)
    server = cfg.transcribe.openai.base_url if cfg.transcribe.engine == "openai" else None
    reminder = notice.first_run_notice(cfg.session.language, cfg.session.consent_notice, server)
    if reminder:
        console.print(f"[bold yellow]{escape(reminder)}[/]")
    for purged in apply_retention(spool_root(cfg), cfg.session.keep_audio_days):
        console.print(f"Deleted the audio of {purged} (older than {cfg.session.keep_audio_days} days; report kept)")
    session = create(cfg, name or _default_name(cfg.session.source))
    console.print(f"Session [bold]{session.name}[/] in {session.path.parent}")
    _launch(session, cfg, detach)


def _default_name(source: str) -> str:
    import datetime as dt

    if source.startswith("file:"):
        return Path(source[5:]).stem
    return f"Reunion_{dt.datetime.now():%Y-%m-%d_%H-%M}"


def resume(
    session_key: str = typer.Argument(..., metavar="SESSION", help="Session folder, its name, or part of it."),
    spool: str = SpoolOpt,
    detach: bool = typer.Option(False, "--detach", "-d", help="Run in the background."),
) -> None:
    """Continue a session interrupted by a crash or a reboot: same folder, times go on, one report.

    Example: python supervisor.py resume 20261123-1405-reunion-projet-x
    """
    session = pick_session(session_key, spool)
    if lock.is_running(session):
        fail(f"session {session.name} is already running; stop it with `python supervisor.py down {session.name}`")
    manifest = session.manifest()
    try:
        cfg = config.validate(manifest.config, f"{session.manifest_path} (config)")
    except config.ConfigError as exc:
        fail(str(exc))
    session.withdraw("STOP")
    manifest.parts += 1
    session.write_manifest(manifest)
    console.print(f"Resuming [bold]{session.name}[/] (part {manifest.parts})")
    _launch(session, cfg, detach)


def demo(
    spool: str = SpoolOpt,
    llm: str = typer.Option(None, "--llm", help="LLM backend for the summary (default: auto)."),
) -> None:
    """Run the built-in 2-minute English demo meeting through the whole pipeline to a report.

    Example: python supervisor.py demo
    """
    cfg = settings(spool=spool, language="en", source=f"file:{DEMO}", llm=llm)
    _preflight(cfg)
    session = create(cfg, "Demo meeting")
    console.print(f"Demo session [bold]{session.name}[/]: transcribing {DEMO.name}…")
    _launch(session, cfg, detach=False)


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("start", help="Alias of up.")(up)
    app.command("resume")(resume)
    app.command("demo")(demo)
