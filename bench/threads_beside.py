"""How many threads, beside a call? The local LLM's and Whisper's seconds per window by thread count.

    python -m bench.threads_beside                  # about 8 minutes
    python -m bench.threads_beside --beside call,nothing --windows 3

Each measurement runs in a process of its own, started in a session of its own as the
supervisor starts a stage: the LLM lowered like the summarizer (nice +5, its scheduler
group too), Whisper at normal priority like the transcriber. Beside it: nothing, the call
stand-in of bench/call_standin.py at about one core, or `yes` spinning on one core.
Prints seconds per window for each thread count (0: the LLM follows the free CPU).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.call_standin import Call, calibrate
from bench.common import ROOT, machine, synth_meeting


def llm_role(threads: int, windows: int) -> None:
    """Summarize the demo meeting's first minutes, one window a minute, as the summarizer would."""
    from stages.config import PipelineConfig
    from stages.models import Segment
    from stages.summarize.backends.base import WindowTask
    from stages.summarize.backends.local import LocalBackend
    from stages.summarize.run import lower_priority

    lower_priority()
    cfg = PipelineConfig().summarize
    cfg.local.threads = threads
    backend = LocalBackend(cfg)
    backend.prepare()
    backend.warm("en")
    demo = json.loads((ROOT / "stages" / "demo" / "meeting_en.json").read_text(encoding="utf-8"))
    segments = [Segment(start=t["start"], end=t["end"], channel="system", speaker=t["speaker"], text=t["text"])
                for t in demo["turns"]]
    print("ready", flush=True)
    input()
    times = []
    for i in range(windows):
        start = 60.0 * (i % 2)
        task = WindowTask("en", start, start + 60.0, [s for s in segments if start <= s.start < start + 60.0])
        t0 = time.monotonic()
        backend.summarize(task)
        times.append(time.monotonic() - t0)
    print(json.dumps({"times": times, "threads": backend.threads}), flush=True)


def whisper_role(threads: int, windows: int) -> None:
    """Decode 20 s windows of the generated French meeting with the live engine."""
    from stages.config import PipelineConfig
    from stages.transcribe.engine import Engine

    audio, _ = synth_meeting("fr", 20, seed=3)
    cfg = PipelineConfig().transcribe
    cfg.cpu_threads = threads
    engine = Engine(cfg, "fr", live=True)
    with wave.open(str(audio)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    step = len(pcm) // (windows + 1)
    clips = [(pcm[i * step: i * step + 20 * rate] / 32768).astype(np.float32) for i in range(1, windows + 1)]
    engine.transcribe(clips[0], 0.0)  # loads the VAD model, warms the caches: not timed
    print("ready", flush=True)
    input()
    times = []
    for clip in clips:
        t0 = time.monotonic()
        engine.transcribe(clip, 0.0)
        times.append(time.monotonic() - t0)
    print(json.dumps({"times": times, "threads": threads}), flush=True)


def measure(role: str, threads: int, beside: str, windows: int, call_setup: tuple[str, int],
            folder: Path) -> dict[str, Any]:
    me = [sys.executable, "-m", "bench.threads_beside", "--role", role, "--threads", str(threads),
          "--windows", str(windows)]
    proc = subprocess.Popen(me, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        sys.exit(f"the {role} did not start: is the model installed?")
    load: Call | subprocess.Popen[bytes] | None = None
    if beside == "call":
        load = Call(call_setup[0], call_setup[1], folder).start()
    elif beside == "yes":
        load = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(3.0)
        proc.stdin.write("\n")
        proc.stdin.flush()
        found: dict[str, Any] = json.loads(proc.stdout.readline())
        proc.wait()
    finally:
        if isinstance(load, Call):
            load.stop()
        elif load is not None:
            load.kill()
            load.wait()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beside", default="nothing,call,yes")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--role", choices=["llm", "whisper"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "llm":
        return llm_role(args.threads, args.windows)
    if args.role == "whisper":
        return whisper_role(args.threads, args.windows)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        preset, streams, cores = calibrate(1.0, Path(tmp))
        print(f"the call stand-in: {streams} stream(s) x264 {preset}, {cores:.2f} cores alone", flush=True)
        print("| engine | beside | threads asked | threads run | seconds per window |\n|---|---|---:|---:|---|")
        for role, counts, windows in (("llm", (2, 1, 0), args.windows), ("whisper", (2, 1), 2 * args.windows + 2)):
            for beside in args.beside.split(","):
                for threads in counts:
                    found = measure(role, threads, beside, windows, (preset, streams), Path(tmp))
                    shown = ", ".join(f"{t:.1f}" for t in found["times"])
                    print(f"| {role} | {beside} | {threads} | {found['threads']} | {shown} "
                          f"(total {sum(found['times']):.1f}) |", flush=True)


if __name__ == "__main__":
    main()
