"""The interface every backend implements, and the two ways a backend can fail.

`BackendDown`: nothing answers (connection refused, timeout). Transient: the
stage waits, retries with backoff and catches up. `BackendError`: it answered
but cannot do the job (model missing, refused request, output still invalid
after retries). The stage falls back to the next backend for that task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from stages.config import SummarizeConfig
from stages.models import Segment
from stages.summarize.schema import MiniSummary


class BackendDown(RuntimeError):
    """The server does not answer; worth retrying later."""


class BackendError(RuntimeError):
    """The backend answered but cannot produce a valid result."""


class PromptTooLong(BackendError):
    """The prompt does not fit the model's context; never sent truncated."""


class OutOfTime(BackendError):
    """The meeting is over and the report will not wait longer for this call: the next backend does the task.

    `partial`: what the answer held when it was stopped (a streamed answer), which may already hold its lists."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


class CutShort(OutOfTime):
    """A brief answer reached its token bound (`llm.BRIEF_TOKENS`): kept like a stopped answer (its whole
    lists), never asked again."""


def never() -> bool:
    return False


@dataclass
class WindowTask:
    """A few minutes of transcript to turn into a mini-summary."""

    language: str
    start: float
    end: float
    segments: list[Segment]
    vocabulary: tuple[str, ...] = ()  # names and jargon from [transcribe] vocabulary, spelled as the user wants
    context: list[Segment] = field(default_factory=list)  # the minute before: a proposal there, agreed to here
    brief: bool = False  # the LLM is behind: a shorter answer (prompts.window_schema)


@dataclass
class SynthesisTask:
    """Mini-summaries to fold into the overall summary (`previous`, empty at first).

    `closing`: the meeting's last minutes, once it is over. The report is waited for, so they
    are added to `previous` in a sentence or two rather than the whole summary being rewritten.
    """

    language: str
    previous: str
    chunks: list[tuple[float, float, str]]  # (start, end, summary text)
    closing: bool = False
    brief: bool = False  # the LLM is behind: a closing adds the last minutes' own summaries, without a call


@dataclass
class CallStats:
    """Size of the last prompt sent, for logs and benchmarks."""

    prompt_chars: int = 0
    prompt_tokens: int = 0  # as counted by the server when it says, else estimated
    cached_tokens: int = 0  # of those, taken from the server's cache instead of read (llama.cpp says)
    output_tokens: int = 0
    read_s: float = 0.0  # of the call, reading the prompt and writing the answer (llama.cpp says)
    write_s: float = 0.0
    cut: bool = False  # the last answer stopped at its token bound (the server says)
    seconds: float = 0.0
    history: list[tuple[str, int, int, float]] = field(default_factory=list)  # (task, prompt, output, s)


class Backend(ABC):
    name: str = "?"

    def __init__(self, cfg: SummarizeConfig) -> None:
        self.cfg = cfg
        self.stats = CallStats()
        # True once the report may not wait for this backend any longer (set by the stage, live): a call
        # that has not started is not made, and one that streams its answer stops where it is
        self.cutoff: Callable[[], bool] = never
        # False for an import (set by the stage): the transcriber then runs flat out for a while and is done,
        # instead of a burst every 10 s beside the LLM (see `local`'s thread count)
        self.live = True
        # how many times cheaper than the configured model the one that answered the last window is (`local`'s
        # brief model): the stage follows the configured model's pace, or it would go back to it at once
        self.lighter = 1.0

    @abstractmethod
    def describe(self) -> str:
        """Backend and model, for the report ("local (Qwen2.5-Coder-1.5B-Instruct Q4_K_M)")."""

    def probe(self) -> str | None:
        """None when this backend can be used now, else why not (cheap; used by `auto`)."""
        return None

    def prepare(self) -> None:  # noqa: B027 (optional hook)
        """Load or preload the model; raises BackendDown or BackendError."""

    @abstractmethod
    def summarize(self, task: WindowTask) -> tuple[MiniSummary, list[str]]:
        """The mini-summary of a window, validated and grounded in its transcript, and notes on what was fixed."""

    @abstractmethod
    def synthesize(self, task: SynthesisTask) -> str:
        """The overall summary, from mini-summaries only."""

    def warm(self, language: str) -> None:  # noqa: B027 (optional hook)
        """Read the fixed start of the prompts once, so servers that cache it answer the first window fast."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Free the model or connections."""
