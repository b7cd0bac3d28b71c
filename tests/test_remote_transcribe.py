"""Transcription on a shared server: real OpenAI-compatible servers from PyPI on 127.0.0.1, the offline base model.

Servers: open-asr-server 0.3.0 and faster-whisper-server 0.0.3 (tests/asr_servers.py builds
their virtual environments on first use). Faults are real too: a server process killed
and started again; a 500 and an answer later than the timeout come from a pass-through
proxy in front of a real server (the transcriptions are the real server's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from stages import progress
from stages.models import EngineState, TranscriptBatch
from stages.spool import Session, iter_sessions
from stages.transcribe.models import resolve
from tests.asr_servers import KINDS, FaultProxy, Server
from tests.conftest import DEMO_EN, ROOT, run_cli, run_stage
from tests.speech import make_silence, noise_samples, reference_text, wer
from tests.spoolkit import decode_16k, make_session, transcript_text, write_batches

pytestmark = pytest.mark.slow
KEY = "asr-PLANTEDkey-4f9Qz7Lm2Xc8Rt1"  # the server demands it; it must never land in the spool


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Server]]:
    """Started on first use, one of each kind for the module (open-asr-server with an API key)."""
    running: dict[str, Server] = {}

    def get(name: str) -> Server:
        if name not in running:
            key = KEY if name == "open-asr-server" else None
            running[name] = Server(KINDS[name], resolve("base"), tmp_path_factory.mktemp(name), api_key=key).start()
        return running[name]

    yield get
    for server in running.values():
        server.stop()


@pytest.fixture(scope="module")
def demo_pcm() -> np.ndarray:
    return decode_16k(DEMO_EN)


def server_config(path: Path, server: Server | None = None, url: str | None = None, **openai: object) -> Path:
    """A pipeline.toml layer naming the server's model (and its key's variable) plus `openai` settings."""
    lines = ["[transcribe.openai]"]
    if server is not None:
        lines.append(f"model = {json.dumps(server.model)}")
        if server.api_key:
            lines.append('api_key_env = "ASR_TEST_KEY"')
    if url:
        lines.append(f"base_url = {json.dumps(url)}")
    lines += [f"{k} = {json.dumps(v)}" for k, v in openai.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def up(spool: Path, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("up", "--name", name, "--source", f"file:{DEMO_EN}", "--language", "en", "--llm", "offline",
                   "--spool", str(spool), *extra, timeout=900)


def report_wer(session: Session) -> float:
    segments = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    return wer(reference_text("en"), " ".join(s["text"] for s in segments), "en")


def docs(session: Session) -> list[TranscriptBatch]:
    return [TranscriptBatch.model_validate_json(session.transcript_path(i).read_text(encoding="utf-8"))
            for i in session.transcribed_batches()]


def only(spool: Path) -> Session:
    sessions = list(iter_sessions(spool))
    assert len(sessions) == 1, sessions
    return sessions[0]


@pytest.fixture(scope="module")
def local_wer(tmp_path_factory: pytest.TempPathFactory) -> float:
    """The demo meeting through `up` with the local engine: the figure a server must match."""
    spool = tmp_path_factory.mktemp("local")
    result = up(spool, "local")
    assert result.returncode == 0, result.stdout + result.stderr
    return report_wer(only(spool))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_demo_meeting_through_up_whisper_url_matches_the_local_engine(
        kind: str, servers: Callable[[str], Server], local_wer: float, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = servers(kind)
    monkeypatch.setenv("ASR_TEST_KEY", KEY)
    result = up(tmp_path / "spool", f"remote {kind}", "--whisper-url", server.url,
                "--config", str(server_config(tmp_path / "server.toml", server)))
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    session = only(tmp_path / "spool")
    error = report_wer(session)
    assert abs(error - local_wer) <= 0.01, f"{kind}: WER {error:.3f}, local engine {local_wer:.3f}"
    assert session.transcribed_batches() == session.audio_batches()  # exactly one file per batch
    assert {d.model for d in docs(session)} == {f"{server.model} at {server.url}"}
    state = EngineState.model_validate_json(session.engine_path.read_text(encoding="utf-8"))
    assert (state.engine, state.state, state.server) == ("openai", "ok", server.url)
    status = " ".join(run_cli("status", str(session.path)).stdout.split())
    assert f"transcribed by server {server.model} at {server.url}" in status
    assert server.url in " ".join(said.split())  # the consent notice says where the audio goes
    if server.api_key:  # the server refuses requests without the key: the calls above carried it, in the header
        assert httpx.get(server.url + "/models", timeout=10).status_code == 401
        leaks = [str(p) for p in session.path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
        assert leaks == [] and KEY not in said
        assert "ASR_TEST_KEY" in json.dumps(session.manifest().config)  # the variable's name, never its value


def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.2)


def engine_state(session: Session) -> str | None:
    try:
        return EngineState.model_validate_json(session.engine_path.read_text(encoding="utf-8")).state
    except (OSError, ValueError):
        return None


def doubled_sentences(text: str) -> list[str]:
    """Sentences of four words or more that the transcript holds more often than the reference."""
    from tests.speech import normalise

    reference = f" {normalise(reference_text('en'), 'en')} "
    sentences = [normalise(x, "en") for x in text.replace("?", ".").replace("!", ".").split(".")]
    return sorted({x for x in sentences if len(x.split()) >= 4
                   and sentences.count(x) > max(1, reference.count(f" {x} "))})


def test_server_killed_mid_meeting_and_restarted_loses_and_duplicates_nothing(
        servers: Callable[[str], Server], demo_pcm: np.ndarray, local_wer: float, tmp_path: Path) -> None:
    """A live session (batches land as capture writes them) with no local fallback: the transcriber waits
    for the server, the audio keeps landing, and everything is caught up once the server is back."""
    server = servers("faster-whisper-server")
    session = make_session(tmp_path / "live", sources=["system"], language="en", source="system",
                           transcribe={"engine": "openai", "openai": {"base_url": server.url, "model": server.model,
                                                                       "local_fallback": False}})
    step = 10 * 16000
    batches = -(-len(demo_pcm) // step)

    def land(first: int, last: int, end: bool = False) -> None:  # batches first..last (1-based), as capture does
        write_batches(session, None, demo_pcm[(first - 1) * step: last * step], first_index=first,
                      start=(first - 1) * 10.0, end=end)

    log_path = tmp_path / "transcribe.log"
    env = dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONPATH=str(ROOT))
    with log_path.open("wb") as log:
        stage = subprocess.Popen([sys.executable, "-m", "stages.transcribe", str(session.path)], cwd=ROOT, env=env,
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            land(1, 4)
            wait_for(lambda: len(session.transcribed_batches()) >= 1, 300)
            server.stop()  # killed mid-meeting
            land(5, 8)  # the meeting goes on
            wait_for(lambda: engine_state(session) in ("retrying", "waiting"), 300)
            status = " ".join(run_cli("status", str(session.path)).stdout.split())
            assert "not answering" in status or "waiting for the server" in status, status
            time.sleep(3)
            server.start()  # back, on the same port
            land(9, batches, end=True)
            assert stage.wait(timeout=600) == 0
        finally:
            if stage.poll() is None:
                stage.kill()
    said = log_path.read_text(encoding="utf-8")
    assert "the server answers again" in said
    assert session.transcribed_batches() == list(range(1, batches + 1))
    names = sorted(p.name for p in session.transcript.iterdir() if p.name != "speakers.json")  # the speaker pass
    assert names == [f"{i:06d}.json" for i in range(1, batches + 1)] + ["END.json"]  # one file per batch
    text = transcript_text(session)
    error = wer(reference_text("en"), text, "en")
    # a lost or doubled 10 s batch costs 5 points or more; live windows differ a little from an import's
    assert error <= local_wer + 0.03, f"WER {error:.3f}, local engine on the import {local_wer:.3f}"
    assert doubled_sentences(text) == []
    assert engine_state(session) == "ok"


def test_a_server_answering_500_gives_way_to_the_local_model_noted_in_transcript_and_report(
        servers: Callable[[str], Server], local_wer: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request answered 500 until the server is 'repaired': the local model transcribes meanwhile
    (installed here), the server takes over again when it answers, and the files and report say which did what."""
    server = servers("open-asr-server")
    monkeypatch.setenv("ASR_TEST_KEY", KEY)
    proxy = FaultProxy(server.url)
    proxy.always = "500"
    spool = tmp_path / "spool"
    config = server_config(tmp_path / "server.toml", server, fallback_after_s=2.0)
    try:
        with (tmp_path / "up.log").open("wb") as out:
            proc = subprocess.Popen([sys.executable, str(ROOT / "supervisor.py"), "up", "--name", "fallback",
                                     "--source", f"file:{DEMO_EN}", "--language", "en", "--llm", "offline",
                                     "--spool", str(spool), "--whisper-url", proxy.url, "--config", str(config)],
                                    cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", COLUMNS="200"))
            wait_for(lambda: bool(list(iter_sessions(spool))), 120)
            session = only(spool)
            wait_for(lambda: any("local fallback" in d.model for d in docs(session)), 300)
            engine = progress.status_of(session).engine  # what `status` prints (read here: the import is quick)
            assert "the server is down" in engine and "HTTP 500" in engine, engine
            proxy.always = None  # repaired
            assert proc.wait(timeout=600) == 0, (tmp_path / "up.log").read_text(encoding="utf-8")
    finally:
        proxy.close()
    labels = [d.model for d in docs(session)]
    remote = f"{server.model} at {proxy.url}"
    assert labels[0].startswith("base (local fallback") and labels[-1] == remote, labels
    final = (session.report / "final.md").read_text(encoding="utf-8")
    assert "Transcription: batch 1" in final and "local fallback" in final and remote in final
    assert session.transcribed_batches() == session.audio_batches()
    error = report_wer(session)
    assert abs(error - local_wer) <= 0.01, f"WER {error:.3f}, local engine {local_wer:.3f}"


def test_500s_and_an_answer_later_than_the_timeout_are_retried_to_the_same_text(
        servers: Callable[[str], Server], demo_pcm: np.ndarray, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Transient faults with no local model to fall back on: retried with backoff, and the transcript is
    exactly what the same server gives without faults."""
    server = servers("open-asr-server")
    monkeypatch.setenv("ASR_TEST_KEY", KEY)
    proxy = FaultProxy(server.url, slow_s=30.0)
    texts = []
    try:
        for name, faults in (("clean", []), ("faulty", ["500", "500", "slow"])):
            proxy.faults, proxy.requests = list(faults), 0
            session = make_session(tmp_path / name, sources=["system"], language="en", transcribe={
                "engine": "openai", "openai": {"base_url": proxy.url, "model": server.model, "timeout_s": 20.0,
                                               "api_key_env": "ASR_TEST_KEY", "local_fallback": False}})
            write_batches(session, None, demo_pcm[: 60 * 16000])
            result = run_stage("transcribe", session.path)
            assert result.returncode == 0, result.stderr
            texts.append(transcript_text(session))
            if faults:
                assert "HTTP 500" in result.stderr and "ReadTimeout" in result.stderr
                assert "the server answers again" in result.stderr
            assert session.transcribed_batches() == [1, 2, 3, 4, 5, 6]
    finally:
        proxy.close()
    assert texts[0] and texts[1] == texts[0]


def test_text_a_server_returns_on_silence_never_reaches_the_transcript(
        servers: Callable[[str], Server], demo_pcm: np.ndarray, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from stages.config import TranscribeConfig
    from stages.transcribe.remote import RemoteWhisper

    server = servers("open-asr-server")
    monkeypatch.setenv("ASR_TEST_KEY", KEY)
    # silence and hiss through the stage: nothing is sent, nothing is written
    quiet = np.concatenate([np.zeros(30 * 16000), noise_samples(30.0, -30.0, seed=3)])
    session = make_session(tmp_path / "quiet", sources=["system"], language="fr", transcribe={
        "engine": "openai", "openai": {"base_url": server.url, "model": server.model, "api_key_env": "ASR_TEST_KEY"}})
    write_batches(session, None, (quiet * 32767).astype(np.int16))
    result = run_stage("transcribe", session.path)
    assert result.returncode == 0, result.stderr
    assert session.transcribed_batches() == [1, 2, 3, 4, 5, 6] and transcript_text(session) == ""
    # speech then 20 s of silence sent as is (no VAD cut): whatever the server times in the silence is dropped
    cfg = TranscribeConfig.model_validate({"engine": "openai", "openai": {
        "base_url": server.url, "model": server.model, "api_key_env": "ASR_TEST_KEY", "local_fallback": False}})
    model = RemoteWhisper(cfg, load_local=lambda: None)
    speech_end = 6.0
    audio = np.concatenate([demo_pcm[: int(speech_end * 16000)] / 32768, np.zeros(20 * 16000)]).astype(np.float32)
    segments, _ = model.transcribe(audio, language="en", vad_filter=False)
    assert segments and all(s.start < speech_end + 1.0 for s in segments)
    assert all(s.end <= len(audio) / 16000 for s in segments)
    raw = httpx.post(server.url + "/audio/transcriptions", headers={"Authorization": f"Bearer {KEY}"},
                     data={"model": server.model, "response_format": "verbose_json"},
                     files={"file": ("silence.wav", make_silence(tmp_path / "s.wav", 3.0).read_bytes(), "audio/wav")},
                     timeout=120).json()
    print("the server's answer to 3 s of silence:", json.dumps(raw)[:300])  # what the gate is there for


def test_plain_http_to_another_machine_is_warned_and_silence_is_never_sent(tmp_path: Path) -> None:
    """192.0.2.1 (TEST-NET-1) answers nobody: the session still completes, because silence is never sent."""
    quiet = make_silence(tmp_path / "quiet.wav", 12.0)
    result = run_cli("up", "--name", "quiet", "--source", f"file:{quiet}", "--language", "en", "--llm", "offline",
                     "--spool", str(tmp_path / "spool"), "--whisper-url", "http://192.0.2.1:8000", timeout=300)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, said
    assert "http://192.0.2.1:8000/v1 is plain http:// to another machine" in said and "unencrypted" in said
    assert "transcribed by the server http://192.0.2.1:8000/v1" in said  # the consent notice
    session = only(tmp_path / "spool")
    assert session.transcribed_batches() == [1, 2] and transcript_text(session) == ""
    log = (session.logs / "transcribe.log").read_text(encoding="utf-8")
    assert "plain http://" in log and "server http://192.0.2.1" not in log  # warned; no request ever failed
