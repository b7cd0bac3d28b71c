"""Crash-safe file writes: temp name, fsync, atomic rename (the Maildir rule).

A reader never sees a torn file: it sees the old one, the new one, or none.
On Windows `os.replace` fails while an antivirus or indexer holds the target,
so it is retried for a bounded time.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

REPLACE_TRIES = 20
REPLACE_PAUSE_S = 0.05
FILE_MODE = 0o600


def replace_with_retry(src: Path, dst: Path) -> None:
    """`os.replace` that rides out a transient PermissionError (a file held open on Windows)."""
    for attempt in range(REPLACE_TRIES):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == REPLACE_TRIES - 1:
                raise
            time.sleep(REPLACE_PAUSE_S * (attempt + 1))


def swap_folder(new: Path, target: Path) -> None:
    """Put the complete folder `new` in place of `target`: a reader sees the old folder or the new one.

    Windows refuses to rename a folder while another program holds a file in it open
    (a report open in an editor); each rename is retried like `replace_with_retry`,
    then PermissionError: `target` is left as it was and `new` beside it.
    """
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        replace_with_retry(target, old)
    try:
        replace_with_retry(new, target)
    except BaseException:
        if old.exists():
            replace_with_retry(old, target)
        raise
    for stale in target.parent.glob(f".{target.name}.old*"):  # this one, and any an open file kept before
        shutil.rmtree(stale, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; Windows has no directory handles for this)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: `.name.<random>.tmp` beside it, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        replace_with_retry(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Atomic, human-readable JSON (UTF-8, indented, accents kept)."""
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=1)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1)
    write_text(path, text + "\n")


def open_append(path: Path) -> IO[bytes]:
    """A log file opened for appending, owner-only (0600) like every other spool file.

    `Path.open("ab")` would create it with the umask (often 0644): readable by any
    user on the machine, and logs quote what was said in the meeting.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), FILE_MODE)
    if os.name == "posix":
        os.chmod(path, FILE_MODE)  # a log created by an older version keeps no wider mode
    return os.fdopen(fd, "ab")


def remove_stale_temps(folder: Path) -> int:
    """Delete `.*.tmp` leftovers of writes that a crash interrupted; they were never visible."""
    count = 0
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
            count += 1
    return count
