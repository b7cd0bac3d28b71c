"""`ollama`: a local Ollama server (the default when one answers).

Ollama's default context is small and it silently drops what does not fit, so
every request sets `num_ctx` from the prompt's size plus the answer's budget,
and a reply whose prompt filled the context is retried with a larger one. The
JSON schema goes in `format`, and the model is loaded into memory when the
stage starts (a chat with no messages) so the first summary does not wait for it.
Answers are streamed, so that the report need not wait for one it has given up on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from typing import Any

import httpx

from stages.config import SummarizeConfig
from stages.summarize.backends.base import BackendDown, BackendError, OutOfTime, PromptTooLong
from stages.summarize.llm import TOO_LATE, ChatBackend, messages_tokens

log = logging.getLogger("summarize")
PROBE_TIMEOUT_S = 2.0
CTX_STEP = 256


def _model_names(tags: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for m in tags.get("models") or []:
        for key in ("name", "model"):
            value = m.get(key)
            if isinstance(value, str):
                names.add(value)
                if value.endswith(":latest"):
                    names.add(value.removesuffix(":latest"))
    return names


class OllamaBackend(ChatBackend):
    name = "ollama"
    bounded_schema = True

    def __init__(self, cfg: SummarizeConfig) -> None:
        super().__init__(cfg)
        self.ocfg = cfg.ollama
        self.ctx_factor = 1.0
        self._client: Any = None

    def describe(self) -> str:
        return f"ollama ({self.ocfg.model})"

    def client(self) -> Any:
        if self._client is None:
            import ollama

            self._client = ollama.Client(host=self.ocfg.host, timeout=self.ocfg.timeout_s)
        return self._client

    def _tags(self, timeout: float) -> dict[str, Any]:
        try:
            r = httpx.get(self.ocfg.host.rstrip("/") + "/api/tags", timeout=timeout)
            r.raise_for_status()
            data = r.json()
        except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
            raise BackendDown(f"no Ollama server answers at {self.ocfg.host} ({type(exc).__name__}); start it "
                              "with `ollama serve`, or choose another backend with --llm") from exc
        return data if isinstance(data, dict) else {}

    def _check_model(self, tags: dict[str, Any]) -> None:
        if self.ocfg.model not in _model_names(tags):
            raise BackendError(f"Ollama at {self.ocfg.host} has no model {self.ocfg.model!r}: run "
                               f"`ollama pull {self.ocfg.model}` or set [summarize.ollama] model")

    def probe(self) -> str | None:
        try:
            self._check_model(self._tags(PROBE_TIMEOUT_S))
        except (BackendDown, BackendError) as exc:
            return str(exc)
        return None

    def prepare(self) -> None:
        self._check_model(self._tags(PROBE_TIMEOUT_S))
        self._call(lambda c: c.chat(model=self.ocfg.model, messages=[], keep_alive=self.ocfg.keep_alive))
        log.info("ollama: %s loaded (keep_alive %s)", self.ocfg.model, self.ocfg.keep_alive)

    def _call(self, fn: Any) -> Any:
        import ollama

        try:
            return fn(self.client())
        except ConnectionError as exc:
            raise BackendDown(f"no Ollama server answers at {self.ocfg.host}") from exc
        except httpx.TimeoutException as exc:
            raise BackendDown(f"Ollama did not answer within {self.ocfg.timeout_s:.0f} s") from exc
        except httpx.TransportError as exc:  # a streamed request's errors come as httpx's own
            raise BackendDown(f"no Ollama server answers at {self.ocfg.host} ({type(exc).__name__})") from exc
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise BackendError(f"Ollama has no model {self.ocfg.model!r}: run `ollama pull "
                                   f"{self.ocfg.model}`") from exc
            if exc.status_code in (429, 503):
                raise BackendDown(f"Ollama is busy ({exc.status_code})") from exc
            raise BackendError(f"Ollama refused the request ({exc.status_code}): {exc.error}") from exc

    def num_ctx(self, messages: list[dict[str, str]], max_tokens: int) -> int:
        """Context for this request: the prompt's estimated size plus the answer, rounded up, never below min."""
        needed = messages_tokens(messages) + max_tokens
        if needed > self.ocfg.num_ctx_max:
            raise PromptTooLong(f"prompt of about {needed} tokens with its answer exceeds num_ctx_max "
                                f"{self.ocfg.num_ctx_max} ([summarize.ollama] num_ctx_max)")
        wanted = math.ceil(needed * self.ctx_factor / CTX_STEP) * CTX_STEP
        return max(self.ocfg.num_ctx_min, min(self.ocfg.num_ctx_max, wanted))

    def warm(self, language: str) -> None:
        self.warm_prefix(language)

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        for _ in range(3):
            num_ctx = self.num_ctx(messages, max_tokens)
            options = {"num_ctx": num_ctx, "num_predict": max_tokens, "temperature": temperature, "seed": 1234}
            content, last = self._call(lambda c, o=options: self._read(c.chat(
                model=self.ocfg.model, messages=messages, format=schema, options=o,
                keep_alive=self.ocfg.keep_alive, stream=True)))
            used = int(getattr(last, "prompt_eval_count", 0) or 0)
            self.stats.prompt_tokens = used or self.stats.prompt_tokens
            self.stats.output_tokens = int(getattr(last, "eval_count", 0) or 0)
            if used and used + max_tokens > num_ctx and num_ctx < self.ocfg.num_ctx_max:
                # the prompt filled the context: Ollama may have cut its start; ask again with more room
                log.warning("ollama: prompt of %d tokens filled num_ctx %d; retrying with a larger context",
                            used, num_ctx)
                self.ctx_factor *= 1.5
                continue
            return str(content)
        raise PromptTooLong("Ollama's prompt did not fit even with a larger num_ctx")

    def _read(self, stream: Generator[Any, None, None]) -> tuple[str, Any]:
        """The streamed answer and its last chunk (with the counts). Streamed so that a call the report can
        no longer wait for stops where it is: closing the stream closes the connection, and Ollama stops
        writing an answer whose client has gone."""
        parts: list[str] = []
        last: Any = None
        for last in stream:
            parts.append(str(last.message.content or ""))
            if not last.done and self.cutoff():
                stream.close()  # its `with` closes the response
                raise OutOfTime(f"{TOO_LATE}; cut after {len(parts)} chunk(s)", "".join(parts))
        return "".join(parts), last
