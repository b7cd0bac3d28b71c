"""LLM faults: a server down for minutes, slower than the timeout, answering garbage, in the wrong
language, or overflowing its context. Summaries wait or fall back; nothing is lost; the report says why.

No Ollama server can be installed on this machine (nor in CI), so the server is
`OllamaStub`, a loopback HTTP server that follows Ollama's documented `/api/tags`
and `/api/chat`, driven into each fault. Everything else is real: the Ollama
client over HTTP, the summarizer process (`python -m stages.summarize`), and for
the outage during a meeting the whole pipeline under `supervisor.py up`.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from stages.spool import Session, iter_sessions
from stages.summarize import backends
from stages.summarize.llm import messages_tokens
from stages.summarize.run import settings
from stages.summarize.schema import ChunkFile, FinalReport, WindowFile
from stages.summarize.scripted import batches_of, segments_of, write_end
from stages.summarize.stage import Summarizer
from tests.conftest import DEMO_EN, run_stage, start_stage
from tests.faults.chaos import cli_env, start_cli
from tests.summarize_support import OllamaStub, free_port, script, session_of, stub_server

MODEL = "qwen2.5:3b"
ANSWERS = {
    "en": ({"summary": "The team went through the agenda and agreed on the next steps.", "key_points": [],
            "decisions": [], "action_items": [], "open_questions": [], "highlights": []},
           {"summary": "The meeting covered the agenda and the next steps."}),
    "fr": ({"summary": "L'équipe a passé en revue l'ordre du jour et les prochaines étapes.", "key_points": [],
            "decisions": [], "action_items": [], "open_questions": [], "highlights": []},
           {"summary": "La réunion a porté sur l'ordre du jour et les prochaines étapes."}),
}


def stub(language: str = "en") -> OllamaStub:
    window, synthesis = ANSWERS[language]
    return OllamaStub([MODEL], window, synthesis)


def ollama_at(port: int, **options: Any) -> dict[str, Any]:
    return {"host": f"http://127.0.0.1:{port}", "model": MODEL, **options}


def final_of(session: Session) -> FinalReport:
    return FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))


def windows_of(session: Session) -> list[WindowFile]:
    return [WindowFile.model_validate_json(p.read_text(encoding="utf-8"))
            for p in sorted((session.summaries / "windows").glob("*.json"))]


def assert_nothing_lost(session: Session, language: str) -> None:
    """Every window and chunk of the script summarized, and the report's transcript whole."""
    segments = segments_of(script(language))
    windows = windows_of(session)
    assert windows[0].start == 0.0 and windows[-1].end >= segments[-1].start
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))  # no hole between windows
    # a window that waited for the LLM may have been read by an earlier window's call: summarized there
    keys = {f"{w.chunk:04d}-{w.window:02d}": w for w in windows}
    assert all(w.summary for w in windows if w.segments and w.joined_into is None)
    assert all(keys[w.joined_into].summary and f"{w.chunk:04d}-{w.window:02d}" in keys[w.joined_into].joined
               for w in windows if w.joined_into is not None)
    chunks = sorted(session.summaries.glob("chunk_*.json"))
    assert len(chunks) == -(-len(windows) // 2)
    lines = json.loads((session.report / "transcript.json").read_text(encoding="utf-8"))
    assert [x["text"] for x in lines] == [s.text for s in segments]
    assert (session.report / "END.json").exists()


def chats(seen: Any) -> list[dict[str, Any]]:
    """The summary requests the stub received (not the one that loads the model, nor the 1-token warm-ups)."""
    return [b for b in seen.bodies("/api/chat") if b.get("messages") and b["options"]["num_predict"] > 1]


def test_down_for_minutes_summaries_wait_then_catch_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Five minutes of meeting with no server (meeting time on an injected clock; the refusals are real)."""
    port = free_port()
    session = session_of(tmp_path, "en", llm="ollama", end=False, backoff_s=2.0, backoff_max_s=60.0,
                         ollama=ollama_at(port))
    clock = [0.0]
    cfg = settings(session, None)
    job = Summarizer(session, cfg, backends.chain("ollama", cfg), now=lambda: clock[0])
    caplog.set_level(logging.WARNING, logger="summarize")
    while clock[0] < 300.0:
        job.step()
        clock[0] += 1.0
    assert not list((session.summaries / "windows").glob("*.json"))  # waited: no fallback during the meeting
    delays = [int(d) for d in re.findall(r"retrying in (\d+) s", caplog.text)]
    assert delays[:6] == [2, 4, 8, 16, 32, 60] and set(delays[6:]) == {60}  # exponential backoff, capped
    with stub_server(stub(), port) as (_url, seen):
        write_end(session, batches_of(segments_of(script("en")), "en")[-1].batch)
        clock[0] += 60.0  # the next try is due
        for _ in range(100):
            if job.finished():
                break
            job.step()
    assert job.finished() and len(chats(seen)) >= 3
    assert {w.backend for w in windows_of(session)} == {"ollama"}
    assert_nothing_lost(session, "en")
    final = final_of(session)
    assert final.backend == "ollama"
    outage = [n for n in final.notes if "did not answer for" in n and "caught up" in n]
    assert outage and int(re.search(r"for (\d+) s", outage[0]).group(1)) >= 300  # type: ignore[union-attr]
    assert "did not answer for" in (session.report / "final.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_transcription_goes_on_while_the_llm_is_down_and_summaries_catch_up(tmp_path: Path) -> None:
    """The whole pipeline on the demo meeting: Ollama is down until most of it is transcribed."""
    port = free_port()
    spool = tmp_path / "spool"
    extra = tmp_path / "llm.toml"
    extra.write_text(f'[summarize]\nllm = "ollama"\ninterval_minutes = 1.0\nwindow_minutes = 0.5\n'
                     f'backoff_s = 0.5\nbackoff_max_s = 2.0\nwait_at_end_s = 300.0\n'
                     f'[summarize.ollama]\nhost = "http://127.0.0.1:{port}"\nmodel = "{MODEL}"\n', encoding="utf-8")
    args = ["up", "--name", "LLM down", "--source", f"file:{DEMO_EN}", "--language", "en", "--spool", str(spool),
            "--config", str(extra)]
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = start_cli(args, out, cli_env())
        try:
            deadline = time.monotonic() + 300
            session = None
            while session is None or len(session.transcribed_batches()) < 10:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                found = list(iter_sessions(spool))
                session = found[0] if found else None
                time.sleep(0.5)
            # the transcript went on; the summaries waited instead of falling back
            assert not list((session.summaries / "windows").glob("*.json"))
            with stub_server(stub(), port) as (_url, seen):
                code = proc.wait(timeout=600)
        except BaseException:
            proc.kill()
            raise
    output = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, output
    assert session.audio_batches() == session.transcribed_batches()
    assert chats(seen) and {w.backend for w in windows_of(session) if w.segments} == {"ollama"}
    chunks = [ChunkFile.model_validate_json(p.read_text(encoding="utf-8"))
              for p in sorted(session.summaries.glob("chunk_*.json"))]
    assert len(chunks) == 3 and all(c.llm == [f"ollama ({MODEL})"] for c in chunks)
    final = final_of(session)
    assert final.backend == "ollama" and any("did not answer for" in n for n in final.notes)
    assert "does not answer" in (session.summaries.parent / "logs" / "summarize.log").read_text(encoding="utf-8")


def test_a_server_slower_than_the_timeout_is_retried_with_backoff_then_replaced(tmp_path: Path) -> None:
    port = free_port()
    session = session_of(tmp_path, "en", llm="ollama", backoff_s=0.5, backoff_max_s=4.0, wait_at_end_s=8.0,
                         ollama=ollama_at(port, timeout_s=1.0))
    slow = stub()
    slow.delay_s = 2.5
    with stub_server(slow, port) as (_url, seen):
        done = run_stage("summarize", session.path, timeout=180)
    assert done.returncode == 0, done.stderr
    asked = chats(seen)
    tries = [t for (_m, path, _h, body), t in zip(seen.requests, seen.times, strict=True)
             if path == "/api/chat" and body in asked]
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert len(tries) >= 3 and gaps[-1] > gaps[0] + 1.0  # the delay between tries grows...
    assert all(b > a - 0.5 for a, b in itertools.pairwise(gaps))  # ...and never shrinks (timing jitter aside)
    assert {w.backend for w in windows_of(session)} == {"offline"}
    assert_nothing_lost(session, "en")
    final = final_of(session)
    assert final.backend == "offline"
    assert any("given up" in n and "did not answer within 1 s" in n for n in final.notes), final.notes
    assert "did not answer within 1 s" in (session.report / "final.md").read_text(encoding="utf-8")


GARBAGE = "Sure! Here is the summary you asked for: {summary: the team met, decisions: none}"


@pytest.mark.parametrize(("language", "fault", "error"), [
    ("en", "invalid JSON", "not valid JSON"),
    ("fr", "wrong language", "written in English, not in French"),
])
def test_bad_answers_are_retried_with_the_error_then_the_next_backend_takes_over(
        tmp_path: Path, language: str, fault: str, error: str) -> None:
    port = free_port()
    session = session_of(tmp_path, language, llm="ollama", retries=1, ollama=ollama_at(port))
    bad = stub(language)
    english_window, english_synthesis = ANSWERS["en"]
    bad.answer = ((lambda body: (GARBAGE, 100)) if fault == "invalid JSON" else
                  (lambda body: (json.dumps(english_window if "action_items" in body["format"]["properties"]
                                            else english_synthesis), 100)))
    with stub_server(bad, port) as (_url, seen):
        done = run_stage("summarize", session.path, timeout=180)
    assert done.returncode == 0, done.stderr
    asked = chats(seen)
    retried = [b for b in asked if len(b["messages"]) > 2]
    assert retried and len(retried) * 2 == len(asked)  # each task: one try, one retry showing the error
    assert all(error in b["messages"][-1]["content"] for b in retried)
    windows = windows_of(session)
    assert {w.backend for w in windows} == {"offline"}
    assert all(any(f"ollama ({MODEL}) failed" in n and error in n for n in w.notes) for w in windows)
    assert_nothing_lost(session, language)
    final = final_of(session)
    assert final.backend == "offline" and final.language == language
    assert any("failed" in n and error in n for n in final.notes)


def test_a_prompt_cut_by_a_small_context_is_sent_again_with_a_larger_one(tmp_path: Path) -> None:
    """Ollama silently keeps only the end of a prompt longer than num_ctx; it says so in prompt_eval_count."""
    port = free_port()
    session = session_of(tmp_path, "en", llm="ollama", ollama=ollama_at(port, num_ctx_min=512))
    cut_off = {"summary": "CUT OFF", "key_points": [], "decisions": [], "action_items": [], "open_questions": [],
               "highlights": []}
    small = stub()

    def answer(body: dict[str, Any]) -> tuple[str, int]:
        tokens = sum(len(m["content"]) for m in body["messages"]) // 2  # denser than the backend's estimate
        num_ctx, num_predict = body["options"]["num_ctx"], body["options"]["num_predict"]
        if tokens + num_predict > num_ctx:
            return json.dumps(cut_off), num_ctx - num_predict // 2
        return small.valid(body)[0], tokens

    small.answer = answer
    with stub_server(small, port) as (_url, seen):
        done = run_stage("summarize", session.path, timeout=180)
    assert done.returncode == 0, done.stderr
    sizes = [b["options"]["num_ctx"] for b in chats(seen)]
    assert sizes[1] > sizes[0]  # the first window was asked again with more room
    assert "filled num_ctx" in done.stderr
    assert {w.backend for w in windows_of(session)} == {"ollama"}
    assert all(w.summary != "CUT OFF" for w in windows_of(session))
    assert_nothing_lost(session, "en")
    assert final_of(session).backend == "ollama"


def test_a_prompt_over_the_context_limit_is_never_sent_cut_and_the_next_backend_does_it(tmp_path: Path) -> None:
    port = free_port()
    session = session_of(tmp_path, "en", llm="ollama", ollama=ollama_at(port, num_ctx_min=512, num_ctx_max=1024))
    with stub_server(stub(), port) as (_url, seen):
        done = run_stage("summarize", session.path, timeout=180)
    assert done.returncode == 0, done.stderr
    for body in chats(seen):  # what was sent fits whole in the context it asked for
        needed = messages_tokens(body["messages"]) + body["options"]["num_predict"]
        assert needed <= body["options"]["num_ctx"] <= 1024
    over = [w for w in windows_of(session) if w.backend == "offline"]
    assert over and all(any("exceeds num_ctx_max 1024" in n for n in w.notes) for w in over)
    assert_nothing_lost(session, "en")
    assert any("exceeds num_ctx_max 1024" in n for n in final_of(session).notes)
    assert "num_ctx_max" in (session.report / "final.md").read_text(encoding="utf-8")


def test_a_stage_process_killed_while_the_llm_is_down_resumes_where_it_was(tmp_path: Path) -> None:
    """Waiting for a down server holds nothing in memory that a crash could lose: files say what is done."""
    port = free_port()
    session = session_of(tmp_path, "en", llm="ollama", backoff_s=0.5, backoff_max_s=1.0, wait_at_end_s=600.0,
                         ollama=ollama_at(port))
    first = start_stage("summarize", session.path)
    time.sleep(6.0)
    first.kill()
    first.wait()
    assert not list((session.summaries / "windows").glob("*.json"))
    with stub_server(stub(), port):
        done = run_stage("summarize", session.path, timeout=180)
    assert done.returncode == 0, done.stderr
    assert {w.backend for w in windows_of(session)} == {"ollama"}
    assert_nothing_lost(session, "en")

