"""The local LLM's reading of its fixed instructions, kept on disk from one meeting to the next.

Every window prompt starts with the same instructions (about 600 tokens; the overall summary's
prompt with its own). llama.cpp keeps them cached for the run, but each new meeting, and each
reload for another thread count, read them again before its first window: 18-23 s on 2 cores,
beside the transcriber. llama.cpp writes a slot's cache to a file and reads it back
(its server's `/slots/N?action=save|restore`, under `slot_save_path`); these files hold the
product's instructions only, never a word of a meeting. A file's name says which model file,
context size and llama.cpp build it was made with, so another's is never read. Instructions
that changed since are harmless: llama.cpp reuses only the tokens a prompt shares with the file,
and the warm-up writes the file again.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import socket
from importlib import metadata
from pathlib import Path
from typing import Any

from stages import atomic
from stages.config import user_cache_dir
from stages.spool import make_private_dir

log = logging.getLogger("summarize")
TIMEOUT_S = 30.0  # a few MiB to read or write on the local disk


def folder() -> Path:
    """Owner-only: nothing in it is private, but nobody else has a reason to write what the LLM reads."""
    path = user_cache_dir() / "prompts"
    make_private_dir(path)
    return path


def file_names(model_file: str, n_ctx: int, language: str, slots: int) -> list[str]:
    """One file per slot, named for what its cache is valid with (llama.cpp takes bare file names only):
    `language-model-digest-slot.bin`. The model part keeps each model's files apart: a meeting beside a call
    switches to a lighter model for brief answers and back, and each would have removed the other's."""
    stat = os.stat(model_file)
    try:
        build = metadata.version("xllamacpp")
    except metadata.PackageNotFoundError:
        build = "?"
    made_with = f"{os.path.basename(model_file)}|{stat.st_size}|{stat.st_mtime_ns}|{build}|{n_ctx}"
    digest = hashlib.sha256(made_with.encode("utf-8")).hexdigest()[:16]
    model = hashlib.sha256(os.path.basename(model_file).encode("utf-8")).hexdigest()[:8]
    return [f"{language}-{model}-{digest}-{slot}.bin" for slot in range(slots)]


def _outdated(name: str, names: list[str]) -> bool:
    """Another file of the same language and model (another build or size), or one of the names before
    the model had its part (`language-digest-slot.bin`): never read again, they only take room."""
    language, model = names[0].split("-")[:2]
    parts = name.split("-")
    return name not in names and parts[0] == language and (parts[1] == model or len(parts) == 3)


class Slots:
    """llama.cpp's slot actions, over the HTTP listener the in-process server always opens."""

    def __init__(self, address: str, api_key: str) -> None:
        self.address = address
        self.api_key = api_key

    def _connection(self) -> http.client.HTTPConnection:
        if self.address.startswith("http://"):
            host, _, port = self.address.removeprefix("http://").rstrip("/").rpartition(":")
            return http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_S)
        return _UnixConnection(self.address.removeprefix("unix://"))

    def act(self, slot: int, action: str, file_name: str) -> dict[str, Any]:
        """Save or restore one slot: llama.cpp's answer, or OSError when it refuses (callers only lose speed)."""
        connection = self._connection()
        try:
            connection.request("POST", f"/slots/{slot}?action={action}", json.dumps({"filename": file_name}),
                               {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"})
            response = connection.getresponse()
            body = json.loads(response.read() or b"{}")
        finally:
            connection.close()
        if response.status != 200:
            raise OSError(f"{action} slot {slot}: HTTP {response.status}: {body}")
        return body if isinstance(body, dict) else {}

    def restore(self, names: list[str], where: Path) -> int:
        """Read back the slots whose files exist; how many tokens they hold in all."""
        tokens = 0
        for slot, name in enumerate(names):
            if not (where / name).is_file():
                continue
            try:
                tokens += int(self.act(slot, "restore", name).get("n_restored") or 0)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                log.info("local: could not read the cached instructions back (%s); reading them again", exc)
        return tokens

    def save(self, names: list[str], where: Path) -> None:
        """Written beside, then renamed: another meeting's summarizer may be reading the last ones."""
        for slot, name in enumerate(names):
            part = f"{name}.{os.getpid()}.part"
            try:
                self.act(slot, "save", part)
                with open(where / part, "rb+") as written:  # llama.cpp does not sync it; a torn file misleads
                    os.fsync(written.fileno())
                os.chmod(where / part, atomic.FILE_MODE)  # llama.cpp's file is made with the umask's mode
                atomic.replace_with_retry(where / part, where / name)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                (where / part).unlink(missing_ok=True)
                log.info("local: could not keep the instructions' cache for the next meeting (%s)", exc)
                return
        with contextlib.suppress(OSError):
            for old in where.glob("*.bin"):
                if _outdated(old.name, names):
                    old.unlink(missing_ok=True)


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over llama.cpp's unix socket (Linux, macOS: nothing listens on the network)."""

    def __init__(self, socket_path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT_S)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(getattr(socket, "AF_UNIX"), socket.SOCK_STREAM)  # noqa: B009 (absent on Windows)
        sock.settimeout(TIMEOUT_S)
        sock.connect(self.socket_path)
        self.sock = sock
