"""Decisions, action items and open questions against the truth of the team's evaluation meetings.

    python -m bench.summarize_quality [--backends offline,local] [--sources text,espeak,kokoro] [--show]

The meetings are bench/meetings/ (24, half French); the third listed in heldout.txt was set aside
before any tuning and is reported on its own. `text` is the script's clean text (the first speaker
as "You", the others as "Others", as live); `espeak` and `kokoro` are the meeting spoken by that
engine and transcribed by the real pipeline (base model, imported file: voices labelled "Speaker N"),
cached by `python -m bench.summarize_cases`. For every list: recall (action items: found with the
right owner, or with none or a voice label where the owner's name is never said) and precision (listed items that
match a truth item not already matched: a duplicate counts against it), per backend, source,
part (tune / held out) and language, then the issue's bar on the held-out part after TTS + Whisper.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, machine
from bench.summarize_cases import SOURCES, Case, available, cases, session_for
from bench.summarize_common import LISTS, Score, read_report, score, workdir
from stages import logs
from stages.summarize import backends
from stages.summarize.backends.base import Backend
from stages.summarize.run import settings
from stages.summarize.schema import MiniSummary
from stages.summarize.stage import Summarizer

# recall of (decisions, action items with the right owner), precision of every list, precision of open questions
BARS = {"offline": (60.0, 70.0, 80.0, 80.0), "local": (85.0, 90.0, 85.0, 80.0)}


def cache_answers(folder: Path) -> None:
    """Keep every answer of the local model on disk, keyed by its whole request: the same window asked the same
    way is read back instead of generated again, so variants of what is done with the answers cost nothing.
    The model is loaded only on the first request not in the cache."""
    from stages.summarize.backends.local import COMPACT, LocalBackend

    folder.mkdir(parents=True, exist_ok=True)
    real_chat, real_prepare = LocalBackend.chat, LocalBackend.prepare

    def chat(self: LocalBackend, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        key = hashlib.sha256(json.dumps([self.describe(), messages, schema, max_tokens, temperature, COMPACT],
                                        sort_keys=True).encode()).hexdigest()
        path = folder / f"{key}.json"
        if path.exists():
            kept = json.loads(path.read_text(encoding="utf-8"))
            self.stats.prompt_tokens, self.stats.output_tokens = kept["prompt_tokens"], kept["output_tokens"]
            return str(kept["answer"])
        real_prepare(self)
        answer = real_chat(self, messages, schema, max_tokens, temperature)
        path.write_text(json.dumps({"answer": answer, "prompt_tokens": self.stats.prompt_tokens,
                                    "output_tokens": self.stats.output_tokens}), encoding="utf-8")
        return answer

    LocalBackend.chat = chat  # type: ignore[method-assign]
    LocalBackend.prepare = lambda self: None  # type: ignore[method-assign]


CHAINS: dict[str, list[Backend]] = {}


def run_one(case: Case, source: str, backend: str, extra: dict[str, Any]) -> tuple[Score, float]:
    """One meeting through the real stage code; the backends are kept from meeting to meeting, so the local
    model is loaded once and keeps its prompt cache (the instructions) across meetings."""
    session = session_for(case, source, workdir(f"{case.name}-{source}-{backend}"), backend, extra)
    cfg = settings(session, None)
    chain = CHAINS.setdefault(backend, backends.chain(cfg.llm, cfg))
    began = time.monotonic()
    job = Summarizer(session, cfg, chain)
    while not job.finished():
        if not job.step():
            time.sleep(min(1.0, max(0.05, job.runner.waiting())))
    return score(read_report(session), case.script["truth"], case.language), time.monotonic() - began


def bar(backend: str, total: Score) -> str:
    limits = BARS.get(backend)
    if limits is None:
        return ""
    d, a, q = (total.lists[n] for n in LISTS)
    checks = [(d.recall, limits[0]), (a.recall, limits[1]), (d.precision, limits[2]), (a.precision, limits[2]),
              (q.precision, limits[3])]
    ok = all(v is not None and v >= want for v, want in checks)
    return (f"bar: decisions >= {limits[0]:.0f} %, actions >= {limits[1]:.0f} %, precision >= {limits[2]:.0f} % "
            f"(open questions {limits[3]:.0f} %): {'MET' if ok else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="offline,local")
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--part", choices=("all", "tune", "heldout"), default="all")
    parser.add_argument("--only", default="", help="only meetings whose name contains one of these (comma-separated)")
    parser.add_argument("--local-model", default="default", help="[summarize.local] model for the local backend")
    parser.add_argument("--local-threads", type=int, default=0,
                        help="[summarize.local] threads (1 wastes less on a machine busy with other work)")
    parser.add_argument("--show", action="store_true", help="print missed and extra items")
    parser.add_argument("--llm-cache", default=str(OUT / "llm-cache"),
                        help="folder of the local model's answers, reused for the same request ('' = none)")
    parser.add_argument("--llm-only", action="store_true",
                        help="measure the LLM alone ([summarize] complete_lists = false: no rules in the prompt)")
    parser.add_argument("--lists", choices=("union", "llm"), default="union",
                        help="llm: the same prompt (rules shown), but the rules' decisions and tasks the model "
                             "left out are not added back (open questions stay the rules')")
    args = parser.parse_args()
    chosen = [c for c in cases() if any(o in c.name for o in args.only.split(","))
              and (args.part == "all" or c.heldout == (args.part == "heldout"))]
    logs.setup("summarize")
    if args.llm_cache:
        cache_answers(Path(args.llm_cache))
    if args.lists == "llm":
        from stages.summarize import llm

        def questions_only(mini: MiniSummary, found: MiniSummary, language: str) -> MiniSummary:
            return mini.model_copy(update={"open_questions": found.open_questions})

        llm.complete = questions_only  # type: ignore[assignment]
    print(f"machine: {machine()}")
    totals: dict[tuple[str, str, str, str], Score] = {}
    for backend in args.backends.split(","):
        extra: dict[str, Any] = ({"local": {"model": args.local_model, "threads": args.local_threads}}
                                 if backend == "local" else {})
        if args.llm_only:
            extra["complete_lists"] = False
        for source in args.sources.split(","):
            missing = [c.name for c in chosen if not available(c, source)]
            if missing:
                print(f"{backend:7} {source:6} skipped, not transcribed yet: {', '.join(missing)}")
            for case in (c for c in chosen if available(c, source)):
                result, took = run_one(case, source, backend, extra)
                part = "heldout" if case.heldout else "tune"
                for key in ((backend, source, part, case.language), (backend, source, part, "all"),
                            (backend, "tts", part, "all")):
                    if key[1] == "tts" and source == "text":
                        continue
                    totals.setdefault(key, Score()).add(result)
                print(f"{backend:7} {source:6} {part:7} {case.name:28} {result.line()}  [{took:.0f} s]", flush=True)
                if args.show:
                    for miss in result.misses:
                        print(f"           missed  {miss}")
                    for extra_item in result.extras:
                        print(f"           extra   {extra_item}")
    print()
    for (backend, source, part, language), total in sorted(totals.items()):
        print(f"{backend:7} {source:6} {part:7} {language:3} {total.line()}")
        if source == "tts" and part == "heldout":
            print(f"{'':7} {bar(backend, total)}")


if __name__ == "__main__":
    main()
