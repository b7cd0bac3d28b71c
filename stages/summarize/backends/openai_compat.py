"""`openai`: OpenAI or any OpenAI-compatible server (LM Studio, llama.cpp server, vLLM) via `base_url`.

The API key is read from the environment variable named by `api_key_env` and
sent only in the Authorization header; it is never logged nor written. A local
server usually needs none. Answers are streamed, so that the report need not wait for
one it has given up on.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import httpx

from stages.config import SummarizeConfig
from stages.summarize.backends.base import BackendDown, BackendError
from stages.summarize.llm import ChatBackend, Streamed

log = logging.getLogger("summarize")
PROBE_TIMEOUT_S = 3.0


class OpenAIBackend(ChatBackend):
    name = "openai"

    def __init__(self, cfg: SummarizeConfig) -> None:
        super().__init__(cfg)
        self.ocfg = cfg.openai
        self.bounded_schema = cfg.openai.schema_limits
        self.stream_usage = True  # ask for the token counts at the end of the stream, until a server refuses it

    def describe(self) -> str:
        return f"openai ({self.ocfg.model} at {self.base_url})"

    @property
    def base_url(self) -> str:
        return self.ocfg.base_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.ocfg.api_key_env, "") if self.ocfg.api_key_env else ""
        if not key and "api.openai.com" in self.base_url:
            raise BackendError(f"set the environment variable {self.ocfg.api_key_env} to your OpenAI API key")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _refused(self, r: httpx.Response) -> None:
        if r.status_code in (401, 403):
            raise BackendError(f"{self.base_url} refused the API key from {self.ocfg.api_key_env} ({r.status_code})")
        if r.status_code == 429 or r.status_code >= 500:
            raise BackendDown(f"{self.base_url} is busy or failing ({r.status_code})")
        if r.status_code >= 400:
            raise BackendError(f"{self.base_url} refused the request ({r.status_code}): {r.text[:300]}")

    def _stream(self, path: str, body: dict[str, Any]) -> Streamed:
        """The answer read as the server writes it (server-sent events), so that a call the report can no
        longer wait for stops where it is: leaving the stream closes the connection, and the server stops.
        A server that answers whole (JSON) is read whole."""
        answer = Streamed(self.cutoff)
        try:
            with httpx.stream("POST", self.base_url + path, json=body, headers=self._headers(),
                              timeout=self.ocfg.timeout_s) as r:
                if r.status_code >= 400:
                    r.read()
                    self._refused(r)
                if "json" in r.headers.get("content-type", ""):
                    answer.take(self._document(r.read()))
                    return answer
                for line in r.iter_lines():
                    data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
                    if data == "[DONE]":
                        break
                    if data and answer.take(self._document(data.encode())):
                        if answer.error is None:
                            raise answer.stopped()
                        break  # the error is said once the stream is closed (chat)
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise BackendDown(f"{self.base_url} does not answer ({type(exc).__name__})") from exc
        return answer

    def _document(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BackendError(f"{self.base_url} answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise BackendError(f"{self.base_url} answered an unexpected document")
        return data

    def probe(self) -> str | None:
        try:
            r = httpx.get(self.base_url + "/models", headers=self._headers(), timeout=PROBE_TIMEOUT_S)
        except (httpx.TransportError, BackendError) as exc:
            return f"{self.base_url}: {exc}"
        return None if r.status_code < 400 else f"{self.base_url}/models answered {r.status_code}"

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        body: dict[str, Any] = {"model": self.ocfg.model, "messages": messages, "max_tokens": max_tokens,
                                "temperature": temperature, "stream": True}
        if self.ocfg.json_mode == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "meeting_summary", "schema": schema,
                                                       "strict": not self.bounded_schema}}
        elif self.ocfg.json_mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        try:
            answer = self._stream("/chat/completions", body)
        except BackendError as exc:  # a server that streams but refuses this newer option: once without it
            if not self.stream_usage or "refused the request" not in str(exc):
                raise
            self.stream_usage = False
            return self.chat(messages, schema, max_tokens, temperature)
        if answer.error is not None:
            raise BackendError(f"{self.base_url} answered an error: {answer.error}")
        if not answer.parts and answer.finish is None:
            raise BackendError(f"{self.base_url} answered without a message")
        self.stats.prompt_tokens = int(answer.usage.get("prompt_tokens") or self.stats.prompt_tokens)
        self.stats.output_tokens = int(answer.usage.get("completion_tokens") or 0)
        self.stats.cut = answer.finish == "length"
        if self.stats.cut:
            log.warning("openai: the answer was cut at %d tokens", max_tokens)
        return "".join(answer.parts)
