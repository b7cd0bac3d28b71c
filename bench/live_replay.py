"""The live window rule without waiting for real time: lag and WER per variant, in minutes.

    python -m bench.live_replay                          # fr:1, fr:2, en:1, 15 minutes, two waits, ~30 min
    python -m bench.live_replay --meetings fr:2 --variant 'w15:min_window_s=15'
    python -m bench.live_replay --recordings fr-kokoro-s42 --variant 'none:live_lead_s=0' --variant 'lead:'

A paced run takes as long as the meeting. Here the real transcriber (the stage's `Transcription`
and `Engine`, live) gets a captured meeting's batches one at a time, each once a simulated clock
reaches the moment it lands in a live run (its end in the meeting); the clock advances by the
real time each step takes on this machine. So the calls are the windows a live run would make,
decoded for real, and each batch's lag is the clock when its transcript file is written minus
when it landed: the paced run's lag, minus what slows a real meeting (the LLM, capture, the
machine's drift). Prints WER, the calls (how many, mean seconds, how many over 10 s) and the lag per batch.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import percentile, wer
from bench.decode_options import captured_meetings, text_of, variant_cli
from stages.config import PipelineConfig, TranscribeConfig
from stages.models import BatchMeta
from stages.spool import Session, read_model
from stages.transcribe.engine import Engine
from stages.transcribe.pieces import Decoded
from stages.transcribe.stage import Transcription
from stages.wavio import RATE, Audio

SLOW_S = 10.0  # calls slower than this are listed on stderr with their text

VARIANTS: dict[str, dict[str, object]] = {
    "20 s": {"min_window_s": 20.0},
    "10 s (pipeline.toml)": {},
}


# what the engine was given: audio, offset, prompt, open end, lead, the words said before it
Call = tuple[Audio, float, list[int] | None, bool, float, list[str] | None]


def replay(base: Session, work: Path, overrides: dict[str, object],
           record: list[Call] | None = None) -> tuple[Session, list[float], list[float]]:
    """(session, lag per batch, seconds per call) of a simulated live run on a copy of `base`; the calls made
    are appended to `record` (bench.fixed_calls decodes them again)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base.path, work, ignore=shutil.ignore_patterns("transcript", "audio", "*.lock"))
    session = Session(work)
    session.ensure_layout()
    manifest = session.manifest()
    cfg = TranscribeConfig.model_validate({**PipelineConfig().transcribe.model_dump(), **overrides})
    engine = Engine(cfg, manifest.language, live=True)

    def transcribe(audio: Audio, offset: float, prompt: list[int] | None = None, open_end: bool = False,
                   lead: float = 0.0, said: list[str] | None = None) -> Decoded:
        if record is not None:
            record.append((audio.copy(), offset, list(prompt) if prompt else None, open_end, lead, said))
        t0 = time.monotonic()
        decoded = engine.transcribe(audio, offset, prompt, open_end, lead, said)
        if (spent := time.monotonic() - t0) > SLOW_S:
            print(f"  slow call: {offset:.0f} s + {len(audio) / RATE:.1f} s took {spent:.1f} s: "
                  + " | ".join(f"{p.text[:60]!r}" for p in decoded.pieces), file=sys.stderr, flush=True)
        return decoded

    job = Transcription(session, cfg, list(manifest.sources), transcribe,
                        lambda: engine.language or manifest.language, cfg.model, live=True)
    arrivals = []
    for index in base.audio_batches():
        meta = read_model(base.meta_path(index), BatchMeta)
        assert meta is not None
        arrivals.append((meta.start + meta.duration, index))
    landed: dict[int, float] = {}
    lags: dict[int, float] = {}
    calls: list[float] = []
    clock, ended = 0.0, False
    while True:
        while arrivals and arrivals[0][0] <= clock:
            at, index = arrivals.pop(0)
            shutil.copy(base.meta_path(index), session.meta_path(index))
            shutil.copy(base.wav_path(index), session.wav_path(index))  # the WAV commits the batch
            landed[index] = at
        t0 = time.monotonic()
        worked = job.step()
        spent = time.monotonic() - t0
        clock += spent
        for index in session.transcribed_batches():
            lags.setdefault(index, clock - landed[index])
        if worked:
            calls.append(spent)
        elif arrivals:
            clock = max(clock, arrivals[0][0])
        elif not ended:
            shutil.copy(base.audio_end_path, session.audio_end_path)
            ended = True
        else:
            if recapped := getattr(engine.model, "recapped", 0):
                print(f"  {recapped} pass(es) reached the live token cap without a loop: decoded again in full",
                      file=sys.stderr, flush=True)
            return session, [lags[i] for i in sorted(lags)], calls


def main() -> None:
    args, variants = variant_cli(__doc__ or "", VARIANTS, "NAME:key=json;... of [transcribe]",
                                 "live windows replayed",
                                 ["WER", "calls", "mean call", "calls over 10 s", "lag p50", "p95", "max"])
    with tempfile.TemporaryDirectory() as tmp:
        for lang, label, base, reference in captured_meetings(args, Path(tmp) / "spool"):
            for name, overrides in variants.items():
                session, lags, calls = replay(Session(base), Path(tmp) / "work", overrides)
                print(f"| {label} | {name} | {100 * wer(reference, text_of(session), lang):.1f} % | "
                      f"{len(calls)} | {sum(calls) / len(calls):.1f} s | {sum(c > SLOW_S for c in calls)} | "
                      f"{percentile(lags, 0.5):.1f} s | {percentile(lags, 0.95):.1f} s | {max(lags):.1f} s |",
                      flush=True)


if __name__ == "__main__":
    main()
