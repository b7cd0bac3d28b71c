"""Soak benchmark: a long generated meeting through the real processes, memory and lag watched.

    python -m bench.soak                        # 2-hour French meeting, file source, offline summaries
    python -m bench.soak --minutes 10           # the CI-sized run
    python -m bench.soak --live                 # paced in real time through the PulseAudio null sink
    python -m bench.soak --lang en --llm local  # English, summaries by the in-product LLM

Samples the RSS of the supervisor and of every stage every few seconds, records the
lag of every batch, times the report after the last transcript file, compares the
pipeline with one whole-file faster-whisper call (RTF and WER), and writes the
figures and PNG plots to bench/results/ and a section of BENCHMARKS.md.
Needs ../shared/tools/meetingsynth.py (espeak-ng, sox); `pip install -e .[bench]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import ROOT, batch_lags, machine, pipeline_text, synth_meeting, wer
from bench.soak_report import Sample, publish
from stages.spool import Session
from stages.transcribe.engine import cpu_threads
from stages.transcribe.models import resolve

ROLES = {"stages.capture": "capture", "stages.transcribe": "transcribe", "stages.summarize": "summarize",
         "parec": "parec"}


def role_of(proc: psutil.Process) -> str | None:
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return None
    return next((r for key, r in ROLES.items() if key in cmd), None)


@dataclass
class Watch:
    """RSS of every process of the run, with how far the meeting had got, every `period` seconds."""

    root_pid: int
    spool: Path
    period: float
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            captured, transcribed = self._progress()
            for role, rss in self._rss().items():
                self.samples.append(Sample(time.monotonic() - t0, role, rss, captured, transcribed))
            self.stop.wait(self.period)

    def _rss(self) -> dict[str, float]:
        try:
            root = psutil.Process(self.root_pid)
            found = {"supervisor": root.memory_info().rss / 2**20}
            children = root.children(recursive=True)
            roles = {child.pid: role_of(child) for child in children}
            for child in children:
                role = roles[child.pid]
                # a stage's child between fork and exec still wears its command line: not a second copy
                if role and roles.get(child.ppid()) != role:
                    found[role] = found.get(role, 0.0) + child.memory_info().rss / 2**20
            return found
        except psutil.Error:
            return {}

    def _progress(self) -> tuple[float, float]:
        """Minutes of audio captured and transcribed so far (10 s batches)."""
        sessions = [p for p in self.spool.iterdir() if p.is_dir()] if self.spool.is_dir() else []
        if not sessions:
            return 0.0, 0.0
        session = Session(sessions[0])
        return len(session.audio_batches()) / 6, len(session.transcribed_batches()) / 6


def up_command(spool: Path, name: str, source: str, args: argparse.Namespace) -> list[str]:
    return [sys.executable, str(ROOT / "supervisor.py"), "up", "--name", name, "--source", source, "--spool",
            str(spool), "--language", args.lang, "--model", args.model, "--llm", args.llm]


def run(audio: Path, spool: Path, args: argparse.Namespace, env: dict[str, str]) -> tuple[Watch, float]:
    """`up` on the file (or, live, on the system sound while the file plays); (samples, seconds to report)."""
    source = "system" if args.live else f"file:{audio}"
    sink = ensure_sink() if args.live else ""
    t0 = time.monotonic()
    proc = subprocess.Popen(up_command(spool, audio.stem, source, args), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    watch = Watch(proc.pid, spool, args.sample_s)
    threading.Thread(target=watch.run, daemon=True).start()
    if args.live:
        play(audio, sink, spool, proc, env)
    code = proc.wait()
    elapsed = time.monotonic() - t0
    watch.stop.set()
    if code != 0:
        sys.exit(f"supervisor up exited {code}: see the logs under {spool}")
    return watch, elapsed


def ensure_sink() -> str:
    from tests.pulse import ensure_null_sink

    return ensure_null_sink()


def play(audio: Path, sink: str, spool: Path, proc: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    """Play the meeting into the null sink once capture listens to its monitor, then `down`."""
    deadline = time.monotonic() + 120
    while not any("device" in p.read_text(encoding="utf-8", errors="replace")
                  for p in spool.glob("*/logs/capture.log")):
        if time.monotonic() > deadline or proc.poll() is not None:
            sys.exit("capture did not open the PulseAudio monitor")
        time.sleep(0.5)
    time.sleep(2.0)
    subprocess.run(["paplay", "--device", sink, str(audio)], check=True)
    time.sleep(1.0)
    # --no-wait: the run waits for `up` to end however late the report is; a late report is a
    # failed check to publish, not a reason to lose two hours of samples.
    subprocess.run([sys.executable, str(ROOT / "supervisor.py"), "down", "--no-wait", "--spool", str(spool)],
                   env=env, check=True, stdout=subprocess.DEVNULL)


def final_latency(session: Path) -> float:
    """Seconds from the last transcript file to report/END.json (the report's last file)."""
    last = max(p.stat().st_mtime for p in (session / "transcript").glob("*.json"))
    return (session / "report" / "END.json").stat().st_mtime - last


def whisper_footprint(model: str, audio: Path, lang: str) -> tuple[float, float]:
    """MiB a bare faster-whisper process gains loading the model, and at its peak decoding 30 s of `audio`.

    The second is what the model needs to run at all (the encoder's attention over a whole
    30 s window, five beams' caches): the transcriber's own overhead is its peak minus that.
    The process imports nothing of the project and runs without the transcriber's allocator
    settings: the bar is the model's own.
    """
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.wav"
        with wave.open(str(audio)) as src, wave.open(str(clip), "wb") as dst:
            dst.setparams(src.getparams())
            dst.writeframes(src.readframes(30 * src.getframerate()))
        code = ("import resource, psutil, faster_whisper; "
                f"x = faster_whisper.decode_audio({str(clip)!r}); "
                "p = psutil.Process(); a = p.memory_info().rss; "
                f"m = faster_whisper.WhisperModel({resolve(model)!r}, device='cpu', compute_type='int8'); "
                "loaded = p.memory_info().rss - a; "
                f"s, _ = m.transcribe(x, language={lang!r}, beam_size=5); list(s); "
                "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - a; "
                "print(loaded / 2**20, peak / 2**20)")
        loaded, peak = run_bare(code).split()
    return float(loaded), float(peak)


def run_bare(code: str) -> str:
    """The last line `code` prints, run by a fresh Python without what the transcriber sets for itself
    (stages/transcribe/__init__.py): the references measure faster-whisper as it comes."""
    env = {k: v for k, v in os.environ.items() if k != "MKL_DISABLE_FAST_MM"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def local_llm_footprint() -> float | None:
    """MiB a process gains by loading the `local` LLM and answering once; None when it is not installed."""
    code = ("import psutil; from stages.config import PipelineConfig; from stages.summarize.backends import create; "
            "p = psutil.Process(); a = p.memory_info().rss; b = create('local', PipelineConfig().summarize); "
            "assert b.probe() is None, b.probe(); b.prepare(); "
            "b.chat([{'role': 'user', 'content': 'Say OK.'}], {'type': 'object'}, 8, 0.1); "
            "print((p.memory_info().rss - a) / 2**20)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None


def whole_file(audio: Path, args: argparse.Namespace) -> tuple[str, float]:
    """One faster-whisper call over the whole file, the way its README does it (with the pipeline's threads).

    In a process of its own, bare like `whisper_footprint`'s.
    """
    code = ("import json, sys, time; from faster_whisper import WhisperModel; "
            f"m = WhisperModel({resolve(args.model)!r}, device='cpu', compute_type='int8', "
            f"cpu_threads={cpu_threads(0)}); "
            f"t0 = time.monotonic(); s, _ = m.transcribe({str(audio)!r}, language={args.lang!r}, beam_size=5, "
            "vad_filter=True); text = ' '.join(x.text for x in s); "
            "print(json.dumps([text, time.monotonic() - t0]))")
    text, seconds = json.loads(run_bare(code))
    return text, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--model", default="base")
    parser.add_argument("--llm", default="offline")
    parser.add_argument("--live", action="store_true", help="paced in real time through the PulseAudio null sink")
    parser.add_argument("--sample-s", type=float, help="RSS sampling period (default 1 s, live 5 s)")
    parser.add_argument("--skip-whole-file", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the spool here instead of a temporary folder")
    parser.add_argument("--nice", type=int, default=0,
                        help="run below other work (POSIX nice); the section then says its timings are upper bounds")
    args = parser.parse_args()
    if args.nice and sys.platform != "win32":
        os.nice(args.nice)
    args.sample_s = args.sample_s or (5.0 if args.live else 1.0)

    audio, ref_path = synth_meeting(args.lang, args.minutes)
    with wave.open(str(audio)) as w:
        duration = w.getnframes() / w.getframerate()
    mode = "live" if args.live else "file"
    print(f"machine: {machine()}")
    print(f"meeting: {audio.name}, {duration / 60:.1f} min {args.lang}; model {args.model} int8 CPU; "
          f"summaries {args.llm}; {mode}")
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1")
    with tempfile.TemporaryDirectory() as tmp:
        spool = args.keep or Path(tmp) / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        earlier = set(spool.iterdir())  # a kept spool may hold the sessions of earlier runs
        watch, elapsed = run(audio, spool, args, env)
        (session,) = [p for p in spool.iterdir() if p.is_dir() and p not in earlier]
        reference = ref_path.read_text(encoding="utf-8")
        result = {
            "command": "python -m bench.soak " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "lang": args.lang,
            "model": args.model, "llm": args.llm, "mode": mode, "meeting_min": duration / 60, "nice": args.nice,
            "elapsed_s": elapsed, "pipeline_wer": wer(reference, pipeline_text(session), args.lang),
            "lags": batch_lags(session), "final_latency_s": final_latency(session),
            "local_llm_mib": local_llm_footprint(),
        }
    result["whisper_footprint_mib"], result["whisper_decoding_mib"] = whisper_footprint(args.model, audio, args.lang)
    if not args.skip_whole_file:
        text, seconds = whole_file(audio, args)
        result |= {"whole_rtf": seconds / duration, "whole_wer": wer(reference, text, args.lang)}
    publish(result, watch.samples, f"{args.lang}-{args.minutes:g}min-{mode}-{args.llm}")


if __name__ == "__main__":
    main()
