"""What all chat-model backends share: prompts, JSON validation, retries with the error fed back.

A subclass only says how to send messages with a JSON schema and get text back
(`chat`). Output that is not valid JSON, does not fit the schema, or is in the
wrong language is retried with the error shown to the model, then reported as
a BackendError so the stage falls back to the next backend.
"""

from __future__ import annotations

import json
import logging
import re
import time
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from stages.summarize import prompts
from stages.summarize.backends.base import Backend, BackendError, CutShort, OutOfTime, SynthesisTask, WindowTask
from stages.summarize.extract import extract
from stages.summarize.grounding import LlmSynthesis, LlmWindow, check_language, ground
from stages.summarize.merge import complete
from stages.summarize.schema import MiniSummary
from stages.summarize.text import estimate_tokens, unsaid

log = logging.getLogger("summarize")
T = TypeVar("T")
SYNTHESIS_TOKENS = 320
CLOSING_TOKENS = 160
WINDOW_MIN_TOKENS = 200
# A brief answer is 74-165 tokens (90th percentile, 80 windows of the 0.5B model; the 1.5B model's 81-245 beside
# a call). Past this the model is copying its prompt: the 0.5B model once wrote the speakers' note as 8 tasks,
# 543 tokens in 117 s beside a call, 2 windows' time; cut, its whole lists are kept and the rules do the rest.
BRIEF_TOKENS = 300
TOO_LATE = "the meeting is over and the report does not wait longer for the LLM ([summarize] wait_at_end_s)"
FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


class InvalidOutput(BackendError):
    """Still invalid after every retry."""


def extract_json(raw: str) -> Any:
    """The JSON object in a reply, tolerating code fences and chatter around it."""
    text = FENCE_RE.sub("", raw.strip())
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        first, last = text.find("{"), text.rfind("}")
        if first < 0 or last <= first:
            raise ValueError("no JSON object in the answer") from None
        try:
            return json.loads(text[first: last + 1])
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else err["msg"]
    return str(exc)


def messages_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)


def messages_tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


class Streamed:
    """An answer read as the model writes it (OpenAI's chat chunks), so that a call the report can no longer
    wait for stops at once.

    Asked for whole, an answer cannot be stopped: beside a video call the last minute's window took 37 s
    after the meeting ended, the report 44 s. Streamed, closing the stream cancels the request (llama.cpp,
    and a server whose client has gone). A whole answer (`message` instead of `delta`) is taken as one chunk.
    """

    def __init__(self, cutoff: Callable[[], bool]) -> None:
        self.cutoff = cutoff
        self.parts: list[str] = []
        self.tokens = 0
        self.finish: str | None = None
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.error: Any = None
        self.cut = False

    def take(self, chunk: dict[str, Any]) -> bool:
        """One chunk of the stream; True stops reading it (and the request)."""
        if "error" in chunk or chunk.get("code") == 500:
            self.error = chunk.get("error") or chunk.get("message") or chunk
            return True
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or choice.get("message") or {}).get("content")
            if content:
                self.parts.append(content)
                self.tokens += 1
            self.finish = choice.get("finish_reason") or self.finish
        self.usage = chunk.get("usage") or self.usage
        self.timings = chunk.get("timings") or self.timings
        self.cut = self.finish is None and self.cutoff()
        return self.cut

    def stopped(self) -> OutOfTime:
        """The stream was left past the wait: what it held so far, which may already hold its lists."""
        return OutOfTime(f"{TOO_LATE}; cut after {self.tokens} token(s)", "".join(self.parts))


