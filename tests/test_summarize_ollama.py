"""The Ollama backend against a loopback stub of Ollama's documented HTTP API.

No Ollama server can be installed on this machine (nor in CI), so these tests run
a small HTTP server on 127.0.0.1 that follows Ollama's documented `/api/tags` and
`/api/chat` (streamed; an empty `messages` list loads the model), and check
what the backend sends: the model, `format` (the JSON schema), `options.num_ctx`
set from the prompt's size, `keep_alive`, the preload at start, and that an answer
the report no longer waits for is stopped where it is.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from stages.summarize import backends, prompts
from stages.summarize.backends.base import OutOfTime
from stages.summarize.backends.ollama import OllamaBackend
from stages.summarize.llm import messages_tokens
from stages.summarize.run import drive, settings
from stages.summarize.schema import FinalReport
from stages.summarize.stage import Summarizer
from tests.summarize_support import OllamaStub, free_port, session_of, stub_server

MODEL = "qwen2.5:3b"
WINDOW_ANSWER = {"action_items": [{"owner": "Marc", "task": "comparer les offres des deux prestataires",
                                   "due": "vendredi"}],
                 "decisions": ["Ajouter un second prestataire de paiement avant les soldes"],
                 "key_points": ["Les ventes ont progressé de douze pour cent"], "open_questions": [],
                 "highlights": [{"time": "00:00:05", "text": "Ventes en hausse de douze pour cent"}],
                 "summary": "L'équipe décide d'ajouter un second prestataire de paiement."}
SYNTHESIS_ANSWER = {"summary": "La réunion a porté sur la boutique en ligne et le paiement."}


def ollama_route(models: list[str]) -> OllamaStub:
    return OllamaStub(models, WINDOW_ANSWER, SYNTHESIS_ANSWER)


def test_auto_picks_ollama_and_sends_schema_num_ctx_and_keep_alive(tmp_path: Path) -> None:
    with stub_server(ollama_route([MODEL])) as (url, seen):
        session = session_of(tmp_path, "fr", llm="auto", interval_minutes=5.0, window_minutes=5.0,
                             ollama={"host": url, "model": MODEL, "num_ctx_min": 1024})
        cfg = settings(session, None)
        chain = backends.chain(cfg.llm, cfg)
        assert [b.name for b in chain] == ["ollama", "offline"]
        job = Summarizer(session, cfg, chain)
        job.runner.preload()
        drive(job)
    chats = seen.bodies("/api/chat")
    assert chats[0]["messages"] == [] and chats[0]["keep_alive"] == "30m"  # preloaded at start
    window = chats[1]
    assert window["model"] == MODEL and window["stream"] is True and window["keep_alive"] == "30m"
    assert window["format"]["properties"]["action_items"]["type"] == "array"
    needed = messages_tokens(window["messages"]) + window["options"]["num_predict"]
    assert window["options"]["num_ctx"] >= needed  # never left to Ollama's small default
    assert window["options"]["num_ctx"] % 256 == 0
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.llm == f"ollama ({MODEL})" and final.backend == "ollama"
    assert final.summary == SYNTHESIS_ANSWER["summary"]
    assert final.action_items[0].owner == "Marc" and final.action_items[0].due == "vendredi"


def test_an_answer_the_report_cannot_wait_for_is_stopped_where_it_is(tmp_path: Path) -> None:
    """Past `wait_at_end_s` the stage's cutoff says the report will not wait: the backend closes the stream
    Ollama is writing (Ollama stops an answer whose client has gone) and keeps what it had written."""
    route = ollama_route([MODEL])
    route.chunk_delay_s = 0.02
    whole = json.dumps(WINDOW_ANSWER)
    with stub_server(route) as (url, _seen):
        session = session_of(tmp_path, "fr", llm="ollama", ollama={"host": url, "model": MODEL})
        backend = OllamaBackend(settings(session, None))
        messages = [{"role": "user", "content": "Résumez la réunion."}]
        schema = prompts.window_schema(bounded=True)
        looked = itertools.count(1)
        backend.cutoff = lambda: next(looked) > 10
        with pytest.raises(OutOfTime, match="cut after 11 chunk") as cut:
            backend.chat(messages, schema, 400, 0.1)
        assert cut.value.partial == whole[:44]  # the 11 lines it read, 4 characters each
        time.sleep(0.5)
        stopped = route.streams[0]
        assert stopped.gone and stopped.sent < 20 < len(stopped.chunks)  # the server saw the client go
        backend.cutoff = lambda: False
        route.chunk_delay_s = 0.0
        assert backend.chat(messages, schema, 400, 0.1) == whole
        assert backend.stats.output_tokens == 120 and not route.streams[1].gone


def test_num_ctx_grows_with_the_prompt(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="ollama")
    backend = OllamaBackend(settings(session, None))
    short = [{"role": "user", "content": "x" * 300}]
    long = [{"role": "user", "content": "x" * 30000}]
    assert backend.num_ctx(short, 800) == 2048
    assert backend.num_ctx(long, 800) >= 10000 + 800


def test_missing_model_is_said_clearly_and_auto_moves_on(tmp_path: Path) -> None:
    with stub_server(ollama_route(["llama3.2:1b"])) as (url, _seen):
        session = session_of(tmp_path, "en", llm="auto",
                             ollama={"host": url, "model": MODEL}, local={"model": str(tmp_path / "none.gguf")})
        cfg = settings(session, None)
        reason = OllamaBackend(cfg).probe()
        assert reason is not None and f"ollama pull {MODEL}" in reason
        assert [b.name for b in backends.chain("auto", cfg)] == ["offline"]
        # asked for by name, it falls back with the reason written in the report
        job = Summarizer(session, cfg, backends.chain("ollama", cfg))
        job.runner.preload()
        drive(job)
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.backend == "offline" and any(f"ollama pull {MODEL}" in n for n in final.notes)


def test_no_server_is_said_clearly(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="ollama", ollama={"host": f"http://127.0.0.1:{free_port()}"})
    reason = OllamaBackend(settings(session, None)).probe()
    assert reason is not None and "no Ollama server answers" in reason and "ollama serve" in reason
