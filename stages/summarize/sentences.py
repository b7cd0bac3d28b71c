"""Transcript text cut into sentences for the offline rules, and what every rule shares.

Whisper joins many replies to what follows with a comma, and an import has one speaker label
for everyone, so the rules work on sentences (and opening agreements split off), never on turns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stages.models import Segment
from stages.summarize import cues
from stages.summarize.text import sentences

MAX_ITEM = 160
PROCESS = re.compile(r"\b(?:hear me|my screen|mon écran|m'entend|start the meeting|next topic|sujet suivant|"
                     r"keep (?:it|this|the|things|the meeting) (?:short|brief|to)|be brief|"
                     r"soyons brefs?|faire court|faire vite|wrap up|on s'arrête|come back to|on en reparle|"
                     r"leave (?:it|that) open|same time|"
                     # putting a subject off is no proposal: "let's talk about it next week" / "on en reparlera"
                     r"(?:talk|speak|think) about (?:it|this|that) (?:again|later|next|another|tomorrow|once|when)|"
                     r"discuss (?:it|this|that) (?:again|later|next|another|tomorrow|once|when)|"
                     r"revisit (?:it|this|that)|"
                     r"en reparler|on en reparlera|on en (?:parle|discute) (?:plus tard|la semaine|demain|quand))\b",
                     re.IGNORECASE)


@dataclass
class Sentence:
    time: float
    speaker: str
    text: str


def _clauses(text: str) -> list[str]:
    """Whisper often joins a reply to what follows with a comma ("Okay, let's do that, the sync ships as a
    beta."): an agreement or an announcement that opens a sentence is a sentence of its own."""
    m = re.match(cues.LEAD + r"(?:" + cues.AGREE["en"].pattern[len(cues.LEAD):] + r"|"
                 + cues.AGREE["fr"].pattern[len(cues.LEAD):] + r"|(?:that's|it's|c'est) (?:decided|settled|décidé|"
                 r"validé|acté)|agreed|d'accord|okay|yes|oui)\s*,\s+(?=\S+\s+\S+\s+\S+)", text, re.IGNORECASE)
    if not m:
        return [text]
    return [text[: m.end()].rstrip(" ,") + ".", *_clauses(text[m.end():][:1].upper() + text[m.end() + 1:])]


def split(segments: Sequence[Segment]) -> list[Sentence]:
    return [Sentence(seg.start, seg.speaker, c) for seg in segments for s in sentences(seg.text) for c in _clauses(s)]


def family(language: str) -> str:
    return "fr" if language == "fr" else "en"
