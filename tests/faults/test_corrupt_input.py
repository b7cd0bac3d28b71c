"""Corrupt inputs: each goes to failed/ with the reason, the pipeline goes on, status and report say so.

Real files through real processes: a session folder holding the demo meeting's
batches, some of them broken the ways disks and people break them, resumed with
`supervisor.py resume` (capture, transcriber and summarizer as OS processes).
"""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from stages.models import FailedNote, SessionManifest
from stages.spool import Session
from tests.conftest import DEMO_EN, run_cli
from tests.faults.chaos import segments_of, torn_json
from tests.faults.conftest import Observed, copy_session
from tests.speech import wer
from tests.spoolkit import make_session

pytestmark = pytest.mark.slow


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # header intact, half the frames gone


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def wrong_rate(path: Path) -> None:
    """A well-formed WAV, but 44.1 kHz: what a user's own recording dropped in audio/ would be."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.zeros((441000, 2), dtype="<i2").tobytes())


def random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 200_000, dtype=np.uint8).tobytes())


BREAKS = {3: (truncate, "truncated"), 5: (zero_bytes, "empty file"), 7: (wrong_rate, "sample rate 44100 Hz"),
          9: (random_bytes, "not a readable WAV")}


def clock(seconds: float) -> str:
    return f"{int(seconds) // 3600:02d}:{int(seconds) % 3600 // 60:02d}:{int(seconds) % 60:02d}"


def notes(session: Session) -> dict[str, FailedNote]:
    return {n.file: n for n in session.failures()}


@pytest.fixture(scope="module")
def broken_audio(clean_demo: Observed, tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, str]:
    """A session whose audio/ holds the demo's 16 batches with 4 of them broken, resumed to its report."""
    root = tmp_path_factory.mktemp("corrupt") / "20260101-0900-corrupt-audio"
    session = make_session(root, sources=["system"], language="en", source=f"file:{DEMO_EN}",
                           summarize={"llm": "offline"})
    for src in clean_demo.session.audio.glob("[0-9]*.*"):
        shutil.copy(src, session.audio / src.name)
    for index, (breaker, _) in BREAKS.items():
        breaker(session.wav_path(index))
    result = run_cli("resume", str(session.path), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return session, result.stdout + result.stderr


def test_each_broken_batch_is_quarantined_with_its_reason(broken_audio: tuple[Session, str]) -> None:
    session, _ = broken_audio
    found = notes(session)
    for index, (_, reason) in BREAKS.items():
        for name in (f"{index:06d}.wav", f"{index:06d}.json"):
            assert (session.failed / name).is_file(), name  # moved, never deleted
            note = found[name]
            assert note.stage == "transcribe" and reason in note.reason, note
            assert (note.start, note.end) == (10.0 * (index - 1), 10.0 * index)
        assert not session.wav_path(index).exists()
    assert (session.failed / "000005.wav").stat().st_size == 0  # the evidence is kept as it was
    assert session.quarantined_batches() == sorted(BREAKS)


def test_the_pipeline_goes_on_around_the_gaps(broken_audio: tuple[Session, str], clean_demo: Observed) -> None:
    session, _ = broken_audio
    good = [i for i in range(1, 17) if i not in BREAKS]
    assert session.audio_batches() == good
    assert session.transcribed_batches() == good  # one transcript per usable batch, none for the broken ones
    assert session.transcript_end() is not None and (session.report / "END.json").is_file()
    segments = [s for segs in segments_of(session).values() for s in segs]
    assert len(segments) > 15
    for s in segments:  # no text is made up for audio that was never read
        assert not any(10 * (i - 1) <= s["start"] < 10 * i for i in BREAKS), s
    # batches 10-16 are one unbroken run after the last gap: about the text of the clean run (not
    # exactly: the windows start at the gap instead of where the clean run's cursor was)
    def after_gaps(sess: Session) -> str:
        return " ".join(s["text"] for segs in segments_of(sess).values() for s in segs if s["start"] >= 100.0)

    assert wer(after_gaps(clean_demo.session), after_gaps(session), "en") < 0.1
    assert torn_json(session.path) == []


def test_status_shows_the_quarantined_files(broken_audio: tuple[Session, str]) -> None:
    session, _ = broken_audio
    status = run_cli("status", str(session.path))
    assert status.returncode == 0, status.stderr
    text = " ".join(status.stdout.split())
    for index, (_, reason) in BREAKS.items():
        assert f"failed/{index:06d}.wav: audio batch {index:06d} unusable" in text
        assert reason in text


def test_the_report_names_each_gap_with_its_times(broken_audio: tuple[Session, str]) -> None:
    session, _ = broken_audio
    md = (session.report / "final.md").read_text(encoding="utf-8")
    html = (session.report / "final.html").read_text(encoding="utf-8")
    gaps = json.loads((session.report / "final.json").read_text(encoding="utf-8"))["gaps"]
    assert [(g["start"], g["end"]) for g in gaps] == [(10.0 * (i - 1), 10.0 * i) for i in sorted(BREAKS)]
    for index in BREAKS:
        line = f"audio not transcribed from {clock(10 * (index - 1))} to {clock(10 * index)}"
        assert line in md and line in html


@pytest.fixture(scope="module")
def torn_transcript(clean_demo: Observed, tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, str]:
    """The demo session cut back to batch 8, whose transcript file is torn in half, then resumed."""
    session = copy_session(clean_demo.session, tmp_path_factory.mktemp("torn") / "20260101-1000-torn-transcript")
    for index in range(9, 17):
        session.transcript_path(index).unlink()
    session.transcript_end_path.unlink()
    shutil.rmtree(session.report)
    shutil.rmtree(session.summaries)
    manifest: SessionManifest = session.manifest()
    manifest.state = "interrupted"
    session.write_manifest(manifest)
    torn = session.transcript_path(8)
    text = torn.read_text(encoding="utf-8")
    torn.write_text(text[: len(text) // 2], encoding="utf-8")  # what an editor crash or a bad copy leaves
    result = run_cli("resume", str(session.path), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return session, text[: len(text) // 2]


def test_a_hand_broken_transcript_is_quarantined_and_redone(torn_transcript: tuple[Session, str],
                                                            clean_demo: Observed) -> None:
    """The transcriber needs batch 8's file to resume: it quarantines it and rebuilds it from batch 7's state."""
    session, torn = torn_transcript
    note = notes(session)["000008.json"]
    assert note.stage == "transcribe" and "transcript file unreadable" in note.reason
    assert (session.failed / "000008.json").read_text(encoding="utf-8") == torn  # kept as evidence
    assert segments_of(session) == segments_of(clean_demo.session)  # same text as if nothing had happened
    assert session.transcribed_batches() == list(range(1, 17))
    assert (session.report / "END.json").is_file()
    status = run_cli("status", str(session.path))
    assert "failed/000008.json: transcript file unreadable" in " ".join(status.stdout.split())


def test_the_report_has_the_redone_batch_and_no_gap(torn_transcript: tuple[Session, str],
                                                     clean_demo: Observed) -> None:
    session, _ = torn_transcript
    report = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    clean = json.loads((clean_demo.session.report / "transcript.json").read_text(encoding="utf-8"))
    assert report == clean
    assert "Missing passages" not in (session.report / "final.md").read_text(encoding="utf-8")
