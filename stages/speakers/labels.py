"""How speakers are called: the words of the labels, and the names people give them."""

from __future__ import annotations

import json
import re

from pydantic import TypeAdapter

from stages import atomic
from stages.spool import Session

PREFIX = {"fr": "Participant"}
DEFAULT_PREFIX = "Speaker"
LABEL_RE = re.compile(r"^(?:Speaker|Participant) (\d+)$")
IN_TEXT = re.compile(r"\b(?:Speaker|Participant) \d+\b")  # a label where a summary names a person
NAMES = TypeAdapter(dict[str, str])


def label(number: int, language: str) -> str:
    """"Participant 2" in a French meeting, "Speaker 2" otherwise."""
    return f"{PREFIX.get(language, DEFAULT_PREFIX)} {number}"


def number_of(text: str) -> int | None:
    m = LABEL_RE.match(text.strip())
    return int(m.group(1)) if m else None


def names(session: Session) -> dict[str, str]:
    """{"Speaker 2": "Bob"}: the names given with `report --speaker`, empty when none."""
    try:
        return NAMES.validate_json(session.names_path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{session.names_path} is not a JSON object of label -> name: {exc}") from exc


def parse_rename(spec: str) -> tuple[str, str]:
    """'Speaker 2=Bob' -> ('Speaker 2', 'Bob'); a clear error for anything else."""
    old, sep, new = spec.partition("=")
    old, new = " ".join(old.split()), " ".join(new.split())
    if not sep or not old or not new:
        raise ValueError(f"--speaker {spec!r}: expected LABEL=NAME, for example \"Speaker 2=Bob\"")
    return old, new


def known_labels(session: Session) -> list[str]:
    """Every speaker label of the session's transcript (final labels where the transcriber wrote them)."""
    from stages.models import SpeakerLabels, TranscriptBatch
    from stages.spool import read_model

    final = read_model(session.speakers_path, SpeakerLabels)
    found: dict[str, None] = dict.fromkeys(final.speakers if final else [])
    for index in session.transcribed_batches():
        doc = read_model(session.transcript_path(index), TranscriptBatch)
        if doc is None:
            continue
        row = final.labels.get(f"{index:06d}") if final else None
        found.update(dict.fromkeys(row if row and len(row) == len(doc.segments) else [s.speaker for s in doc.segments]))
    return list(found)


def rename_speakers(session: Session, specs: list[str]) -> dict[str, str]:
    """Record `LABEL=NAME` renames in names.json (a name already given can be renamed again); the new map."""
    current = names(session)
    known = known_labels(session)
    for spec in specs:
        old, new = parse_rename(spec)
        label = old if old in known else next((k for k, v in current.items() if v == old), None)
        if label is None:
            shown = ", ".join(f"{k} ({current[k]})" if k in current else k for k in known) or "none"
            raise ValueError(f"no speaker {old!r} in {session.name}; its speakers: {shown}")
        current[label] = new
    atomic.write_text(session.names_path, json.dumps(current, ensure_ascii=False, indent=1) + "\n")
    return current
