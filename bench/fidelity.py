"""Fidelity: does every word said reach the pipeline's transcript, on recordings nobody tuned for?

    python -m bench.fidelity                          # every recording: whole file, import, --realtime
    python -m bench.fidelity --set held_out --modes import
    python -m bench.fidelity --only fr-asterisk-b0 --modes whole,import
    python -m bench.fidelity --publish                # also rewrite the table in BENCHMARKS.md

Per recording (bench/fidelity_corpus.py: generated meetings of unused seeds with espeak-ng and
Kokoro voices, real recorded voices from Debian packages, pyannote's sample call), it compares
the pipeline (`supervisor.py up`, three processes, `--llm offline`; `--realtime` paces the file
like a live meeting) with one whole-file faster-whisper call of the same model: WER,
substitutions / deletions / insertions, and the longest run of reference words that the
pipeline lost while the whole-file call has them. The whole-file results do not depend on the
project's code and are cached per recording and faster-whisper version.

The bar (issue "every word that was said"): mean pipeline WER at most 0.5 points above the
whole-file call, no recording more than 1.5 points above, deletions at most 10 % above the
whole-file call's, no run of 8 or more lost words. `dev` and `held_out` are reported apart.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import shutil
import statistics
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, batch_lags, machine, percentile, pipeline_text, run_pipeline
from bench.fidelity_corpus import FIDELITY, RECORDINGS, Recording
from tests.speech import normalise

MODES = ("whole", "import", "realtime")
MARK = "<!-- fidelity -->"
WHOLE_SEED = 0


@dataclass
class Score:
    wer: float
    subs: int
    dels: int
    ins: int
    words: int
    seconds: float  # processing time


def align(reference: str, hypothesis: str, lang: str) -> tuple[Score, list[str], list[str]]:
    """The score and, per reference word, what happened to it (hit, sub or del) and the word heard for it."""
    import jiwer

    ref, hyp = normalise(reference, lang), normalise(hypothesis, lang) or "<empty>"
    out = jiwer.process_words(ref, hyp)
    ref_words, hyp_words = ref.split(), hyp.split()
    fate, heard = ["del"] * len(ref_words), [""] * len(ref_words)
    for chunk in out.alignments[0]:
        for k, i in enumerate(range(chunk.ref_start_idx, chunk.ref_end_idx)):
            fate[i] = {"equal": "hit", "substitute": "sub", "delete": "del"}.get(chunk.type, "del")
            if chunk.type in ("equal", "substitute"):
                heard[i] = hyp_words[chunk.hyp_start_idx + k]
    score = Score(round(out.wer, 4), out.substitutions, out.deletions, out.insertions, len(fate), 0.0)
    return score, fate, heard


def carried_mistakes(reference: str, lang: str, fate: list[str], heard: list[str], whole: list[str],
                     least: int = 3) -> tuple[int, list[str]]:
    """The same wrong word again and again where the whole-file call has it right (a mistake the prompt carries).

    Counts the substitutions `ref -> heard` that occur at least `least` times in the pipeline's transcript
    at places where the whole-file call heard the word right; returns (occurrences, the commonest pairs).
    """
    ref = normalise(reference, lang).split()
    pairs = collections.Counter((ref[i], heard[i]) for i, f in enumerate(fate) if f == "sub" and whole[i] == "hit")
    repeated = [(pair, n) for pair, n in pairs.most_common() if n >= least]
    return sum(n for _, n in repeated), [f"{a}->{b} x{n}" for (a, b), n in repeated[:4]]


def longest_lost_run(pipeline: list[str], whole: list[str]) -> int:
    """Longest stretch of reference words the pipeline deleted, counting those the whole-file call got right."""
    best = run = 0
    for p, w in zip(pipeline, whole, strict=True):
        if p != "del":
            run = 0
            continue
        run += w == "hit"
        best = max(best, run)
    return best


def whole_file(rec: Recording, wav: Path) -> str:
    """One faster-whisper call over the file, as its README does it (cached: it does not depend on our code).

    Its temperature fallback samples, and CTranslate2 seeds its sampler from the system's entropy unless
    told otherwise: two unseeded decodes of the same file differed by up to 8 WER points (fr-espeak-s43
    62.7 / 70.5 %), more than the bar's margin. Seeded, the reference is the same on every run.
    """
    import ctranslate2
    import faster_whisper

    cache = FIDELITY / f"{rec.name}.whole-{faster_whisper.__version__}-seed{WHOLE_SEED}.json"
    if cache.exists():
        data: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8"))
        return str(data["text"])
    from faster_whisper import WhisperModel

    ctranslate2.set_random_seed(WHOLE_SEED)  # before the decoding thread first samples: it seeds once

    from stages.transcribe.engine import cpu_threads
    from stages.transcribe.models import resolve

    model = WhisperModel(resolve("base"), device="cpu", compute_type="int8", cpu_threads=cpu_threads(0))
    t0 = time.monotonic()
    segments, _ = model.transcribe(str(wav), language=rec.lang, beam_size=5, vad_filter=True)
    text = " ".join(s.text.strip() for s in segments)
    cache.write_text(json.dumps({"text": text, "seconds": time.monotonic() - t0}), encoding="utf-8")
    return text


def pipeline(rec: Recording, wav: Path, mode: str, work: Path) -> tuple[str, float, float, Path]:
    """(text, wall seconds, CPU seconds of all its processes, session) of `supervisor.py up` on the file."""
    import resource

    spool = work / f"{rec.name}-{mode}"
    shutil.rmtree(spool, ignore_errors=True)
    extra = ["--llm", "offline", *(["--realtime"] if mode == "realtime" else [])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    session, seconds = run_pipeline(wav, rec.lang, spool, *extra)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return pipeline_text(session), seconds, cpu, session


def duration(wav: Path) -> float:
    with wave.open(str(wav)) as w:
        return float(w.getnframes() / w.getframerate())


def run_one(rec: Recording, modes: list[str], work: Path) -> dict[str, Any]:
    wav, ref_path = rec.files()
    reference = ref_path.read_text(encoding="utf-8")
    row: dict[str, Any] = {"name": rec.name, "lang": rec.lang, "held_out": rec.held_out, "audio_s": duration(wav)}
    whole_text = whole_file(rec, wav)
    whole, whole_fate, _ = align(reference, whole_text, rec.lang)
    row["whole"] = asdict(whole)
    for mode in modes:
        if mode == "whole":
            continue
        text, seconds, cpu, session = pipeline(rec, wav, mode, work)
        score, fate, heard = align(reference, text, rec.lang)
        score.seconds = round(seconds, 1)
        carried, pairs = carried_mistakes(reference, rec.lang, fate, heard, whole_fate)
        row[mode] = asdict(score) | {"lost_run": longest_lost_run(fate, whole_fate), "session": str(session),
                                     "gaps": count_gaps(session), "carried": carried, "carried_pairs": pairs,
                                     "cpu_s": round(cpu, 1), "lags": batch_lags(session) if mode == "realtime" else []}
        print(f"  {rec.name} {mode}: WER {score.wer:.1%} (whole {whole.wer:.1%}), S/D/I {score.subs}/{score.dels}/"
              f"{score.ins} (whole {whole.subs}/{whole.dels}/{whole.ins}), lost run {row[mode]['lost_run']}, "
              f"carried mistakes {carried} {pairs}, {seconds:.0f} s, CPU {cpu:.0f} s", flush=True)
    return row


def count_gaps(session: Path) -> int:
    """Gap segments (speech no decode put into words) in the session's transcript files."""
    found = 0
    for path in (session / "transcript").glob("[0-9]*.json"):
        found += sum(1 for s in json.loads(path.read_text(encoding="utf-8"))["segments"] if s.get("gap"))
    return found


