"""Helpers for the summarizer tests: sessions from the project's own meeting scripts, fake and stub LLMs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """A session holding the transcript of fixture `name` (fr or en); 1-minute chunks of 30 s windows."""
    data = script(name)
    options = {"interval_minutes": 1.0, "window_minutes": 0.5, **summarize}
    session = make_session(tmp / f"session-{name}", data, llm=llm, summarize=options)
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

    def bodies(self, path: str) -> list[Any]:
        return [body for _, p, _, body in self.requests if p == path]


Route = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


@contextmanager
def stub_server(route: Route) -> Iterator[tuple[str, Recorder]]:
    """A JSON HTTP server on 127.0.0.1 (a free port) answering `route(method, path, headers, body)`."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            recorder.requests.append((method, self.path, headers, body))
            status, answer = route(method, self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
