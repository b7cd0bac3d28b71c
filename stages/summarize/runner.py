"""Running a task on the chain of backends: wait out a server that is down, fall back on bad output.

A server that does not answer is not a reason to lose LLM summaries: while the
meeting goes on, tasks wait and are retried with exponential backoff, and catch
up when it is back. Once the transcript is complete the stage waits at most
`wait_at_end_s` more, then moves down the chain for good. A backend that answers
but fails (bad output after retries, missing model) is skipped for that task only.
Every fallback is written into the notes of what it produced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from stages.config import SummarizeConfig
from stages.summarize.backends.base import Backend, BackendDown, BackendError, OutOfTime

log = logging.getLogger("summarize")
T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    value: T
    backend: Backend
    notes: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, chain: list[Backend], cfg: SummarizeConfig, now: Callable[[], float] = time.monotonic) -> None:
        self.chain = chain
        self.cfg = cfg
        self.now = now
        self.pos = 0  # backends before this one were given up for this run
        self.retry_at = 0.0
        self.delay = 0.0
        self.down_since: float | None = None
        self.prepared: set[int] = set()
        self.notes: list[str] = []  # run-wide events (a backend given up), for the report

    @property
    def primary(self) -> Backend:
        return self.chain[self.pos]

    def waiting(self) -> float:
        """Seconds until the next try of a down backend (0: go)."""
        return max(0.0, self.retry_at - self.now())

    def _down(self, backend: Backend, exc: Exception) -> None:
        self.delay = min(self.cfg.backoff_max_s, self.delay * 2 if self.delay else self.cfg.backoff_s)
        self.retry_at = self.now() + self.delay
        if self.down_since is None:
            self.down_since = self.now()
        log.warning("%s does not answer (%s); retrying in %.0f s", backend.name, exc, self.delay)

    def _give_up(self, backend: Backend, why: str) -> None:
        note = f"{backend.describe()} given up: {why}"
        log.warning("%s", note)
        self.notes.append(note)
        self.pos += 1
        self.delay, self.retry_at, self.down_since = 0.0, 0.0, None

    def run(self, task: Callable[[Backend], T], may_wait: bool | Callable[[float | None], bool]) -> Outcome[T] | None:
        """The task's result and who made it; None when the backend is down and waiting is allowed.

        `may_wait(down_since)` says whether a down backend may still be waited for.
        """
        notes: list[str] = []
        i = self.pos
        while i < len(self.chain):
            backend = self.chain[i]
            try:
                if i not in self.prepared:
                    backend.prepare()
                    self.prepared.add(i)
                value = task(backend)
            except BackendDown as exc:
                if i != self.pos:  # a fallback that is down: try the next one
                    notes.append(f"{backend.describe()} does not answer: {exc}")
                    i += 1
                    continue
                self._down(backend, exc)
                wait = may_wait(self.down_since) if callable(may_wait) else may_wait
                if wait:
                    return None
                self._give_up(backend, f"does not answer ({exc})")
                notes.append(f"{backend.describe()} did not answer: {exc}")
                i = self.pos
                continue
            except BackendError as exc:
                verb = "stopped" if isinstance(exc, OutOfTime) else "failed"
                log.log(logging.INFO if verb == "stopped" else logging.WARNING, "%s %s: %s", backend.name, verb, exc)
                notes.append(f"{backend.describe()} {verb}: {exc}")
                if i not in self.prepared and i == self.pos:  # cannot even load: no use trying it again
                    self._give_up(backend, str(exc))
                    i = self.pos
                else:
                    i += 1
                continue
            if i == self.pos:
                if self.down_since is not None:  # it is back: say how long the summaries waited for it
                    notes.append(f"{backend.describe()} did not answer for {self.now() - self.down_since:.0f} s; "
                                 "the summaries waited for it and caught up")
                self.delay, self.retry_at, self.down_since = 0.0, 0.0, None
            return Outcome(value, backend, notes)
        raise RuntimeError("no backend left (the offline backend should never fail)")

    def preload(self) -> None:
        """Load the first backend's model now (Ollama: into memory; local: from disk), so the first summary is fast."""
        backend = self.primary
        try:
            backend.prepare()
            self.prepared.add(self.pos)
        except BackendDown as exc:
            log.warning("%s does not answer yet (%s); summaries will wait for it", backend.name, exc)
        except BackendError as exc:
            self._give_up(backend, str(exc))
            self.preload()

    def warm(self, language: str) -> None:
        """Warm the first backend's prompt cache; a failure here only costs speed."""
        try:
            began = self.now()
            self.primary.warm(language)
            log.info("%s: prompt cache warmed in %.1f s", self.primary.name, self.now() - began)
        except (BackendDown, BackendError) as exc:
            log.info("could not warm %s: %s", self.primary.name, exc)

    def close(self) -> None:
        for backend in self.chain:
            backend.close()