def combined(paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of earlier runs' results.json (an import run and a --realtime run, say) joined by recording."""
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        for row in json.loads(path.read_text(encoding="utf-8")):
            into = rows.setdefault(row["name"], row)
            for mode in MODES:
                if mode in row:
                    into[mode] = row[mode]
                    session = Path(row[mode].get("session", ""))
                    if mode != "whole" and (session / "transcript").is_dir():
                        into[mode]["gaps"] = count_gaps(session)
    order = {r.name: i for i, r in enumerate(RECORDINGS)}
    return sorted(rows.values(), key=lambda r: order.get(r["name"], len(order))), \
        [m for m in MODES if any(m in r for r in rows.values())]


def verdicts(rows: list[dict[str, Any]], mode: str) -> list[str]:
    rows = [r for r in rows if mode in r]
    if not rows:
        return []
    diffs = [100 * (r[mode]["wer"] - r["whole"]["wer"]) for r in rows]
    dels, whole_dels = sum(r[mode]["dels"] for r in rows), sum(r["whole"]["dels"] for r in rows)
    worst = max(rows, key=lambda r: r[mode]["wer"] - r["whole"]["wer"])
    run = max(rows, key=lambda r: r[mode]["lost_run"])
    checks = [
        (f"mean WER {statistics.mean(100 * r[mode]['wer'] for r in rows):.1f} % against "
         f"{statistics.mean(100 * r['whole']['wer'] for r in rows):.1f} % ({statistics.mean(diffs):+.2f} points, "
         "bar +0.5)", statistics.mean(diffs) <= 0.5),
        (f"worst recording {worst['name']} {max(diffs):+.1f} points (bar +1.5)", max(diffs) <= 1.5),
        (f"deletions {dels} against {whole_dels} ({dels / max(1, whole_dels) - 1:+.0%}, bar +10 %)",
         dels <= 1.1 * whole_dels),
        (f"longest run of lost words {run[mode]['lost_run']} ({run['name']}; bar < 8)", run[mode]["lost_run"] < 8),
    ]
    audio = sum(r["audio_s"] for r in rows)
    lines = [f"- {'PASS' if ok else 'FAIL'}: {text}" for text, ok in checks]
    lines.append(f"- CPU time of the pipeline's processes: {sum(r[mode]['cpu_s'] for r in rows) / audio:.3f} x the "
                 f"audio; wall time {sum(r[mode]['seconds'] for r in rows) / audio:.3f} x")
    lags = [x for r in rows for x in r[mode]["lags"]]
    if lags:
        lines.append(f"- lag from a batch on disk to its transcript file: p50 {percentile(lags, 0.5):.1f} s, "
                     f"p95 {percentile(lags, 0.95):.1f} s, max {max(lags):.1f} s")
    return lines


def table(rows: list[dict[str, Any]], modes: list[str]) -> str:
    pipeline_modes = [m for m in modes if m != "whole"]
    head = "| recording | min | whole WER (S/D/I) |" + "".join(
        f" {m} WER (S/D/I) | {m} lost run | {m} carried | {m} gaps |" for m in pipeline_modes)
    lines = [head, "|" + "---|" * (3 + 4 * len(pipeline_modes))]
    for r in rows:
        w = r["whole"]
        cells = [r["name"], f"{r['audio_s'] / 60:.1f}", f"{w['wer']:.1%} ({w['subs']}/{w['dels']}/{w['ins']})"]
        for m in pipeline_modes:
            p = r.get(m)
            cells += ([f"{p['wer']:.1%} ({p['subs']}/{p['dels']}/{p['ins']})", str(p["lost_run"]),
                       str(p["carried"]), str(p["gaps"])] if p else ["-"] * 4)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows: list[dict[str, Any]], modes: list[str], command: str) -> str:
    parts = [f"`{command}` — {time.strftime('%Y-%m-%d %H:%M')}; {machine()}; Whisper base int8 CPU.", ""]
    for label, held in (("Set aside before tuning (never looked at while tuning)", True),
                        ("Looked at while tuning", False)):
        part = [r for r in rows if r["held_out"] == held]
        if not part:
            continue
        parts += [f"**{label}**", "", table(part, modes), ""]
        for mode in (m for m in modes if m != "whole"):
            if checks := verdicts(part, mode):
                parts += [f"{mode}:", *checks, ""]
    return "\n".join(parts)


