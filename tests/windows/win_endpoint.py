"""Run by the Windows Python: print the id of the output endpoint whose friendly name is argv[1].

Windows (and Wine) list the audio endpoints under MMDevices in the registry; an endpoint's id is
`{0.0.0.00000000}.{GUID}` for an output.
"""

from __future__ import annotations

import sys
import winreg  # type: ignore[import-not-found,unused-ignore]

RENDER = r"Software\Microsoft\Windows\CurrentVersion\MMDevices\Audio\Render"
FRIENDLY_NAME = "{a45c254e-df1c-4efd-8020-67d146a850e0},2"


def main() -> int:
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, RENDER) as render:
        for i in range(winreg.QueryInfoKey(render)[0]):
            guid = winreg.EnumKey(render, i)
            try:
                with winreg.OpenKey(render, guid + r"\Properties") as props:
                    name, _ = winreg.QueryValueEx(props, FRIENDLY_NAME)
            except OSError:
                continue
            if name == sys.argv[1]:
                print("{0.0.0.00000000}." + guid)
                return 0
    print(f"no output endpoint named {sys.argv[1]!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
