"""Run by the Windows Python: `report SESSION --llm local` as the product does it, less llama.cpp's teardown.

Under Wine, stopping xllamacpp's HTTP listener never returns (its thread stays blocked on the socket;
Windows wakes it when the socket is closed), so the process would hang after writing the report. Here the
backend's close() is skipped and the process ends once the report is in place: by TerminateProcess, since
even os._exit (ExitProcess: every DLL is told to detach) was seen to wait for ever on that thread.
"""

from __future__ import annotations

import ctypes
import os
import sys

from stages.spool import Session
from stages.summarize import regenerate
from stages.summarize.backends import local


def main() -> None:
    local.LocalBackend.close = lambda self: None  # type: ignore[method-assign]
    print(f"Report written: {regenerate(Session(sys.argv[1]), 'local')}", flush=True)
    sys.stderr.flush()
    kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]  # (Windows only)
    kernel32.GetCurrentProcess.restype = ctypes.c_void_p  # a HANDLE: (HANDLE)-1, not the int -1
    kernel32.TerminateProcess.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    kernel32.TerminateProcess(kernel32.GetCurrentProcess(), 0)
    os._exit(0)  # only if TerminateProcess failed


if __name__ == "__main__":
    main()
