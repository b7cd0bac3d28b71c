"""`python -m stages.capture SESSION_DIR [--realtime]`: the capture stage as a process.

Exit codes: 0 done, 1 crash, 2 unusable source/session/config, 3 disk full.
Logs go to stderr; the supervisor sends them to logs/capture.log.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from stages.capture.errors import EXIT_CRASH, CaptureError


def setup_logging() -> None:
    """UTF-8 lines on stderr whatever the console code page (device names have accents)."""
    reconfigure = getattr(sys.stderr, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", errors="backslashreplace")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s capture %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "capture").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m stages.capture", description=summary)
    parser.add_argument("session_dir", type=Path, help="the session folder (with session.json)")
    parser.add_argument("--realtime", action="store_true", default=None,
                        help="file source: pace like a live meeting (default: [capture] realtime)")
    args = parser.parse_args(argv)
    setup_logging()
    log = logging.getLogger("capture")
    from stages.capture.runner import run_capture  # after logging: imports may be slow

    try:
        return run_capture(args.session_dir, args.realtime)
    except CaptureError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted; batches written so far are safe, rerun to continue")
        return EXIT_CRASH
    except Exception:
        log.exception("capture crashed; batches written so far are safe, rerun to continue")
        return EXIT_CRASH


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    if threading.active_count() > 1:  # a device thread stuck in a blocking read: do not wait for it
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
