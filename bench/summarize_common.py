"""Shared by the summarizer benchmarks: meeting scripts with truth, sessions built from them, scoring."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import MEETINGSYNTH, OUT, SHARED
from stages.spool import Session
from stages.summarize import lang
from stages.summarize.schema import FinalReport
from stages.summarize.text import content_words, fold, similarity

MEETINGS = SHARED / "meetings"
MATCH = 0.5


def generated(lang_: str, minutes: float, seed: int) -> dict[str, Any]:
    """A meetingsynth script (cached in bench/out/)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"script-{lang_}-{minutes:g}min-s{seed}.json"
    if not path.exists():
        if not MEETINGSYNTH.exists():
            sys.exit(f"{MEETINGSYNTH} not found: the benchmarks need ../shared beside the project")
        subprocess.run([sys.executable, str(MEETINGSYNTH), "generate", "--lang", lang_, "--minutes", str(minutes),
                        "--seed", str(seed), "-o", str(path)], check=True)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def hand_written() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(MEETINGS.glob("*.json"))]


def workdir(name: str) -> Path:
    base = OUT / "summarize"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))


def _covers(keywords: list[str], stems: set[str]) -> bool:
    return bool(keywords) and all(set(content_words(k)) <= stems for k in keywords if content_words(k))


def _score(text: str, truth_text: str, keywords: list[str]) -> float:
    sim = similarity(text, truth_text)
    if _covers(keywords, set(content_words(text))):
        return max(sim, MATCH) + 0.001
    return sim if sim >= MATCH else 0.0


@dataclass
class Score:
    actions: int = 0
    actions_found: int = 0
    actions_owner: int = 0
    decisions: int = 0
    decisions_found: int = 0
    listed: int = 0
    not_in_truth: int = 0
    duplicates: int = 0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name in ("actions", "actions_found", "actions_owner", "decisions", "decisions_found", "listed",
                     "not_in_truth", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:5.1f} %" if b else "   n/a"
        real = self.listed - self.not_in_truth
        return (f"actions w/ owner {self.actions_owner:3d}/{self.actions:<3d} {pct(self.actions_owner, self.actions)}"
                f" | decisions {self.decisions_found:3d}/{self.decisions:<3d} "
                f"{pct(self.decisions_found, self.decisions)} | listed real {real:3d}/{self.listed:<3d} "
                f"{pct(real, self.listed)} (not in truth {self.not_in_truth}, duplicates {self.duplicates})")


def _assign(listed: list[str], truth: list[tuple[str, list[str]]]) -> tuple[dict[int, int], set[int]]:
    """Greedy one-to-one matching by score: {listed index: truth index}, and listed items matching nothing."""
    pairs = sorted(((_score(text, t, kw), i, j) for i, text in enumerate(listed) for j, (t, kw) in enumerate(truth)),
                   reverse=True)
    matched: dict[int, int] = {}
    used: set[int] = set()
    for score, i, j in pairs:
        if score <= 0 or i in matched or j in used:
            continue
        matched[i] = j
        used.add(j)
    unmatched = {i for i in range(len(listed)) if i not in matched
                 and not any(_score(listed[i], t, kw) > 0 for t, kw in truth)}
    return matched, unmatched


def distinct(items: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Truth items that are the same commitment said twice (same owner, task and due) count once:
    a report should list them once."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for item in items:
        key = tuple(fold(str(item.get(k, ""))) for k in keys)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def score(report: FinalReport, truth: dict[str, Any], language: str) -> Score:
    s = Score()
    generic = {"", *(fold(x) for x in lang.speakers(language)), "you", "others", "vous", "participants"}
    t_actions = distinct(truth.get("action_items", []), ("owner", "task", "due"))
    t_decisions = distinct(truth.get("decisions", []), ("text",))
    s.actions, s.decisions = len(t_actions), len(t_decisions)
    a_texts = [f"{a.task} {a.due}" for a in report.action_items]
    matched, unmatched = _assign(a_texts, [(f"{t['task']} {t.get('due', '')}", t.get("keywords", []))
                                           for t in t_actions])
    s.actions_found = len(matched)
    for i, j in matched.items():
        t = t_actions[j]
        owner = fold(report.action_items[i].owner)
        if owner == fold(t["owner"]) or (not t.get("owner_named", True) and owner in generic):
            s.actions_owner += 1
    found_a = set(matched.values())
    s.misses += [f"action: {t['owner']}: {t['task']}" for j, t in enumerate(t_actions) if j not in found_a]
    d_matched, d_unmatched = _assign(report.decisions, [(t["text"], t.get("keywords", [])) for t in t_decisions])
    s.decisions_found = len(d_matched)
    found_d = set(d_matched.values())
    s.misses += [f"decision: {t['text']}" for j, t in enumerate(t_decisions) if j not in found_d]
    s.listed = len(report.action_items) + len(report.decisions)
    s.not_in_truth = len(unmatched) + len(d_unmatched)
    s.duplicates = s.listed - s.not_in_truth - len(matched) - len(d_matched)
    s.extras += [f"action: {report.action_items[i].owner}: {a_texts[i]}" for i in sorted(unmatched)]
    s.extras += [f"decision: {report.decisions[i]}" for i in sorted(d_unmatched)]
    return s


def read_report(session: Session) -> FinalReport:
    return FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
