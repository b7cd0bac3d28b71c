"""Run by the Windows Python as the program that opens .html files (the test registers it for the user):
writes the path that Windows asked it to open into OUT, where the test reads which report the tray opened."""

from __future__ import annotations

import sys
from pathlib import Path

Path(sys.argv[1]).write_text(sys.argv[2], encoding="utf-8")
