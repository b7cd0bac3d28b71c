"""LLM backends behind one small interface (`base.Backend`), and the choice among them."""

from __future__ import annotations

import logging

from stages.config import SummarizeConfig
from stages.summarize.backends.base import Backend, BackendDown, BackendError

log = logging.getLogger("summarize")
NAMES = ("ollama", "local", "openai", "anthropic", "offline")


def create(name: str, cfg: SummarizeConfig) -> Backend:
    """One backend by name; imports lazily so a missing optional package only matters when chosen."""
    if name == "ollama":
        from stages.summarize.backends.ollama import OllamaBackend
        return OllamaBackend(cfg)
    if name == "local":
        from stages.summarize.backends.local import LocalBackend
        return LocalBackend(cfg)
    if name == "openai":
        from stages.summarize.backends.openai_compat import OpenAIBackend
        return OpenAIBackend(cfg)
    if name == "anthropic":
        from stages.summarize.backends.anthropic import AnthropicBackend
        return AnthropicBackend(cfg)
    if name == "offline":
        from stages.summarize.backends.offline import OfflineBackend
        return OfflineBackend(cfg)
    raise ValueError(f"unknown LLM backend {name!r}; choose one of auto, {', '.join(NAMES)}")


def chain(name: str, cfg: SummarizeConfig) -> list[Backend]:
    """The backends to try in order; `offline` always closes the list so a report always exists.

    `auto`: Ollama if it answers and has the model, else `local` if its model is installed, else offline.
    """
    if name != "auto":
        first = create(name, cfg)
        return [first] if name == "offline" else [first, create("offline", cfg)]
    ollama = create("ollama", cfg)
    reason = ollama.probe()
    if reason is None:
        log.info("auto: Ollama answers at %s with %s", cfg.ollama.host, cfg.ollama.model)
        return [ollama, create("offline", cfg)]
    log.info("auto: not Ollama (%s)", reason)
    local = create("local", cfg)
    reason = local.probe()
    if reason is None:
        log.info("auto: local model %s", cfg.local.model)
        return [local, create("offline", cfg)]
    log.info("auto: not local (%s); using the offline extractor", reason)
    return [create("offline", cfg)]


__all__ = ["NAMES", "Backend", "BackendDown", "BackendError", "chain", "create"]
