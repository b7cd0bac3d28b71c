"""Random kill -9 against a whole meeting: every batch transcribed exactly once, the same text as a clean run.

    python -m bench.kill_harness --minutes 10 --kills 30 --seed 1

Generates an English meeting with ../shared/tools/meetingsynth.py (espeak-ng,
cached in bench/out/), runs it once through `supervisor.py up` without faults
(the reference), then again while killing a random live process (supervisor,
capture, transcriber, summarizer) at random moments, resuming the supervisor
when it is the one killed. Prints kills survived, batches lost and duplicated,
and whether transcript and report equal the clean run; exits 1 if anything failed.
The file is imported as fast as possible (capture is done within seconds, so
most kills land on the transcriber, the summarizer and the supervisor); the
first kill hits capture while it writes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import OUT, machine, synth_meeting
from tests.faults import chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated meeting")
    parser.add_argument("--kills", type=int, default=30, help="kills to survive (at least)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill schedule")
    parser.add_argument("--gap", type=float, nargs=2, default=(0.2, 2.0), metavar=("MIN", "MAX"),
                        help="random seconds between two kills (they also wait for random progress)")
    parser.add_argument("--audio", type=Path, help="an English recording to use instead of a generated meeting")
    parser.add_argument("--realtime", action="store_true",
                        help="pace the file like a live meeting (capture stays a target all along)")
    parser.add_argument("--keep", action="store_true", help="keep the spool folders (printed)")
    args = parser.parse_args()
    audio = args.audio.resolve() if args.audio else synth_meeting("en", args.minutes, seed=1)[0]
    extra = ("--realtime",) if args.realtime else ()
    work = Path(tempfile.mkdtemp(prefix="kill-harness-", dir=OUT))
    os.environ["XDG_CONFIG_HOME"] = str(work / "profile")  # the first-run notice marker stays in here
    print(f"machine: {machine()}\naudio: {audio}{' (paced in real time)' if args.realtime else ''}; "
          f"work folder {work}", flush=True)
    clean, clean_s = chaos.run_clean(audio, work / "clean", "clean", work / "clean.log", extra=extra)
    print(f"clean run: {clean_s:.1f} s, {len(clean.audio_batches())} batches", flush=True)
    print(f"kills: {args.kills}, {args.gap[0]:g}-{args.gap[1]:g} s apart and at random progress; seed {args.seed}",
          flush=True)
    t0 = time.monotonic()
    run = chaos.chaos_run(audio, work / "chaos", "chaos", work / "chaos.log", args.kills, args.seed,
                          len(clean.audio_batches()), (args.gap[0], args.gap[1]), cover=True,
                          say=lambda line: print(line, flush=True), extra=extra)
    assert run.session is not None
    verdict = chaos.verify(run.session, clean)
    print("\n".join(chaos.describe(verdict, run)))
    print(f"faulty run {time.monotonic() - t0:.1f} s vs clean {clean_s:.1f} s")
    ok = verdict.ok and len(run.kills) >= args.kills
    if not args.keep and ok:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept: {work}")
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
