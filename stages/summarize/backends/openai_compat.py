"""`openai`: OpenAI or any OpenAI-compatible server (LM Studio, llama.cpp server, vLLM) via `base_url`.

The API key is read from the environment variable named by `api_key_env` and
sent only in the Authorization header; it is never logged nor written. A local
server usually needs none.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx

from stages.config import SummarizeConfig
from stages.summarize.backends.base import BackendDown, BackendError
from stages.summarize.llm import ChatBackend

log = logging.getLogger("summarize")
PROBE_TIMEOUT_S = 3.0


class OpenAIBackend(ChatBackend):
    name = "openai"

    def __init__(self, cfg: SummarizeConfig) -> None:
        super().__init__(cfg)
        self.ocfg = cfg.openai
        self.bounded_schema = cfg.openai.schema_limits

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

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = httpx.post(self.base_url + path, json=body, headers=self._headers(), timeout=self.ocfg.timeout_s)
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
            raise BackendDown(f"{self.base_url} does not answer ({type(exc).__name__})") from exc
        if r.status_code in (401, 403):
            raise BackendError(f"{self.base_url} refused the API key from {self.ocfg.api_key_env} ({r.status_code})")
        if r.status_code == 429 or r.status_code >= 500:
            raise BackendDown(f"{self.base_url} is busy or failing ({r.status_code})")
        if r.status_code >= 400:
            raise BackendError(f"{self.base_url} refused the request ({r.status_code}): {r.text[:300]}")
        try:
            data = r.json()
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
                                "temperature": temperature}
        if self.ocfg.json_mode == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "meeting_summary", "schema": schema,
                                                       "strict": not self.bounded_schema}}
        elif self.ocfg.json_mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        data = self._post("/chat/completions", body)
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BackendError(f"{self.base_url} answered without a message") from exc
        usage = data.get("usage") or {}
        self.stats.prompt_tokens = int(usage.get("prompt_tokens") or self.stats.prompt_tokens)
        self.stats.output_tokens = int(usage.get("completion_tokens") or 0)
        if choice.get("finish_reason") == "length":
            log.warning("openai: the answer was cut at %d tokens ([summarize] max_output_tokens)", max_tokens)
        return str(content)
