"""Linux live legs through PulseAudio (or PipeWire's pulse server): `pactl` finds, `parec` records.

Why subprocesses rather than the `soundcard` package (measured on this
machine, PulseAudio 16): both start in 0.1-2 s and cost well under 1 % CPU,
but soundcard keeps one libpulse connection for the life of the process: when
the server restarts, its streams fail and the next call aborts the whole
process (libpulse assertion, exit 134), losing the batch in memory. A `parec`
that dies is simply started again once the server is back.

system = the monitor of the default sink (or the monitor whose name or
description contains `system_device`); mic = the default source (or the
non-monitor source matching `mic_device`). Pulse does the resampling to
16 kHz mono.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from stages.capture.errors import SourceError
from stages.capture.timeline import Samples
from stages.models import Channel
from stages.wavio import RATE

log = logging.getLogger("capture")

PACTL_TIMEOUT_S = 5.0
READ_BYTES = 1 << 16  # up to 2 s: after a stall of this process the whole backlog comes in one read,
# so it is placed as the contiguous audio it is, not as a gap followed by a surplus
NO_SERVER_HELP = ("start it (`pulseaudio --start`, or `systemctl --user start pipewire-pulse`), "
                  "or import a recording with --source file:PATH")


@dataclass(frozen=True)
class PulseSource:
    name: str
    description: str
    monitor_of: str | None  # the sink a monitor source listens to

    def label(self) -> str:
        return f"{self.description} ({self.name})"


def available() -> bool:
    return shutil.which("pactl") is not None and shutil.which("parec") is not None


def _pactl(*args: str) -> str:
    env = dict(os.environ, LC_ALL="C")  # pactl translates its labels
    try:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=PACTL_TIMEOUT_S,
                              env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(f"pactl {' '.join(args)} failed ({exc}): is PulseAudio running? {NO_SERVER_HELP}") from exc
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no answer"]
        raise SourceError(f"no PulseAudio/PipeWire server answers ({reason[0]}): {NO_SERVER_HELP}")
    return done.stdout


def server_defaults() -> tuple[str, str]:
    """(default sink, default source) names."""
    sink = source = ""
    for line in _pactl("info").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Default Sink":
            sink = value.strip()
        elif key.strip() == "Default Source":
            source = value.strip()
    return sink, source


def list_sources() -> list[PulseSource]:
    found: list[PulseSource] = []
    name = description = ""
    monitor: str | None = None
    for line in [*_pactl("list", "sources").splitlines(), "Source #end"]:
        text = line.strip()
        if text.startswith("Source #"):
            if name:
                found.append(PulseSource(name, description or name, monitor))
            name, description, monitor = "", "", None
        elif text.startswith("Name:"):
            name = text.partition(":")[2].strip()
        elif text.startswith("Description:"):
            description = text.partition(":")[2].strip()
        elif text.startswith("Monitor of Sink:"):
            sink = text.partition(":")[2].strip()
            monitor = None if sink in ("", "n/a") else sink
    return found


def _match(sources: list[PulseSource], wanted: str) -> PulseSource | None:
    key = wanted.casefold()
    return next((s for s in sources if key in s.name.casefold() or key in s.description.casefold()), None)


def _names(sources: list[PulseSource]) -> str:
    return "; ".join(s.label() for s in sources) or "none"


def resolve(channel: Channel, wanted: str) -> PulseSource:
    """The pulse source that records `channel` now; SourceError listing the choices if none fits."""
    sources = list_sources()
    default_sink, default_source = server_defaults()
    monitors = [s for s in sources if s.monitor_of or s.name.endswith(".monitor")]
    inputs = [s for s in sources if s not in monitors]
    if channel == "system":
        if wanted:
            found = _match(monitors, wanted)
            if found is None:
                raise SourceError(f"no output device matches [capture] system_device = {wanted!r}; "
                                  f"monitors available: {_names(monitors)}")
            return found
        found = next((s for s in monitors if s.monitor_of == default_sink or s.name == f"{default_sink}.monitor"),
                     None)
        if found is None:
            raise SourceError(f"the default output {default_sink or '(none)'!r} has no monitor to record; "
                              f"set [capture] system_device to one of: {_names(monitors)}")
        return found
    if wanted:
        found = _match(inputs, wanted) or _match(monitors, wanted)
        if found is None:
            raise SourceError(f"no input device matches [capture] mic_device = {wanted!r}; "
                              f"inputs available: {_names(inputs)}")
        return found
    found = next((s for s in sources if s.name == default_source), None)
    if found is None:
        raise SourceError(f"no default input device (microphone): plug one in, set [capture] mic_device "
                          f"(inputs: {_names(inputs)}), or use --source system")
    return found


class ParecStream:
    """A `parec` child writing raw 16 kHz s16 mono to a pipe."""

    def __init__(self, source: str, channel: Channel) -> None:
        cmd = ["parec", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=100",
               f"--device={source}", "--client-name=meeting-assistant", f"--stream-name={channel}"]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        self._odd = b""

    def read(self) -> Samples | None:
        assert self._proc.stdout is not None
        data = os.read(self._proc.stdout.fileno(), READ_BYTES)  # what is there: ~100 ms normally
        if not data:
            return None
        data = self._odd + data
        usable = len(data) - len(data) % 2
        self._odd = data[usable:]
        return np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0

    def interrupt(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()

    def close(self) -> None:
        self.interrupt()
        try:
            _, err = self._proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        message = err.decode(errors="replace").strip()
        if message and self._proc.returncode not in (0, -15):
            log.warning("parec said: %s", message.splitlines()[-1])


_warned_monitors: set[str] = set()


class PulseDevice:
    """Resolves and opens one leg's pulse source (re-resolved on each reopen, so it follows the default)."""

    def __init__(self, channel: Channel, wanted: str) -> None:
        self.channel = channel
        self.wanted = wanted
        self.follows_default = not wanted

    def resolve(self) -> tuple[str, str]:
        source = resolve(self.channel, self.wanted)
        if self.channel == "mic" and not self.wanted and source.monitor_of and source.name not in _warned_monitors:
            _warned_monitors.add(source.name)
            log.warning("mic: the default input is %s, a monitor of an output: the mic channel will repeat "
                        "what plays; set [capture] mic_device to a real microphone", source.label())
        return source.name, source.label()

    def open(self, device_id: str) -> ParecStream:
        return ParecStream(device_id, self.channel)