class ChatBackend(Backend):
    bounded_schema = False  # does the server enforce maxLength/maxItems (grammar sampling)?

    @abstractmethod
    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        """Send the conversation, constrained to `schema` where the server can; the reply's text."""

    def _ask(self, task_name: str, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             language: str, parse: Callable[[Any], T], keep_cut: bool = False) -> T:
        """The parsed answer; an invalid one is asked again, unless `keep_cut` and it was cut at `max_tokens`."""
        errors: list[str] = []
        temperature = self.cfg.temperature
        for attempt in range(self.cfg.retries + 1):
            if self.cutoff():
                raise OutOfTime(TOO_LATE)
            began = time.monotonic()
            self.stats.prompt_chars = messages_chars(messages)
            self.stats.prompt_tokens = messages_tokens(messages)
            self.stats.cut = False
            raw = self.chat(messages, schema, max_tokens, temperature)
            self.stats.seconds = time.monotonic() - began
            self.stats.history.append((task_name, self.stats.prompt_tokens, self.stats.output_tokens,
                                       self.stats.seconds))
            try:
                return parse(extract_json(raw))
            except (ValueError, ValidationError) as exc:
                if keep_cut and self.stats.cut:
                    raise CutShort(f"the answer reached {max_tokens} tokens", raw) from None
                error = _short(exc)
                errors.append(error)
                log.warning("%s: invalid %s output (try %d of %d): %s", self.name, task_name, attempt + 1,
                            self.cfg.retries + 1, error)
                messages = [*messages, {"role": "assistant", "content": raw[:4000]},
                            prompts.retry_message(language, error)]
                temperature = min(1.0, temperature + 0.3)
        raise InvalidOutput(f"{task_name}: invalid output after {self.cfg.retries + 1} tries: {errors[-1]}")

    def warm_prefix(self, language: str) -> int:
        """One 1-token request made of each prompt's fixed part: llama.cpp and Ollama keep it cached. How many
        prompt tokens were read rather than found cached (as the server says)."""
        read = 0
        for messages, schema in ((prompts.window_messages(language, 0, 0, []),
                                  prompts.window_schema(self.bounded_schema)),
                                 (prompts.synthesis_messages(language, "", []),
                                  prompts.synthesis_schema(self.bounded_schema))):
            self.chat(messages, schema, 1, 0.0)
            read += self.stats.prompt_tokens - self.stats.cached_tokens
        return read

    def summarize(self, task: WindowTask) -> tuple[MiniSummary, list[str]]:
        """One call over the window, shown the minute before it and what the rules found in it to check; then
        the rules' items it left out are added back (`complete_lists`) and open questions are the rules'."""
        found = extract(task.segments, task.language, context=task.context)
        messages = prompts.window_messages(task.language, task.start, task.end, task.segments, task.vocabulary,
                                           task.context, found if self.cfg.complete_lists else None, task.brief)
        # an answer longer than its transcript is a model looping: do not wait for it
        budget = min(self.cfg.max_output_tokens, WINDOW_MIN_TOKENS + 2 * estimate_tokens(messages[-1]["content"]),
                     BRIEF_TOKENS if task.brief else self.cfg.max_output_tokens)
        said = [*task.context, *task.segments]

        def parse(data: Any) -> tuple[MiniSummary, list[str]]:
            return ground(LlmWindow.model_validate(data), said, task.language,
                          supported=found.decisions, rules_summary=found.summary)

        schema = prompts.window_schema(self.bounded_schema, task.brief)
        try:
            mini, notes = self._ask("window", messages, schema, budget, task.language, parse, task.brief)
        except OutOfTime as exc:  # the lists come first: those written whole are kept, the rules do the rest
            written = whole_fields(exc.partial, list(schema["properties"]))
            if "decisions" not in written:
                raise
            try:
                mini, notes = parse({"summary": found.summary, **written})
            except (ValueError, ValidationError):
                raise exc from None
            why = str(exc) if isinstance(exc, CutShort) else TOO_LATE
            notes.append(f"{self.describe()} stopped after its lists ({why}): the rest by the rules")
        mini = mini.model_copy(update={"highlights": found.highlights})  # the rules' lines (window_schema)
        if self.cfg.complete_lists:
            mini = complete(mini, found, task.language)
        return mini, notes

    def synthesize(self, task: SynthesisTask) -> str:
        closing = task.closing and (task.brief or bool(task.previous.strip()))
        added = " ".join(text for _, _, text in task.chunks)
        if closing and (task.brief or len(added) <= prompts.CLOSING_CHARS):
            # no longer than a closing answer may be: a call could only rephrase them (the 1.5B model gave
            # two window summaries back word for word, 6.8 s of the report's wait on a 10-minute live run);
            # or the LLM is too slow to keep up, and the report would wait 10-30 s more for that call
            self.stats.prompt_chars = self.stats.prompt_tokens = self.stats.output_tokens = 0
            return " ".join(filter(None, [task.previous.strip(), *unsaid(task.previous, added)]))
        messages = prompts.synthesis_messages(task.language, task.previous, task.chunks, closing)

        def parse(data: Any) -> str:
            summary = " ".join(LlmSynthesis.model_validate(data).summary.split())
            if closing:
                summary = added_sentences(task.previous, summary)
            if summary:
                check_language(summary, task.language)
            elif not closing:
                raise ValueError('"summary" is empty')
            return " ".join(filter(None, [task.previous.strip(), summary])) if closing else summary

        schema = prompts.synthesis_schema(self.bounded_schema, closing)
        budget = CLOSING_TOKENS if closing else SYNTHESIS_TOKENS
        return self._ask("closing" if closing else "synthesis", messages, schema, budget, task.language, parse)


def whole_fields(partial: str, keys: list[str]) -> dict[str, Any]:
    """The fields a stopped answer had written whole: the grammar writes them compact, in `keys` order."""
    for key in reversed(keys[1:]):
        cut = partial.find(f',"{key}":')
        if cut > 0:
            try:
                found = json.loads(partial[:cut] + "}")
            except ValueError:
                return {}
            return found if isinstance(found, dict) else {}
    return {}


def added_sentences(previous: str, answer: str) -> str:
    """The closing answer's sentences that `previous` does not already hold, the last one only if finished.

    An answer cut by the length bound ends mid-sentence; one that copies the summary out first would
    otherwise say everything twice.
    """
    kept = unsaid(previous, answer)
    if kept and kept[-1][-1] not in ".!?…":  # only the answer's last sentence can lack its full stop
        kept.pop()
    return " ".join(kept)
