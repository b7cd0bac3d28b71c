"""`python -m stages.tray SESSION`: the icon of one live session (Windows only; started by the supervisor)."""

from __future__ import annotations

import logging
import sys

from stages import logs
from stages.spool import Session


def main() -> int:
    logs.setup("tray")
    if sys.platform == "win32":
        from stages.tray.win import run

        return run(Session(sys.argv[1]))
    logging.getLogger("tray").error("the tray icon exists on Windows only")
    return 2


if __name__ == "__main__":
    sys.exit(main())
