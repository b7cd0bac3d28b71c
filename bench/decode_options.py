"""Which decoding options pay for themselves on an import? CPU, WER and peak RSS per variant.

    python -m bench.decode_options                      # 3 meetings x 4 variants, about 35 minutes
    python -m bench.decode_options --meetings fr:1 --variant 'b2:beam_size=2;temperatures=[0.0]'

Each meeting (meetingsynth, espeak voices, 15 minutes) is captured once into a
session as an imported file; then, for every variant, the real transcriber stage
(`python -m stages.transcribe SESSION --no-wait`) runs in its own process on a copy
of that session whose manifest overrides `[transcribe]` keys. It prints the CPU
seconds the stage used (user + system, as the OS counts them) per second of audio,
which hardly moves when other work shares the machine, the wall-clock ratio beside
it, WER against the script, and the stage's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from pathlib import Path

from bench.common import ROOT, machine, synth_meeting, wer
from stages.config import PipelineConfig
from stages.sessions import create
from stages.spool import Session

VARIANTS: dict[str, dict[str, object]] = {
    "six temperatures (Whisper's fallback)": {},
    "one decode": {"temperatures": [0.0]},
    "one fallback at 0.6": {"temperatures": [0.0, 0.6]},
    "one fallback at 0.6, beam 3": {"temperatures": [0.0, 0.6], "beam_size": 3},
}


def captured(lang: str, minutes: float, seed: int, spool: Path) -> tuple[Path, str]:
    """A session holding the meeting's batches (capture run as on an import), and its script."""
    wav, ref = synth_meeting(lang, minutes, seed=seed)
    return capture_file(wav, lang, f"{lang}-s{seed}", spool), ref.read_text(encoding="utf-8")


def capture_file(wav: Path, lang: str, name: str, spool: Path) -> Path:
    """A session holding `wav` cut into batches by the capture stage, as on an import."""
    cfg = PipelineConfig()
    cfg.session.spool, cfg.session.source, cfg.session.language = str(spool), f"file:{wav}", lang
    session = create(cfg, name)
    subprocess.run([sys.executable, "-m", "stages.capture", str(session.path)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return session.path


def transcribe_copy(base: Path, work: Path, overrides: dict[str, object]) -> tuple[Session, float, float, float]:
    """(session, CPU seconds, wall seconds, peak RSS MiB) of the transcriber on a copy of `base`."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work, ignore=shutil.ignore_patterns("transcript", "*.lock"))
    session = Session(work)
    manifest = json.loads(session.manifest_path.read_text(encoding="utf-8"))
    manifest["config"]["transcribe"].update(overrides)
    session.manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    session.ensure_layout()
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "stages.transcribe", str(work), "--no-wait"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if sys.platform == "win32":
        raise SystemExit("this benchmark reads the stage's CPU time with os.wait4 (POSIX only)")
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        sys.exit(f"the transcriber failed on {work} (status {status})")
    peak_mib = usage.ru_maxrss / 1024  # KiB on Linux
    return session, usage.ru_utime + usage.ru_stime, time.monotonic() - t0, peak_mib


def seconds(wav: Path) -> float:
    with wave.open(str(wav)) as w:
        frames, rate = int(w.getnframes()), int(w.getframerate())
    return frames / rate


def text_of(session: Session) -> str:
    texts = []
    for path in sorted(session.transcript.glob("[0-9]*.json")):
        texts += [s["text"] for s in json.loads(path.read_text(encoding="utf-8"))["segments"]]
    return " ".join(texts)


def parse_variant(spec: str) -> tuple[str, dict[str, object]]:
    """'NAME:key=json;key=json' -> (NAME, overrides)."""
    name, _, rest = spec.partition(":")
    pairs = [kv.split("=", 1) for kv in rest.split(";") if kv]
    return name, {k.strip(): json.loads(v) for k, v in pairs}


def variant_cli(doc: str, defaults: dict[str, dict[str, object]], variant_help: str, how: str,
                columns: list[str]) -> tuple[argparse.Namespace, dict[str, dict[str, object]]]:
    """The options of a benchmark that runs meetings x variants; prints the machine and the table's head."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--meetings", default="fr:1,fr:2,en:1", help="LANG:SEED,... (meetingsynth seeds)")
    parser.add_argument("--recordings", help="NAME,... of bench.fidelity's recordings, instead of --meetings")
    parser.add_argument("--variant", action="append", help=f"{variant_help} (replaces the defaults)")
    args = parser.parse_args()
    print(f"machine: {machine()}; Whisper {PipelineConfig().transcribe.model} int8 CPU; "
          f"{'recordings of bench.fidelity' if args.recordings else f'{args.minutes:g}-minute meetings'}, {how}")
    print("| meeting | variant | " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * len(columns))
    return args, dict(parse_variant(v) for v in args.variant) if args.variant else defaults


def captured_meetings(args: argparse.Namespace, spool: Path) -> Iterator[tuple[str, str, Path, str]]:
    """(language, label, session, script) of each meeting asked for, captured once into `spool`."""
    if args.recordings:
        from bench.fidelity_corpus import RECORDINGS

        for name in args.recordings.split(","):
            rec = next((r for r in RECORDINGS if r.name == name), None)
            if rec is None:
                sys.exit(f"no fidelity recording {name!r}: {', '.join(r.name for r in RECORDINGS)}")
            wav, ref = rec.files()
            yield rec.lang, rec.name, capture_file(wav, rec.lang, rec.name, spool), ref.read_text(encoding="utf-8")
        return
    for meeting in args.meetings.split(","):
        lang, seed = meeting.split(":")
        yield (lang, f"{lang} seed {seed}", *captured(lang, args.minutes, int(seed), spool))


def main() -> None:
    args, variants = variant_cli(__doc__ or "", VARIANTS, "NAME:key=json;key=json", "imported",
                                 ["CPU s per audio s", "wall x real time", "WER", "peak RSS"])
    with tempfile.TemporaryDirectory() as tmp:
        for lang, label, base, reference in captured_meetings(args, Path(tmp) / "spool"):
            audio_s = sum(seconds(wav) for wav in (base / "audio").glob("[0-9]*.wav"))
            for name, overrides in variants.items():
                session, cpu, wall, peak = transcribe_copy(base, Path(tmp) / "work", overrides)
                print(f"| {label} | {name} | {cpu / audio_s:.3f} | {wall / audio_s:.3f} | "
                      f"{100 * wer(reference, text_of(session), lang):.1f}% | {peak:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
