"""Wake a stage when files appear; the folder scan that follows is the truth.

File-system events are hints only (they are lost while a process is down, and
some filesystems drop them), so every wait also ends after `timeout` seconds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class Waker:
    def __init__(self, *folders: Path) -> None:
        self._event = threading.Event()
        self._observer: Any = None
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer

            event = self._event

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, ev: FileSystemEvent) -> None:
                    event.set()

            observer = Observer()
            for folder in folders:
                if folder.is_dir():
                    observer.schedule(_Handler(), str(folder), recursive=False)
            observer.daemon = True
            observer.start()
            self._observer = observer
        except Exception:  # no inotify slots, odd filesystem: polling alone still works
            self._observer = None

    def wait(self, timeout: float) -> None:
        self._event.wait(timeout)
        self._event.clear()

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
