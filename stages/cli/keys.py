"""Single key presses in the terminal without Enter (p, s, q), on Windows and POSIX."""

from __future__ import annotations

import sys
from typing import Any


class Keys:
    """Non-blocking key reader; inert when stdin is not a terminal (CI, detached)."""

    def __init__(self) -> None:
        self.enabled = sys.stdin is not None and sys.stdin.isatty()
        self._saved: Any = None
        if self.enabled and sys.platform != "win32":
            import termios
            import tty

            fd = sys.stdin.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)

    def read(self) -> str | None:
        if not self.enabled:
            return None
        if sys.platform == "win32":
            import msvcrt

            return msvcrt.getwch().lower() if msvcrt.kbhit() else None
        import select

        ready, _, _ = select.select([sys.stdin], [], [], 0)
        return sys.stdin.read(1).lower() if ready else None

    def close(self) -> None:
        if self._saved is not None and sys.platform != "win32":
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
