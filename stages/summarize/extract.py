"""The offline extractor: a mini-summary from the words alone, no model.

Decisions and open questions come from `decide.py`, action items from `tasks.py`: rules about
how people speak in meetings, in French and English, never about who speaks (an import has one
label for everyone). `context` is the transcript just before the stretch: a proposal made there
still counts for an agreement made here, but what was said there is never listed again. The
summary is the sentences sharing the most words with the rest (centrality), in time order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from stages.models import Segment
from stages.summarize import lang
from stages.summarize.decide import decisions, open_questions
from stages.summarize.schema import ActionItem, Highlight, MiniSummary
from stages.summarize.sentences import PROCESS, Sentence, split
from stages.summarize.tasks import find_action, fold_acceptances, merge_reply_due
from stages.summarize.text import content_words

FIGURE = re.compile(r"\d|\b(?:percent|pour ?cent|thousand|million|mille|euros?|dollars?|pounds?|k€|%)\b", re.IGNORECASE)


def rank(sentences_: list[Sentence]) -> list[tuple[float, int]]:
    """(score, index) best first: sentences sharing the most frequent content words, long enough to say something."""
    stems = [content_words(s.text) for s in sentences_]
    freq = Counter(w for ws in stems for w in set(ws))
    scored = []
    for i, (s, ws) in enumerate(zip(sentences_, stems, strict=True)):
        if len(ws) < 4 or s.text.strip().endswith("?") or PROCESS.search(s.text):
            continue
        score = sum(freq[w] for w in set(ws)) / (len(ws) ** 0.5)
        if FIGURE.search(s.text):
            score *= 1.2
        scored.append((score, i))
    return sorted(scored, reverse=True)


def extract(segments: Sequence[Segment], language: str, summary_sentences: int = 2,
            context: Sequence[Segment] = ()) -> MiniSummary:
    me, others = lang.speakers(language)
    before = split(context)
    sents = before + split(segments)
    first = len(before)
    found: list[tuple[int, ActionItem]] = []
    for i in range(len(sents)):
        item = find_action(sents, i, language, me, others)
        if item is not None:
            found.append((i, item))
    merge_reply_due(found, sents, language)
    found = fold_acceptances(found, sents)
    actions = {i for i, _ in found}
    found = [(i, item) for i, item in found if i >= first]
    said = [d for _, d in decisions(sents, first, language, actions)]
    own = sents[first:]
    ranked = rank(own)
    best = sorted(i for _, i in ranked[:summary_sentences])
    summary = " ".join(own[i].text.strip() for i in best)
    figures = [own[i].text.strip() for _, i in ranked if FIGURE.search(own[i].text) and i not in best][:3]
    highlights = [Highlight(time=own[i].time, text=own[i].text.strip()) for i in best]
    return MiniSummary(summary=summary, key_points=figures, decisions=list(dict.fromkeys(said)),
                       action_items=[item for _, item in found],
                       open_questions=open_questions(sents, first, language)[:3], highlights=highlights)
