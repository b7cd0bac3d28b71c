"""Helpers for the summarizer tests: sessions from the project's own meeting scripts, fake and stub LLMs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from stages.config import SummarizeConfig
from stages.spool import Session
from stages.summarize.backends.base import BackendDown
from stages.summarize.llm import ChatBackend
from stages.summarize.scripted import make_session, write_transcript

FIXTURES = Path(__file__).parent / "fixtures"


def script(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"summarize_{name}.json").read_text(encoding="utf-8"))
    return data


def session_of(tmp: Path, name: str, llm: str = "offline", end: bool = True, **summarize: Any) -> Session:
    """A session holding the transcript of fixture `name` (fr or en); 1-minute chunks of 30 s windows.

    An imported file: its transcript is all there at once, and each window is one call (a live
    session would read windows that wait together: tests/test_summarize_stage.py)."""
    data = script(name)
    options = {"interval_minutes": 1.0, "window_minutes": 0.5, **summarize}
    session = make_session(tmp / f"session-{name}", data, llm=llm, summarize=options, source="file:meeting.wav")
    write_transcript(session, data, end=end)
    return session


class FakeChat(ChatBackend):
    """A chat backend whose replies are scripted: strings are returned, exceptions raised, in order."""

    name = "fake"

    def __init__(self, cfg: SummarizeConfig, replies: list[str | Exception] | Callable[[list[dict[str, str]]], str]):
        super().__init__(cfg)
        self.replies = replies
        self.calls: list[list[dict[str, str]]] = []

    def describe(self) -> str:
        return "fake (scripted)"

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        self.calls.append(messages)
        if callable(self.replies):
            return self.replies(messages)
        if not self.replies:
            raise BackendDown("script exhausted")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class Recorder:
    """What a stub server received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.times: list[float] = []  # time.monotonic() of each request, in the same order

    def bodies(self, path: str) -> list[Any]:
        return [body for _, p, _, body in self.requests if p == path]


Route = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


@dataclass
class Stream:
    """A streamed answer: JSON lines written `delay_s` apart; records how far the client read it."""

    chunks: list[Any]
    delay_s: float = 0.0
    events: bool = False  # server-sent events ("data: {...}", then "data: [DONE]"), as OpenAI streams
    sent: int = 0
    gone: bool = False  # the client closed the connection before the last line


@contextmanager
def stub_server(route: Route, port: int = 0) -> Iterator[tuple[str, Recorder]]:
    """A JSON HTTP server on 127.0.0.1 (`port`, or a free one) answering `route(method, path, headers, body)`."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            recorder.requests.append((method, self.path, headers, body))
            recorder.times.append(time.monotonic())
            status, answer = route(method, self.path, headers, body)
            if isinstance(answer, Stream):
                return self._stream(status, answer)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, status: int, answer: Stream) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream" if answer.events else "application/x-ndjson")
            self.end_headers()  # no length: the answer ends when the connection closes (HTTP/1.0)
            lines = [json.dumps(chunk).encode() for chunk in answer.chunks]
            if answer.events:
                lines = [b"data: " + line + b"\n" for line in [*lines, b"[DONE]"]]
            try:
                for line in lines:
                    self.wfile.write(line + b"\n")
                    self.wfile.flush()
                    answer.sent += 1
                    time.sleep(answer.delay_s)
            except (BrokenPipeError, ConnectionResetError):
                answer.gone = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Answer = Callable[[dict[str, Any]], tuple[str, int]]  # a chat request's body -> (reply text, prompt tokens used)


class OllamaStub:
    """A route following Ollama's documented `/api/tags` and `/api/chat` (streamed unless `stream` is false).

    No Ollama server can be installed on this machine (nor in CI): the tests that need one
    run this on 127.0.0.1. `answer` writes the reply (default: `window` or `synthesis` by the
    requested schema); `delay_s` makes every chat that slow (a server slower than the timeout).
    """

    def __init__(self, models: list[str], window: dict[str, Any], synthesis: dict[str, Any],
                 answer: Answer | None = None) -> None:
        self.models = models
        self.window, self.synthesis = window, synthesis
        self.answer = answer or self.valid
        self.delay_s = 0.0  # before the answer
        self.chunk_delay_s = 0.0  # between the lines of a streamed answer
        self.streams: list[Stream] = []

    def valid(self, body: dict[str, Any]) -> tuple[str, int]:
        props = (body.get("format") or {}).get("properties", {})
        reply = self.window if "action_items" in props else self.synthesis
        return json.dumps(reply), sum(len(m["content"]) for m in body["messages"]) // 4

    def __call__(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/api/tags":
            return 200, {"models": [{"name": m, "model": m, "modified_at": "2026-11-01T10:00:00Z", "size": 1,
                                     "digest": "0" * 64, "details": {"format": "gguf"}} for m in self.models]}
        if method != "POST" or path != "/api/chat":
            return 404, {"error": "not found"}
        if body["model"] not in self.models:
            return 404, {"error": f"model '{body['model']}' not found"}
        base = {"model": body["model"], "created_at": "2026-11-23T10:00:00Z", "done": True}
        if not body.get("messages"):
            return 200, {**base, "message": {"role": "assistant", "content": ""}, "done_reason": "load"}
        if self.delay_s:
            time.sleep(self.delay_s)
        content, prompt_tokens = self.answer(body)
        last = {**base, "done_reason": "stop", "prompt_eval_count": prompt_tokens, "eval_count": 120,
                "total_duration": 1, "load_duration": 1, "prompt_eval_duration": 1, "eval_duration": 1}
        if not body.get("stream", True):
            return 200, {**last, "message": {"role": "assistant", "content": content}}
        pieces = [content[i:i + 4] for i in range(0, len(content), 4)]  # about a token each
        stream = Stream([*({**base, "done": False, "message": {"role": "assistant", "content": p}} for p in pieces),
                         {**last, "message": {"role": "assistant", "content": ""}}], self.chunk_delay_s)
        self.streams.append(stream)
        return 200, stream
