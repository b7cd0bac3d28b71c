"""Does the summarizer's memory stay flat over a long meeting? RSS per 10 minutes of transcript.

    python -m bench.summarize_memory [--minutes 120] [--lang fr] [--llm offline]

A meetingsynth meeting becomes transcript files shaped as the transcriber writes
them (segments, plus its resume state: a 223-token prompt and the carried text),
written one by one into a session while the real stage runs in its own process
(`python -m stages.summarize SESSION`). After every 10 minutes of meeting the stage
is left to catch up and its RSS is read; then transcript/END.json is written and
the peak RSS of the report phase is measured. Minutes of a 2-hour meeting, not hours:
the drift the 2-hour soak shows (bench/soak.py) is reproduced in about a minute.
"""

from __future__ import annotations

import argparse
import time

import psutil

from bench.common import machine
from bench.summarize_common import generated, workdir
from bench.summarize_latency import start_stage, wait_caught_up
from stages.models import ChannelCursor, TranscriptBatch
from stages.summarize.scripted import batches_of, make_session, segments_of, write_batch, write_end

PROMPT_TOKENS = 223  # [transcribe] prompt_tokens: what the transcriber keeps in every file's state


def as_transcriber_writes(batch: TranscriptBatch, following: TranscriptBatch | None) -> TranscriptBatch:
    """The file with the transcriber's state in it: 3/4 of a real file's bytes."""
    carry = following.segments if following else []
    state = {"system": ChannelCursor(cursor=batch.end, carry=carry,
                                     context=[50364 + (batch.batch * 7 + i) % 1500 for i in range(PROMPT_TOKENS)])}
    return batch.model_copy(update={"state": state})


def rss_mib(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--llm", default="offline")
    args = parser.parse_args()
    script = generated(args.lang, args.minutes, args.seed)
    batches = batches_of(segments_of(script), args.lang)
    session = make_session(workdir("memory"), script, llm=args.llm)
    print(f"machine: {machine()}")
    print(f"meeting: {len(batches)} transcript files ({len(batches) / 6:.0f} min, {args.lang}); summaries {args.llm}")
    proc, log_path = start_stage(session, "summarize.log")
    marks: list[tuple[int, float]] = []
    try:
        for i, batch in enumerate(batches):
            write_batch(session, as_transcriber_writes(batch, batches[i + 1] if i + 1 < len(batches) else None))
            if (i + 1) % 60 == 0 or i + 1 == len(batches):
                wait_caught_up(session, batch.end, proc, timeout=3600)
                marks.append((round((i + 1) / 6), rss_mib(proc.pid)))
                print(f"  minute {marks[-1][0]:4d}: {marks[-1][1]:6.1f} MiB", flush=True)
        write_end(session, batches[-1].batch)
        peak = 0.0
        while proc.poll() is None:
            try:
                peak = max(peak, rss_mib(proc.pid))
            except psutil.Error:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0 or not (session.report / "END.json").exists():
        raise SystemExit(f"the stage exited {proc.returncode} without a report; see {log_path}")
    first, last = marks[0][1], marks[-1][1]
    print(f"RSS minute {marks[0][0]} {first:.1f} MiB -> minute {marks[-1][0]} {last:.1f} MiB "
          f"({last / first - 1:+.1%}); report phase peak {peak:.1f} MiB; session {session.path}")


if __name__ == "__main__":
    main()
