"""How much CPU the other programs leave us: thread counts follow it, not the core count.

A user's laptop is never idle during a meeting: the call itself decodes and encodes
video the whole time. A compute library that starts one thread per core then has a
thread waiting at every barrier for one the scheduler gave to the call; llama.cpp
with 2 threads on 2 cores beside one busy process took 375 s for a summary window
that takes 8 s alone, 13-15 s with 1 thread. So the thread count is taken from what
the machine really leaves free, read from the kernel's counters, and kept in step
with it while the meeting goes on (`Threads`).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from typing import Any

import psutil

log = logging.getLogger(__name__)

SAMPLE_S = 1.0  # how long the machine is watched before a choice: one video frame burst is 33 ms
MARGIN = 0.25  # a core counts as free when at least 75 % of it is idle
MAX_AGE_S = 120.0  # a reading averages at most this far back: older, the machine is watched afresh
# Windows priority classes from the least to the most favoured (psutil has them only there)
WINDOWS_CLASSES = ("IDLE_PRIORITY_CLASS", "BELOW_NORMAL_PRIORITY_CLASS", "NORMAL_PRIORITY_CLASS",
                   "ABOVE_NORMAL_PRIORITY_CLASS", "HIGH_PRIORITY_CLASS", "REALTIME_PRIORITY_CLASS")


def cores() -> int:
    return os.cpu_count() or 1


def rank(nice: int) -> int:
    """How favoured a process is by the scheduler (higher: more): Linux nice values, Windows priority classes."""
    if os.name == "nt":
        order = [getattr(psutil, name, None) for name in WINDOWS_CLASSES]
        return order.index(nice) if nice in order else 2
    return -nice


def _lower_cpu(mine: int) -> dict[int, float]:
    """CPU seconds of each process the scheduler favours less than one of rank `mine`: they give way to us."""
    out = {}
    for proc in psutil.process_iter(["nice", "cpu_times"]):
        info: dict[str, Any] = proc.info
        if info["nice"] is not None and info["cpu_times"] is not None and rank(info["nice"]) < mine:
            out[proc.pid] = info["cpu_times"].user + info["cpu_times"].system
    return out


def _is_stage(proc: psutil.Process) -> bool:
    cmd = proc.cmdline()
    return any(flag == "-m" and module.startswith("stages.") for flag, module in itertools.pairwise(cmd))


def _stages_cpu(me: psutil.Process, mine: int) -> dict[int, float]:
    """CPU seconds of the pipeline's other stages (the same supervisor's children) favoured over us."""
    parent = me.parent()
    out = {}
    for proc in parent.children() if parent is not None else []:
        try:
            if proc.pid != me.pid and _is_stage(proc) and rank(proc.nice()) > mine:
                times = proc.cpu_times()
                out[proc.pid] = times.user + times.system
        except psutil.Error:  # it ended meanwhile
            continue
    return out


class Meter:
    """Cores the other programs kept busy since the last reading (this process's own use left out).

    `yielding`: programs at a lower priority than this one are left out too: the summarizer's
    LLM gives way to the transcriber, so it does not count as taking the transcriber's cores.
    `ours`: the pipeline's other stages that run at a higher priority (the same supervisor's) are left
    out too: an import's transcriber, which runs flat out for a while and is done, while the LLM below
    it waits its turn anyway. The call, and another session's stages, still count.
    """

    def __init__(self, yielding: bool = False, ours: bool = False) -> None:
        self.me = psutil.Process()
        self.yielding, self.ours = yielding, ours
        self.mark: tuple[float, Any, Any, dict[int, float]] | None = self._now()

    def _now(self) -> tuple[float, Any, Any, dict[int, float]] | None:
        try:
            mine = rank(self.me.nice())
            left_out = _lower_cpu(mine) if self.yielding else {}
            if self.ours:
                left_out.update(_stages_cpu(self.me, mine))
            return time.monotonic(), psutil.cpu_times(), self.me.cpu_times(), left_out
        except (OSError, psutil.Error) as exc:  # Wine has no per-CPU counters (WinError 1): nothing counts busy
            log.debug("the machine's CPU counters cannot be read: %s", exc)
            return None

    def busy(self, min_s: float = SAMPLE_S) -> float:
        """Busy cores since the last reading, and starts the next one.

        At least `min_s` are watched (it waits), at most `MAX_AGE_S`: a call that started a
        minute ago is not averaged away by the quiet hour before it. A process left out that ends
        within the reading took CPU seconds nobody can read any more: that reading would count
        them as the others', so a fresh one is taken (the demo's LLM dropped to one thread when
        its reading spanned the end of the import's transcriber).
        """
        if self.mark is None or time.monotonic() - self.mark[0] > MAX_AGE_S:
            self.mark = self._now()
        for _ in range(2):
            if self.mark is not None and (wait := min_s - (time.monotonic() - self.mark[0])) > 0:
                time.sleep(wait)
            before, self.mark = self.mark, self._now()
            if before is None or self.mark is None:
                return 0.0
            (t0, all0, mine0, left0), (t1, all1, mine1, left1) = before, self.mark
            if left0.keys() <= left1.keys():
                break
        idle = ("idle", "iowait", "guest", "guest_nice")  # guest time is already counted in user time
        used = sum(getattr(all1, f) - getattr(all0, f) for f in all1._fields if f not in idle)
        own = (mine1.user - mine0.user) + (mine1.system - mine0.system)
        left_out = sum(cpu - left0.get(pid, 0.0) for pid, cpu in left1.items())
        return float(max(0.0, (used - own - left_out) / max(1e-3, t1 - t0)))


def threads_for(total: int, busy: float, cap: int = 0) -> int:
    """The cores that `busy` cores of other work leave free on `total` (at least 1, at most `cap`)."""
    limit = min(cap, total) if cap > 0 else total
    return max(1, min(limit, math.floor(total - busy + MARGIN)))


class Threads:
    """A library's thread count kept in step with the CPU that is free: fewer at once, more when it lasts.

    The count is fixed when a model loads, so a change costs a reload. Too many threads is
    the costly mistake (every step waits for a thread the call holds): it is mended at the
    next reading; too few only slows, so more waits for a second reading to agree.
    `configured` > 0 pins the count (the user's setting): it never changes then.
    """

    def __init__(self, configured: int = 0, cap: int = 0, yielding: bool = False, every_s: float = 0.0,
                 min_s: float = SAMPLE_S, ours: bool = False) -> None:
        self.fixed, self.cap, self.every_s, self.min_s = configured, cap, every_s, min_s
        self.meter = Meter(yielding, ours)
        self.now = configured or threads_for(cores(), self.meter.busy(min_s), cap)
        self.read_at = time.monotonic()
        self.more_wanted = 0

    def change(self) -> int | None:
        """The thread count to reload with now, or None to keep the current one."""
        if self.fixed or time.monotonic() - self.read_at < self.every_s:
            return None
        wanted = threads_for(cores(), self.meter.busy(self.min_s), self.cap)
        self.read_at = time.monotonic()
        self.more_wanted = self.more_wanted + 1 if wanted > self.now else 0
        if wanted < self.now or self.more_wanted >= 2:
            self.now, self.more_wanted = wanted, 0
            return wanted
        return None
