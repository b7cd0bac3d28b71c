"""Shared by the summarizer benchmarks: generated meeting scripts, work folders, scoring against truth."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import MEETINGSYNTH, OUT
from stages.speakers.labels import number_of
from stages.spool import Session
from stages.summarize import lang
from stages.summarize.schema import FinalReport
from stages.summarize.text import content_words, fold, similarity

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


LISTS = ("decisions", "action_items", "open_questions")


@dataclass
class ListScore:
    """One list of one or more reports against the truth: recall counts `right` (for action items: found with
    the right owner), precision counts listed items that match a truth item not already matched (a
    duplicate or an item from nowhere both lower it)."""

    truth: int = 0
    found: int = 0
    right: int = 0
    listed: int = 0

    def add(self, other: ListScore) -> None:
        self.truth += other.truth
        self.found += other.found
        self.right += other.right
        self.listed += other.listed

    @property
    def recall(self) -> float | None:
        return 100 * self.right / self.truth if self.truth else None

    @property
    def precision(self) -> float | None:
        return 100 * self.found / self.listed if self.listed else None


@dataclass
class Score:
    lists: dict[str, ListScore] = field(default_factory=lambda: {n: ListScore() for n in LISTS})
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name in LISTS:
            self.lists[name].add(other.lists[name])

    def line(self) -> str:
        def pct(v: float | None) -> str:
            return f"{v:5.1f}" if v is not None else "  n/a"

        out = []
        for name, label in zip(LISTS, ("decisions", "actions (owner)", "open questions"), strict=True):
            s = self.lists[name]
            out.append(f"{label} R {s.right:3d}/{s.truth:<3d} {pct(s.recall)} % P {s.found:3d}/{s.listed:<3d} "
                       f"{pct(s.precision)} %")
        return " | ".join(out)


def _assign(listed: list[str], truth: list[tuple[str, list[str]]]) -> dict[int, int]:
    """Greedy one-to-one matching by score: {listed index: truth index}."""
    pairs = sorted(((_score(text, t, kw), i, j) for i, text in enumerate(listed) for j, (t, kw) in enumerate(truth)),
                   reverse=True)
    matched: dict[int, int] = {}
    used: set[int] = set()
    for value, i, j in pairs:
        if value <= 0 or i in matched or j in used:
            continue
        matched[i] = j
        used.add(j)
    return matched


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


def owner_right(listed_owner: str, truth: dict[str, Any], generic: set[str]) -> bool:
    """The right name, or an honest blank where the name was never said aloud: none, the channel label, or a
    voice label ("Speaker 3": the pipeline labels voices; which voice is not checked)."""
    owner = fold(listed_owner)
    honest = owner in generic or number_of(listed_owner.strip().title()) is not None
    return owner == fold(truth["owner"]) or (not truth.get("owner_named", True) and honest)


def score(report: FinalReport, truth: dict[str, Any], language: str) -> Score:
    s = Score()
    generic = {"", *(fold(x) for x in lang.speakers(language)), "you", "others", "vous", "participants"}
    listed: dict[str, list[str]] = {
        "decisions": report.decisions,
        "action_items": [f"{a.task} {a.due}" for a in report.action_items],
        "open_questions": report.open_questions,
    }
    wanted: dict[str, list[dict[str, Any]]] = {
        "decisions": distinct(truth.get("decisions", []), ("text",)),
        "action_items": distinct(truth.get("action_items", []), ("owner", "task", "due")),
        "open_questions": distinct(truth.get("open_questions", []), ("text",)),
    }
    for name in LISTS:
        items, want = listed[name], wanted[name]
        texts = [(f"{t['task']} {t.get('due', '')}" if name == "action_items" else t["text"], t.get("keywords", []))
                 for t in want]
        matched = _assign(items, texts)
        ls = s.lists[name]
        ls.truth, ls.listed, ls.found = len(want), len(items), len(matched)
        if name == "action_items":
            ls.right = sum(owner_right(report.action_items[i].owner, want[j], generic) for i, j in matched.items())
            s.extras += [f"action owner: {report.action_items[i].owner or '-'} (truth {want[j]['owner']}): {items[i]}"
                         for i, j in matched.items()
                         if not owner_right(report.action_items[i].owner, want[j], generic)]
        else:
            ls.right = ls.found
        got = set(matched.values())
        s.misses += [f"{name}: {texts[j][0]}" for j in range(len(want)) if j not in got]
        prefix = {"action_items": lambda i: f"{report.action_items[i].owner or '-'}: "}.get(name, lambda i: "")
        s.extras += [f"{name}: {prefix(i)}{items[i]}" for i in range(len(items)) if i not in matched]
    return s


def read_report(session: Session) -> FinalReport:
    return FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
