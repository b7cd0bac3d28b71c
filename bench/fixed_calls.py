"""Live calls recorded once, decoded again by two versions of the engine: an A/B without the replay's noise.

    python -m bench.fixed_calls record --meeting fr:3            # bench/out/calls-fr-20min-s3.npz
    PYTHONPATH=TREE_A python -m bench.fixed_calls decode bench/out/calls-fr-20min-s3.npz A.json
    PYTHONPATH=TREE_B python -m bench.fixed_calls decode bench/out/calls-fr-20min-s3.npz B.json
    python -m bench.fixed_calls compare A.json B.json

A live replay (`bench.live_replay`) makes its windows from the real time each call takes, so two
replays of one meeting decode different calls, and a change's effect on the slowest calls drowns in
that noise (the same code and audio gave a lag max of 25.9, 26.9 and 30.7 s). Here the calls of one
replay (audio, offset, prompt, open end) are kept, and each version of the live `Engine` decodes
exactly those on one thread (`cpu_threads = 1`, as beside a video call): seconds per call, the main
and the fidelity re-decodes apart, the texts, and the WER of the joined texts against the script.
Run the two decodes side by side (one per core) or one after the other, never beside other work.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import OUT
from bench.fidelity import align


def record(meeting: str, minutes: float, out: Path) -> None:
    from bench.decode_options import captured
    from bench.live_replay import Call, replay
    from stages.spool import Session

    lang, seed = meeting.split(":")
    calls: list[Call] = []
    with tempfile.TemporaryDirectory() as tmp:
        base, reference = captured(lang, minutes, int(seed), Path(tmp) / "spool")
        replay(Session(base), Path(tmp) / "work", {"cpu_threads": 1}, record=calls)
    meta = {"lang": lang, "reference": reference,
            "calls": [{"offset": offset, "prompt": prompt, "open_end": end, "lead": lead, "said": said}
                      for _, offset, prompt, end, lead, said in calls]}
    arrays: dict[str, Any] = {f"a{i}": c[0] for i, c in enumerate(calls)}
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **arrays)
    print(f"{len(calls)} calls of {meeting}, {minutes:g} min: {out}")


def decode(calls_path: Path, out: Path, first: int | None = None) -> None:
    from stages.config import PipelineConfig, TranscribeConfig
    from stages.transcribe.engine import Engine

    saved = np.load(calls_path, allow_pickle=False)
    meta = json.loads(str(saved["meta"]))
    cfg = TranscribeConfig.model_validate({**PipelineConfig().transcribe.model_dump(), "cpu_threads": 1})
    engine = Engine(cfg, meta["lang"], live=True)
    spent: defaultdict[str, float] = defaultdict(float)
    plain = engine._decode

    def timed(audio: Any, offset: float, prompt: Any, temperatures: list[float], bounded: bool,
              *args: Any, **kwargs: Any) -> Any:
        t0 = time.monotonic()
        try:
            return plain(audio, offset, prompt, temperatures, bounded, *args, **kwargs)
        finally:
            kind = "main" if bounded else "re-decode"
            spent[kind] += time.monotonic() - t0
            spent[kind + "s"] += 1

    engine._decode = timed  # type: ignore[method-assign]
    rows = []
    for i, call in enumerate(meta["calls"][:first]):
        audio = saved[f"a{i}"]
        t0 = time.monotonic()
        decoded = engine.transcribe(audio, call["offset"], call["prompt"], call["open_end"],
                                    call.get("lead", 0.0), call.get("said"))
        rows.append({"offset": call["offset"], "audio_s": len(audio) / 16000, "seconds": time.monotonic() - t0,
                     "texts": [p.text for p in decoded.pieces], "gaps": len(decoded.gaps)})
    result = {"lang": meta["lang"], "reference": meta["reference"] if first is None else None, "rows": rows,
              "spent": dict(spent)}
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(summary(result, out.name))


def summary(result: dict[str, Any], name: str) -> str:
    rows, spent = result["rows"], result["spent"]
    took = [r["seconds"] for r in rows]
    words = "-"  # some calls only: the script is the whole meeting's
    if result["reference"] is not None:
        score = align(result["reference"], " ".join(t for r in rows for t in r["texts"]), result["lang"])[0]
        words = f"{100 * score.wer:.1f} % ({score.subs}/{score.dels}/{score.ins})"
    return (f"| {name} | {len(rows)} | {sum(took):.1f} s | {max(took):.1f} s | {sum(t > 10 for t in took)} | "
            f"{spent.get('main', 0):.1f} s | {spent.get('re-decodes', 0):.0f} ({spent.get('re-decode', 0):.1f} s) | "
            f"{sum(r['gaps'] for r in rows)} | {words} |")


def compare(paths: list[Path]) -> None:
    results = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    print("| run | calls | all calls | slowest | over 10 s | main passes | re-decodes | gaps | WER (S/D/I) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for path, result in zip(paths, results, strict=True):
        print(summary(result, path.name))
    first = results[0]["rows"]
    for path, result in zip(paths[1:], results[1:], strict=True):
        differ = [a for a, b in zip(first, result["rows"], strict=True) if a["texts"] != b["texts"]]
        print(f"{path.name}: {len(differ)} of {len(first)} calls' text differ from {paths[0].name}'s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    rec = verbs.add_parser("record", help="record the calls of one live replay")
    rec.add_argument("--meeting", default="fr:3", help="LANG:SEED of a generated meeting (bench.common)")
    rec.add_argument("--minutes", type=float, default=20)
    rec.add_argument("--out", type=Path)
    dec = verbs.add_parser("decode", help="decode recorded calls with the engine found first on PYTHONPATH")
    dec.add_argument("calls", type=Path)
    dec.add_argument("out", type=Path)
    dec.add_argument("--first", type=int, help="only the first N calls (a quick look, without WER)")
    cmp = verbs.add_parser("compare", help="the decodes' figures side by side")
    cmp.add_argument("results", type=Path, nargs="+")
    args = parser.parse_args()
    if args.verb == "record":
        lang, seed = args.meeting.split(":")
        record(args.meeting, args.minutes, args.out or OUT / f"calls-{lang}-{args.minutes:g}min-s{seed}.npz")
    elif args.verb == "decode":
        decode(args.calls, args.out, args.first)
    else:
        compare(args.results)


if __name__ == "__main__":
    main()
