"""The same imports transcribed by the local engine and through real Whisper servers: WER side by side.

    python -m bench.remote_parity AUDIO.wav[:REF.txt[:LANG]] ...      # default REF: AUDIO.ref.txt, LANG from fr-/en-
    python -m bench.remote_parity --servers open-asr-server a.wav b.wav

The transcriber stage (`python -m stages.transcribe`, import windows) runs once per engine on
the same batches; only the decode differs. The server gets the previous text as a string, where
the local engine conditions on Whisper's tokens: what that costs shows here.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from bench.common import ROOT, machine, wer
from stages.transcribe.models import resolve
from tests.asr_servers import KINDS, Server
from tests.conftest import run_stage
from tests.spoolkit import decode_16k, make_session, transcript_text, write_batches


def parse(item: str) -> tuple[Path, Path, str]:
    audio, *rest = item.split(":")
    path = Path(audio)
    ref = Path(rest[0]) if rest and rest[0] else path.with_suffix(".ref.txt")
    lang = rest[1] if len(rest) > 1 else ("fr" if path.name.startswith("fr") else "en")
    return path, ref, lang


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote_parity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="+", help="AUDIO[:REF[:LANG]]")
    parser.add_argument("--servers", nargs="+", choices=sorted(KINDS), default=sorted(KINDS))
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "remote_parity")
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    servers = {name: Server(KINDS[name], resolve("base"), args.work / name).start() for name in args.servers}
    print(f"{machine()}", flush=True)
    try:
        for item in args.audio:
            audio, ref, lang = parse(item)
            pcm = decode_16k(audio)
            reference = ref.read_text(encoding="utf-8")
            row = [f"{audio.name} ({lang}, {len(pcm) / 16000 / 60:.1f} min)"]
            for engine in ["local", *servers]:
                server = servers.get(engine)
                tx = {} if server is None else {"engine": "openai", "openai": {
                    "base_url": server.url, "model": server.model, "local_fallback": False, "timeout_s": 600.0}}
                session = make_session(args.work / f"{audio.stem}-{engine}", sources=["system"], language=lang,
                                       source=f"file:{audio}", transcribe=tx)
                write_batches(session, None, pcm)
                t0 = time.monotonic()
                result = run_stage("transcribe", session.path, timeout=3600)
                if result.returncode != 0:
                    sys.exit(f"{engine} on {audio.name} failed: {result.stderr[-2000:]}")
                error = wer(reference, transcript_text(session), lang)
                row.append(f"{engine} {100 * error:.1f} % ({time.monotonic() - t0:.0f} s)")
            print(" | ".join(row), flush=True)
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
