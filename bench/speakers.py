"""Who said what: speaker error, speakers found, CPU and memory of the speaker labels, per meeting.

    python -m bench.speakers                       # every meeting of bench/speakers_data.py (~40 min)
    python -m bench.speakers --only asterisk       # meetings whose name contains a word
    python -m bench.speakers --set tuning          # the meetings the thresholds were chosen on (or held-out)
    python -m bench.speakers --replay              # re-cluster the stored voices (no Whisper): tuning
    python -m bench.speakers --long 120            # the labeller alone on a 2-hour meeting: memory, CPU
    python -m bench.speakers --labeller-only --only 40min   # the labeller alone on true turns

Each meeting is captured into a session as an imported file (one mixed channel: the system
channel), then the real transcriber stage runs on it (`python -m stages.transcribe --no-wait`),
speakers on: Whisper's system segments get live labels as their files are written and final ones
from the pass at the end (transcript/speakers.json). Scored against who really spoke when, every
10 ms of speech that a segment covers: speaker error = share of that time whose label is not
the truth's speaker after the best one-to-one mapping of labels to people; "found" = labels
holding at least 2 % of the speech (the count a reader sees) and all labels. CPU = live labelling +
final pass (the stage's own count), as a share of the meeting's duration; peak RSS = the whole
transcriber (Whisper included). Meetings marked held-out were not looked at while choosing the
thresholds (stages/speakers/cluster.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, machine
from bench.speakers_data import DATA, MEETINGS, Meeting, ensure, truth_of
from bench.speakers_score import Spans, names_checked, score
from stages.config import PipelineConfig
from stages.models import SpeakerLabels, TranscriptBatch
from stages.sessions import create
from stages.speakers import cluster, labels
from stages.spool import Session, read_model

SPOOL = DATA / "spool"
RATE = 16000


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return float(w.getnframes() / w.getframerate())


def capture(m: Meeting, wav: Path) -> Session:
    """The meeting as an imported file's batches, in a session of its own (made once)."""
    folder = SPOOL / m.name
    if (folder / "audio" / "END.json").exists():
        return Session(folder)
    shutil.rmtree(folder, ignore_errors=True)
    cfg = PipelineConfig()
    cfg.session.spool, cfg.session.source = str(SPOOL), f"file:{wav}"
    cfg.session.language = m.lang
    session = create(cfg, m.name)
    if session.path != folder:
        session.path.rename(folder)
        session = Session(folder)
    subprocess.run([sys.executable, "-m", "stages.capture", str(folder)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return session


def transcribe(session: Session) -> tuple[float, float]:
    """Run the transcriber stage afresh; (CPU seconds, peak RSS MiB) of the whole stage."""
    shutil.rmtree(session.transcript, ignore_errors=True)
    session.transcript.mkdir()
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1")
    proc = subprocess.Popen([sys.executable, "-m", "stages.transcribe", str(session.path), "--no-wait"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if sys.platform == "win32":
        raise SystemExit("this benchmark reads the stage's CPU time with os.wait4 (POSIX only)")
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        sys.exit(f"the transcriber failed on {session.path} (status {status})")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def system_segments(session: Session) -> list[tuple[str, int, float, float, str, str | None]]:
    """(file, index, start, end, live label, voice) of every labelled system segment."""
    out = []
    for index in session.transcribed_batches():
        doc = read_model(session.transcript_path(index), TranscriptBatch)
        for i, seg in enumerate(doc.segments if doc else []):
            if seg.channel == "system" and seg.text.strip():
                out.append((f"{index:06d}", i, seg.start, seg.end, seg.speaker, seg.voice))
    return out


def replay(session: Session, **params: float) -> tuple[Spans, Spans]:
    """Live and final labels again from the stored voices, with other thresholds (no Whisper, no embeddings):
    the labeller's steps (assign, regroup every REFINE_EVERY files, final pass) on the segments of the files."""
    rows = system_segments(session)
    online = cluster.Online(**{k: v for k, v in params.items() if k in ("join", "new", "new_min_s", "refine_small_s")})  # type: ignore[arg-type]
    heard: list[tuple[np.ndarray, float]] = []
    live, vectors, seconds, lives, spans = [], [], [], [], []
    last = None
    for k, (key, _, start, end, _, voice) in enumerate(rows):
        if voice:
            v = cluster.decode(voice)
            number = online.assign(v, end - start)
            heard.append((v, end - start))
            vectors.append(v)
            seconds.append(end - start)
            lives.append(number)
        else:
            number = last if last is not None else online.next_number
        last = number
        live.append((start, end, labels.label(number, "en")))
        spans.append((start, end, voice is not None))
        closing = k + 1 == len(rows) or rows[k + 1][0] != key
        if closing and int(key) % cluster.REFINE_EVERY == 0 and not params.get("no_refine"):
            online.refine(np.stack([v for v, _ in heard]), np.array([s for _, s in heard]))
    finals = cluster.in_order(cluster.final(np.stack(vectors), np.array(seconds), lives, **{
        k: v for k, v in params.items() if k in ("threshold", "merge", "small_share", "small_s")}))
    it = iter(finals)
    final = [(s, e, labels.label(next(it), "en") if has else live[i][2]) for i, (s, e, has) in enumerate(spans)]
    return live, final


def stored_labels(session: Session) -> tuple[Spans, Spans, SpeakerLabels]:
    rows = system_segments(session)
    final = read_model(session.speakers_path, SpeakerLabels)
    assert final is not None, f"{session.speakers_path} missing"
    live = [(s, e, lab) for _, _, s, e, lab, _ in rows]
    fin = [(s, e, final.labels[f][i]) for f, i, s, e, _, _ in rows]
    return live, fin, final


def run(meetings: list[Meeting], again: bool, replay_params: dict[str, float] | None) -> list[dict[str, Any]]:
    results = []
    for m in meetings:
        wav = ensure(m)
        duration = wav_seconds(wav)
        session = capture(m, wav)
        cpu_stage = rss = None
        if replay_params is None and (again or not session.speakers_path.exists()):
            cpu_stage, rss = transcribe(session)
        # labels from the stored voices with today's code: the labeller's steps, so a threshold changed after
        # the run needs no new Whisper pass (the run's own labels are in the files and speakers.json)
        live, final = replay(session, **(replay_params or {}))
        spk_cpu = None
        if replay_params is None:
            _, _, doc = stored_labels(session)
            spk_cpu = doc.live_cpu_seconds + doc.final_cpu_seconds
        truth = truth_of(m)
        s_live, s_final = score(truth, live, duration), score(truth, final, duration)
        right, made = names_checked(session, final, truth)
        row = {"meeting": m.name, "kind": m.kind, "held_out": m.held_out, "same_voice": m.same_voice,
               "minutes": round(duration / 60, 1), "truth": s_final.truth, "found": s_final.found,
               "found_all": s_final.found_all, "error_final": round(100 * s_final.error, 1),
               "error_live": round(100 * s_live.error, 1), "found_live": s_live.found_all,
               "covered": round(100 * s_final.covered, 1), "names_right": right, "names_made": made,
               "speaker_cpu_rt": round(spk_cpu / duration, 4) if spk_cpu is not None else None,
               "stage_cpu_s": round(cpu_stage, 1) if cpu_stage else None, "peak_rss_mib": round(rss) if rss else None}
        results.append(row)
        print(json.dumps(row), flush=True)
    return results


def labeller_only(m: Meeting) -> dict[str, Any]:
    """The labeller alone, in-process, on a meeting whose segments are who spoke when (no Whisper):
    RSS and CPU every 10 minutes of meeting, then the final pass and its speaker error."""
    import psutil

    from stages import atomic
    from stages.models import Segment
    from stages.speakers.embed import Embedder
    from stages.speakers.labeller import Labeller
    from stages.speakers.weights import load_onnx
    from stages.spool import now_iso
    from tests.spoolkit import make_session

    wav = ensure(m)
    truth = truth_of(m)
    folder = SPOOL / f"labeller-only-{m.name}"
    shutil.rmtree(folder, ignore_errors=True)
    session = make_session(folder, language="en")
    proc = psutil.Process()
    labeller = Labeller(session, lambda: "en", Embedder(load_onnx()))
    t0 = time.process_time()
    rss: list[float] = []
    with wave.open(str(wav)) as source:
        seconds = source.getnframes() / RATE

        def audio_between(a: float, z: float) -> np.ndarray:  # read from the file: the meeting is not in memory
            source.setpos(int(a * RATE))
            return np.frombuffer(source.readframes(int((z - a) * RATE)), dtype=np.int16).astype(np.float32) / 32768

        for b in range(int(seconds / 10) + 1):
            start, end = b * 10.0, (b + 1) * 10.0
            segs = [Segment(start=float(t["start"]), end=float(t["end"]), channel="system", speaker="Others",
                            text="...") for t in truth if start <= float(t["start"]) < end]
            doc = TranscriptBatch(batch=b + 1, start=start, end=end, segments=segs, state={}, model="none",
                                  language="en", transcribed_at=now_iso())
            atomic.write_json(session.transcript_path(b + 1), labeller.label(doc, audio_between))
            if b % 60 == 59:
                rss.append(proc.memory_info().rss / 2**20)
                print(f"  {end / 60:5.0f} min  RSS {rss[-1]:.0f} MiB  CPU {time.process_time() - t0:.0f} s", flush=True)
    began = time.monotonic()
    labeller.finish()
    final_wall = time.monotonic() - began
    final = read_model(session.speakers_path, SpeakerLabels)
    assert final is not None
    spans = []
    for index in session.transcribed_batches():
        doc2 = read_model(session.transcript_path(index), TranscriptBatch)
        spans += [(seg.start, seg.end, final.labels[f"{index:06d}"][i]) for i, seg in enumerate(doc2.segments)] \
            if doc2 else []
    live_spans = []
    for index in session.transcribed_batches():
        doc2 = read_model(session.transcript_path(index), TranscriptBatch)
        live_spans += [(seg.start, seg.end, seg.speaker) for seg in doc2.segments] if doc2 else []
    sc, live = score(truth, spans, seconds), score(truth, live_spans, seconds)
    row = {"meeting": m.name, "minutes": round(seconds / 60, 1), "truth": sc.truth, "found": sc.found,
           "found_all": sc.found_all, "error_final": round(100 * sc.error, 1), "error_live": round(100 * live.error, 1),
           "found_live": live.found_all, "live_cpu_rt": round(final.live_cpu_seconds / seconds, 4),
           "final_cpu_s": final.final_cpu_seconds, "final_wall_s": round(final_wall, 2),
           "rss_mib_every_10_min": [round(r) for r in rss], "end_rss_mib": round(proc.memory_info().rss / 2**20)}
    print(json.dumps(row), flush=True)
    return row


def owners() -> None:
    """Owners of the scripts' action items in the offline report, the other people told apart by voice or not.

    The hand-written meetings (../shared/meetings) and the test fixtures, with perfect labels
    (from the script): how often a task gets its real owner, by name or by that person's label."""
    import tempfile

    from bench.common import SHARED
    from stages.summarize.schema import FinalReport
    from stages.summarize.scripted import make_session, segments_of, write_transcript

    paths = [*sorted((SHARED / "meetings").glob("*.json")), *sorted((ROOT / "tests" / "fixtures").glob("summ*.json"))]
    scripts = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    options = {"interval_minutes": 2.0, "window_minutes": 1.0}
    for voices in (False, True):
        right = total = 0
        for script in scripts:
            with tempfile.TemporaryDirectory() as tmp:
                session = make_session(Path(tmp) / "s", script, summarize=options)
                write_transcript(session, script, voices=voices)
                subprocess.run([sys.executable, "-m", "stages.summarize", str(session.path)], cwd=ROOT, check=True,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1"))
                report = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
                turns = script["turns"]
                said = {seg.text: seg.speaker for seg in segments_of(script, voices=voices)}
                label_of = {t["speaker"]: said[" ".join(t["text"].split())] for t in turns}
                for item in script["truth"]["action_items"]:
                    total += 1
                    keys = [k.lower() for k in item["keywords"]]
                    found = [a for a in report.action_items if any(k in a.task.lower() for k in keys)]
                    label = label_of.get(item["owner"], "?") if voices else "?"  # "Others" says nobody
                    ok = any(a.owner in (item["owner"], label) for a in found)
                    right += ok
                    print(f"  voices={voices} {script['title'][:28]:28s} {item['task'][:40]:40s} "
                          f"truth {item['owner']:6s} named={item.get('owner_named', True)!s:5s} "
                          f"-> {[a.owner for a in found]} {'ok' if ok else ''}")
        print(f"voices={voices}: {right}/{total} action items with their real owner (name or label)")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table for BENCHMARKS.md: one line per meeting, tuning and held-out meetings apart."""
    head = ("| meeting | min | people | found (final) | error final | error live | found live | speech labelled |"
            " speaker CPU (x real time) | transcriber peak RSS | names right/made |\n" + "|---" * 11 + "|")
    out = []
    for title, keep in (("Tuning set (thresholds chosen on these)", False), ("Held-out", True)):
        chosen = [r for r in rows if r["held_out"] == keep]
        if not chosen:
            continue
        out += [f"**{title}**", "", head]
        for r in chosen:
            cpu = f"{r['speaker_cpu_rt']:.4f}" if r.get("speaker_cpu_rt") is not None else "-"
            rss = f"{r['peak_rss_mib']} MiB" if r.get("peak_rss_mib") else "-"
            out.append(f"| {r['meeting']} | {r['minutes']} | {r['truth']} | {r['found']} | {r['error_final']} % | "
                       f"{r['error_live']} % | {r['found_live']} | {r['covered']} % | {cpu} | {rss} | "
                       f"{r['names_right']}/{r['names_made']} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=[], help="meetings whose name contains one of these words")
    parser.add_argument("--set", choices=["tuning", "held-out", "all"], default="all",
                        help="the meetings thresholds were chosen on, the others, or both")
    parser.add_argument("--again", action="store_true", help="transcribe again even when a result exists")
    parser.add_argument("--replay", nargs="*", metavar="KEY=VALUE",
                        help="re-cluster stored voices with these thresholds (join, new, new_min_s, threshold, "
                             "small_share, small_s)")
    parser.add_argument("--long", type=float, help="minutes of a real-voice meeting for a labeller-only run")
    parser.add_argument("--labeller-only", action="store_true",
                        help="run the labeller alone on the chosen meetings' true turns (no Whisper)")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--owners", action="store_true", help="action-item owners with and without voice labels")
    parser.add_argument("--table", nargs="*", type=Path, help="print the Markdown table of these row files")
    args = parser.parse_args()
    print(machine(), "| load", os.getloadavg()[0] if hasattr(os, "getloadavg") else "?", flush=True)
    if args.long:
        labeller_only(Meeting(f"asterisk-auto-4spk-{args.long:g}min-s99", "asterisk", "auto", 4, args.long, 99, True))
        return
    if args.owners:
        owners()
        return
    if args.table:
        print(markdown([r for f in args.table for r in json.loads(f.read_text(encoding="utf-8"))]))
        return
    chosen = [m for m in MEETINGS if (any(w in m.name for w in args.only) if args.only
                                      else args.labeller_only or m.minutes < 30)  # long ones: the labeller alone
              and (args.set == "all" or m.held_out == (args.set == "held-out"))]
    if args.labeller_only:
        found = [labeller_only(m) for m in chosen]
        if args.json:
            args.json.write_text(json.dumps(found, indent=1), encoding="utf-8")
        return
    params = None if args.replay is None else {k: float(v) for k, v in (p.split("=") for p in args.replay)}
    rows = run(chosen, args.again, params)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(markdown(rows))


if __name__ == "__main__":
    main()
