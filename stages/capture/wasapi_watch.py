"""`python -m stages.capture.wasapi_watch`: print Windows' default output/input whenever they change.

A child of the capture stage (see wasapi_input): PortAudio only sees device
changes after a full re-initialisation, which would interrupt the streams
that capture holds open, so this process does it instead, every few seconds.
It exits when its parent closes its stdin (including when the parent dies).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

EVERY_S = 3.0


def default_names(mod: Any, pa: Any) -> dict[str, str | None]:
    """Names of Windows' default output and input as PortAudio instance `pa` sees them (None: no device)."""
    wasapi = pa.get_host_api_info_by_type(mod.paWASAPI)
    names: dict[str, str | None] = {}
    for key, index in (("output", wasapi["defaultOutputDevice"]), ("input", wasapi["defaultInputDevice"])):
        names[key] = str(pa.get_device_info_by_index(index)["name"]) if index >= 0 else None
    return names


def defaults() -> dict[str, str | None]:
    from stages.capture.wasapi_input import pyaudio_module

    mod = pyaudio_module()
    pa: Any = mod.PyAudio()
    try:
        return default_names(mod, pa)
    finally:
        pa.terminate()


def _exit_with_parent() -> None:
    sys.stdin.read()
    os._exit(0)


def main() -> int:
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    last = None
    while True:
        try:
            line = json.dumps(defaults(), ensure_ascii=False, sort_keys=True)
        except Exception as exc:
            line = json.dumps({"error": str(exc)})
        if line != last:
            print(line, flush=True)
            last = line
        time.sleep(EVERY_S)


if __name__ == "__main__":
    sys.exit(main())
