"""`python -m stages.summarize SESSION_DIR [--llm BACKEND]`: mini-summaries as the transcript grows, then the report.

Exits 0 once report/END.json is written (at once when it already exists), 2 when
the session or its settings are unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages import logs
from stages.lock import SessionBusy, SessionLock
from stages.spool import Session
from stages.summarize.backends import NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.summarize", description=__doc__)
    parser.add_argument("session", type=Path, help="session folder (spool/<session>)")
    parser.add_argument("--llm", choices=["auto", *NAMES], help="override [summarize] llm for this run")
    parser.add_argument("--regenerate", action="store_true",
                        help="rewrite every mini-summary and the report (as `supervisor.py report`)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    log = logs.setup("summarize", args.verbose)
    session = Session(args.session)
    if not args.regenerate and (session.report / "END.json").exists():
        log.info("report already written: %s", session.report)
        return 0
    from stages.summarize.run import regenerate, run_stage

    try:
        session.manifest()
        with SessionLock(session, "summarize"):
            if args.regenerate:
                regenerate(session, args.llm)
                return 0
            return run_stage(session, args.llm)
    except SessionBusy as exc:
        log.error("%s", exc)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
