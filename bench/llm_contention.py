"""How much does a running `local` LLM call slow live transcription, by the summarizer's priority?

    python -m bench.llm_contention                 # about 7 minutes
    python -m bench.llm_contention --beside alone,5,10,alone
    python -m bench.llm_contention --call 1 --beside alone,5,19,5,19,alone --window-s 10 --meeting 20:3

The paced 2-hour run's worst lags (30-31 s) all fell while the 1.5B LLM was answering.
Here the live transcriber's engine decodes the same 20 s windows of the generated French
meeting, in a session (and so a scheduler group) of its own at normal priority, as the
supervisor starts it: alone, then beside a process that answers chunk-summary-sized prompts
in a loop after lowering itself as the summarizer does, by each nice step given. Prints,
per condition, the median and the maximum seconds per window and the ratio to alone (the
conditions run in the order given; alone both first and last shows what the order does).
`--call CORES` runs the video call's stand-in (bench/call_standin.py) through every condition,
so the transcriber and the LLM share what the call leaves, and prints the call's frame rate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from bench.call_standin import Call, calibrate
from bench.common import ROOT, machine, synth_meeting

WINDOW_S = 20.0  # the live window when this was measured (min_window_s was 20 until 2026-12-02)


def transcribe_role(audio: Path, windows: int, window_s: float) -> None:
    """Print the seconds each window took, as one JSON list."""
    from stages.config import PipelineConfig
    from stages.transcribe.engine import Engine

    engine = Engine(PipelineConfig().transcribe, "fr", live=True)
    with wave.open(str(audio)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    step = len(pcm) // (windows + 1)
    clips = [(pcm[i * step: i * step + round(window_s * rate)] / 32768).astype(np.float32)
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
    parser.add_argument("--window-s", type=float, default=WINDOW_S, help="seconds of audio per live window")
    parser.add_argument("--meeting", default="120:1", help="MINUTES:SEED of the generated French meeting")
    parser.add_argument("--call", type=float, default=0.0, help="cores the video call's stand-in takes (0: none)")
    parser.add_argument("--role", choices=["transcribe", "llm"], help=argparse.SUPPRESS)
    parser.add_argument("--drop", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    minutes, seed = args.meeting.split(":")
    audio, reference = synth_meeting("fr", float(minutes), seed=int(seed))
    if args.role == "transcribe":
        return transcribe_role(audio, args.windows, args.window_s)
    if args.role == "llm":
        return llm_role(reference, args.drop)
    me = [sys.executable, "-m", "bench.llm_contention", "--windows", str(args.windows), "--window-s",
          str(args.window_s), "--meeting", args.meeting]
    print(f"machine: {machine()}; {args.windows} live windows of {args.window_s:g} s, Whisper base int8 CPU; "
          "LLM `local` (1.5B) answering in a loop")
    with tempfile.TemporaryDirectory() as tmp:
        call = None
        if args.call > 0:
            preset, streams, cores = calibrate(args.call, Path(tmp))
            print(f"beside a call: {streams} stream(s) x264 {preset}, {cores:.2f} cores alone", flush=True)
            call = Call(preset, streams, Path(tmp)).start()
            sampling = call.sample_every(2.0)
            time.sleep(5.0)  # the call runs first, as on a laptop
        try:
            rows = _conditions(me, args.beside.split(","))
        finally:
            if call is not None:
                sampling.set()
                call.stop()
    if call is not None:
        found = call.summary()
        print(f"the call: {found.get('fps_mean', 0):.1f} fps (worst 10 s {found.get('fps_worst_10s', 0):.1f}), "
              f"{found.get('cores_mean', 0):.2f} cores")
    _table(rows)


def _conditions(me: list[str], conditions: list[str]) -> list[tuple[str, list[float]]]:
    """Each condition's seconds per window, in the order given."""
    rows: list[tuple[str, list[float]]] = []
    for condition in conditions:
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
    return rows


def _table(rows: list[tuple[str, list[float]]]) -> None:
    alone_times = [t for label, times in rows if label == "alone" for t in times]
    alone = statistics.median(alone_times) if alone_times else None
    print("| beside the transcriber | median s per window | max | median vs alone |")
    print("|---|---:|---:|---:|")
    for label, times in rows:
        ratio = f"{statistics.median(times) / alone:.2f} x" if alone else ""
        print(f"| {label} | {statistics.median(times):.2f} | {max(times):.2f} | {ratio} |")


if __name__ == "__main__":
    main()
