"""The soak benchmark's figures: memory flatness, lag, latency, throughput; printed, plotted, published.

Results land in bench/results/soak-KEY.json and .png files, and in the section of
BENCHMARKS.md between `<!-- soak:KEY -->` markers (other sections are left alone).
`python -m bench.soak_report bench/results/soak-KEY.json` publishes a run again from its
samples, after a change to how the figures are read; it rewrites the whole section, so
notes written into it by hand must be put back.
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, percentile

RESULTS = ROOT / "bench" / "results"
BENCHMARKS = ROOT / "BENCHMARKS.md"
LIMITS_MIB = {"capture": 100.0, "summarize": 150.0}  # the summarizer's limit holds for `offline`
FLAT = 0.10  # RSS at the end within 10 % of RSS at minute 10 (of a 2-hour meeting)


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since `up` started
    role: str
    rss_mib: float
    captured_min: float
    transcribed_min: float


def position(s: Sample) -> float:
    """How far the meeting had got for this process: capture leads, the others follow the transcript."""
    return s.captured_min if s.role in ("capture", "parec") else s.transcribed_min


def memory(samples: list[Sample], meeting_min: float) -> dict[str, dict[str, float]]:
    """Per process: RSS near minute 10 (1/12 of the meeting), at the end, and the peak."""
    early_at = meeting_min / 12
    band = max(meeting_min / 40, 0.25)
    out: dict[str, dict[str, float]] = {}
    for role in sorted({s.role for s in samples}):
        mine = [s for s in samples if s.role == role]
        early = [s.rss_mib for s in mine if abs(position(s) - early_at) <= band]
        top = max(position(s) for s in mine)
        late = statistics.median(s.rss_mib for s in mine if position(s) >= top - band)
        out[role] = {"late": late, "peak": max(s.rss_mib for s in mine)}
        if early:  # else it never ran through the meeting: a file's capture reads all of it in a second
            first = statistics.median(early)
            out[role] |= {"early": first, "growth": late / first - 1}
    return out


def lag_blocks(lags: list[float], blocks: int = 6) -> list[float]:
    """The maximum lag in each sixth of the meeting: it must not grow from one to the next."""
    size = max(1, -(-len(lags) // blocks))
    return [max(lags[i:i + size]) for i in range(0, len(lags), size)]


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, bool]]:
    mem = r["memory"]
    checks = [(f"{role} RSS end vs minute 10", f"{m['growth']:+.1%}", abs(m["growth"]) <= FLAT)
              for role, m in mem.items() if "growth" in m]
    for role, limit in LIMITS_MIB.items():
        if role in mem and (role != "summarize" or r["llm"] == "offline"):
            checks.append((f"{role} peak RSS < {limit:.0f} MiB", f"{mem[role]['peak']:.0f} MiB",
                           mem[role]["peak"] < limit))
    if "transcribe" in mem:
        limit = r["whisper_footprint_mib"] + 300
        checks.append((f"transcriber peak < model {r['whisper_footprint_mib']:.0f} + 300 MiB",
                       f"{mem['transcribe']['peak']:.0f} MiB", mem["transcribe"]["peak"] < limit))
    bar = 5.0 if r["llm"] == "offline" else 30.0
    checks.append((f"report < {bar:.0f} s after the last transcript file", f"{r['final_latency_s']:.1f} s",
                   r["final_latency_s"] < bar))
    if r["mode"] == "file":
        rtf = r["elapsed_s"] / (60 * r["meeting_min"])
        checks.append(("file to finished report <= 0.25 x real time", f"{rtf:.3f}", rtf <= 0.25))
    else:
        blocks = r["lag_blocks"]
        checks.append(("max lag per sixth does not grow", " ".join(f"{b:.0f}" for b in blocks),
                       blocks[-1] <= max(blocks[0], 30.0) and max(blocks) <= 1.5 * max(blocks[0], 30.0)))
        checks.append(("final text within 30 s (max lag)", f"{max(r['lags']):.1f} s", max(r["lags"]) <= 30.0))
    return checks


def plot(samples: list[Sample], lags: list[float], key: str, live: bool) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"soak-{key}-rss.png", f"soak-{key}-lag.png"]
    fig, ax = plt.subplots(figsize=(9, 4))
    for role in sorted({s.role for s in samples}):
        mine = [s for s in samples if s.role == role]
        ax.plot([s.t / 60 for s in mine], [s.rss_mib for s in mine], ".-", markersize=2, label=role)
    ax.set(xlabel="minutes since `up`", ylabel="RSS (MiB)", title=f"RSS per process, {key}")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / names[0], dpi=100)
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot([i / 6 for i in range(len(lags))], lags, ".", markersize=3)
    what = "WAV on disk to final transcript file" if live else "queued behind the imported file"
    ax.set(xlabel="meeting minute (batch start)", ylabel="lag (s)", title=f"Lag per batch ({what}), {key}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / names[1], dpi=100)
    plt.close("all")
    return names


def render(r: dict[str, Any], checks: list[tuple[str, str, bool]], pngs: list[str]) -> str:
    lags = r["lags"]
    rows = [f"| {role} | {m['early']:.0f} | {m['late']:.0f} | {m['peak']:.0f} | {m['growth']:+.1%} |" if "growth" in m
            else f"| {role} | (had read the whole file) | {m['late']:.0f} | {m['peak']:.0f} | not applicable |"
            for role, m in r["memory"].items()]
    lines = [
        f"### {r['meeting_min']:.1f}-minute meeting ({r['lang']}), {r['mode']} source, summaries `{r['llm']}`",
        "", f"`{r['command']}` — {r['date']}; {r['machine']}; Whisper {r['model']} int8 CPU.", "",
        *([f"Ran at nice {r['nice']}, below other work on the same cores: its times are upper bounds, not "
           "this machine's best; memory figures are unaffected.", ""] if r.get("nice") else []),
        "| process | RSS at minute 10 (MiB) | RSS at the end | peak | end vs minute 10 |",
        "|---|---:|---:|---:|---:|", *rows, "",
        f"- Whisper model footprint (RSS gained by loading it): {r['whisper_footprint_mib']:.0f} MiB"
        + (f"; a bare faster-whisper process decoding one 30 s window of this meeting peaks "
           f"{r['whisper_decoding_mib']:.0f} MiB above its start" if "whisper_decoding_mib" in r else ""),
        "- `local` LLM footprint (RSS a process gains loading the 1.5B GGUF and answering once): "
        + (f"{r['local_llm_mib']:.0f} MiB" if r.get("local_llm_mib") else "not measured (model not installed)"),
        f"- Report on disk {r['final_latency_s']:.2f} s after the last transcript file",
        f"- File to finished report: {r['elapsed_s'] / 60:.1f} min for {r['meeting_min']:.1f} min of audio "
        f"({r['elapsed_s'] / (60 * r['meeting_min']):.3f} x real time); pipeline WER {r['pipeline_wer']:.1%}",
    ]
    if "whole_rtf" in r:
        lines.append(f"- Same file in one faster-whisper call: RTF {r['whole_rtf']:.3f}, WER {r['whole_wer']:.1%}")
    lines += [f"- Lag per batch ({len(lags)} batches): p50 {percentile(lags, 0.5):.1f} s, "
              f"p95 {percentile(lags, 0.95):.1f} s, max {max(lags, default=0):.1f} s; max per sixth of the "
              f"meeting: {', '.join(f'{b:.1f}' for b in r['lag_blocks'])} s"
              + ("" if r["mode"] == "live" else " (file source: lag is the time queued behind the import)"),
              "", "| check | measured | holds |", "|---|---|---|",
              *[f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks], "",
              *[f"![{png}](bench/results/{png})" for png in pngs]]
    return "\n".join(lines)


def publish(result: dict[str, Any], samples: list[Sample], key: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result["memory"] = memory(samples, result["meeting_min"])
    result["lag_blocks"] = lag_blocks(result["lags"])
    checks = verdicts(result)
    pngs = plot(samples, result["lags"], key, result["mode"] == "live")
    (RESULTS / f"soak-{key}.json").write_text(json.dumps(result | {"samples": [asdict(s) for s in samples]}),
                                              encoding="utf-8")
    section = render(result, checks, pngs)
    print("\n" + section)
    update_benchmarks(key, section)


def update_benchmarks(key: str, section: str, prefix: str = "soak:") -> None:
    begin, end = f"<!-- {prefix}{key} -->", f"<!-- /{prefix}{key} -->"
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    block = f"{begin}\n{section}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    BENCHMARKS.write_text(text, encoding="utf-8")
    print(f"\nwritten: {BENCHMARKS.relative_to(ROOT)} (section {key})")


def republish(path: Path) -> None:
    result = json.loads(path.read_text(encoding="utf-8"))
    samples = [Sample(**s) for s in result.pop("samples")]
    publish(result, samples, path.stem.removeprefix("soak-"))


if __name__ == "__main__":
    republish(Path(sys.argv[1]))
