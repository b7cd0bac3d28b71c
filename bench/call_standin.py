"""A stand-in for a video call's CPU use: ffmpeg encoding and decoding 720p at 30 fps, in real time.

A Teams/Zoom/Meet call encodes the camera and decodes the others' video for the
whole meeting, at normal priority. Here each "stream" is one ffmpeg encoding a
1280x720 test pattern with a tone (H.264 + AAC, paced by `-re`), piped into one
ffmpeg decoding it; the decoder reports its frame count, so the call's own frame
rate shows whether the meeting assistant makes it stutter. A load is reached by
choosing the x264 preset and the number of streams from a calibration run alone.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

FPS = 30
PRESETS = ("veryfast", "faster", "medium", "slow")  # cheapest first
MAX_STREAMS = 4
CALIBRATE_S = 8.0


def stream_command(preset: str, progress: Path) -> str:
    source = (f"ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate={FPS} "
              "-f lavfi -i sine=frequency=440:sample_rate=48000 "
              f"-c:v libx264 -preset {preset} -tune zerolatency -b:v 2500k -g {2 * FPS} -c:a aac "
              f"-progress {progress} -f mpegts -")
    sink = "ffmpeg -nostdin -hide_banner -loglevel error -i - -fps_mode passthrough -f null -"
    return f"{source} | {sink}"


def frames(progress: Path) -> int:
    """Frames encoded so far (the encoder's last `frame=` progress line): paced at 30 per second by `-re`,
    fewer when the CPU cannot keep up (the decoder's count comes in bursts, as the pipe fills)."""
    try:
        lines = progress.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return 0
    found = [line for line in lines if line.startswith("frame=")]
    return int(found[-1].split("=", 1)[1]) if found else 0


@dataclass
class Call:
    """Running streams; `sample()` every few seconds records the frame rate and the CPU they use."""

    preset: str
    streams: int
    folder: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    counts: list[tuple[float, list[int]]] = field(default_factory=list)  # (seconds since start, frames per stream)
    cores: list[float] = field(default_factory=list)
    _last: tuple[float, float] | None = None

    def start(self) -> Call:
        for i in range(self.streams):
            progress = self.folder / f"progress-{i}.txt"
            progress.unlink(missing_ok=True)
            # a session of its own, at normal priority: an application the user started, not our child's group
            self.procs.append(subprocess.Popen(stream_command(self.preset, progress), shell=True,
                                               start_new_session=True, stdin=subprocess.DEVNULL))
        self.t0 = time.monotonic()
        return self

    def _cpu(self) -> float:
        total = 0.0
        for proc in self.procs:
            try:
                for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                continue
        return total

    def sample(self) -> None:
        now = time.monotonic()
        self.counts.append((now - self.t0, [frames(self.folder / f"progress-{i}.txt") for i in range(self.streams)]))
        cpu = self._cpu()
        if self._last is not None and now - self._last[0] > 0.5:
            self.cores.append((cpu - self._last[1]) / (now - self._last[0]))
        self._last = (now, cpu)

    def sample_every(self, seconds: float) -> threading.Event:
        """Sample in the background until the returned event is set (set it before `stop`)."""
        done = threading.Event()

        def run() -> None:
            while not done.wait(seconds):
                self.sample()

        threading.Thread(target=run, daemon=True).start()
        return done

    def stop(self) -> None:
        for proc in self.procs:
            try:
                for p in [*psutil.Process(proc.pid).children(recursive=True), psutil.Process(proc.pid)]:
                    p.kill()
            except psutil.Error:
                pass
            proc.wait()

    def rate(self, since: float, until: float) -> float:
        """Frames per second of the slowest stream between two sample times."""
        a = next(c for t, c in self.counts if t >= since)
        b = [c for t, c in self.counts if t <= until][-1]
        seconds = [t for t, _ in self.counts if t <= until][-1] - next(t for t, _ in self.counts if t >= since)
        return min(y - x for x, y in zip(a, b, strict=True)) / max(seconds, 1e-3)

    def summary(self) -> dict[str, float]:
        """Mean frame rate after the first 5 s (the pipes fill), and the worst 10 s."""
        if len(self.counts) < 3 or self.counts[-1][0] < 8.0:
            return {}
        end = self.counts[-1][0]
        worst = min((self.rate(t, t + 10.0) for t, _ in self.counts if 5.0 <= t <= end - 10.0), default=None)
        mean = self.rate(5.0, end)
        return {"fps_mean": mean, "fps_worst_10s": worst if worst is not None else mean,
                "cores_mean": statistics.fmean(self.cores[1:] or self.cores)}


def measure(preset: str, streams: int, seconds: float, folder: Path) -> dict[str, float]:
    call = Call(preset, streams, folder).start()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(1.0)
            call.sample()
    finally:
        call.stop()
    return call.summary()


def calibrate(target: float, folder: Path) -> tuple[str, int, float]:
    """(preset, streams, cores) closest to `target` cores, from one stream of each preset measured alone."""
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is not installed (apt-get install ffmpeg): the call stand-in needs it")
    cost = {}
    for preset in PRESETS:
        found = measure(preset, 1, CALIBRATE_S, folder)
        cost[preset] = found.get("cores_mean", 0.0)
        print(f"  calibration: one 720p30 stream, x264 {preset}: {cost[preset]:.2f} cores, "
              f"{found.get('fps_mean', 0):.1f} fps", flush=True)
    options = [(abs(n * c - target), n, p) for p, c in cost.items() for n in range(1, MAX_STREAMS + 1)]
    _, streams, preset = min(options)
    return preset, streams, streams * cost[preset]


if __name__ == "__main__":  # python -m bench.call_standin 1.0: what a load of one core is made of here
    with tempfile.TemporaryDirectory() as tmp:
        chosen = calibrate(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0, Path(tmp))
        print(chosen)
        print(measure(chosen[0], chosen[1], 20.0, Path(tmp)))
