"""Scoring speaker labels against who really spoke when (used by bench/speakers.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from stages.models import TranscriptBatch
from stages.spool import Session, read_model

FRAME = 0.01
SHOWN_SHARE = 0.02  # a label holding less of the speech than this is not counted as a speaker found
Spans = list[tuple[float, float, str]]  # (start, end, label)


@dataclass
class Score:
    error: float  # share of labelled speech time with the wrong speaker
    covered: float  # share of the truth's speech time that has a label
    found: int  # labels with at least SHOWN_SHARE of the labelled time
    found_all: int
    truth: int


def best_mapping(overlap: dict[tuple[str, str], float], hyp: list[str], ref: list[str]) -> float:
    """Time matched by the best one-to-one mapping of hypothesis labels to people."""
    if len(hyp) > 8:  # too many for every permutation: greedy, largest overlap first
        used_h: set[str] = set()
        used_r: set[str] = set()
        total = 0.0
        for (h, r), t in sorted(overlap.items(), key=lambda kv: -kv[1]):
            if h not in used_h and r not in used_r:
                used_h.add(h)
                used_r.add(r)
                total += t
        return total
    best = 0.0
    small, large = (hyp, ref) if len(hyp) <= len(ref) else (ref, hyp)
    for perm in itertools.permutations(large, len(small)):
        pairs = zip(small, perm, strict=True) if small is hyp else zip(perm, small, strict=True)
        best = max(best, sum(overlap.get((h, r), 0.0) for h, r in pairs))
    return best


def score(truth: list[dict[str, Any]], spans: list[tuple[float, float, str]], duration: float) -> Score:
    n = int(duration / FRAME) + 2
    ref: list[set[str]] = [set() for _ in range(n)]
    for t in truth:
        for k in range(int(float(t["start"]) / FRAME), min(n, int(float(t["end"]) / FRAME))):
            ref[k].add(str(t["speaker"]))
    hyp: list[str | None] = [None] * n
    for start, end, label in spans:
        for k in range(int(start / FRAME), min(n, int(end / FRAME))):
            hyp[k] = label
    overlap: dict[tuple[str, str], float] = {}
    labelled = speech = 0.0
    per_label: dict[str, float] = {}
    for r, h in zip(ref, hyp, strict=True):
        if not r:
            continue
        speech += FRAME
        if h is None:
            continue
        labelled += FRAME
        per_label[h] = per_label.get(h, 0.0) + FRAME
        for person in r:
            overlap[(h, person)] = overlap.get((h, person), 0.0) + FRAME / len(r)
    people = sorted({str(t["speaker"]) for t in truth})
    matched = best_mapping(overlap, sorted(per_label), people)
    found = sum(1 for t in per_label.values() if t >= SHOWN_SHARE * labelled)
    return Score(error=1 - matched / labelled if labelled else 1.0, covered=labelled / speech if speech else 0.0,
                 found=found, found_all=len(per_label), truth=len(people))


def names_checked(session: Session, final: Spans, truth: list[dict[str, Any]]) -> tuple[int, int]:
    """(right, made) of the name suggestions the report would show: right = the label's main truth speaker."""
    from stages.speakers.suggest import suggest
    from stages.summarize.schema import TranscriptLine
    from stages.summarize.transcript import blocks

    texts = {(round(s, 2), round(e, 2)): t for _, _, s, e, t in texts_of(session)}
    lines = [TranscriptLine(start=s, end=e, speaker=lab, text=texts.get((round(s, 2), round(e, 2)), ""))
             for s, e, lab in final]
    turns = [TranscriptLine(start=a, end=b, speaker=who, text=t) for a, b, who, t in blocks(lines)]
    made = suggest(turns)
    right = 0
    for label, name in made.items():
        time_with: dict[str, float] = {}
        for s, e, lab in final:
            if lab != label:
                continue
            for t in truth:
                overlap = min(e, float(t["end"])) - max(s, float(t["start"]))
                if overlap > 0:
                    time_with[str(t["speaker"])] = time_with.get(str(t["speaker"]), 0.0) + overlap
        right += bool(time_with) and max(time_with, key=lambda k: time_with[k]) == name
    return right, len(made)


def texts_of(session: Session) -> list[tuple[str, int, float, float, str]]:
    out = []
    for index in session.transcribed_batches():
        doc = read_model(session.transcript_path(index), TranscriptBatch)
        for i, seg in enumerate(doc.segments if doc else []):
            if seg.channel == "system" and seg.text.strip():
                out.append((f"{index:06d}", i, seg.start, seg.end, seg.text))
    return out
