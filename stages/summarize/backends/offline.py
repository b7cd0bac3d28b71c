"""`offline`: no model at all, so a report always exists. See `stages.summarize.extract`."""

from __future__ import annotations

from stages.summarize.backends.base import Backend, SynthesisTask, WindowTask
from stages.summarize.extract import extract, rank
from stages.summarize.schema import MiniSummary
from stages.summarize.sentences import Sentence
from stages.summarize.text import sentences

OVERALL_SENTENCES = 5


class OfflineBackend(Backend):
    name = "offline"

    def describe(self) -> str:
        return "offline"

    def summarize(self, task: WindowTask) -> tuple[MiniSummary, list[str]]:
        return extract(task.segments, task.language, context=task.context), []

    def synthesize(self, task: SynthesisTask) -> str:
        """The most central sentences of the mini-summaries (and of the summary so far), in time order."""
        pool = [Sentence(0.0, "", s) for s in sentences(task.previous)]
        pool += [Sentence(start, "", s) for start, _, text in task.chunks for s in sentences(text)]
        best = sorted(i for _, i in rank(pool)[:OVERALL_SENTENCES])
        if not best:
            best = list(range(min(OVERALL_SENTENCES, len(pool))))
        return " ".join(pool[i].text for i in best)
