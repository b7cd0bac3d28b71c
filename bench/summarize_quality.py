"""Quality of the summaries against the scripts' ground truth, per meeting and backend.

    python -m bench.summarize_quality [--backends offline,local] [--minutes 30] [--seeds 1] [--show]

Meetings: the hand-written ones in ../shared/meetings/ and meetingsynth meetings
(French and English) turned into transcripts at 150 words per minute, no audio:
this measures the summarizer alone. The first speaker of each script is the person
recording ("You"/"Vous"), the others are "Others"/"Participants", as live.
Prints, per meeting and backend: action items found with the right owner,
decisions found, and listed items that are not in the truth.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.common import machine
from bench.summarize_common import Score, generated, hand_written, read_report, score, workdir
from stages import logs
from stages.summarize import backends
from stages.summarize.run import drive, settings
from stages.summarize.scripted import make_session, write_transcript
from stages.summarize.stage import Summarizer

BARS = {"offline": (70.0, 60.0, 0.0), "local": (85.0, 75.0, 80.0)}


def run_one(name: str, script: dict[str, Any], backend: str, extra: dict[str, Any]) -> tuple[Score, float]:
    session = make_session(workdir(f"{name}-{backend}"), script, llm=backend, summarize=extra)
    write_transcript(session, script)
    cfg = settings(session, None)
    began = time.monotonic()
    job = Summarizer(session, cfg, backends.chain(cfg.llm, cfg))
    drive(job)
    took = time.monotonic() - began
    report = read_report(session)
    result = score(report, script["truth"], script["language"])
    return result, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="offline,local")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the generated meetings")
    parser.add_argument("--seeds", default="1", help="comma-separated meetingsynth seeds")
    parser.add_argument("--langs", default="fr,en")
    parser.add_argument("--only", default="", help="run only meetings whose name contains this")
    parser.add_argument("--local-model", default="default", help="[summarize.local] model for the local backend")
    parser.add_argument("--show", action="store_true", help="print missed and extra items")
    parser.add_argument("--llm-only", action="store_true",
                        help="measure the LLM alone ([summarize] complete_lists = false)")
    args = parser.parse_args()
    meetings = hand_written()
    for seed in (int(s) for s in args.seeds.split(",") if s):
        for lang_ in args.langs.split(","):
            meetings.append((f"gen_{lang_}_{args.minutes:g}min_s{seed}", generated(lang_, args.minutes, seed)))
    if args.only:
        meetings = [(n, m) for n, m in meetings if args.only in n]
    logs.setup("summarize")
    print(f"machine: {machine()}")
    totals: dict[str, Score] = {}
    for backend in args.backends.split(","):
        extra: dict[str, Any] = {"local": {"model": args.local_model}} if backend == "local" else {}
        if args.llm_only:
            extra["complete_lists"] = False
        total = totals.setdefault(backend, Score())
        for name, script in meetings:
            result, took = run_one(name, script, backend, extra)
            total.add(result)
            print(f"{backend:8} {name:28} {result.line()}  [{took:.0f} s]", flush=True)
            if args.show:
                for miss in result.misses:
                    print(f"           missed  {miss}")
                for extra_item in result.extras:
                    print(f"           extra   {extra_item}")
    print()
    for backend, total in totals.items():
        print(f"{backend:8} {'ALL':28} {total.line()}")
        bars = BARS.get(backend)
        if bars and total.actions and total.decisions and total.listed:
            real = 100 * (total.listed - total.not_in_truth) / total.listed
            ok = (100 * total.actions_owner / total.actions >= bars[0]
                  and 100 * total.decisions_found / total.decisions >= bars[1] and real >= bars[2])
            print(f"{'':8} bar: actions >= {bars[0]:.0f} %, decisions >= {bars[1]:.0f} %, real >= {bars[2]:.0f} %: "
                  f"{'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
