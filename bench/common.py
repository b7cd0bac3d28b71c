"""Shared by the benchmarks: synthetic meetings, WER, running the real pipeline, machine facts."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MEETINGSYNTH = SHARED / "tools" / "meetingsynth.py"
OUT = ROOT / "bench" / "out"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu or 'unknown CPU'}, Python {platform.python_version()}"


def synth_meeting(lang: str, minutes: float, seed: int = 1, engine: str = "espeak") -> tuple[Path, Path]:
    """(wav, reference text) of a generated meeting, cached in bench/out/."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"meeting-{lang}-{minutes:g}min-s{seed}-{engine}"
    script, wav = stem.with_suffix(".json"), stem.with_suffix(".wav")
    if not wav.exists():
        if not MEETINGSYNTH.exists():
            sys.exit(f"{MEETINGSYNTH} not found: the benchmarks need ../shared beside the project")
        subprocess.run([sys.executable, str(MEETINGSYNTH), "generate", "--lang", lang, "--minutes", str(minutes),
                        "--seed", str(seed), "-o", str(script)], check=True)
        render_script(sys.executable, script, wav, engine)
    return wav, wav.with_suffix(".ref.txt")


def render_script(python: str | Path, script: Path, wav: Path, engine: str, *extra: str, quiet: bool = False) -> None:
    """meetingsynth's `render`, the same bytes every time. sox adds fresh dither noise to each utterance it
    converts, and on loop-prone audio Whisper's text moves with that noise: two renders of one script
    differed in 7.3 M of 36.8 M bytes, so before/after runs compared different audio."""
    subprocess.run([str(python), str(MEETINGSYNTH), "render", str(script), "-o", str(wav), "--engine", engine, *extra],
                   check=True, env=dict(os.environ, SOX_OPTS="--no-dither"),
                   stdout=subprocess.DEVNULL if quiet else None)


def wer(reference: str, hypothesis: str, lang: str) -> float:
    """The tests' WER: numbers spelled out, punctuation, case and (French) accents and elisions folded."""
    from tests.speech import wer as speech_wer

    return speech_wer(reference, hypothesis, lang)


def run_pipeline(audio: Path, lang: str, spool: Path, *extra: str) -> tuple[Path, float]:
    """`supervisor.py up` on a file source; returns (session folder, seconds to the finished report)."""
    spool.mkdir(parents=True, exist_ok=True)
    before = set(spool.iterdir())
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1")
    t0 = time.monotonic()
    subprocess.run([sys.executable, str(ROOT / "supervisor.py"), "up", "--name", audio.stem, "--source",
                    f"file:{audio}", "--language", lang, "--spool", str(spool), *extra],
                   check=True, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    (session,) = set(spool.iterdir()) - before
    return session, elapsed


def pipeline_text(session: Path) -> str:
    segments = json.loads((session / "report" / "transcript.json").read_text(encoding="utf-8"))
    return " ".join(s["text"] for s in segments)


def batch_lags(session: Path) -> list[float]:
    """Seconds from each audio batch landing on disk to its final transcript file."""
    lags = []
    for tr in sorted((session / "transcript").glob("[0-9]*.json")):
        wav = session / "audio" / tr.name.replace(".json", ".wav")
        if wav.exists():
            lags.append(tr.stat().st_mtime - wav.stat().st_mtime)
    return lags


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0
