"""The same meetings transcribed by the local engine and on a real Whisper server: WER side by side.

    python -m bench.remote_parity                                   # the two demo meetings, ~10 min
    python -m bench.remote_parity AUDIO.wav[:REF.txt[:LANG]] ... --variants local server server+prompt

The stage's own `Transcription` and `Engine` run in this process, once per variant, on the same
batches: `import` windows (30 s, as an imported file), and `live` windows as a machine that keeps
up makes them (each 10 s batch lands once the transcriber has done all it could with the ones
before: the windows depend on the audio alone, not on this machine's speed). Variants: `local`
(faster-whisper here, the previous text as Whisper tokens), `server` (open-asr-server on
127.0.0.1, the default settings: no previous text), `server+prompt` (the server with
`previous_text = true`: the same previous text, as a plain string).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine, wer
from stages.config import TranscribeConfig
from stages.transcribe.engine import Engine
from stages.transcribe.models import resolve
from stages.transcribe.stage import Transcription
from tests.asr_servers import KINDS, Server
from tests.speech import demo_audio, reference_text
from tests.spoolkit import decode_16k, make_session, transcript_text, write_batches

VARIANTS = ("local", "server", "server+prompt")


def parse(item: str) -> tuple[Path, str, str]:
    """(audio, reference text, language) from AUDIO[:REF[:LANG]]; REF defaults to AUDIO.ref.txt."""
    audio, *rest = item.split(":")
    path = Path(audio)
    ref = Path(rest[0]) if rest and rest[0] else path.with_suffix(".ref.txt")
    lang = rest[1] if len(rest) > 1 else ("fr" if path.name.startswith(("fr", "reunion")) else "en")
    return path, ref.read_text(encoding="utf-8"), lang


def transcribe(pcm: np.ndarray, lang: str, tx: dict[str, object], live: bool, work: Path) -> str:
    """The meeting through the stage's windows, batch by batch; the transcript's text."""
    shutil.rmtree(work, ignore_errors=True)
    session = make_session(work, sources=["system"], language=lang, source="system", transcribe=tx)
    cfg = TranscribeConfig.model_validate(tx)
    engine = Engine(cfg, lang, live=live)
    job = Transcription(session, cfg, ["system"], engine.transcribe, lambda: lang, "bench", live=live)
    step = 160000
    batches = -(-len(pcm) // step)
    for k in range(1, batches + 1):
        write_batches(session, None, pcm[(k - 1) * step: k * step], first_index=k, start=(k - 1) * 10.0,
                      end=k == batches)
        while job.step():
            pass
    while not job.finish_if_complete():
        job.step()
    return transcript_text(session)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote_parity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="*", help="AUDIO[:REF[:LANG]] (default: the demo meetings)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--modes", nargs="+", choices=["import", "live"], default=["import", "live"])
    parser.add_argument("--server", choices=sorted(KINDS), default="open-asr-server")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "remote_parity")
    args = parser.parse_args(argv)
    items = [parse(a) for a in args.audio] or [(demo_audio(lang), reference_text(lang), lang) for lang in ("en", "fr")]
    server = Server(KINDS[args.server], resolve("base"), args.work / "server").start()
    print(f"{args.server} at {server.url}; {machine()}", flush=True)
    try:
        for audio, reference, lang in items:
            pcm = decode_16k(audio)
            for mode in args.modes:
                row = [f"{audio.name} ({lang}, {len(pcm) / 16000 / 60:.1f} min), {mode}:"]
                for variant in args.variants:
                    tx: dict[str, object] = {}
                    if variant != "local":
                        tx = {"engine": "openai", "openai": {"base_url": server.url, "model": server.model,
                                                             "previous_text": variant == "server+prompt"}}
                    t0 = time.monotonic()
                    text = transcribe(pcm, lang, tx, mode == "live", args.work / f"{audio.stem}-{mode}-{variant}")
                    row.append(f"{variant} {100 * wer(reference, text, lang):.1f} % ({time.monotonic() - t0:.0f} s)")
                print(" ".join(row), flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
