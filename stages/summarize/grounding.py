"""Checking an LLM's mini-summary against the transcript it came from.

Small models invent: a due date nobody said, an owner nobody named, a decision
from another meeting. Each item must be grounded in the window's words; what is
not is dropped, and the drop is recorded in the window file (never silent).
Invalid output (empty summary, wrong language) raises ValueError so it is retried.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from stages.models import Segment
from stages.speakers import labels
from stages.summarize import lang
from stages.summarize.decide import unannounced
from stages.summarize.schema import ActionItem, MiniSummary
from stages.summarize.text import (
    content_words,
    fold,
    guess_language,
    is_temporal,
    sentences,
    similarity,
    words,
)

_FOLDED_LABELS = {"you", "others", "vous", "participants"}

MIN_GROUNDED = 0.5
SUMMARY_NEEDED_WORDS = 25
NAME_LOOKBACK = 1  # lines before the task's line where its owner may be named
SAME_AS_DECISION = 0.7
SAME_AS_RULES = 0.5
LIMITS = {"key_points": 5, "decisions": 12, "action_items": 15, "open_questions": 6}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LlmActionItem(_Lenient):
    owner: str = ""
    task: str
    due: str = ""


class LlmWindow(_Lenient):
    """What the window prompt asks for (other fields an answer may carry, highlights for one, are ignored)."""

    summary: str
    key_points: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    action_items: list[LlmActionItem] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)


class LlmSynthesis(_Lenient):
    summary: str


# Word beginnings (folded) that say something was decided, in English and French. A "decision" from the
# model without any of them is usually a status report ("the audit is 45 % done"): it becomes a key point.
DECISION_CUES = re.compile(
    r"\b(?:decid|decis|agree|accord|approv|approu|valid|chose|choos|chois|pick|select|retien|reten|retenu|gard|"
    r"keep|kept|maint|stop|arret|drop|aband|cancel|annul|postpon|repouss|report|delay|decal|adopt|switch|opt|"
    r"commit|confirm|reject|refus|discontinu|freez|gel|replac|remplac|go with|goes with|going with|part sur|"
    r"settl|acte|reserv|allou|allocat|priorit|launch|lanc|hire|recrut|move to|moves to|suppr|remov)"
)


def is_decision(text: str) -> bool:
    return bool(DECISION_CUES.search(fold(text)))


def check_language(text: str, language: str) -> None:
    """Raise when the text is clearly in the other of French/English (the model ignored the instruction)."""
    if language not in ("fr", "en"):
        return
    found = guess_language(text)
    if found is not None and found != language:
        raise ValueError(f"written in {lang.english_name(found)}, not in {lang.english_name(language)}")


def best_segment(text: str, segments: list[Segment]) -> Segment | None:
    scored = [(similarity(text, s.text), s) for s in segments]
    scored = [x for x in scored if x[0] > 0]
    return max(scored, key=lambda x: x[0])[1] if scored else None


def _grounded(text: str, stems: set[str]) -> float:
    mine = set(content_words(text))
    return len(mine & stems) / len(mine) if mine else 0.0


def _named_near(folded_name: str, seg: Segment | None, segments: list[Segment]) -> bool:
    """Is the owner named where the task is said: in that line or the two before it?"""
    if not folded_name:
        return False
    if seg is None:
        around = segments
    else:
        at = segments.index(seg)
        around = segments[max(0, at - NAME_LOOKBACK): at + 1]
    return any(f" {folded_name} " in f" {fold(s.text)} " for s in around)


def _speaks_near(folded_name: str, seg: Segment | None, segments: list[Segment]) -> bool:
    """Is the owner a speaker (a voice label such as "Speaker 2", or the name given to it) of the task's line
    or the line after it (a task taken on: "Can you...?" "Yes, I will...")?"""
    if not folded_name or seg is None:
        return False
    at = segments.index(seg)
    return any(fold(s.speaker) == folded_name for s in segments[at: at + 2])


def _dedupe(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and not any(fold(item) == fold(o) for o in out):
            out.append(item)
    return out


# Words a summary may use that the meeting itself need not say ("the team decided to...", "l'équipe discute...").
_META = """meeting team participant participants discuss discussed discussion decide decided decision agree agreed
    plan planned propose proposed suggest suggested review reviewed mention mentioned raise raised also will next
    point points topic topics update status issue issues question questions answer task tasks item items summary
    réunion équipe participants discuter discutent discuté discussion décider décident décidé décision convenir
    convenu accord accepter accepté proposer propose proposé suggérer suggère évoquer évoqué aborder aborde abordé
    point points sujet sujets question questions réponse tâche tâches résumé prochain prochaine suite agenda step
    steps cover covered covers went go goes through overview ordre jour étape étapes revue passé passe porté porte
    agreeing agrees deciding decides discussing discusses planning plans proposing proposes reviewing mentioning
    raising covering close closes closing end ends ending conclude concludes concluding conclusion"""
META_STEMS = {w for text in _META.split() for w in content_words(text)}
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "million": 10**6,
    "zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100, "mille": 1000,
    "first": 1, "second": 2, "third": 3, "premier": 1, "1er": 1, "half": 0.5, "demi": 0.5,
}
_DATE_TEXT = """monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi vendredi samedi
    dimanche january february april june july august september october november december janvier fevrier avril
    juin juillet aout septembre octobre novembre decembre tomorrow tonight today yesterday demain hier soir matin
    morning evening afternoon midi mai"""  # not "may" / "march": English words too
DATE_WORDS = set(_DATE_TEXT.split())
MIN_SUMMARY_GROUNDED = 0.5


def numbers(text: str) -> set[float]:
    """The numbers a text says, in digits or in words (each word alone: "twenty five" gives 20 and 5)."""
    out: set[float] = set()
    for token in re.findall(r"\d+(?:[.,]\d+)?|[a-zà-ÿ]+", text.lower()):
        if token[0].isdigit():
            out.add(float(token.replace(",", ".")))
            digits = token.replace(",", "").replace(".", "")
            if len(digits) > 2 and digits.isdigit():  # 1800 may be said "eighteen hundred": its parts count
                out.update(float(d) for d in (digits[:2], digits[2:]) if d.strip("0"))
        elif token in NUMBER_WORDS:
            out.add(float(NUMBER_WORDS[token]))
    return out


def unsupported(sentence: str, corpus: str, language: str) -> str | None:
    """Why the transcript `corpus` does not support `sentence` (a name, number, date or content it never
    said), or None. Used on summaries and key points, which small models paraphrase and sometimes invent."""
    folded = f" {fold(corpus)} "
    me, others = lang.speakers(language)
    sentence = labels.IN_TEXT.sub("", sentence)  # "Speaker 2" is who said a line, not a name or number in it
    for name in re.findall(r"(?<=\w[\s,;:])([A-ZÀ-Ý][a-zà-ÿ]+)", sentence):  # capitalised, not first of sentence
        f = fold(name)
        if f and f" {f} " not in folded and f not in (fold(me), fold(others)) and f not in _FOLDED_LABELS \
                and len(f) > 2 and f not in META_STEMS:
            return f"name {name!r} never said"
    said = numbers(corpus)
    for n in numbers(sentence) - said:
        if n not in (0.5, 1.0) or not said:  # "one" and "half" are said in too many ways to check
            return f"number {n:g} never said"
    for word in fold(sentence).split():
        if word in DATE_WORDS and f" {word} " not in folded:
            return f"{word!r} never said"
    mine = set(content_words(sentence)) - META_STEMS
    if mine and len(mine & set(content_words(corpus))) / len(mine) < MIN_SUMMARY_GROUNDED:
        return "most of its words never said"
    return None


def grounded_text(text: str, corpus: str, language: str, kind: str) -> tuple[str, list[str]]:
    """`text` without the sentences the transcript does not support, and a note for each one dropped."""
    kept, notes = [], []
    for sentence in sentences(text):
        why = unsupported(sentence, corpus, language)
        if why:
            notes.append(f"dropped {kind} sentence ({why}): {sentence!r}")
        else:
            kept.append(sentence)
    return " ".join(kept), notes


def ground(raw: LlmWindow, segments: list[Segment], language: str, supported: list[str] | None = None,
           rules_summary: str = "") -> tuple[MiniSummary, list[str]]:
    """A validated MiniSummary and notes on what was dropped; ValueError when the output must be retried.

    `supported`: decisions found another way (the offline rules); an LLM decision that restates one of them
    stays a decision even without a word like "decided" ("Rent two forklifts for the rest of the month").
    `rules_summary`: the rules' summary of the window, kept when every sentence of the model's is dropped (a
    report whose only window lost its summary had none at all: the local model on a 20-s clip under Wine)."""
    corpus = " ".join(s.text for s in segments)
    stems = set(content_words(corpus))
    folded_corpus = f" {fold(corpus)} "
    me, others = lang.speakers(language)
    labels = {fold(me): me, fold(others): others, "you": me, "vous": me, "others": others,
              "participants": others}
    notes: list[str] = []

    summary = " ".join(raw.summary.split())
    if not summary and words(corpus) >= SUMMARY_NEEDED_WORDS:
        raise ValueError('"summary" is empty')
    check_language(" ".join([summary, *raw.key_points, *raw.decisions]), language)
    summary, dropped = grounded_text(summary, corpus, language, "summary")
    notes += dropped
    if dropped and not summary and rules_summary:  # the window keeps the rules' summary rather than none
        summary = rules_summary
        notes.append("summary by the rules: none of the model's sentences was said")

    def keep(kind: str, text: str, threshold: float = MIN_GROUNDED) -> bool:
        ok = _grounded(text, stems) >= threshold
        if not ok:
            notes.append(f"dropped {kind} not found in the transcript: {text!r}")
        return ok

    decisions = _dedupe([d for d in raw.decisions if d.strip() and keep("decision", d)])
    statuses = [d for d in decisions if not is_decision(d)
                and not any(similarity(d, r) >= SAME_AS_RULES for r in supported or [])]
    notes += [f"moved to key points, not a decision: {d!r}" for d in statuses]
    decisions = [unannounced(d) for d in decisions if d not in statuses]
    questions = _dedupe([q for q in raw.open_questions if q.strip() and keep("open question", q, 0.4)])
    key_points = []
    for point in _dedupe([k for k in [*raw.key_points, *statuses] if k.strip()]):
        why = unsupported(point, corpus, language)
        if why:
            notes.append(f"dropped key point ({why}): {point!r}")
        else:
            key_points.append(point)

    items: list[ActionItem] = []
    for item in raw.action_items:
        if not item.task.strip() or not keep("action item", item.task):
            continue
        owner = item.owner.strip()
        folded_owner = fold(owner)
        seg = best_segment(item.task, segments)
        if folded_owner in labels:
            owner = labels[folded_owner]
        elif owner and not _named_near(folded_owner, seg, segments) and not _speaks_near(folded_owner, seg, segments):
            notes.append(f"owner {owner!r} not named where the task is said: left unknown")
            owner = ""
        if fold(owner) in ("", *labels) and any(similarity(item.task, d) >= SAME_AS_DECISION for d in decisions):
            notes.append(f"dropped action item that restates a decision: {item.task!r}")
            continue
        due = item.due.strip()
        if due and not is_temporal(due):
            notes.append(f"due {due!r} is not a date: left empty")
            due = ""
        elif due and not (set(content_words(due)) & stems or f" {fold(due)} " in folded_corpus):
            notes.append(f"due {due!r} never said: left empty")
            due = ""
        items.append(ActionItem(owner=owner, task=item.task, due=due, time=seg.start if seg else None))

    mini = MiniSummary(summary=summary, key_points=key_points[: LIMITS["key_points"]],
                       decisions=decisions[: LIMITS["decisions"]], action_items=items[: LIMITS["action_items"]],
                       open_questions=questions[: LIMITS["open_questions"]])
    return mini, notes
