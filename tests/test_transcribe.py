"""The transcriber stage as a real process on real speech with the real base model."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from stages.config import TranscribeConfig
from stages.models import SpeakerLabels, TranscriptBatch
from stages.spool import Session, read_model
from stages.transcribe.bounded import LoopBoundedWhisper, LoopEnded
from stages.transcribe.models import resolve
from stages.transcribe.pieces import Decoded, Piece
from stages.transcribe.stage import Transcription
from stages.wavio import RATE
from tests.conftest import DEMO_EN, run_stage
from tests.speech import demo_script, normalise, reference_text, wer
from tests.spoolkit import decode_16k, make_session, transcript_text, write_batches

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_pcm() -> np.ndarray:
    return decode_16k(DEMO_EN)


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory: pytest.TempPathFactory, demo_pcm: np.ndarray) -> Session:
    session = make_session(tmp_path_factory.mktemp("spool") / "demo", sources=["system"], language="en")
    write_batches(session, None, demo_pcm)
    result = run_stage("transcribe", session.path)
    assert result.returncode == 0, result.stderr
    return session


def test_every_batch_has_exactly_one_transcript_and_the_text_is_right(transcribed: Session) -> None:
    assert transcribed.transcribed_batches() == transcribed.audio_batches()
    assert transcribed.transcript_end() is not None
    error = wer(reference_text("en"), transcript_text(transcribed), "en")
    assert error < 0.15, f"WER {error:.3f}"
    for index in transcribed.transcribed_batches():
        doc = TranscriptBatch.model_validate_json(transcribed.transcript_path(index).read_text(encoding="utf-8"))
        assert all(doc.start <= s.start < doc.end + 1e-3 for s in doc.segments)  # a segment lives in its batch
        assert all(re.fullmatch(r"Speaker \d", s.speaker) and s.channel == "system" for s in doc.segments)


def test_the_demo_s_three_voices_get_three_labels_before_the_end_marker(transcribed: Session) -> None:
    """Live labels in every file, the final pass in transcript/speakers.json, written before END.json."""
    final = read_model(transcribed.speakers_path, SpeakerLabels)
    assert final is not None and final.speakers == ["Speaker 1", "Speaker 2", "Speaker 3"]
    assert transcribed.speakers_path.stat().st_mtime_ns <= transcribed.transcript_end_path.stat().st_mtime_ns
    truth = demo_script("en")["turns"]
    said = right = 0.0
    mapping: dict[str, dict[str, float]] = {}
    for index in transcribed.transcribed_batches():
        doc = TranscriptBatch.model_validate_json(transcribed.transcript_path(index).read_text(encoding="utf-8"))
        for seg, label in zip(doc.segments, final.labels[f"{index:06d}"], strict=True):
            who = max(truth, key=lambda t: min(seg.end, t["end"]) - max(seg.start, t["start"]))["speaker"]
            mapping.setdefault(label, {}).setdefault(who, 0.0)
            mapping[label][who] += seg.end - seg.start
    said = sum(sum(v.values()) for v in mapping.values())
    right = sum(max(v.values()) for v in mapping.values())
    assert len({max(v, key=lambda k: v[k]) for v in mapping.values()}) == 3  # one label per person
    assert right / said >= 0.9, mapping


def test_a_deleted_transcript_file_comes_back_and_nothing_else_changes(transcribed: Session) -> None:
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in transcribed.transcript.iterdir()}
    victim = transcribed.transcript_path(5)
    old = json.loads(victim.read_text(encoding="utf-8"))
    victim.unlink()
    result = run_stage("transcribe", transcribed.path)
    assert result.returncode == 0, result.stderr
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in transcribed.transcript.iterdir()}
    assert set(after) == set(before)
    assert {k for k in after if after[k] != before[k]} == {"000005.json"}
    new = json.loads(victim.read_text(encoding="utf-8"))
    assert [s["text"] for s in new["segments"]] == [s["text"] for s in old["segments"]]


def music(seconds: float) -> np.ndarray:
    """Chords on a beat: three harmonic tones per chord, a new chord every half second."""
    t = np.arange(int(seconds * RATE)) / RATE
    roots = np.array([220.0, 261.6, 196.0, 174.6])[(t * 2).astype(int) % 4]
    tone = sum(np.sin(2 * np.pi * roots * ratio * t) * (0.5 ** k) for k, ratio in enumerate((1.0, 1.25, 1.5)))
    envelope = np.exp(-4 * ((t * 2) % 1))  # each chord struck, then fading
    return (tone * envelope * 0.2 * 32767).astype(np.int16)


def test_silence_noise_and_music_produce_no_text_and_no_speaker(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    silence = np.zeros(120 * 16000, dtype=np.int16)
    noise = (rng.normal(0, 0.03, 90 * 16000) * 32767).astype(np.int16)  # about -30 dBFS hiss
    session = make_session(tmp_path / "quiet", sources=["mic", "system"], language="fr")
    write_batches(session, silence, np.concatenate([noise, music(30), silence]))
    result = run_stage("transcribe", session.path)
    assert result.returncode == 0, result.stderr
    assert len(session.transcribed_batches()) == 24
    assert transcript_text(session) == ""
    final = read_model(session.speakers_path, SpeakerLabels)
    assert final is not None and final.speakers == []


def test_late_start_catches_up_with_several_batches_per_call(tmp_path: Path, demo_pcm: np.ndarray) -> None:
    session = make_session(tmp_path / "late", sources=["system"], language="en")
    last = write_batches(session, None, np.concatenate([demo_pcm, demo_pcm])[: 300 * 16000])
    assert last == 30  # 30 batches waiting before the transcriber starts
    result = run_stage("transcribe", session.path)
    assert result.returncode == 0, result.stderr
    calls = len(re.findall(r"system [\d.]+-[\d.]+ s: \d+ segment", result.stderr))
    assert session.transcribed_batches() == list(range(1, 31))
    assert calls <= 15, f"{calls} Whisper calls for 30 batches"


def test_mic_and_system_are_labelled_you_and_others(tmp_path: Path, demo_pcm: np.ndarray) -> None:
    half = 30 * 16000  # you speak for the first 30 s, the others after
    mic = demo_pcm.copy()
    mic[half:] = 0
    system = demo_pcm.copy()
    system[:half] = 0
    session = make_session(tmp_path / "duo", sources=["mic", "system"], language="en")
    write_batches(session, mic[: 60 * 16000], system[: 60 * 16000])
    assert run_stage("transcribe", session.path).returncode == 0
    segments = [s for i in session.transcribed_batches()
                for s in TranscriptBatch.model_validate_json(
                    session.transcript_path(i).read_text(encoding="utf-8")).segments]
    assert {s.speaker for s in segments if s.channel == "mic"} == {"You"}
    assert {s.speaker for s in segments if s.channel == "system"} <= {"Speaker 1", "Speaker 2", "Speaker 3"}
    assert all(s.start < half / 16000 + 1 for s in segments if s.channel == "mic")


def test_corrupt_batch_is_quarantined_and_the_rest_transcribed(tmp_path: Path, demo_pcm: np.ndarray) -> None:
    session = make_session(tmp_path / "corrupt", sources=["system"], language="en")
    write_batches(session, None, demo_pcm[: 40 * 16000])
    session.wav_path(2).write_bytes(b"RIFF\x00\x00garbage" * 10)
    result = run_stage("transcribe", session.path)
    assert result.returncode == 0, result.stderr
    assert session.transcribed_batches() == [1, 3, 4]
    notes = session.failures()
    assert notes and "000002" in notes[0].reason and notes[0].start == 10.0 and notes[0].end == 20.0
    assert (session.failed / "000002.wav").exists()


def test_a_call_ended_by_a_repetition_loop_resumes_where_its_text_stopped(tmp_path: Path,
                                                                         demo_pcm: np.ndarray) -> None:
    """The stage's side of a loop-ended call. A repetition loop cannot be provoked on demand with
    the real model, so the first call is scripted to end as one does (text to 4 s, the rest left)."""
    session = make_session(tmp_path / "s", sources=["system"], language="en")
    write_batches(session, None, demo_pcm[: 30 * RATE])
    calls: list[tuple[float, float]] = []

    def transcribe(audio: np.ndarray, offset: float, prompt: list[int] | None = None, **_: bool) -> Decoded:
        calls.append((offset, offset + len(audio) / RATE))
        if len(calls) == 1:
            return Decoded([Piece(offset + 0.5, offset + 4.0, "we ship we ship we ship", 0.9, (1, 2), True)], 4.0)
        return Decoded([Piece(offset, offset + len(audio) / RATE, f"call {len(calls)}", 0.9, (3,))])

    job = Transcription(session, TranscribeConfig(), ["system"], transcribe, lambda: "en", "base", live=True)
    while job.step():
        pass
    assert calls[1][0] == pytest.approx(calls[0][0] + 4.0)  # the next call starts where the loop's text ended
    assert session.transcribed_batches() == session.audio_batches()
    text = transcript_text(session)
    assert text.count("we ship") == 3 and text.index("we ship") < text.index("call 2")


def test_a_live_call_hears_the_final_audio_before_it_again_and_writes_each_word_once(tmp_path: Path,
                                                                                     demo_pcm: np.ndarray) -> None:
    """Live, batches land one by one and each call gets about 10 s of new audio. It hears up to
    `live_lead_s` of the final audio before it again, for context, and writes only what is new: the demo
    comes out right, with no word written twice where two calls meet."""
    import jiwer

    from stages.transcribe.engine import Engine

    session = make_session(tmp_path / "s", sources=["system"], language="en")
    cfg = TranscribeConfig(live_lead_s=20.0)
    engine = Engine(cfg, "en", live=True)
    leads: list[float] = []

    def transcribe(audio: np.ndarray, offset: float, prompt: list[int] | None = None, open_end: bool = False,
                   lead: float = 0.0, said: list[str] | None = None) -> Decoded:
        leads.append(lead)
        return engine.transcribe(audio, offset, prompt, open_end, lead, said)

    job = Transcription(session, cfg, ["system"], transcribe, lambda: "en", "base", live=True)
    step = 10 * RATE
    for k in range(0, len(demo_pcm), step):  # each batch lands once the calls before it are done
        write_batches(session, None, demo_pcm[k: k + step], first_index=k // step + 1, start=k / RATE,
                      end=k + step >= len(demo_pcm))
        while job.step():
            pass
    assert session.transcribed_batches() == session.audio_batches()
    assert sum(lead >= 1.0 for lead in leads) >= len(leads) // 2, leads
    text = transcript_text(session)
    assert wer(reference_text("en"), text, "en") < 0.15, text
    said = jiwer.process_words(normalise(reference_text("en"), "en"), normalise(text, "en"))
    assert said.insertions <= 3, text


def test_the_model_refuses_another_pass_only_when_armed_after_a_loop(demo_pcm: np.ndarray) -> None:
    model = LoopBoundedWhisper(str(resolve("base")), device="cpu", compute_type="int8")
    features = model.feature_extractor((demo_pcm[: 10 * RATE] / 32768).astype(np.float32))[:, :3000]
    model.begin_call()
    model.looped = True
    model.encode(features)  # not armed: the call has no text yet, faster-whisper goes on
    model.armed = True
    with pytest.raises(LoopEnded):
        model.encode(features)
    model.begin_call()
    assert not model.armed and not model.looped


def test_a_live_pass_stopped_by_its_token_cap_is_decoded_again_unless_it_looped(demo_pcm: np.ndarray,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The live token cap ends a loop early and costs real speech nothing: the demo's first 13 s need
    48 tokens; capped at 20 the pass stops and is decoded again in full. Were the capped text a loop (the
    model cannot be made to loop on demand: `is_loop` says so here), it stays, and ends an armed call."""
    from stages.transcribe import bounded

    model = LoopBoundedWhisper(str(resolve("base")), device="cpu", compute_type="int8", cpu_threads=1)
    clip = (demo_pcm[: 13 * RATE] / 32768).astype(np.float32)

    def text(cap: int | None) -> str:
        model.begin_call(cap)
        model.armed = True
        segments, _ = model.transcribe(clip, language="en", beam_size=5, word_timestamps=True)
        said = []
        with contextlib.suppress(LoopEnded):
            for segment in segments:
                said.append(segment.text.strip())
        return " ".join(said)

    whole = text(None)
    assert "hear you fine" in whole and model.recapped == 0
    assert text(20) == whole and model.recapped == 1
    monkeypatch.setattr(bounded, "is_loop", lambda ratio: True)
    cut = text(20)
    assert model.looped and model.recapped == 1 and 0 < len(cut.split()) < len(whole.split()) // 2


