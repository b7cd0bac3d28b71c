"""How much does a running `local` LLM call slow live transcription, by the summarizer's priority?

    python -m bench.llm_contention                 # about 7 minutes
    python -m bench.llm_contention --beside alone,5,10,alone

The paced 2-hour run's worst lags (30-31 s) all fell while the 1.5B LLM was answering.
Here the live transcriber's engine decodes the same 20 s windows of the generated French
meeting, in a session (and so a scheduler group) of its own at normal priority, as the
supervisor starts it: alone, then beside a process that answers chunk-summary-sized prompts
in a loop after lowering itself as the summarizer does, by each nice step given. Prints,
per condition, the median and the maximum seconds per window and the ratio to alone (the
conditions run in the order given; alone both first and last shows what the order does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine, synth_meeting

WINDOW_S = 20.0  # the live window when this was measured (min_window_s was 20 until 2026-12-02)


def transcribe_role(audio: Path, windows: int) -> None:
    """Print the seconds each window took, as one JSON list."""
    from stages.config import PipelineConfig
    from stages.transcribe.engine import Engine

    engine = Engine(PipelineConfig().transcribe, "fr", live=True)
    with wave.open(str(audio)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    step = len(pcm) // (windows + 1)
    clips = [(pcm[i * step: i * step + round(WINDOW_S * rate)] / 32768).astype(np.float32)
             for i in range(1, windows + 1)]
    engine.transcribe(clips[0], 0.0)  # loads the VAD model and warms the caches: not timed
    times = []
    for clip in clips:
        t0 = time.monotonic()
        engine.transcribe(clip, 0.0)
        times.append(time.monotonic() - t0)
    print(json.dumps(times), flush=True)


def llm_role(reference: Path, drop: int) -> None:
    """Lower priority like the summarizer, then answer summary prompts until killed."""
    from stages.config import PipelineConfig
    from stages.summarize.backends.local import LocalBackend
    from stages.summarize.run import lower_priority

    lower_priority(drop)
    backend = LocalBackend(PipelineConfig().summarize)
    backend.prepare()
    text = reference.read_text(encoding="utf-8")[:5000]  # about ten minutes of meeting, as a chunk prompt
    messages = [{"role": "system", "content": "Résume cette partie de réunion en JSON."},
                {"role": "user", "content": text}]
    print("ready", flush=True)
    while True:
        backend.chat(messages, {"type": "object"}, 256, 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beside", default="alone,5,10,15,alone",
                        help="in order: 'alone', or the nice step the LLM process lowers itself by")
    parser.add_argument("--windows", type=int, default=12)
    parser.add_argument("--role", choices=["transcribe", "llm"], help=argparse.SUPPRESS)
    parser.add_argument("--drop", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    audio, reference = synth_meeting("fr", 120)
    if args.role == "transcribe":
        return transcribe_role(audio, args.windows)
    if args.role == "llm":
        return llm_role(reference, args.drop)
    me = [sys.executable, "-m", "bench.llm_contention", "--windows", str(args.windows)]
    print(f"machine: {machine()}; {args.windows} live windows of {WINDOW_S:g} s, Whisper base int8 CPU; "
          "LLM `local` (1.5B) answering in a loop")
    rows: list[tuple[str, list[float]]] = []
    for condition in args.beside.split(","):
        drop = None if condition == "alone" else int(condition)
        llm = None
        if drop is not None:  # its own session, hence its own scheduler group, as under the supervisor
            llm = subprocess.Popen([*me, "--role", "llm", "--drop", str(drop)], cwd=ROOT, stdout=subprocess.PIPE,
                                   text=True, start_new_session=True)
            assert llm.stdout is not None
            if llm.stdout.readline().strip() != "ready":
                sys.exit("the local LLM did not start (python -m stages.summarize.models install)")
            time.sleep(3)  # well into its first answer
        try:
            out = subprocess.run([*me, "--role", "transcribe"], cwd=ROOT, capture_output=True, text=True,
                                 check=True, start_new_session=True).stdout
        finally:
            if llm is not None:
                llm.kill()
                llm.wait()
        times = json.loads(out.strip().splitlines()[-1])
        rows.append(("alone" if drop is None else f"LLM answering at nice +{drop}", times))
        print(f"  {rows[-1][0]}: {' '.join(f'{t:.2f}' for t in times)}", flush=True)
    alone_times = [t for label, times in rows if label == "alone" for t in times]
    alone = statistics.median(alone_times) if alone_times else None
    print("| beside the transcriber | median s per window | max | median vs alone |")
    print("|---|---:|---:|---:|")
    for label, times in rows:
        ratio = f"{statistics.median(times) / alone:.2f} x" if alone else ""
        print(f"| {label} | {statistics.median(times):.2f} | {max(times):.2f} | {ratio} |")


if __name__ == "__main__":
    main()
