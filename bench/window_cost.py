"""What one summary window costs the local LLM: seconds, prompt tokens read and taken from the cache, answer.

    python -m bench.window_cost SESSION                      # 4 consecutive windows, 1 thread, nothing beside
    python -m bench.window_cost SESSION --threads 2 --beside call --windows 6
    python -m bench.window_cost SESSION --brief              # the short answers of a slowed live summarizer
    python -m bench.window_cost SESSION --model small        # the 0.5B model
    python -m bench.window_cost SESSION --first 0 --windows 20 --brief --model small --show   # and its lists

SESSION is a transcribed session folder (for example one `bench.beside_call` kept in
bench/out/beside-call/, or any `spool/<session>`). The windows are asked one after the other
as the summarizer asks them (the minute before as context), in a process lowered like the
summarizer, optionally beside the call stand-in at about one core (bench/call_standin.py).
A window whose answer the backend gives up on (cut at its token bound, invalid) is counted as
such: in the pipeline the rules would do it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.call_standin import Call
from bench.common import machine
from stages.config import PipelineConfig
from stages.spool import Session
from stages.summarize.backends.base import BackendError, OutOfTime, WindowTask
from stages.summarize.backends.local import LocalBackend
from stages.summarize.run import lower_priority
from stages.summarize.transcript import TranscriptView


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("session", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--first", type=float, default=1.0, help="minute the first window starts at")
    parser.add_argument("--beside", choices=("nothing", "call"), default="nothing")
    parser.add_argument("--language", default="fr")
    parser.add_argument("--brief", action="store_true", help="the short answer a slowed live summarizer asks for")
    parser.add_argument("--model", default="default", help="[summarize.local] model: default, small or a GGUF path")
    parser.add_argument("--show", action="store_true", help="print each window's decisions and action items")
    args = parser.parse_args()
    view = TranscriptView(Session(args.session))
    view.refresh()
    cfg = PipelineConfig().summarize
    cfg.local.threads = args.threads
    cfg.local.model = args.model
    lower_priority()
    backend = LocalBackend(cfg)
    backend.prepare()
    backend.warm(args.language)
    call = Call("slow", 1, Path(tempfile.mkdtemp())).start() if args.beside == "call" else None
    print(f"machine: {machine()}; {args.threads} thread(s), beside {args.beside}"
          f"{', brief answers' if args.brief else ''}", flush=True)
    rows: list[dict[str, Any]] = []
    try:
        if call is not None:
            time.sleep(5.0)
        for i in range(args.windows):
            start = 60.0 * (args.first + i)
            task = WindowTask(args.language, start, start + 60.0, view.between(start, start + 60.0), (),
                              view.between(start - 60.0, start), args.brief)
            t0 = time.monotonic()
            try:
                mini, _ = backend.summarize(task)
                lists: dict[str, Any] = {"decisions": mini.decisions,
                                         "action_items": [f"{a.owner}: {a.task}" for a in mini.action_items]}
            except BackendError as exc:  # the rules would do this window
                lists = {"given_up": f"{'cut' if isinstance(exc, OutOfTime) else 'invalid'}: {exc}"}
            stats = backend.stats
            rows.append({"window": i + 1, "seconds": round(time.monotonic() - t0, 1), "prompt": stats.prompt_tokens,
                         "cached": stats.cached_tokens, "read": stats.prompt_tokens - stats.cached_tokens,
                         "answer": stats.output_tokens,
                         "read_s": round(stats.read_s, 1), "write_s": round(stats.write_s, 1),
                         **({k: v for k, v in lists.items() if args.show or k == "given_up"})})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    finally:
        if call is not None:
            call.stop()
        backend.close()
    print(f"total {sum(r['seconds'] for r in rows):.1f} s for {len(rows)} windows, "
          f"{sum('given_up' in r for r in rows)} given up")


if __name__ == "__main__":
    main()
