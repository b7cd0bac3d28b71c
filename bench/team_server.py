"""Several laptops, one Whisper server: 1, 2 and 4 sessions at once, imported and live-paced.

    python -m bench.team_server                                  # open-asr-server, demo meeting, ~15 min
    python -m bench.team_server --server faster-whisper-server --sessions 1 2 --modes import

One real server (tests/asr_servers.py: a PyPI package in its own venv, the offline `base`
model, on 127.0.0.1) and N transcriber processes (`python -m stages.transcribe`, the stage as
the pipeline runs it, `[transcribe] engine = "openai"`), each on its own session folder
holding the demo meeting (`--repeat` plays it several times in a row). The clients' own work
(reading batches, Silero VAD) runs on the same machine as the server: on a laptop it would not.

- imported: every batch is on disk at the start; a session's time is until its
  `transcript/END.json`. Throughput = all sessions' audio / the time until the last ends.
- live-paced: batch k of every session lands when the meeting clock reaches its end (10 s
  each, as capture writes them); lag of a batch = when its transcript file appears minus when
  it landed. The server keeps up while the lag stays flat and under the brief's 30 s; where the
  lag of the last batches outgrows that of the first, the server is saturated.

Prints per session WER, lag (p50/p95/max) or time, and per run the server's throughput
(audio seconds per second) and CPU seconds per audio second; writes bench/results/team-server-*.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.common import ROOT, machine, wer
from stages.spool import Session
from stages.transcribe.models import resolve
from tests.asr_servers import KINDS, Server
from tests.conftest import DEMO_EN
from tests.speech import reference_text
from tests.spoolkit import decode_16k, make_session, transcript_text, write_batches

BATCH_S = 10.0
LAG_BAR_S = 30.0  # the brief: final text within 30 s of its batch landing
RESULTS = ROOT / "bench" / "results"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def prepare(work: Path, name: str, server: Server | None, live: bool) -> Session:
    """A session folder transcribed on `server`, or by the local engine (None)."""
    source = "system" if live else f"file:{DEMO_EN}"  # a file source that is not paced is transcribed as an import
    tx = {} if server is None else {"engine": "openai", "openai": {
        "base_url": server.url, "model": server.model, "local_fallback": False, "timeout_s": 600.0}}
    return make_session(work / name, sources=["system"], language="en", source=source, transcribe=tx)


def start_stage(session: Session, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONPATH=str(ROOT))
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "stages.transcribe", str(session.path)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def cpu_seconds(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
        return float(t.user + t.system)
    except psutil.NoSuchProcess:
        return 0.0


def run(server: Server, pcm: np.ndarray, n: int, live: bool, work: Path, reference: str,
        local: bool = False) -> dict[str, Any]:
    """N sessions at once on the server (or one with the local engine, `local`): timings, lag, WER."""
    mode = "live" if live else "import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sessions = [prepare(work, f"{mode}-{n}-{i + 1}", None if local else server, live) for i in range(n)]
    step = round(BATCH_S * 16000)
    batches = -(-len(pcm) // step)
    audio_s = len(pcm) / 16000
    landed: list[dict[int, float]] = [{} for _ in sessions]
    done: list[dict[int, float]] = [{} for _ in sessions]
    ended: list[float | None] = [None] * n

    def land(k: int) -> None:
        for s, when in zip(sessions, landed, strict=True):
            write_batches(s, None, pcm[(k - 1) * step: k * step], first_index=k, start=(k - 1) * BATCH_S,
                          end=k == batches)
            when[k] = time.monotonic()

    if not live:
        for k in range(1, batches + 1):
            land(k)
    server_proc = psutil.Process(server.proc.pid) if server.proc else None
    cpu0 = cpu_seconds(server_proc) if server_proc else 0.0
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    procs = [start_stage(s, work / f"{s.name}.log") for s in sessions]
    peak_rss = [0] * n
    next_k = 1
    while any(e is None for e in ended):
        now = time.monotonic()
        if live and next_k <= batches and now - t0 >= next_k * BATCH_S:
            land(next_k)  # batch k holds the meeting's seconds (k-1)*10 to k*10: it lands at k*10
            next_k += 1
        for i, s in enumerate(sessions):
            for k in s.transcribed_batches():
                done[i].setdefault(k, now)
            if ended[i] is None and s.transcript_end_path.exists():
                ended[i] = now - t0
            with contextlib.suppress(psutil.NoSuchProcess):
                peak_rss[i] = max(peak_rss[i], psutil.Process(procs[i].pid).memory_info().rss)
            if procs[i].poll() not in (None, 0):
                raise RuntimeError(f"{s.name}: transcriber exited {procs[i].returncode}; see {work}/{s.name}.log")
        time.sleep(0.1)
    wall = max(e for e in ended if e is not None)
    cpu = (cpu_seconds(server_proc) - cpu0) if server_proc else float("nan")
    rows = []
    for i, s in enumerate(sessions):
        lags = [done[i][k] - landed[i][k] for k in sorted(done[i]) if k in landed[i]]
        quarter = max(1, len(lags) // 4)
        rows.append({"session": s.name, "wer": round(wer(reference, transcript_text(s), "en"), 4),
                     "seconds": round(ended[i] or 0.0, 1), "client_peak_rss_mib": round(peak_rss[i] / 2**20),
                     "lag_p50": round(percentile(lags, 50), 1),
                     "lag_p95": round(percentile(lags, 95), 1), "lag_max": round(max(lags), 1),
                     "lag_first_quarter": round(percentile(lags[:quarter], 50), 1),
                     "lag_last_quarter": round(percentile(lags[-quarter:], 50), 1)})
    return {"mode": mode, "engine": "local" if local else "server", "sessions": n,
            "audio_s_each": round(audio_s, 1), "wall_s": round(wall, 1),
            "throughput": round(n * audio_s / wall, 2), "server_cpu_s_per_audio_s": round(cpu / (n * audio_s), 3),
            "load_start": round(load0, 2), "load_end": round(os.getloadavg()[0], 2), "per_session": rows}


def verdict(result: dict[str, Any]) -> str:
    if result["mode"] == "import":
        return f"{result['throughput']} audio s/s"
    rows = result["per_session"]
    if any(r["lag_last_quarter"] > 1.5 * r["lag_first_quarter"] + 5.0 for r in rows):
        return "saturated: falling behind (lag grows batch after batch)"
    if any(r["lag_p95"] > LAG_BAR_S for r in rows):
        return f"at capacity: lag flat but over the {LAG_BAR_S:.0f} s bar"
    return f"keeps up: lag flat, within the {LAG_BAR_S:.0f} s bar"


def show(result: dict[str, Any]) -> None:
    who = "the local engine" if result["engine"] == "local" else f"{result['sessions']} session(s) on the server"
    cpu = "" if result["engine"] == "local" else f", server CPU {result['server_cpu_s_per_audio_s']} s per audio s"
    print(f"\n{result['mode']}, {who}: {result['wall_s']} s for {result['sessions']} x {result['audio_s_each']} s "
          f"of audio: throughput {result['throughput']} audio s/s{cpu}, load {result['load_start']} -> "
          f"{result['load_end']}: {verdict(result)}", flush=True)
    for r in result["per_session"]:
        lag = (f"lag p50/p95/max {r['lag_p50']}/{r['lag_p95']}/{r['lag_max']} s (first/last quarter "
               f"{r['lag_first_quarter']}/{r['lag_last_quarter']} s)" if result["mode"] == "live"
               else f"done in {r['seconds']} s")
        print(f"  {r['session']}: WER {100 * r['wer']:.1f} %, {lag}, transcriber peak RSS "
              f"{r['client_peak_rss_mib']} MiB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.team_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=sorted(KINDS), default="open-asr-server")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--modes", nargs="+", choices=["import", "live"], default=["import", "live"])
    parser.add_argument("--repeat", type=int, default=1, help="play the demo meeting this many times in a row")
    parser.add_argument("--no-local", action="store_true", help="skip the baseline: one session, local engine")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "team_server")
    args = parser.parse_args(argv)
    pcm = np.tile(decode_16k(DEMO_EN), args.repeat)
    reference = " ".join([reference_text("en")] * args.repeat)
    server = Server(KINDS[args.server], resolve("base"), args.work / "server").start()
    print(f"{args.server} at {server.url}; {machine()}; demo meeting x{args.repeat} "
          f"({len(pcm) / 16000:.0f} s) per session; load {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    try:
        for mode in args.modes:
            for n in args.sessions if args.no_local else [0, *args.sessions]:
                # n = 0: the baseline, one session with the local engine on this machine
                result = run(server, pcm, n or 1, mode == "live", args.work / f"{mode}-{n}", reference, n == 0)
                results.append(result)
                show(result)
    finally:
        server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"team-server-{args.server}.json"
    out.write_text(json.dumps({"server": args.server, "machine": machine(), "results": results}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
