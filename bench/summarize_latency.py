"""How long after the last transcript file the final report is on disk, for a long meeting.

    python -m bench.summarize_latency [--minutes 120] [--backends offline,local] [--lang fr]

A meetingsynth meeting is turned into transcript files (150 words per minute, no
audio) and the stage runs as in production (`python -m stages.summarize SESSION`,
its own process). Every transcript file but the last is written first and the
stage is left to catch up, as it does live (it reads a 2-minute window in well
under 2 minutes); then the last file and transcript/END.json are written and the
clock runs until report/END.json exists. The meeting is cut to end just before a
window boundary, so the last window is nearly full: the worst case. Prints both
latencies, the final prompt size (the last overall-summary request) and the tail.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, machine
from bench.summarize_common import generated, workdir
from stages.spool import Session
from stages.summarize.chunker import plan
from stages.summarize.run import settings
from stages.summarize.schema import SynthesisFile
from stages.summarize.scripted import batches_of, make_session, segments_of, write_batch, write_end


def cut_before_window_end(script: dict[str, Any], window_s: float, margin_s: float = 5.0) -> tuple[list[Any], float]:
    """Segments up to just before the last window boundary, and the meeting's new end."""
    segments = segments_of(script)
    end = segments[-1].end
    boundary = (end // window_s) * window_s
    cut = boundary - margin_s
    kept = [s for s in segments if s.end <= cut]
    return kept, kept[-1].end


def wait_caught_up(session: Session, covered: float, proc: subprocess.Popen[bytes], timeout: float) -> float:
    cfg = settings(session, None)
    p = plan(covered, False, covered, cfg.interval_minutes * 60, min(cfg.window_minutes, cfg.interval_minutes) * 60)
    windows = session.summaries / "windows"
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if proc.poll() is not None:
            sys.exit(f"the stage exited early ({proc.returncode}); see {session.path}/summarize.log")
        have = {f.name for f in windows.glob("*.json")} if windows.exists() else set()
        want = {f"{w.chunk:04d}-{w.window:02d}.json" for w in p.windows}
        synthesis = session.summaries / "synthesis.json"
        folded = set(SynthesisFile.model_validate_json(synthesis.read_text("utf-8")).chunks) \
            if synthesis.exists() else set()
        if want <= have and set(p.chunks) <= folded:
            return time.monotonic() - began
        time.sleep(1.0)
    sys.exit(f"the stage did not catch up within {timeout:.0f} s")


def start_stage(session: Session, log_name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONPATH=str(ROOT))
    log_path = session.path / log_name
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "stages.summarize", str(session.path), *args], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log_path


def run(backend: str, script: dict[str, Any], local_model: str, catch_up_with: str | None, threads: int = 0) -> None:
    extra: dict[str, Any] = {"local": {"model": local_model, "threads": threads}}
    first = catch_up_with or backend
    session = make_session(workdir(f"latency-{backend}"), script, llm=first, summarize=extra)
    cfg = settings(session, None)
    window_s = min(cfg.window_minutes, cfg.interval_minutes) * 60
    segments, end = cut_before_window_end(script, window_s)
    batches = batches_of(segments, script["language"])
    proc, log_path = start_stage(session, "summarize.log")
    try:
        for batch in batches[:-1]:
            write_batch(session, batch)
        catch_up = wait_caught_up(session, batches[-2].end, proc, timeout=4 * 3600)
        if catch_up_with:
            proc.kill()
            proc.wait()
            proc, log_path = start_stage(session, "summarize-end.log", "--llm", backend)
            loaded = "prompt cache warmed"
            began = time.monotonic()
            while loaded not in log_path.read_text(errors="replace") and backend in ("local", "ollama"):
                if time.monotonic() - began > 300 or proc.poll() is not None:
                    sys.exit(f"{backend} did not load; see {log_path}")
                time.sleep(0.2)
            time.sleep(2.0)  # let it settle (nothing to do until the last file)
        last_window_start = (end // window_s) * window_s if end % window_s else end - window_s
        tail = end - last_window_start
        stage = psutil.Process(proc.pid)
        cpu0 = sum(stage.cpu_times()[:2])
        t0 = time.monotonic()
        write_batch(session, batches[-1])
        write_end(session, batches[-1].batch)
        while not (session.report / "END.json").exists():
            if proc.poll() is not None and not (session.report / "END.json").exists():
                sys.exit(f"the stage exited ({proc.returncode}) without a report; see {log_path}")
            time.sleep(0.05)
        latency = time.monotonic() - t0
        try:
            cpu = sum(stage.cpu_times()[:2]) - cpu0  # what the report cost, whatever else runs on the machine
        except psutil.NoSuchProcess:
            cpu = float("nan")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    synthesis = SynthesisFile.model_validate_json((session.summaries / "synthesis.json").read_text("utf-8"))
    prompt = (f"{synthesis.prompt_tokens} tokens ({synthesis.prompt_chars} chars)" if synthesis.prompt_tokens
              else "none (no LLM)")
    how = f"earlier windows by {catch_up_with}, " if catch_up_with else ""
    print(f"{backend:8} meeting {end / 60:6.1f} min, {len(batches)} transcript files | {how}caught up in "
          f"{catch_up:6.0f} s | last window {tail:5.0f} s of transcript | report {latency:5.2f} s after the last "
          f"transcript file ({cpu:.2f} s of the stage's CPU; load {os.getloadavg()[0]:.1f}) | final prompt {prompt} "
          f"by {synthesis.llm}", flush=True)
    print(f"{'':8} session: {session.path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--backends", default="offline,local")
    parser.add_argument("--local-model", default="default")
    parser.add_argument("--local-threads", type=int, default=0,
                        help="[summarize.local] threads; 1 on a busy machine, where two threads spin waiting")
    parser.add_argument("--catch-up-with", default=None,
                        help="write the earlier windows with this backend (e.g. offline), then restart the stage "
                             "with the measured one for the end: the same work is left at the end, far sooner")
    args = parser.parse_args()
    script = generated(args.lang, args.minutes, args.seed)
    print(f"machine: {machine()}")
    for backend in args.backends.split(","):
        run(backend, script, args.local_model, args.catch_up_with if backend != args.catch_up_with else None,
            args.local_threads)


if __name__ == "__main__":
    main()
