"""Errors of the capture stage and the exit codes the supervisor acts on.

Exit codes: 0 done (END.json written), 1 crash (worth a restart),
2 unusable source, session or config (a restart would fail the same way),
3 disk full (free space, then resume).
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_SOURCE = 2
EXIT_DISK_FULL = 3

_WIN_DISK_FULL = {39, 112}  # ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL


class CaptureError(Exception):
    """A failure the stage explains in one message and maps to an exit code."""

    exit_code = EXIT_CRASH


class SourceError(CaptureError):
    """The source cannot be captured; the message says what to do instead."""

    exit_code = EXIT_SOURCE


class DiskFullError(CaptureError):
    """No space left for the next batch: stop cleanly rather than write torn files."""

    exit_code = EXIT_DISK_FULL


class SupervisorGone(CaptureError):
    """The supervisor died: stop recording (no END marker, so `resume` carries on)."""

    exit_code = EXIT_CRASH


def is_disk_full(exc: OSError) -> bool:
    """True for ENOSPC/EDQUOT, and for the Windows codes that mean the same."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    return getattr(exc, "winerror", None) in _WIN_DISK_FULL
