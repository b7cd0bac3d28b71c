"""A session folder from a written meeting script, with no audio: for tests, benchmarks and demos.

A script is `{"language", "title", "turns": [{"speaker", "text"}]}` (the format
of meetingsynth.py). Turns get synthetic times at a speaking rate; the first
speaker is the person recording (mic: You/Vous), everyone else is on the
system leg (Others/Participants), as the live pipeline would label them.
Transcript files are written exactly as the transcriber writes them: one per
10 s batch, holding the segments that start inside it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from stages import atomic, config
from stages.models import Segment, SessionManifest, TranscriptBatch, TranscriptEnd
from stages.speakers import labels
from stages.spool import Session, now_iso
from stages.summarize import lang

WORDS_PER_MINUTE = 150.0
PAUSE_S = 0.6


def segments_of(script: dict[str, Any], wpm: float = WORDS_PER_MINUTE, voices: bool = False) -> list[Segment]:
    """One segment per sentence-ish turn, timed at `wpm` words per minute with short pauses.

    `voices`: the other people are told apart as the transcriber's speaker labels would
    ("Speaker 1", "Speaker 2"... in order of first speech) instead of all being "Others"."""
    language = script.get("language", "en")
    me, others = lang.speakers(language)
    turns = script["turns"]
    recorder = next(iter(script.get("speakers") or {}), None) or (turns[0]["speaker"] if turns else "")
    remote: dict[str, str] = {}
    clock = 1.0
    out = []
    for turn in turns:
        text = " ".join(str(turn["text"]).split())
        length = max(1.0, len(text.split()) * 60.0 / wpm)
        mic = turn["speaker"] == recorder
        who = others
        if voices and not mic:
            who = remote.setdefault(turn["speaker"], labels.label(len(remote) + 1, language))
        out.append(Segment(start=round(clock, 2), end=round(clock + length, 2), channel="mic" if mic else "system",
                           speaker=me if mic else who, text=text, confidence=0.9))
        clock += length + PAUSE_S
    return out


def make_session(root: Path, script: dict[str, Any], llm: str = "offline",
                 summarize: dict[str, Any] | None = None, manifest_language: str | None = None,
                 source: str = "system+mic") -> Session:
    """An empty session (manifest only) configured for the summarizer; live unless `source` is a file."""
    language = script.get("language", "en")
    cfg = config.validate({"session": {"language": manifest_language or language},
                           "summarize": {"llm": llm, **(summarize or {})}})
    session = Session(root)
    session.ensure_layout()
    session.write_manifest(SessionManifest(
        name=str(script.get("title") or root.name), slug=root.name, created_at=now_iso(),
        language=manifest_language or language, sources=["mic", "system"], source=source,
        config=cfg.model_dump(mode="json")))
    return session


def batches_of(segments: list[Segment], language: str, batch_s: float = 10.0) -> list[TranscriptBatch]:
    """Transcript files for `segments`: every 10 s batch up to the last word, empty ones included."""
    end = max((s.end for s in segments), default=0.0)
    count = max(1, math.ceil(end / batch_s))
    out = []
    for i in range(count):
        start, stop = i * batch_s, (i + 1) * batch_s
        mine = [s for s in segments if start <= s.start < stop]
        out.append(TranscriptBatch(batch=i + 1, start=start, end=stop, segments=mine, state={},
                                   model="script", language=language, transcribed_at=now_iso()))
    return out


def write_batch(session: Session, batch: TranscriptBatch) -> None:
    atomic.write_json(session.transcript_path(batch.batch), batch)


def write_end(session: Session, last: int) -> None:
    atomic.write_json(session.transcript_end_path, TranscriptEnd(last_batch=last, ended_at=now_iso()))


def write_transcript(session: Session, script: dict[str, Any], end: bool = True,
                     voices: bool = False) -> list[TranscriptBatch]:
    """All transcript files of the script at once (and END.json unless `end` is False)."""
    batches = batches_of(segments_of(script, voices=voices), script.get("language", "en"))
    for batch in batches:
        write_batch(session, batch)
    if end:
        write_end(session, batches[-1].batch)
    return batches
