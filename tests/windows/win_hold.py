"""Run by the Windows Python: hold a file or a folder open as another program would, until told to let go.

`file`: opened for reading the way most programs open a document (no delete sharing: Windows then
refuses to replace or delete it). `folder`: a handle on the folder without delete sharing, what
Windows itself does to a folder while a program holds a file inside it (Wine lets such a folder be
renamed, so the test asks for it explicitly). Prints "holding", lets go when RELEASE exists.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

GENERIC_READ = 0x80000000
FILE_SHARE_READ_WRITE = 0x1 | 0x2
OPEN_EXISTING = 3
FILE_FLAG_BACKUP_SEMANTICS = 0x02000000


def main() -> int:
    kind, path, release = sys.argv[1:4]
    if kind == "file":
        handle: object = open(path, "rb")  # noqa: SIM115
    else:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        kernel32.CreateFileW.restype = ctypes.c_void_p
        handle = kernel32.CreateFileW(path, GENERIC_READ, FILE_SHARE_READ_WRITE, None, OPEN_EXISTING,
                                      FILE_FLAG_BACKUP_SEMANTICS, None)
        if handle in (None, ctypes.c_void_p(-1).value):
            print(f"cannot open {path}: error {ctypes.get_last_error()}", flush=True)  # type: ignore[attr-defined,unused-ignore]
            return 1
    print("holding", flush=True)
    while not os.path.exists(release):
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
