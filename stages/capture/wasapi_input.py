"""Windows live input: WASAPI loopback of the default output (system) and the default input (mic).

PyAudioWPatch in callback mode, imported inside functions (Windows only).
Loopback delivers no frames while nothing plays: the LegBuffer places chunks
by arrival time and the batch writer pads silence, so time always comes from
the wall clock. Audio is averaged to mono and resampled to 16 kHz
(resample.Converter).

Following the default device: PortAudio reads the device list once per
process, so a child process (wasapi_watch) re-reads it every few seconds and
reports changes; then both streams are reopened on a fresh PortAudio (a gap
of a fraction of a second, padded). A `system_device`/`mic_device` substring
pins a device instead.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from stages.capture.errors import SourceError
from stages.capture.resample import Converter
from stages.capture.timeline import LegBuffer
from stages.config import CaptureConfig
from stages.models import Channel

log = logging.getLogger("capture")

CHECK_S = 1.0
RETRY_S = 2.0
MISSING_RETRY_S = 15.0  # a leg whose device is missing: reopen everything this often


def pyaudio_module() -> Any:
    try:
        import pyaudiowpatch
    except ImportError as exc:
        raise SourceError("system audio on Windows needs PyAudioWPatch: pip install PyAudioWPatch "
                          "(or import a recording with --source file:PATH)") from exc
    return pyaudiowpatch


def _names(devices: list[dict[str, Any]]) -> str:
    return "; ".join(str(d["name"]) for d in devices) or "none"


def find_device(pa: Any, channel: Channel, wanted: str) -> dict[str, Any]:
    """PortAudio device info of the loopback (system) or input (mic) to record."""
    mod = pyaudio_module()
    try:
        wasapi = pa.get_host_api_info_by_type(mod.paWASAPI)
    except OSError as exc:
        raise SourceError(f"WASAPI is not available ({exc}); Windows audio service stopped?") from exc
    every: list[dict[str, Any]] = [dict(pa.get_device_info_by_index(i)) for i in range(pa.get_device_count())]
    devices = [d for d in every if d["hostApi"] == wasapi["index"] and d["maxInputChannels"] > 0]
    loopbacks = [d for d in devices if d.get("isLoopbackDevice")]
    inputs = [d for d in devices if not d.get("isLoopbackDevice")]
    key = wanted.casefold()
    if channel == "system":
        if wanted:
            found = next((d for d in loopbacks if key in str(d["name"]).casefold()), None)
            if found is None:
                raise SourceError(f"no output device matches [capture] system_device = {wanted!r}; "
                                  f"loopbacks: {_names(loopbacks)}")
            return found
        if wasapi["defaultOutputDevice"] < 0:
            raise SourceError("no default output device: plug in speakers or headphones, or use --source mic")
        speakers: dict[str, Any] = dict(pa.get_device_info_by_index(wasapi["defaultOutputDevice"]))
        # PyAudioWPatch names a loopback "<output name> [Loopback]"; a bare substring test would take
        # "Casque USB [Loopback]" for the output "Casque" (seen under Wine when the default moved)
        found = next((d for d in loopbacks if str(d["name"]) == f"{speakers['name']} [Loopback]"), None) \
            or next((d for d in loopbacks if str(speakers["name"]) in str(d["name"])), None)
        if found is None:
            raise SourceError(f"no loopback for the default output {speakers['name']!r}; "
                              f"set [capture] system_device to one of: {_names(loopbacks)}")
        return found
    if wanted:
        found = next((d for d in inputs if key in str(d["name"]).casefold()), None)
        if found is None:
            raise SourceError(f"no input matches [capture] mic_device = {wanted!r}; inputs: {_names(inputs)}")
        return found
    if wasapi["defaultInputDevice"] < 0:
        raise SourceError("no default input device (microphone): plug one in, or use --source system")
    return dict(pa.get_device_info_by_index(wasapi["defaultInputDevice"]))


def probe(channels: list[Channel], cfg: CaptureConfig) -> list[str]:
    pa = pyaudio_module().PyAudio()
    try:
        return [f"{ch}: {find_device(pa, ch, _wanted(ch, cfg))['name']} (WASAPI)" for ch in channels]
    finally:
        pa.terminate()


def _wanted(channel: Channel, cfg: CaptureConfig) -> str:
    return (cfg.system_device if channel == "system" else cfg.mic_device).strip()


class DefaultWatcher:
    """Reads the wasapi_watch child: what `changed()` says once its latest report differs from the opened devices.

    Compared with the devices actually opened, not with the child's first report: the child takes
    seconds to start (Python, PortAudio), and a switch made meanwhile would otherwise never show.
    """

    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "stages.capture.wasapi_watch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=env, creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        self._latest: dict[str, str | None] | None = None
        threading.Thread(target=self._read, name="wasapi-watch", daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            if isinstance(report, dict) and "error" not in report:
                self._latest = report

    def changed(self, opened: dict[str, str | None]) -> str | None:
        """The defaults (a description) when the latest report differs from `opened` ({"output"/"input": name})."""
        latest = self._latest
        if latest is None:
            return None
        moved = {key: latest.get(key) for key in opened if latest.get(key) != opened[key]}
        return ", ".join(f"{key} {name!r}" for key, name in moved.items()) or None

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(2)
        except subprocess.TimeoutExpired:
            self._proc.kill()


class WasapiInput:
    """Both legs on one PortAudio instance, reopened together when a default device changes."""

    def __init__(self, channels: list[Channel], cfg: CaptureConfig) -> None:
        self.channels = channels
        self.cfg = cfg
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, buffers: dict[Channel, LegBuffer]) -> None:
        self._thread = threading.Thread(target=self._run, args=(buffers,), name="wasapi", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _run(self, buffers: dict[Channel, LegBuffer]) -> None:
        follow = any(not _wanted(ch, self.cfg) for ch in self.channels)
        watcher = DefaultWatcher() if follow else None
        try:
            while not self._stop.is_set():
                try:
                    self._session(buffers, watcher)
                except Exception as exc:
                    log.warning("WASAPI capture failed (%s); reopening in %.0f s, silence recorded meanwhile",
                                exc, RETRY_S)
                    self._stop.wait(RETRY_S)
        finally:
            if watcher is not None:
                watcher.close()

    def _session(self, buffers: dict[Channel, LegBuffer], watcher: DefaultWatcher | None) -> None:
        """Open a PortAudio instance and the legs; return when a reopen is due or on stop."""
        mod = pyaudio_module()
        pa = mod.PyAudio()
        streams: list[Any] = []
        try:
            opened = self._followed_defaults(mod, pa)
            missing = False
            for ch in self.channels:
                try:
                    streams.append(self._open(mod, pa, ch, buffers[ch]))
                except Exception as exc:
                    missing = True
                    log.warning("%s: cannot open the device (%s); retrying in %.0f s, silence recorded meanwhile",
                                ch, exc, MISSING_RETRY_S)
            waited = 0.0
            while not self._stop.wait(CHECK_S):
                waited += CHECK_S
                moved = watcher.changed(opened) if watcher is not None else None
                if moved:
                    log.info("default devices changed (%s): reopening", moved)
                    return
                if missing and waited >= MISSING_RETRY_S:
                    return
                if any(not s.is_active() for s in streams):
                    raise RuntimeError("a stream stopped (device removed?)")
        finally:
            for s in streams:
                try:
                    s.stop_stream()
                    s.close()
                except Exception as exc:
                    log.debug("closing a stream: %s", exc)
            pa.terminate()

    def _followed_defaults(self, mod: Any, pa: Any) -> dict[str, str | None]:
        """The default devices this PortAudio instance opens, for the legs that follow the default."""
        from stages.capture.wasapi_watch import default_names

        names = default_names(mod, pa)
        keys: dict[Channel, str] = {"system": "output", "mic": "input"}
        return {keys[ch]: names[keys[ch]] for ch in self.channels if not _wanted(ch, self.cfg)}

    def _open(self, mod: Any, pa: Any, channel: Channel, buffer: LegBuffer) -> Any:
        dev = find_device(pa, channel, _wanted(channel, self.cfg))
        rate, nch = int(dev["defaultSampleRate"]), int(dev["maxInputChannels"])
        converter = Converter(rate, nch)

        def callback(in_data: bytes | None, frame_count: int, time_info: Any, status: int) -> tuple[None, int]:
            if in_data:
                buffer.push(converter.convert(in_data))
            return None, int(mod.paContinue)

        buffer.anchor()
        stream = pa.open(format=mod.paInt16, channels=nch, rate=rate, frames_per_buffer=rate // 10, input=True,
                         input_device_index=dev["index"], stream_callback=callback)
        log.info("%s: recording from %s (WASAPI%s, %d Hz, %d ch)", channel, dev["name"],
                 " loopback" if dev.get("isLoopbackDevice") else "", rate, nch)
        return stream
