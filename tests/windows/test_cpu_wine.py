"""Beside a video call on Windows: the summarizer below normal priority, and the busy CPU seen for what it is."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.windows import wine
from tests.windows.conftest import Install


def test_summarizer_priority_and_free_cpu_under_windows(installed: Install) -> None:
    """`lower_priority` gives the BELOW_NORMAL priority class, and a program spinning on one core (here a
    Linux process: Wine reports the machine's counters) is counted as busy, so the local LLM starts one
    thread fewer."""
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 60\nwhile time.time() < t: pass"])
    try:
        done = wine.python(r"tests\windows\win_cpu.py", timeout=120)
    finally:
        spinner.kill()
        spinner.wait()
    assert done.returncode == 0, done.stdout
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["below_normal"], found
    assert found["busy"] >= 0.8, found
    assert found["threads"] == max(1, found["cores"] - 1), found
