"""`python -m stages.cli.detached SESSION`: the background supervisor started by `up --detach`."""

from __future__ import annotations

import sys

from rich.console import Console

from stages import config
from stages.cli.run import run_session
from stages.spool import Session


def main() -> int:
    session = Session(sys.argv[1])
    cfg = config.validate(session.manifest().config)
    return run_session(session, cfg, Console(), interactive=False)


if __name__ == "__main__":
    sys.exit(main())
