"""Run by the Windows Python: the summarizer's priority and the CPU other programs use, as Windows reports them."""

from __future__ import annotations

import json

import psutil

from stages import cpu
from stages.summarize.run import lower_priority


def main() -> None:
    lower_priority()
    print(json.dumps({"below_normal": psutil.Process().nice() == psutil.BELOW_NORMAL_PRIORITY_CLASS,
                      "busy": cpu.Meter().busy(2.0), "cores": cpu.cores(), "threads": cpu.Threads().now}),
          flush=True)


if __name__ == "__main__":
    main()
