"""The capture stage on file sources, as a real process: batches, resume after kill -9, pause, stop, disk full."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from stages import config, wavio
from stages.capture import SourceError, check_source, resolve_source
from stages.models import AudioEnd, BatchMeta
from stages.spool import Session
from tests.conftest import ROOT, run_stage
from tests.spoolkit import decode_16k, make_session

B = 2.0  # batch seconds (the smallest allowed): many batches from a short file
SRC_RATE = 44100


def signal_samples(seconds: float = 9.5) -> npt.NDArray[np.int16]:
    """Stereo 44.1 kHz: a chirp, 2 s of digital silence at 4-6 s, then noise; distinct L/R."""
    n = round(seconds * SRC_RATE)
    t = np.arange(n) / SRC_RATE
    rng = np.random.default_rng(7)
    left = 0.4 * np.sin(2 * np.pi * (200 + 150 * t) * t)
    right = 0.3 * np.sin(2 * np.pi * 660 * t)
    noise = 0.2 * rng.standard_normal(n)
    left[t >= 6] = noise[t >= 6]
    both = np.stack([left, right], axis=1)
    both[(t >= 4) & (t < 6)] = 0.0
    return (both * 32767).astype(np.int16)


def encode(path: Path, stereo: npt.NDArray[np.int16], codec: str, fmt: str | None = None,
           video: bool = False) -> Path:
    """Write `stereo` (44.1 kHz) with PyAV: the same library users' files are read with."""
    with av.open(str(path), "w", format=fmt) as out:
        rate = 48000 if codec == "libopus" else SRC_RATE
        audio = out.add_stream(codec, rate=rate, layout="stereo")
        assert isinstance(audio, av.audio.stream.AudioStream)
        if video:
            picture = out.add_stream("mpeg4", rate=5)
            picture.width = picture.height = 64
            picture.pix_fmt = "yuv420p"
            for i in range(round(stereo.shape[0] / SRC_RATE * 5)):
                image = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 7 % 255, np.uint8), format="rgb24")
                image.pts = i
                for packet in picture.encode(image):
                    out.mux(packet)
            for packet in picture.encode(None):
                out.mux(packet)
        for i in range(0, stereo.shape[0], 1024):
            frame = av.AudioFrame.from_ndarray(stereo[i: i + 1024].reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = SRC_RATE, i
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode(tmp_path_factory.mktemp("media") / "call.mp3", signal_samples(), "libmp3lame")


def file_session(root: Path, media: Path, **capture: object) -> Session:
    return make_session(root, sources=["system"], source=f"file:{media}", capture={"batch_seconds": B, **capture})


def start_capture(session: Session, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONPATH=str(ROOT))
    log = (session.path / "capture-test.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "stages.capture", str(session.path), *args], cwd=ROOT, env=env,
                            stdout=log, stderr=log)


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def metas(session: Session) -> list[BatchMeta]:
    return [BatchMeta.model_validate_json(session.meta_path(i).read_text()) for i in session.audio_batches()]


def channels(session: Session) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """(mic, system) of all batches joined, checking each WAV's format on the way."""
    mic, system = [], []
    for i in session.audio_batches():
        with wave.open(str(session.wav_path(i)), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 2, 2)
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        mic.append(data[:, 0])
        system.append(data[:, 1])
    return np.concatenate(mic), np.concatenate(system)


def wav_bytes(session: Session) -> list[bytes]:
    return [session.wav_path(i).read_bytes() for i in session.audio_batches()]


def assert_contiguous(session: Session) -> None:
    found = metas(session)
    assert [m.index for m in found] == list(range(1, len(found) + 1))
    position = 0.0
    for m in found:
        assert m.start == pytest.approx(position, abs=1e-3)
        position += m.duration


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, mp3: Path) -> Session:
    session = file_session(tmp_path_factory.mktemp("spool") / "clean", mp3)
    result = run_stage("capture", session.path, timeout=60)
    assert result.returncode == 0, result.stderr
    return session


