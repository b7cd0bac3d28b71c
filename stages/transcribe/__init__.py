"""Transcriber stage: audio batches -> final transcript segments, one JSON file per batch.

MKL's own memory manager is turned off here, before any module of the stage loads CTranslate2
(which allocates through `mkl_malloc` wherever its wheel is built with MKL): it keeps the buffers
of every decode cached, per thread, on top of what malloc keeps. On 36 batches of the 2-hour
French import (13 calls), the peak RSS of a call fell from 466-470 to 416-421 MiB at most and
from 408-419 to 379-381 MiB on average, for 5 % more CPU time (BENCHMARKS.md, transcriber memory).
"""

import os

os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")
