"""Capture stage: live audio (system loopback, microphone) or a file -> 10 s batches in the spool.

Run as `python -m stages.capture SESSION_DIR [--realtime]`. The supervisor calls
`check_source(source, cfg)` before creating a session and stores
`resolve_source(source)` in session.json. Exit codes: see errors.py.
"""

from stages.capture.errors import EXIT_CRASH, EXIT_DISK_FULL, EXIT_OK, EXIT_SOURCE, DiskFullError, SourceError
from stages.capture.sources import check_source, parse_source, resolve_source

__all__ = [
    "EXIT_CRASH", "EXIT_DISK_FULL", "EXIT_OK", "EXIT_SOURCE", "DiskFullError", "SourceError",
    "check_source", "parse_source", "resolve_source",
]
