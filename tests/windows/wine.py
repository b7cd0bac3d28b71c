"""Run Windows programs under Wine 10 in the root that scripts/windows.sh built, from this (Linux) test process.

Every Windows process of a run shares one wineserver (started by windows.sh), so
they see each other as on one Windows machine: process ids, file sharing modes.
Paths: `C:\\...` is `<root>/root/.wine/drive_c/...` here; the user is Élodie.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path, PureWindowsPath

ROOT = Path(os.environ.get("MEETING_ASSISTANT_WINE_ROOT", "/nonexistent"))
USER = os.environ.get("MEETING_ASSISTANT_WINE_USER", "Élodie")
DRIVE_C = ROOT / "root" / ".wine" / "drive_c"
PROFILE = PureWindowsPath(f"C:\\users\\{USER}")
PROJECT = PROFILE / "Mes documents" / "Assistant réunion"  # as windows.sh lays it out
VENV_PY = PROJECT / ".venv" / "Scripts" / "python.exe"
WINE64 = "/usr/lib/wine/wine64"


def host(path: PureWindowsPath | str) -> Path:
    """Where a `C:\\` path lies on this machine (Windows names are case-insensitive: `Users` is `users`)."""
    win = PureWindowsPath(path)
    assert win.drive.upper() == "C:", f"only C: is mapped: {win}"
    out = DRIVE_C
    for part in win.parts[1:]:
        same = [p for p in out.iterdir() if p.name.casefold() == part.casefold()] if out.is_dir() else []
        out = same[0] if same else out / part
    return out


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The Unix environment a Windows process starts from (Wine passes it on as the Windows one)."""
    base = {
        "HOME": "/root", "USER": USER, "LOGNAME": USER, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin",
        "WINEPREFIX": "/root/.wine", "WINEDEBUG": "-all", "WINEDLLOVERRIDES": "winedbg.exe=d;mscoree,mshtml=",
        "WINEPATH": r"C:\Python311;C:\Python311\Scripts",  # what python.org's "Add python.exe to PATH" does
        "PULSE_SERVER": "unix:/host-pulse/native", "PULSE_COOKIE": "/root/pulse-cookie",
        "PYTHONIOENCODING": "utf-8", "COLUMNS": "200",  # output to a pipe in UTF-8 (a console needs nothing)
    }
    return {**base, **(extra or {})}


def command(args: list[str], extra_env: dict[str, str] | None = None,
            cwd: PureWindowsPath = PROJECT) -> list[str]:
    """The chroot + wine64 command line; the Windows current folder is `cwd` (Wine maps the Unix one)."""
    unix_cwd = "/" + str(host(cwd).relative_to(ROOT))
    return ["chroot", str(ROOT), "/bin/sh", "-c", 'cd "$0" && exec "$@"', unix_cwd,
            "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env(extra_env).items() if v), WINE64, *args]


class Proc:
    """A Windows program started from here, its output collected as it comes.

    Wine's own services may inherit the output pipe and keep it open, so the end of the
    output is the end of the program, never the end of the pipe.
    """

    def __init__(self, args: list[str], extra_env: dict[str, str] | None = None, cwd: PureWindowsPath = PROJECT,
                 stdin: str = "") -> None:
        self.proc = subprocess.Popen(command(args, extra_env, cwd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert self.proc.stdin is not None
        self.proc.stdin.write(stdin.encode("utf-8"))
        self.proc.stdin.close()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(65536):
            self._chunks.append(chunk)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill(self) -> None:
        self.proc.kill()

    def output(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for_output(self, text: str, timeout: float) -> None:
        wait_for(lambda: text in self.output() or self.poll() is not None, timeout, repr(text))
        assert text in self.output(), self.output()

    def finish(self, timeout: float) -> str:
        """Wait for the program to end (kill it past `timeout`); its output."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            raise AssertionError(f"still running after {timeout:.0f} s:\n{self.output()}") from None
        self._reader.join(2.0)
        return self.output()


class Console(Proc):
    """A Windows program in a console window, as a double-click gives it: Wine's console on a pseudo-terminal.

    What the user types goes to `type()`; `text()` is the screen's text as UTF-8, without terminal codes.
    """

    def __init__(self, args: list[str], extra_env: dict[str, str] | None = None,
                 cwd: PureWindowsPath = PROJECT) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self._master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))  # a wide window: no wrapping
        console_env = {"PYTHONIOENCODING": "", **(extra_env or {})}  # "" drops it: a console needs nothing
        self.proc = subprocess.Popen(command(args, console_env, cwd), stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self._chunks = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def type(self, keys: str) -> None:
        os.write(self._master, keys.encode("utf-8"))

    def output(self) -> str:
        raw = b"".join(self._chunks).decode("utf-8", "replace")
        return re.sub(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z])", "", raw).replace("\r", "")


def start(args: list[str], extra_env: dict[str, str] | None = None, cwd: PureWindowsPath = PROJECT,
          stdin: str = "") -> Proc:
    """A Windows program in the background."""
    return Proc(args, extra_env, cwd, stdin)


def run(args: list[str], timeout: float, stdin: str | None = None, extra_env: dict[str, str] | None = None,
        cwd: PureWindowsPath = PROJECT) -> subprocess.CompletedProcess[str]:
    """Run a Windows program to its end; stdout and stderr together in `.stdout` (`.stderr` is empty)."""
    proc = Proc(args, extra_env, cwd, stdin or "")
    out = proc.finish(timeout)
    return subprocess.CompletedProcess(args, proc.returncode or 0, out, "")


def python(*args: str, timeout: float = 300, stdin: str | None = None,
           extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The project's Windows Python (.venv made by install_meeting_assistant.bat), in the project folder."""
    return run([str(VENV_PY), *args], timeout, stdin, extra_env)


def supervisor(*args: str, timeout: float = 300,
               extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python supervisor.py ARGS` as a Windows user runs it in the project folder."""
    return python("supervisor.py", *args, timeout=timeout, extra_env=extra_env)


def cmd(line: str, timeout: float = 300, stdin: str | None = None, extra_env: dict[str, str] | None = None,
        cwd: PureWindowsPath = PROJECT) -> subprocess.CompletedProcess[str]:
    """One line run by Wine's cmd.exe."""
    return run(["cmd", "/c", line], timeout, stdin, extra_env, cwd)


def taskkill(pid: int) -> None:
    """End a Windows process at once (TerminateProcess: Task Manager's End task, the Windows kill -9)."""
    done = run(["taskkill", "/F", "/PID", str(pid)], timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def wait_for(predicate: object, timeout: float, what: str, every: float = 0.5) -> None:
    """Poll `predicate()` until true; fail saying `what` was awaited."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)