def test_a_file_becomes_16k_stereo_batches_with_metadata(clean: Session, mp3: Path) -> None:
    expected = decode_16k(mp3)
    n_batches = -(-expected.size // round(B * 16000))
    found = metas(clean)
    assert len(found) == n_batches == 5
    assert [m.start for m in found] == [i * B for i in range(n_batches)]
    assert all(m.duration == B for m in found[:-1]) and 0 < found[-1].duration < B
    assert all(m.sources == ["system"] for m in found)
    mic, system = channels(clean)
    assert not mic.any()  # an imported recording is "the others": the mic channel stays empty
    assert np.array_equal(system, expected)
    assert [m.silent["system"] for m in found] == [False, False, True, False, False]  # 4-6 s is silence
    assert all(m.silent["mic"] and m.level_dbfs["mic"] == -120.0 for m in found)
    end = AudioEnd.model_validate_json(clean.audio_end_path.read_text())
    assert (end.last_batch, end.reason) == (n_batches, "end of file")
    again = run_stage("capture", clean.path, timeout=60)  # END.json exists: nothing to do
    assert again.returncode == 0 and len(metas(clean)) == n_batches


def test_kill_9_mid_file_then_rerun_gives_the_same_audio(tmp_path: Path, mp3: Path, clean: Session) -> None:
    session = file_session(tmp_path / "killed", mp3)
    proc = start_capture(session, "--realtime")
    try:
        wait_for(lambda: len(session.audio_batches()) >= 2)
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind
        proc.wait()
    assert session.audio_end() is None
    done_before = len(session.audio_batches())
    assert 2 <= done_before < 5
    rerun = run_stage("capture", session.path, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert f"next batch {done_before + 1:06d}" in rerun.stderr
    assert_contiguous(session)
    assert wav_bytes(session) == wav_bytes(clean)


def test_a_meta_file_left_without_its_wav_is_rewritten(tmp_path: Path, mp3: Path, clean: Session) -> None:
    session = file_session(tmp_path / "torn", mp3)
    assert run_stage("capture", session.path, timeout=60).returncode == 0
    for i in (4, 5):  # as if killed between the .json and the .wav of batch 4
        session.wav_path(i).unlink()
    session.audio_end_path.unlink()
    (session.audio / ".000004.wav.deadbeef.tmp").write_bytes(b"RIFF")  # a temp file a crash left behind
    assert run_stage("capture", session.path, timeout=60).returncode == 0
    assert wav_bytes(session) == wav_bytes(clean)
    assert not list(session.audio.glob(".*.tmp"))


def test_pause_holds_the_file_and_stop_flushes_a_partial_batch(tmp_path: Path, mp3: Path) -> None:
    session = file_session(tmp_path / "paused", mp3)
    proc = start_capture(session, "--realtime")
    try:
        wait_for(lambda: len(session.audio_batches()) >= 1)
        session.request("PAUSE")
        time.sleep(0.3)
        held = len(session.audio_batches())
        time.sleep(B + 0.2)  # longer than a batch: nothing may appear while paused
        assert len(session.audio_batches()) == held
        session.withdraw("PAUSE")
        wait_for(lambda: len(session.audio_batches()) > held)
        time.sleep(0.7)  # part of the next batch
        session.request("STOP")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    end = session.audio_end()
    assert end is not None and end.reason == "stopped"
    found = metas(session)
    assert end.last_batch == found[-1].index
    assert 0.3 < found[-1].duration < B  # the partial last batch
    assert_contiguous(session)  # file time: the pause leaves no gap in an imported file
    _, system = channels(session)
    assert np.array_equal(system, decode_16k(mp3)[: system.size])


@pytest.mark.parametrize(("name", "codec", "fmt", "video"), [
    ("call.ogg", "libopus", "ogg", False),
    ("call.flac", "flac", None, False),
    ("call.m4a", "aac", "mp4", False),
    ("call.wav", "pcm_s16le", None, False),
    ("meeting.mp4", "aac", "mp4", True),
    ("meeting.mkv", "libopus", "matroska", True),
])
def test_any_format_pyav_reads(tmp_path: Path, name: str, codec: str, fmt: str | None, video: bool) -> None:
    media = encode(tmp_path / name, signal_samples(3.0), codec, fmt, video)
    assert check_source(f"file:{media}", config.PipelineConfig())[0].startswith(f"file {name}")
    session = file_session(tmp_path / "s", media)
    result = run_stage("capture", session.path, timeout=60)
    assert result.returncode == 0, result.stderr
    _, system = channels(session)
    assert abs(system.size - 3 * 16000) < 1200  # codec padding (AAC priming) aside, 3 s
    assert wavio.level_dbfs(system) > -20
    assert len(metas(session)) == 2


def test_unusable_sources_are_refused_with_what_to_do(tmp_path: Path) -> None:
    cfg = config.PipelineConfig()
    with pytest.raises(SourceError, match="system, mic, system\\+mic, file:PATH"):
        check_source("speakers", cfg)
    with pytest.raises(SourceError, match="not found"):
        check_source(f"file:{tmp_path / 'missing.mp3'}", cfg)
    junk = tmp_path / "notes.mp3"
    junk.write_text("this is not audio\n" * 100)
    with pytest.raises(SourceError, match="cannot read"):
        check_source(f"file:{junk}", cfg)
    assert resolve_source("file:rel/call.mp3") == f"file:{Path.cwd() / 'rel' / 'call.mp3'}"
    assert resolve_source("mic+system") == "system+mic"
    session = file_session(tmp_path / "s", tmp_path / "gone.mp3")
    result = run_stage("capture", session.path, timeout=60)
    assert result.returncode == 2 and "file not found" in result.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path) -> object:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("needs permission to mount a small tmpfs (root on Linux)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_stops_with_exit_3_and_nothing_torn(tiny_disk: Path, mp3: Path, clean: Session) -> None:
    session = file_session(tiny_disk / "full", mp3)
    result = run_stage("capture", session.path, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "disk full" in result.stderr
    written = session.audio_batches()
    assert 0 < len(written) < 5
    for i in written:
        wavio.read(session.wav_path(i))  # every committed batch is whole
    assert not list(session.audio.glob(".*.tmp"))
    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_disk)], check=True)  # space freed
    assert run_stage("capture", session.path, timeout=60).returncode == 0
    assert wav_bytes(session) == wav_bytes(clean)
