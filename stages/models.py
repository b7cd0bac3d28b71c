"""Pydantic models of every JSON file in the spool: the boundary between stages.

Times are seconds from the session start (float), except `*_at` fields, which
are ISO-8601 wall-clock strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["mic", "system"]
CHANNELS: tuple[Channel, Channel] = ("mic", "system")  # stereo order in every WAV
SessionState = Literal["recording", "paused", "stopping", "finished", "interrupted"]


class SpoolModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SessionManifest(SpoolModel):
    """`session.json`: written by the supervisor at start, updated on state changes only."""

    name: str
    slug: str
    created_at: str
    language: str
    sources: list[Channel]
    source: str  # as given: system, mic, system+mic, file:PATH
    config: dict[str, object] = Field(default_factory=dict)  # snapshot, never secrets
    state: SessionState = "recording"
    ended_at: str | None = None
    parts: int = 1  # how many times the session was started (resume adds one)


class BatchMeta(SpoolModel):
    """`audio/NNNNNN.json` beside each WAV."""

    index: int
    start: float
    duration: float
    wall_clock: str
    sources: list[Channel]
    level_dbfs: dict[str, float]
    silent: dict[str, bool]


class AudioEnd(SpoolModel):
    """`audio/END.json`: capture has written its last batch."""

    last_batch: int
    reason: str
    ended_at: str


class Segment(SpoolModel):
    """What was said between two times; a `gap` has no text: speech the transcriber heard but
    could not put into words (it is shown as a missing passage, never as silence)."""

    start: float
    end: float
    channel: Channel
    speaker: str
    text: str
    confidence: float = 1.0
    gap: bool = False
    voice: str | None = None  # speaker embedding of a system segment (float16, base64), for the final pass


class VoiceState(SpoolModel):
    """One voice told apart so far: its number, its centroid (unit vector, float16 base64) and weight."""

    number: int
    seconds: float
    mass: float  # length of the seconds-weighted sum of its segments' vectors
    centroid: str


class SpeakerTrack(SpoolModel):
    """Live speaker state after a transcript file: what a restart resumes from, so numbers never change."""

    voices: list[VoiceState] = Field(default_factory=list)
    next_number: int = 1
    last: int | None = None  # the speaker of the last labelled system segment
    cpu_seconds: float = 0.0  # spent on embeddings and assignment so far
    speech_seconds: float = 0.0  # system speech labelled so far


class ChannelCursor(SpoolModel):
    """Where transcription of one channel stands: audio before `cursor` is final.

    `carry` holds final segments that start after the batch this file describes;
    they go into a later batch file. `context` is the Whisper tokens (timestamps
    included) of the last final text before `cursor`: the next call's prompt, as
    whole-file decoding conditions on the previous text. Both are kept here so a
    restart loses nothing and decodes exactly as the first run did.
    """

    cursor: float
    carry: list[Segment] = Field(default_factory=list)
    context: list[int] = Field(default_factory=list)


class TranscriptBatch(SpoolModel):
    """`transcript/NNNNNN.json`: the final segments that start inside audio batch NNNNNN."""

    batch: int
    start: float
    end: float
    segments: list[Segment]
    state: dict[str, ChannelCursor]
    model: str
    language: str
    transcribed_at: str
    speakers: SpeakerTrack | None = None  # None: speakers not told apart in this session


class SpeakerLabels(SpoolModel):
    """`transcript/speakers.json`: the final pass over the whole meeting, written just before END.json.

    `labels` maps each transcript file (its 6-digit batch number) to the final speaker of each of its
    segments, in order; the report uses these instead of the live labels in the files.
    """

    labels: dict[str, list[str]]
    speakers: list[str]  # final labels, in order of first speech
    live_cpu_seconds: float
    final_cpu_seconds: float
    speech_seconds: float
    written_at: str
    live_numbers: bool = False  # the live numbers kept as they were (a name was given before this pass)


class EngineState(SpoolModel):
    """`engine.json`: what decodes the speech now, rewritten by the transcriber whenever that changes.

    `server` is the remote engine's URL (never a key); `state` says whether it answers
    (`ok`), is being retried (`retrying`), has been replaced by the local model for now
    (`fallback`), or is waited for with no local model to take over (`waiting`).
    """

    engine: Literal["local", "openai"]
    label: str  # what decodes now, as the transcript files' `model` names it
    server: str | None = None
    state: Literal["ok", "retrying", "fallback", "waiting"] = "ok"
    down_since: str | None = None
    error: str | None = None  # the server's last failure
    updated_at: str


class TranscriptEnd(SpoolModel):
    """`transcript/END.json`: every audio batch has its transcript file."""

    last_batch: int
    ended_at: str


class FailedNote(SpoolModel):
    """`failed/NAME.reason.json`: why a file was quarantined, and the gap it leaves."""

    file: str
    stage: str
    reason: str
    start: float | None = None
    end: float | None = None
    failed_at: str


class ReportEnd(SpoolModel):
    """`report/END.json`: the summarizer wrote every report file; written last."""

    files: list[str]
    llm: str
    ended_at: str
