"""How much CPU the other programs leave us: thread counts follow it, not the core count.

A user's laptop is never idle during a meeting: the call itself decodes and encodes
video the whole time. A compute library that starts one thread per core then has a
thread waiting at every barrier for one the scheduler gave to the call; llama.cpp
with 2 threads on 2 cores beside one busy process took 375 s for a summary window
that takes 8 s alone, 13-15 s with 1 thread. So the thread count is taken from what
the machine really leaves free, measured just before the work starts.
"""

from __future__ import annotations

import logging
import math
import os
import time

import psutil

log = logging.getLogger(__name__)

SAMPLE_S = 1.0  # how long the machine is watched before a choice: one video frame burst is 33 ms
MARGIN = 0.25  # a core counts as free when at least 75 % of it is idle


def cores() -> int:
    return os.cpu_count() or 1


def busy_elsewhere(sample_s: float = SAMPLE_S) -> float:
    """Cores kept busy by every other process, over `sample_s` seconds (this process's own use left out)."""
    me = psutil.Process()
    try:
        mine0, all0, t0 = me.cpu_times(), psutil.cpu_times(), time.monotonic()
        time.sleep(sample_s)
        mine1, all1, t1 = me.cpu_times(), psutil.cpu_times(), time.monotonic()
    except OSError as exc:  # Wine has no per-CPU counters (WinError 1): count nothing busy, as before
        log.debug("the machine's CPU counters cannot be read: %s", exc)
        return 0.0
    idle = ("idle", "iowait")
    used = sum(getattr(all1, f) - getattr(all0, f) for f in all1._fields if f not in idle
               and f not in ("guest", "guest_nice"))  # guest time is already counted in user time
    own = (mine1.user - mine0.user) + (mine1.system - mine0.system)
    return float(max(0.0, (used - own) / max(1e-3, t1 - t0)))


def threads_for(total: int, busy: float, cap: int = 0) -> int:
    """The cores that `busy` cores of other work leave free on `total` (at least 1, at most `cap`)."""
    limit = min(cap, total) if cap > 0 else total
    return max(1, min(limit, math.floor(total - busy + MARGIN)))


def free_threads(cap: int = 0, sample_s: float = SAMPLE_S) -> int:
    """Threads worth starting now: the cores the others leave free (at least 1, at most `cap` or the cores)."""
    return threads_for(cores(), busy_elsewhere(sample_s), cap)
