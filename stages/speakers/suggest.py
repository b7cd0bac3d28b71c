"""Names a meeting itself suggests for its voice labels: "Bob, can you ...?" answered "Yes, I will ..." by Speaker 2.

Only a suggestion, shown as such in the report: the person may answer for someone else. A name
is suggested for a label when it was asked, then answered by that voice, at least `MIN_VOTES`
times and in at least `MIN_SHARE` of that voice's answers, and no other voice won it more often.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from stages.speakers.labels import number_of

MIN_VOTES = 2
MIN_SHARE = 0.66
NAME = r"(?P<name>[A-ZÀ-Ý][a-zà-ÿ'-]+)"
ASKED = re.compile(NAME + r"\s*,\s*(?:can|could|would|will)\s+you\b|" + NAME.replace("name", "name2")
                   + r"\s*,\s*(?:est-ce que tu|tu peux|tu pourrais|peux-tu|pourrais-tu|pourriez-vous)\b")
ANSWER = re.compile(r"^\W*(?:yes|yeah|sure|ok(?:ay)?|of course|no problem|oui|d'accord|bien sûr|ça marche|"
                    r"pas de (?:problème|souci)|entendu)\b", re.IGNORECASE)
NOT_NAMES = {"So", "Okay", "Ok", "Yes", "Well", "Now", "Then", "And", "But", "Alors", "Bon", "Donc", "Oui", "Et",
             "Mais", "Bien", "Very", "Great", "Good", "Super", "Parfait", "Merci", "Thanks"}


class Said(Protocol):
    speaker: str
    text: str


def suggest(turns: Sequence[Said]) -> dict[str, str]:
    """{voice label: suggested name} from the turns of a meeting, in time order."""
    votes: dict[str, Counter[str]] = {}
    for asked, answer in itertools.pairwise(turns):
        if asked.speaker == answer.speaker or number_of(answer.speaker) is None:
            continue
        m = ASKED.search(asked.text)
        name = m and (m.group("name") or m.group("name2"))
        if not name or name in NOT_NAMES or not ANSWER.match(answer.text):
            continue
        votes.setdefault(answer.speaker, Counter())[name] += 1
    chosen: dict[str, tuple[str, int]] = {}
    for label, counter in votes.items():
        name, count = counter.most_common(1)[0]
        if count >= MIN_VOTES and count >= MIN_SHARE * sum(counter.values()):
            chosen[label] = (name, count)
    out: dict[str, str] = {}
    for label, (name, count) in chosen.items():
        rivals = [c for other, (n, c) in chosen.items() if n == name and other != label]
        if all(count > c for c in rivals):
            out[label] = name
    return dict(sorted(out.items(), key=lambda kv: number_of(kv[0]) or 0))
