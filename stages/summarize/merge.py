"""Merging lists in code: the same decision or task said twice (or found in two windows) is listed once.

Two action items are the same when their tasks say the same thing and neither
their owners nor their deadlines contradict each other; the merged item keeps
the most precise owner (a name beats "Others", which beats nothing) and deadline.
"""

from __future__ import annotations

from collections.abc import Sequence

from stages.speakers.labels import number_of
from stages.summarize import lang
from stages.summarize.schema import ActionItem, Highlight, MiniSummary
from stages.summarize.text import fold, similarity, stem, stems

SAME_TEXT = 0.75
SAME_TASK = 0.6
SAME_DECISION = 0.65  # an LLM paraphrase of a decision the rules quote


def _generic_owners(language: str) -> set[str]:
    return {"", *(fold(x) for x in lang.speakers(language)), "you", "others", "vous", "participants"}


def _is_generic(folded: str, generic: set[str]) -> bool:
    """A channel or a voice label ("Speaker 2"): it says who, less precisely than a name."""
    return folded in generic or number_of(folded.title()) is not None


def _owner_rank(owner: str, generic: set[str]) -> int:
    folded = fold(owner)
    return 0 if not folded else 1 if _is_generic(folded, generic) else 2


_MONTH_TEXT = """january february march april may june july august september october november december janvier
    fevrier mars avril mai juin juillet aout septembre octobre novembre decembre"""
MONTHS = {stem(w) for w in _MONTH_TEXT.split()}
SAME_DATED = 0.6


def dates(text: str) -> set[tuple[str, str]]:
    """(month, day) pairs a text names: "June 1st" and "the first of June" both give ("june", "1")."""
    words = stems(text)
    months = [w for w in words if w in MONTHS]
    days = [w for w in words if w.isdigit() and 1 <= int(w) <= 31]
    return {(m, d) for m in months for d in days}


def same_text(a: str, b: str, threshold: float = SAME_TEXT, symmetric: bool = True) -> bool:
    """Said twice: near-identical words, or the same date with most of the shorter one's words
    ("set to June 1st" / "we launch the new website on the first of June")."""
    if similarity(a, b, symmetric) >= threshold:
        return True
    return bool(dates(a) & dates(b)) and similarity(a, b) >= SAME_DATED


def merge_texts(items: list[str], threshold: float = SAME_TEXT, symmetric: bool = True) -> list[str]:
    """Keep the first of near-identical texts (the longer wording wins, in the first one's place).

    Symmetric by default: "we postpone the audit by two weeks" and "we postpone the migration by two weeks"
    are two decisions. One-sided for an LLM paraphrase against the sentence it paraphrases."""
    out: list[str] = []
    for item in items:
        for i, kept in enumerate(out):
            if same_text(item, kept, threshold, symmetric):
                if len(item) > len(kept):
                    out[i] = item
                break
        else:
            out.append(item)
    return out


def same_item(a: ActionItem, b: ActionItem, generic: set[str]) -> bool:
    if similarity(a.task, b.task) < SAME_TASK:
        return False
    oa, ob = fold(a.owner), fold(b.owner)
    if oa != ob and not _is_generic(oa, generic) and not _is_generic(ob, generic):
        return False
    da, db = fold(a.due), fold(b.due)
    return not (da and db and da != db and da not in db and db not in da)


def merge_items(items: list[ActionItem], language: str) -> list[ActionItem]:
    generic = _generic_owners(language)
    out: list[ActionItem] = []
    for item in items:
        for i, kept in enumerate(out):
            if same_item(item, kept, generic):
                owner = max((kept.owner, item.owner), key=lambda o: _owner_rank(o, generic))
                task = kept.task if _owner_rank(kept.owner, generic) >= _owner_rank(item.owner, generic) \
                    else item.task
                due = max((kept.due, item.due), key=len)
                times = [t for t in (kept.time, item.time) if t is not None]
                out[i] = ActionItem(owner=owner, task=task, due=due, time=min(times) if times else None)
                break
        else:
            out.append(item.model_copy())
    return out


def merge_highlights(items: list[Highlight]) -> list[Highlight]:
    out: list[Highlight] = []
    for h in sorted(items, key=lambda h: h.time):
        if not any(similarity(h.text, k.text, symmetric=True) >= SAME_TEXT for k in out):
            out.append(h)
    return out


def merge(minis: Sequence[MiniSummary], language: str) -> MiniSummary:
    """One mini-summary from several consecutive ones: summaries joined, lists merged."""
    return MiniSummary(
        summary=" ".join(m.summary.strip() for m in minis if m.summary.strip()),
        key_points=merge_texts([k for m in minis for k in m.key_points]),
        decisions=merge_texts([d for m in minis for d in m.decisions]),
        action_items=merge_items([a for m in minis for a in m.action_items], language),
        open_questions=merge_texts([q for m in minis for q in m.open_questions]),
        highlights=merge_highlights([h for m in minis for h in m.highlights]),
    )


def complete(mini: MiniSummary, found: MiniSummary, language: str) -> MiniSummary:
    """The LLM's lists, plus the decisions and action items the offline rules found that it left out, and the
    open questions the rules found (those answered with "nobody knows").

    Small models miss items in dense stretches; the rules are precise where they fire, so
    their finds are added (merged, so an item both found is listed once, in the LLM's words).
    """
    decisions = merge_texts([*mini.decisions, *found.decisions], SAME_DECISION, symmetric=False)
    generic = _generic_owners(language)
    # A task the model gives to nobody in particular (or to a voice, "Speaker 2") that the rules did not find
    # either was, with the 1.5B model, a statement turned into a task ("share with the chemistry lab",
    # "remind Chris about cake").
    theirs = [a for a in mini.action_items if not _is_generic(fold(a.owner), generic)
              or any(similarity(a.task, r.task) >= SAME_TASK for r in found.action_items)]
    # an ownerless "task" that only restates a decision is the decision, listed once
    items = [a for a in merge_items([*theirs, *found.action_items], language)
             if not _is_generic(fold(a.owner), generic)
             or not any(similarity(a.task, d) >= SAME_TEXT for d in decisions)]
    questions = merge_texts([*mini.open_questions, *found.open_questions])  # the model is not asked for them
    return mini.model_copy(update={"decisions": decisions, "action_items": items, "open_questions": questions})
