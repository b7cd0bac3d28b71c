"""Where a session's transcript differs from its generated meeting: WER per stretch, and the commonest errors.

    python -m bench.wer_report SESSION                      # meeting found by name in bench/out/
    python -m bench.wer_report SESSION --meeting bench/out/meeting-en-120min-s1-espeak --window 10

One WER figure says how much is wrong, not why. Per 10-minute stretch it shows whether errors
are spread evenly or start somewhere (Whisper conditioned on its own mistake); the commonest
substitutions show a word heard wrong again and again; repeated insertions show the same
text written twice. Needs the meeting's `.timeline.json` from meetingsynth (bench/out/).
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Any

from bench.common import OUT, wer
from stages.models import TranscriptBatch
from stages.spool import Session
from tests.speech import normalise


def spoken(timeline: list[dict[str, Any]], start: float, end: float) -> str:
    return " ".join(u["text"] for u in timeline if start <= u["start"] < end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("session", type=Path)
    parser.add_argument("--meeting", type=Path, help="stem of the meeting's files (default: bench/out/SESSION-NAME)")
    parser.add_argument("--window", type=float, default=10, help="minutes per stretch")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    session = Session(args.session)
    manifest = session.manifest()
    lang = manifest.language
    stem = args.meeting or OUT / manifest.name
    timeline = json.loads(stem.with_suffix(".timeline.json").read_text(encoding="utf-8"))
    segments = [s for i in session.transcribed_batches()
                for s in TranscriptBatch.model_validate_json(session.transcript_path(i).read_bytes()).segments]

    def said(start: float, end: float) -> str:
        return " ".join(s.text for s in segments if start <= s.start < end)

    end = max(u["end"] for u in timeline)
    step = args.window * 60
    ref_all, hyp_all = normalise(spoken(timeline, 0, end + 1), lang), normalise(said(0, end + 1), lang)
    print(f"{args.session.name}: {len(segments)} segments, WER {100 * wer(ref_all, hyp_all, lang):.1f} %")
    for k in range(int(end // step) + 1):
        a, b = k * step, (k + 1) * step
        ref = spoken(timeline, a, b)
        if ref:
            print(f"  {a / 60:5.0f}-{b / 60:<5.0f} min  WER {100 * wer(ref, said(a, b), lang):5.1f} %  "
                  f"({len(normalise(ref, lang).split())} words said)")

    import jiwer

    out = jiwer.process_words(ref_all, hyp_all)
    ref_words, hyp_words = out.references[0], out.hypotheses[0]
    subs: collections.Counter[str] = collections.Counter()
    added: collections.Counter[str] = collections.Counter()
    lost: collections.Counter[str] = collections.Counter()
    for chunk in out.alignments[0]:
        r = ref_words[chunk.ref_start_idx:chunk.ref_end_idx]
        h = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type == "substitute":
            subs.update(f"{x} -> {y}" for x, y in zip(r, h, strict=True))
        elif chunk.type == "insert":
            added[" ".join(h)] += 1
        elif chunk.type == "delete":
            lost[" ".join(r)] += 1
    print(f"substitutions {out.substitutions}, deletions {out.deletions}, insertions {out.insertions} "
          f"of {len(ref_words)} words")
    for title, counter in (("substituted", subs), ("inserted", added), ("deleted", lost)):
        print(f"commonest {title}: " + "; ".join(f"{text} ({n})" for text, n in counter.most_common(args.top)))


if __name__ == "__main__":
    main()
