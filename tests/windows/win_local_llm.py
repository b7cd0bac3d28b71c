"""Run by the Windows Python: `report SESSION --llm local` as the product does it, less llama.cpp's teardown.

Under Wine, stopping xllamacpp's HTTP listener never returns (its thread stays blocked on the socket;
Windows wakes it when the socket is closed), so the process would hang after writing the report. Here the
backend's close() is skipped and the process ends with os._exit once the report is in place.
"""

from __future__ import annotations

import os
import sys

from stages.spool import Session
from stages.summarize import regenerate
from stages.summarize.backends import local


def main() -> None:
    local.LocalBackend.close = lambda self: None  # type: ignore[method-assign]
    print(f"Report written: {regenerate(Session(sys.argv[1]), 'local')}", flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
