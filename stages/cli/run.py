"""Owning a session while its stages run: lock, processes, keys, progress, final state."""

from __future__ import annotations

import logging
import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from stages import lock, logs, progress, tray
from stages.cli import dashboard
from stages.cli.keys import Keys
from stages.config import PipelineConfig
from stages.spool import Session, now_iso
from stages.supervise import Supervisor

TICK_S = 0.25
PRINT_EVERY_S = 5.0
REDRAW_S = 0.5


def _line(session: Session) -> str:
    st = progress.status_of(session)
    return (f"{st.state}: {progress.clock(st.audio_seconds)} captured in {st.captured} batches, "
            f"{st.transcribed} transcribed, lag {st.lag_batches} batch(es), {st.chunks} summary chunk(s)"
            + ("" if st.engine.startswith("local ") else f"; transcribed by {st.engine}"))


def run_session(session: Session, cfg: PipelineConfig, console: Console, interactive: bool = True) -> int:
    """Run until the report is written; 0 on success, 1 when a stage had to be given up."""
    logs.setup("supervisor")
    log = logging.getLogger("supervisor")
    owner = lock.SessionLock(session)
    owner.acquire()
    keys = Keys() if interactive else None
    sup = Supervisor(session, cfg.supervisor, on_change=owner.update)
    manifest = session.manifest()
    manifest.state, manifest.ended_at = "recording", None
    session.write_manifest(manifest)
    tray.start(session, cfg)  # ends by itself once the session is let go
    stop_sent = False
    last_print = 0.0
    started = time.monotonic()
    last_line = ""
    live = Live(dashboard.render(session), console=console, auto_refresh=False) \
        if keys and keys.enabled and console.is_terminal else None
    if live:  # log lines go above the dashboard instead of through it
        from rich.logging import RichHandler

        logging.getLogger().handlers[:] = [RichHandler(console=console, show_path=False)]
    try:
        sup.start()
        if live:
            live.start()
        while not sup.finished:
            try:
                sup.poll()
                if sup.failure:
                    console.print(f"[bold red]{escape(sup.failure)}[/]")
                    sup.wind_down()
                    _set_state(session, "interrupted")
                    console.print(f"Session kept in {session.path}; after fixing, run "
                                  f"`python supervisor.py resume {session.name}`.")
                    return 1
                key = keys.read() if keys else None
                if key == "q" and not stop_sent:
                    session.request("STOP")
                elif key == "p":
                    _toggle_pause(session, console)
                elif key == "s":
                    console.print(_line(session))
                if session.requested("STOP") and not stop_sent:
                    stop_sent = True
                    console.print("Stopping: flushing the last batch, finishing transcript and report…")
                if live and time.monotonic() - last_print > REDRAW_S:
                    last_print = time.monotonic()
                    live.update(dashboard.render(session, elapsed_s=time.monotonic() - started), refresh=True)
                elif not live and time.monotonic() - last_print > PRINT_EVERY_S:
                    last_print = time.monotonic()
                    line = f"{_line(session)} {dashboard.import_line(session, manifest.source, last_print - started)}"
                    if line != last_line:  # a log file, not a screen: say only what changed
                        console.print(line, highlight=False)
                        last_line = line
                time.sleep(TICK_S)
            except KeyboardInterrupt:
                if stop_sent:
                    log.warning("second Ctrl+C: stopping the stages now (resume finishes the work)")
                    sup.terminate()
                    _set_state(session, "interrupted")
                    return 130
                session.request("STOP")
        _set_state(session, "finished")
        end = session.audio_end()
        if end is not None and end.reason == "max_duration":
            console.print(f"Stopped by itself after {cfg.session.max_duration_hours:g} h "
                          "([session] max_duration_hours in pipeline.toml).")
        console.print(f"[bold green]Report ready:[/] {session.report}")
        return 0
    finally:
        if live:
            live.update(dashboard.render(session, help_line="", elapsed_s=time.monotonic() - started), refresh=True)
            live.stop()
        if keys:
            keys.close()
        owner.release()


def _toggle_pause(session: Session, console: Console) -> None:
    if session.requested("PAUSE"):
        session.withdraw("PAUSE")
        console.print("Resumed.")
    else:
        session.request("PAUSE")
        console.print("Paused: nothing is recorded until you press p again.")


def _set_state(session: Session, state: str) -> None:
    manifest = session.manifest()
    manifest.state = state  # type: ignore[assignment]
    manifest.ended_at = now_iso() if state in ("finished", "interrupted") else None
    session.write_manifest(manifest)
