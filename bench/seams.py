"""Seams benchmark: the live pipeline against one whole-file Whisper call and naive 10 s batches.

    python bench/seams.py                  # 20-minute English meeting, as fast as possible
    python bench/seams.py --realtime       # paced like a live meeting: the lag figures that matter
    python bench/seams.py --minutes 5 --lang fr
    python bench/seams.py --seed 2          # another generated meeting

Prints WER and real-time factor of each way, and the lag of every batch.
Needs ../shared/tools/meetingsynth.py (espeak-ng, sox) to make the meeting.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import wave
from pathlib import Path

from bench.common import batch_lags, machine, percentile, pipeline_text, run_pipeline, synth_meeting, wer


def whole_file(model: object, audio: Path, lang: str) -> tuple[str, float]:
    t0 = time.monotonic()
    segments, _ = model.transcribe(str(audio), language=lang, beam_size=5, vad_filter=True)  # type: ignore[attr-defined]
    text = " ".join(s.text for s in segments)
    return text, time.monotonic() - t0


def naive_batches(model: object, audio: Path, lang: str) -> tuple[str, float]:
    from faster_whisper import decode_audio

    samples = decode_audio(str(audio))
    t0 = time.monotonic()
    texts = []
    for i in range(0, len(samples), 160000):
        segments, _ = model.transcribe(samples[i:i + 160000], language=lang, beam_size=5,  # type: ignore[attr-defined]
                                       vad_filter=True)
        texts += [s.text for s in segments]
    return " ".join(texts), time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--model", default="base")
    parser.add_argument("--seed", type=int, default=1, help="which generated meeting (meetingsynth --seed)")
    parser.add_argument("--realtime", action="store_true", help="pace the file like a live meeting")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    from faster_whisper import WhisperModel

    from stages.transcribe.models import resolve

    audio, ref_path = synth_meeting(args.lang, args.minutes, args.seed)
    reference = ref_path.read_text(encoding="utf-8")
    with wave.open(str(audio)) as w:
        duration = w.getnframes() / w.getframerate()
    print(f"machine: {machine()}")
    print(f"meeting: {audio.name}, {duration / 60:.1f} min, model {args.model} int8 CPU")

    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--model", args.model, "--llm", "offline"] + (["--realtime"] if args.realtime else [])
        session, elapsed = run_pipeline(audio, args.lang, Path(tmp), *extra)
        pipe_wer = wer(reference, pipeline_text(session), args.lang)
        lags = batch_lags(session)

    model = WhisperModel(resolve(args.model), device="cpu", compute_type="int8")
    whole_text, whole_s = whole_file(model, audio, args.lang)
    whole_wer = wer(reference, whole_text, args.lang)

    print(f"\n{'way of transcribing':<36}{'RTF':>8}{'WER':>9}")
    print(f"{'whole file, one call':<36}{whole_s / duration:>8.3f}{whole_wer:>9.1%}")
    print(f"{'pipeline (3 processes, to report)':<36}{elapsed / duration:>8.3f}{pipe_wer:>9.1%}")
    if not args.skip_naive:
        naive_text, naive_s = naive_batches(model, audio, args.lang)
        naive_wer = wer(reference, naive_text, args.lang)
        print(f"{'naive fixed 10 s batches':<36}{naive_s / duration:>8.3f}{naive_wer:>9.1%}")
    print(f"\npipeline - whole file: {100 * (pipe_wer - whole_wer):+.1f} WER points"
          f"{' (pipeline RTF includes capture and report; paced runs are ~1.0 by design)' if args.realtime else ''}")

    mode = "paced like a live meeting" if args.realtime else "file imported at once: lag = time queued behind it"
    print(f"\nlag per batch (s from WAV on disk to final transcript file; {mode}), {len(lags)} batches:")
    for i in range(0, len(lags), 12):
        print("  " + " ".join(f"{x:5.1f}" for x in lags[i:i + 12]))
    print(f"lag p50 {percentile(lags, 0.5):.1f} s, p95 {percentile(lags, 0.95):.1f} s, "
          f"max {max(lags, default=0):.1f} s")


if __name__ == "__main__":
    main()
