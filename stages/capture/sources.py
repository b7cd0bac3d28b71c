"""What to capture: parse a `--source` value and check it can be captured before a session starts.

Sources: `system` (what the computer plays: the others in a call), `mic`
(you), `system+mic` (both, as separate channels), `file:PATH` (an existing
recording, decoded into the system channel).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stages.capture.errors import SourceError
from stages.capture.timeline import LegBuffer
from stages.config import CaptureConfig, PipelineConfig
from stages.models import Channel

VALID_SOURCES = "system, mic, system+mic, file:PATH"


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source: live channels to record, or a file."""

    channels: tuple[Channel, ...]
    path: Path | None = None

    @property
    def is_file(self) -> bool:
        return self.path is not None

    def canonical(self) -> str:
        if self.path is not None:
            return f"file:{self.path}"
        return "+".join(self.channels)


def parse_source(source: str) -> SourceSpec:
    """`system` | `mic` | `system+mic` (`mic+system`) | `file:PATH`; SourceError lists the valid forms."""
    value = source.strip()
    if value.startswith("file:"):
        raw = value[len("file:"):].strip()
        if not raw:
            raise SourceError("file: needs a path, e.g. --source file:call.mp3")
        return SourceSpec(("system",), Path(raw).expanduser())
    live: dict[str, tuple[Channel, ...]] = {
        "system": ("system",), "mic": ("mic",), "system+mic": ("system", "mic"), "mic+system": ("system", "mic"),
    }
    if value.lower() in live:
        return SourceSpec(live[value.lower()])
    raise SourceError(f"unknown source {source!r}: use one of {VALID_SOURCES}")


def resolve_source(source: str) -> str:
    """The canonical form to store in session.json: file paths made absolute (the stage runs elsewhere)."""
    spec = parse_source(source)
    if spec.path is not None:
        return f"file:{spec.path.resolve()}"
    return spec.canonical()


class LiveInput(Protocol):
    """The live legs of one capture run, feeding one LegBuffer per channel."""

    def start(self, buffers: dict[Channel, LegBuffer]) -> None: ...

    def stop(self) -> None: ...


def check_source(source: str, cfg: PipelineConfig) -> list[str]:
    """Raise SourceError (saying what to do) unless `source` can be captured now; else one line per input."""
    spec = parse_source(source)
    if spec.path is not None:
        from stages.capture.filesource import describe_file

        return [describe_file(spec.path)]
    return probe_live(list(spec.channels), cfg.capture)


def probe_live(channels: list[Channel], cfg: CaptureConfig) -> list[str]:
    """Check the devices of the live legs on this platform; one description per channel."""
    if sys.platform == "win32":
        from stages.capture import wasapi_input

        return wasapi_input.probe(channels, cfg)
    from stages.capture import linux_input

    return linux_input.probe(channels, cfg)


def open_live(channels: list[Channel], cfg: CaptureConfig) -> LiveInput:
    """The platform's live input for `channels` (not started yet)."""
    if sys.platform == "win32":
        from stages.capture import wasapi_input

        return wasapi_input.WasapiInput(channels, cfg)
    from stages.capture import linux_input

    return linux_input.open_input(channels, cfg)
