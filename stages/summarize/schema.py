"""What the summarizer writes: mini-summaries, the running synthesis and the final report.

`MiniSummary` is the validated shape of one stretch of meeting, whoever wrote it
(an LLM or the offline extractor). Files add provenance (which backend, when,
which stretch of time) around it, flat, so a person can read them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _clean(value: str) -> str:
    return " ".join(value.split()).strip(" -•*")


class ActionItem(Model):
    owner: str = ""
    task: str = Field(min_length=1)
    due: str = ""
    time: float | None = None  # seconds from the session start, where known

    @field_validator("owner", "task", "due")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _clean(value)


class Highlight(Model):
    time: float = Field(ge=0.0)
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _clean(value)


class MiniSummary(Model):
    """The structured summary of one stretch of a meeting."""

    summary: str = ""
    key_points: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    highlights: list[Highlight] = Field(default_factory=list)

    @field_validator("key_points", "decisions", "open_questions")
    @classmethod
    def _strip_list(cls, values: list[str]) -> list[str]:
        return [c for c in (_clean(v) for v in values) if c]


class WindowFile(MiniSummary):
    """`summaries/windows/CCCC-WW.json`: what one LLM call made of a few minutes of transcript."""

    chunk: int
    window: int
    start: float
    end: float
    segments: int
    backend: str  # ollama | local | openai | anthropic | offline | none (nothing was said)
    llm: str  # backend and model, for people
    notes: list[str] = Field(default_factory=list)  # fallbacks and retries worth knowing
    seconds: float = 0.0  # time the backend took, retries included
    prompt_tokens: int = 0
    output_tokens: int = 0
    joined: list[str] = Field(default_factory=list)  # later windows this call read too (the LLM was behind)
    joined_into: str | None = None  # this window was read by that window's call: its lists are there
    written_at: str


class ChunkFile(MiniSummary):
    """`summaries/chunk_NNNN.json`: the mini-summary of one interval (minutes 0-10, 10-20, ...)."""

    chunk: int
    start: float
    end: float
    language: str
    llm: list[str]
    windows: int
    notes: list[str] = Field(default_factory=list)
    written_at: str


class SynthesisFile(Model):
    """`summaries/synthesis.json`: the overall summary so far, refined from the window summaries a few at a
    time (and after each chunk), so that little is left to fold in when the meeting ends."""

    summary: str
    windows: list[str] = Field(default_factory=list)  # window summaries folded in ("CCCC-WW")
    chunks: list[int] = Field(default_factory=list)  # chunks all of whose windows are folded in
    backend: str
    llm: str
    prompt_chars: int = 0
    prompt_tokens: int = 0
    notes: list[str] = Field(default_factory=list)
    updated_at: str


class Gap(Model):
    start: float | None = None
    end: float | None = None
    reason: str


class FinalReport(Model):
    """`report/final.json`."""

    title: str
    session: str
    language: str
    created_at: str
    duration_s: float
    llm: str
    backend: str
    chunk_llms: dict[str, list[int]] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    summary: str
    key_points: list[str]
    decisions: list[str]
    action_items: list[ActionItem]
    open_questions: list[str]
    highlights: list[Highlight]
    gaps: list[Gap] = Field(default_factory=list)
    speakers: list[str] = Field(default_factory=list)  # who speaks in the transcript, in order of first speech
    suggested_names: dict[str, str] = Field(default_factory=dict)  # voice label -> a name the meeting suggests
    chunks: int
    generated_at: str

    def written_by(self) -> str:
        """Every backend that wrote a part, language models first: beside a busy call the LLM may have
        summarized the first minutes and the rules the rest (and the overall summary)."""
        names = [n for n in dict.fromkeys([self.llm, *self.chunk_llms]) if n != "none"]
        return ", ".join(sorted(names, key=lambda n: n == "offline")) or self.llm

    def by_rules_only(self) -> bool:
        return self.backend == "offline" and set(self.chunk_llms) <= {"offline", "none"}


class TranscriptLine(Model):
    """One entry of `report/transcript.json`."""

    start: float
    end: float
    speaker: str
    text: str