def test_whisper_threads_follow_the_cpu_left_free_and_the_words_stay(demo_pcm: np.ndarray,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`cpu_threads = 0`: when a reading finds a core taken by another program (the call), the model is
    reloaded with one thread fewer before the next decode, and the decode goes on with it. What is busy is
    given here; `stages.cpu` measures it for real (tests/test_units.py)."""
    from stages import cpu
    from stages.transcribe import engine as engine_module

    busy = iter([0.0, 1.0])
    monkeypatch.setattr(cpu, "cores", lambda: 2)
    monkeypatch.setattr(cpu.Meter, "busy", lambda self, min_s=0.0: next(busy, 1.0))
    monkeypatch.setattr(engine_module, "FOLLOW_EVERY_S", 0.0)
    engine = engine_module.Engine(TranscribeConfig(), "en")
    assert engine.threads is not None and engine.threads.now == 2
    first = engine.model
    clip = (demo_pcm[: int(12.9 * RATE)] / 32768).astype(np.float32)  # the first three turns, whole
    text = " ".join(p.text for p in engine.transcribe(clip, 0.0).pieces)
    assert engine.threads.now == 1 and engine.model is not first
    said = " ".join(t["text"] for t in demo_script()["turns"] if t["end"] < 12.9)
    assert wer(said, text, "en") <= 0.1, text
