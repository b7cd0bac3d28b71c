"""`anthropic`: Claude through the Messages API; the key comes from the environment only.

Structured output is obtained by forcing a tool call whose input schema is the
summary schema: the tool's input is the JSON object.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from stages.config import SummarizeConfig
from stages.summarize.backends.base import BackendDown, BackendError
from stages.summarize.llm import ChatBackend

API_VERSION = "2023-06-01"
TOOL = "write_meeting_summary"


class AnthropicBackend(ChatBackend):
    name = "anthropic"

    def __init__(self, cfg: SummarizeConfig) -> None:
        super().__init__(cfg)
        self.acfg = cfg.anthropic

    def describe(self) -> str:
        return f"anthropic ({self.acfg.model})"

    def _key(self) -> str:
        key = os.environ.get(self.acfg.api_key_env, "")
        if not key:
            raise BackendError(f"set the environment variable {self.acfg.api_key_env} to your Anthropic API key")
        return key

    def probe(self) -> str | None:
        try:
            self._key()
        except BackendError as exc:
            return str(exc)
        return None

    def prepare(self) -> None:
        self._key()

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
        body = {"model": self.acfg.model, "max_tokens": max_tokens, "temperature": min(temperature, 1.0),
                "system": system, "messages": turns,
                "tools": [{"name": TOOL, "description": "Record the meeting summary.", "input_schema": schema}],
                "tool_choice": {"type": "tool", "name": TOOL}}
        headers = {"x-api-key": self._key(), "anthropic-version": API_VERSION, "content-type": "application/json"}
        url = self.acfg.base_url.rstrip("/") + "/v1/messages"
        try:
            r = httpx.post(url, json=body, headers=headers, timeout=self.acfg.timeout_s)
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
            raise BackendDown(f"{url} does not answer ({type(exc).__name__})") from exc
        if r.status_code in (401, 403):
            raise BackendError(f"Anthropic refused the key from {self.acfg.api_key_env} ({r.status_code})")
        if r.status_code in (429, 529) or r.status_code >= 500:
            raise BackendDown(f"Anthropic is busy or failing ({r.status_code})")
        if r.status_code >= 400:
            raise BackendError(f"Anthropic refused the request ({r.status_code}): {r.text[:300]}")
        data = r.json()
        usage = data.get("usage") or {}
        self.stats.prompt_tokens = int(usage.get("input_tokens") or self.stats.prompt_tokens)
        self.stats.output_tokens = int(usage.get("output_tokens") or 0)
        for block in data.get("content") or []:
            if block.get("type") == "tool_use" and block.get("name") == TOOL:
                return json.dumps(block.get("input"), ensure_ascii=False)
        texts = [b.get("text", "") for b in data.get("content") or [] if b.get("type") == "text"]
        return "".join(texts)
