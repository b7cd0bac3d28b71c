"""Cutting meeting time into intervals (one mini-summary each) and windows (one LLM call each).

An interval of `interval_minutes` is read in windows of at most `window_minutes`,
so that at the end of a meeting only the last window is left to read: that is
what keeps the final report seconds away from the stop. Windows never cross an
interval boundary; both are numbered from 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPS = 1e-6


@dataclass(frozen=True)
class Window:
    chunk: int
    window: int
    start: float
    end: float


def window_key(w: Window) -> str:
    """`CCCC-WW`: the name of the window's file in summaries/windows/."""
    return f"{w.chunk:04d}-{w.window:02d}"


@dataclass(frozen=True)
class Plan:
    windows: list[Window]  # every window whose transcript is complete, in time order
    chunks: list[int]  # every interval whose windows are all in `windows`
    last_chunk: int | None  # the meeting's last interval, once the transcript is complete


def windows_per_chunk(interval_s: float, window_s: float) -> int:
    return max(1, math.ceil(interval_s / window_s - EPS))


def chunk_windows(chunk: int, interval_s: float, window_s: float, end_time: float | None = None) -> list[Window]:
    """The windows of interval `chunk`; with `end_time`, those that start before it, the last one cut there."""
    n = windows_per_chunk(interval_s, window_s)
    length = interval_s / n
    base = (chunk - 1) * interval_s
    out: list[Window] = []
    for j in range(n):
        start, end = base + j * length, base + (j + 1) * length
        if end_time is not None:
            if start >= end_time - EPS and out:
                break
            end = min(end, max(end_time, start))
        out.append(Window(chunk, j + 1, round(float(start), 3), round(float(end), 3)))
    return out


def plan(covered_until: float, complete: bool, end_time: float, interval_s: float, window_s: float) -> Plan:
    """What can be summarized now: all segments starting before `covered_until` are known."""
    if complete:
        last = max(1, math.ceil(end_time / interval_s - EPS))
        windows = [w for c in range(1, last + 1)
                   for w in chunk_windows(c, interval_s, window_s, end_time if c == last else None)]
        return Plan(windows, list(range(1, last + 1)), last)
    full = int((covered_until + EPS) // interval_s)
    windows = [w for c in range(1, full + 1) for w in chunk_windows(c, interval_s, window_s)]
    open_chunk = full + 1
    windows += [w for w in chunk_windows(open_chunk, interval_s, window_s) if w.end <= covered_until + EPS]
    return Plan(windows, list(range(1, full + 1)), None)
