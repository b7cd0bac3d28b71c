"""Running the summarizer: the live stage loop, and regeneration of a finished session's report."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

from stages import atomic, config
from stages.config import SummarizeConfig
from stages.spool import Session
from stages.summarize import backends
from stages.summarize.stage import Summarizer
from stages.watch import Waker

log = logging.getLogger("summarize")
POLL_S = 1.0
NICE_DROP = 5  # how much lower than normal the summarizer runs (process and, on Linux, its group)


def settings(session: Session, llm: str | None) -> SummarizeConfig:
    """The session's [summarize] settings (snapshot in session.json), with `llm` overriding the backend."""
    manifest = session.manifest()
    cfg = config.validate(manifest.config, f"{session.manifest_path} (config)").summarize
    if llm:
        data = cfg.model_dump()
        data["llm"] = llm
        cfg = SummarizeConfig.model_validate(data)
    return cfg


def lower_priority(drop: int = NICE_DROP) -> None:
    """Let transcription have the CPU first: the LLM is the one that can wait.

    On Linux each stage the supervisor starts is its own session, hence its own
    scheduler autogroup, and a process's nice value only ranks it inside its group:
    the group's nice is lowered too, else the LLM still gets as much CPU as the
    transcriber. Run by hand from a terminal, the group is the terminal's: left alone.
    """
    try:
        import psutil

        proc = psutil.Process()
        if os.name == "nt":
            proc.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            proc.nice(min(19, proc.nice() + drop))
    except Exception as exc:  # not allowed here: run at normal priority
        log.debug("could not lower priority: %s", exc)
    if sys.platform == "linux" and os.getsid(0) == os.getpid():  # a group of its own: the supervisor started it
        try:
            Path("/proc/self/autogroup").write_text(f"{drop}\n", encoding="ascii")
        except OSError as exc:
            log.debug("could not lower the autogroup's priority: %s", exc)


def drive(job: Summarizer, waker: Waker | None = None) -> None:
    """Step until the report is written; sleep on file events (or `POLL_S`, or a backoff) between."""
    try:
        while not job.finished():
            if job.step():
                continue
            if job.finished():
                break
            pause = POLL_S if job.runner.waiting() <= 0 else min(POLL_S, job.runner.waiting())
            if waker is not None:
                waker.wait(pause)
            else:
                time.sleep(pause)
    finally:
        job.runner.close()


def prepare(job: Summarizer, session: Session) -> None:
    """The LLM loaded and its fixed instructions read (or read back from disk) before the first window."""
    job.runner.preload()
    language = session.manifest().language
    if language != "auto":
        job.runner.warm(language)


def run_stage(session: Session, llm: str | None = None) -> int:
    cfg = settings(session, llm)
    if cfg.low_priority:
        lower_priority()
    chain = backends.chain(cfg.llm, cfg)
    job = Summarizer(session, cfg, chain)
    prepare(job, session)
    waker = Waker(session.transcript, session.failed)
    try:
        drive(job, waker)
    finally:
        waker.close()
    return 0


def regenerate(session: Session, llm: str | None = None) -> Path:
    """Rewrite every mini-summary and the report with `llm`; the old ones stay until the new ones are complete."""
    cfg = settings(session, llm)
    new_summaries = session.path / ".summaries.new"
    new_report = session.path / ".report.new"
    for folder in (new_summaries, new_report):
        if folder.exists():
            shutil.rmtree(folder)
    chain = backends.chain(cfg.llm, cfg)
    job = Summarizer(session, cfg, chain, summaries=new_summaries, report_dir=new_report, assume_complete=True)
    prepare(job, session)
    drive(job)
    atomic.swap_folder(new_report, session.report)  # first: a report held open leaves both old ones in place
    atomic.swap_folder(new_summaries, session.summaries)
    log.info("report rewritten with %s", cfg.llm)
    return session.report