def publish(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    doc = path.read_text(encoding="utf-8")
    if MARK not in doc:
        doc += f"\n## Fidelity on recordings nobody tuned for (`bench/fidelity.py`)\n\n{MARK}\n{MARK}\n"
    head, _, rest = doc.partition(MARK)
    _, _, tail = rest.partition(MARK)
    path.write_text(f"{head}{MARK}\n{text}\n{MARK}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["dev", "held_out", "all"], default="all")
    parser.add_argument("--only", action="append", help="recording name (repeatable)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--jobs", type=int, default=2, help="--realtime recordings played at once")
    parser.add_argument("--work", type=Path, default=FIDELITY / "runs")
    parser.add_argument("--publish", action="store_true", help="rewrite the fidelity table in BENCHMARKS.md")
    parser.add_argument("--render", type=Path, nargs="+", metavar="RESULTS_JSON",
                        help="run nothing: the report of earlier runs' results.json files, joined")
    args = parser.parse_args()
    if args.render:
        rows_done, modes_done = combined(args.render)
        text = report(rows_done, modes_done, "python -m bench.fidelity (import and --realtime runs joined)")
        print(text)
        if args.publish:
            publish(text)
        return
    modes = [m for m in args.modes.split(",") if m]
    chosen = [r for r in RECORDINGS if (args.only and r.name in args.only) or
              (not args.only and (args.set == "all" or r.held_out == (args.set == "held_out")))]
    rows: dict[str, dict[str, Any]] = {}
    batch = [m for m in modes if m != "realtime"]
    for rec in chosen:
        rows[rec.name] = run_one(rec, batch, args.work)
    if "realtime" in modes:  # paced: several at once, each takes its own duration
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for rec, row in zip(chosen, pool.map(lambda r: run_one(r, ["realtime"], args.work), chosen), strict=True):
                rows[rec.name]["realtime"] = row["realtime"]
    ordered = [rows[r.name] for r in chosen]
    (args.work / "results.json").write_text(json.dumps(ordered, indent=1), encoding="utf-8")
    command = "python -m bench.fidelity" + "".join(f" --only {n}" for n in args.only or []) + \
        ("" if args.set == "all" else f" --set {args.set}") + ("" if args.modes == ",".join(MODES) else
                                                              f" --modes {args.modes}")
    text = report(ordered, modes, command)
    print(text)
    if args.publish:
        publish(text)


if __name__ == "__main__":
    main()
