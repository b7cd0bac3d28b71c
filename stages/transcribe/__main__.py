"""`python -m stages.transcribe SESSION_DIR`: transcribe what is missing, then wait for more.

Exits 0 once capture has ended and every batch has its transcript file (and
`transcript/END.json` is written); exits 2 when the model or settings are unusable.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stages import atomic, config, logs
from stages.config import TranscribeConfig
from stages.lock import SessionBusy, SessionLock, orphaned
from stages.models import EngineState, SessionManifest
from stages.spool import Session, now_iso
from stages.transcribe.engine import Engine
from stages.transcribe.models import ModelError
from stages.transcribe.stage import Transcription
from stages.watch import Waker

if TYPE_CHECKING:
    from stages.speakers.labeller import Labeller

POLL_S = 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.transcribe", description=__doc__)
    parser.add_argument("session", type=Path, help="session folder (spool/<session>)")
    parser.add_argument("--model", help="override [transcribe] model for this run")
    parser.add_argument("--no-wait", action="store_true",
                        help="treat the audio present as complete and exit when it is transcribed")
    args = parser.parse_args(argv)
    log = logs.setup("transcribe")
    session = Session(args.session)
    try:
        manifest = session.manifest()
        settings = config.validate(manifest.config, f"{session.manifest_path} (config)")
        cfg = settings.transcribe
        if args.model:
            cfg.model = args.model
        with SessionLock(session, "transcribe"):
            atomic.remove_stale_temps(session.transcript)  # only safe while we hold the lock
            # a file paced like a live meeting is transcribed like one (lag kept short)
            live = not manifest.source.startswith("file:") or settings.capture.realtime
            engine = Engine(cfg, manifest.language, live)
            report_engine(session, engine)
            return _loop(session, cfg, manifest, engine, args.no_wait, live)
    except (FileNotFoundError, ValueError, ModelError, SessionBusy) as exc:
        log.error("%s", exc)
        return 2


def _loop(session: Session, cfg: TranscribeConfig, manifest: SessionManifest, engine: Engine, no_wait: bool,
          live: bool) -> int:
    log = logging.getLogger("transcribe")
    def language() -> str:
        return engine.language or manifest.language

    describe = getattr(engine.model, "describe", None)  # a server's engine says what decoded each batch
    job = Transcription(session, cfg, list(manifest.sources), engine.transcribe, language, describe or cfg.model,
                        live=live, speakers=_labeller(session, cfg, manifest, language))
    waker = Waker(session.audio, session.transcript)
    try:
        while True:
            if job.step(assume_ended=no_wait):
                continue
            if job.finish_if_complete():
                log.info("transcript complete")
                return 0
            if no_wait:
                log.info("nothing left to transcribe (audio not ended; no end marker written)")
                return 0
            if orphaned() or not session.path.is_dir():
                log.warning("the supervisor is gone: exiting; `resume` carries on from the files")
                return 1
            waker.wait(POLL_S)
    finally:
        waker.close()


def report_engine(session: Session, engine: Engine) -> None:
    """Keep `engine.json` saying what transcribes (for `status`): now, and whenever a server's state changes."""

    def write(state: EngineState) -> None:
        try:
            atomic.write_json(session.engine_path, state)
        except OSError as exc:  # only `status` reads it: never worth stopping transcription for
            logging.getLogger("transcribe").warning("cannot write %s: %s", session.engine_path.name, exc)

    if hasattr(engine.model, "on_state"):
        engine.model.on_state = write
        engine.model.report_now()
    else:
        write(EngineState(engine="local", label=engine.cfg.model, updated_at=now_iso()))


def _labeller(session: Session, cfg: TranscribeConfig, manifest: SessionManifest,
              language: Callable[[], str]) -> Labeller | None:
    """The speaker labeller, when asked for and there is a system channel (a mic-only meeting has one voice)."""
    if not cfg.speakers or "system" not in manifest.sources:
        return None
    from stages.speakers.embed import Embedder
    from stages.speakers.labeller import Labeller
    from stages.speakers.weights import SpeakerModelMissing, load_onnx

    try:
        return Labeller(session, language, Embedder(load_onnx()))
    except Exception as exc:  # the transcript matters more than its labels
        unexpected = not isinstance(exc, (SpeakerModelMissing, ImportError))  # a runtime that cannot run the model
        logging.getLogger("transcribe").warning("speakers not told apart: %s", exc, exc_info=unexpected)
        return None


if __name__ == "__main__":
    sys.exit(main())
