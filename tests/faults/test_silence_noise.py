"""Silence and noise make no text; long pauses in speech neither grow the lag nor break the seams.

Ten minutes of digital silence and ten of pink noise go through `supervisor.py up`
like any import. The pauses test replays the demo meeting with two 45-second
silences inserted between turns, batch by batch at several times real time, to a
real transcriber process, and records for every transcript file how many audio
batches had landed when it appeared (the lag, in batches).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from stages import atomic
from stages.models import AudioEnd
from stages.spool import Session, now_iso
from tests.conftest import DEMO_EN, ROOT, run_cli
from tests.faults.chaos import cli_env, segments_of
from tests.faults.conftest import Observed
from tests.speech import demo_script, longest_miss, make_noise, make_silence, reference_text, wer
from tests.spoolkit import decode_16k, make_session, write_batches

pytestmark = pytest.mark.slow
RATE = 16000
MAX_MISSED_RUN = 6  # reference words in a row: Whisper mishears a word or two; the lost sentence is 27
EMPTY_LISTS = ("key_points", "decisions", "action_items", "open_questions", "highlights")


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_ten_minutes_without_speech_make_no_text_and_no_summary(kind: str, tmp_path: Path) -> None:
    audio = tmp_path / f"{kind}.wav"
    if kind == "silence":
        make_silence(audio, 600.0)
    else:
        make_noise(audio, 600.0, level_dbfs=-30.0, color="pink", seed=5)
    spool = tmp_path / "spool"
    result = run_cli("up", "--name", kind, "--source", f"file:{audio}", "--language", "en", "--llm", "offline",
                     "--spool", str(spool), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    (session,) = [Session(p) for p in spool.iterdir()]
    assert len(session.audio_batches()) == 60 and session.transcribed_batches() == session.audio_batches()
    assert all(segs == [] for segs in segments_of(session).values())
    assert json.loads((session.report / "transcript.json").read_text(encoding="utf-8")) == []
    report = json.loads((session.report / "final.json").read_text(encoding="utf-8"))
    assert report["summary"].strip() == "" and all(report[k] == [] for k in EMPTY_LISTS), report
    assert report["gaps"] == []
    for chunk in session.summaries.glob("chunk_*.json"):
        data = json.loads(chunk.read_text(encoding="utf-8"))
        assert all(not data.get(k) for k in ("summary", *EMPTY_LISTS)), chunk.name


def with_pauses(pause_s: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The demo meeting with `pause_s` of silence after its first and second thirds (cut between turns)."""
    pcm = decode_16k(DEMO_EN)
    turns = demo_script("en")["turns"]
    cuts = [round((turns[i]["end"] + turns[i + 1]["start"]) / 2 * RATE) for i in (len(turns) // 3, 2 * len(turns) // 3)]
    parts, pauses, last = [], [], 0
    for cut in cuts:
        parts.append(pcm[last:cut])
        start = sum(len(p) for p in parts) / RATE
        parts.append(np.zeros(round(pause_s * RATE), dtype=np.int16))
        pauses.append((start, start + pause_s))
        last = cut
    parts.append(pcm[last:])
    return np.concatenate(parts), pauses


def runnable(pid: int) -> bool:
    """Is any thread of the process running or waiting for a CPU (state R)?

    CPU time alone cannot tell idle from starved: on a loaded machine a transcriber in the
    middle of a decode may get no CPU for a second and look idle.
    """
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] == "R":
            return True
    return False


def wait_until_idle(pid: int, quiet_s: float = 0.6, timeout_s: float = 600.0) -> None:
    """Wait until the process has been asleep, using no CPU, for `quiet_s`: it has done what the audio allows."""
    proc = psutil.Process(pid)
    deadline = time.monotonic() + timeout_s
    used, quiet_since = sum(proc.cpu_times()[:2]), time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        assert time.monotonic() < deadline, "the transcriber never went idle"
        time.sleep(0.1)
        now = sum(proc.cpu_times()[:2])
        if now - used > 0.02 or runnable(pid):
            quiet_since = time.monotonic()
        used = now


def test_long_pauses_neither_grow_the_lag_nor_break_the_seams(clean_demo: Observed, tmp_path: Path) -> None:
    audio, pauses = with_pauses(45.0)
    session = make_session(tmp_path / "20260101-1500-pauses", sources=["system"], language="en")
    log = (tmp_path / "transcribe.log").open("wb")
    stage = subprocess.Popen([sys.executable, "-m", "stages.transcribe", str(session.path)], cwd=ROOT,
                             env=cli_env({"PYTHONPATH": str(ROOT)}), stdout=log, stderr=subprocess.STDOUT)
    lag: dict[int, int] = {}
    done = threading.Event()

    def watch() -> None:  # when each transcript file appears, how many batches had landed
        while not done.is_set():
            landed = len(session.audio_batches())
            for index in session.transcribed_batches():
                lag.setdefault(index, landed - index)
            time.sleep(0.02)

    deadline = time.monotonic() + 60
    while "model base" not in (tmp_path / "transcribe.log").read_text(encoding="utf-8"):  # model loaded
        assert time.monotonic() < deadline and stage.poll() is None
        time.sleep(0.1)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    step = 10 * RATE
    count = (len(audio) + step - 1) // step
    for i in range(count):
        write_batches(session, None, audio[i * step:(i + 1) * step], first_index=i + 1, start=i * 10.0, end=False)
        wait_until_idle(stage.pid)  # the lag then counts the batches the windowing needs, whatever the CPU speed
    atomic.write_json(session.audio_end_path, AudioEnd(last_batch=count, reason="test", ended_at=now_iso()))
    assert stage.wait(timeout=300) == 0, (tmp_path / "transcribe.log").read_text(encoding="utf-8")
    done.set()
    watcher.join()

    print("lag in batches:", dict(sorted(lag.items())))
    in_pause = {i for i in range(1, count + 1) for a, b in pauses if a <= (i - 1) * 10.0 and i * 10.0 <= b}
    speech_lag = [lag[i] for i in lag if i not in in_pause and i < count - 1]
    pause_lag = [lag[i] for i in in_pause]
    assert len(in_pause) >= 6 and len(speech_lag) >= 12
    # a transcript file appears within a few batches, through pauses as through speech, and no worse after them
    assert max(pause_lag) <= max(speech_lag), (lag, sorted(in_pause))
    assert max(lag.values()) <= 3, lag
    after = [lag[i] for i in lag if i not in in_pause and i * 10.0 > pauses[-1][1] and i < count - 1]
    before = [lag[i] for i in lag if i not in in_pause and i * 10.0 < pauses[0][0]]
    assert max(after) <= max(before) + 1, lag
    # the seams: the text is as good as the uninterrupted meeting's, nothing said twice or lost
    text = " ".join(s["text"] for segs in segments_of(session).values() for s in segs)
    clean = " ".join(s["text"] for s in json.loads((clean_demo.session.report / "transcript.json").read_text(
        encoding="utf-8")))
    reference = reference_text("en")
    errors, clean_errors = wer(reference, text, "en"), wer(reference, clean, "en")
    missed, clean_missed = longest_miss(reference, text, "en"), longest_miss(reference, clean, "en")
    print(f"WER with pauses {errors:.4f}, without {clean_errors:.4f}; most words missed in a row {missed}, "
          f"without {clean_missed}")
    assert errors <= clean_errors + 0.02, (text, clean)
    assert missed <= MAX_MISSED_RUN, text  # no sentence lost, whatever the CPU
    for a, b in pauses:
        assert not [s for segs in segments_of(session).values() for s in segs if a + 1.0 < s["start"] < b - 1.0]
