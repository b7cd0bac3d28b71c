"""Real OpenAI-compatible Whisper servers from PyPI, run on 127.0.0.1 with the offline base model.

Each server lives in its own virtual environment under `~/.cache/meeting-assistant-dev/<name>/`
(`MEETING_ASSISTANT_DEV_CACHE` moves the folder), built here from PyPI on first use and kept
(a marker file names what was installed), so CI rebuilds it from scratch:

    python -m tests.asr_servers install            # both (scripts/setup.sh runs this)
    python -m tests.asr_servers serve open-asr-server --port 8000   # one, by hand

- `open-asr-server` 0.3.0: `model` must be `faster-whisper:<model folder>` (allowed by
  OPEN_ASR_SERVER_ALLOWED_MODELS); an API key is enforced when OPEN_ASR_SERVER_API_KEY is
  set; answers two requests at once; words at the top level of the answer.
- `faster-whisper-server` 0.0.3: reads `model_name` (not `model`), which defaults to
  `whisper-1`: its YAML config names the base model `whisper-1`, so a client that sends
  only OpenAI's fields is served. No words, no key, one request at a time.

`FaultProxy` stands in front of a real server to answer 500 or to answer late on demand:
the faults are scripted, the transcriptions are the real server's.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, ClassVar

import httpx

DEV_CACHE = Path(os.environ.get("MEETING_ASSISTANT_DEV_CACHE") or Path.home() / ".cache" / "meeting-assistant-dev")
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Kind:
    name: str
    requirement: str
    ready_path: str  # answers 200 once the server takes requests

    @property
    def venv(self) -> Path:
        return DEV_CACHE / self.name

    def client_model(self, model_dir: str) -> str:
        """The `model` a client sends to it."""
        return f"faster-whisper:{model_dir}" if self.name == "open-asr-server" else "whisper-1"

    def command(self, model_dir: str, port: int, workdir: Path) -> list[str]:
        bin_dir = self.venv / ("Scripts" if os.name == "nt" else "bin")
        if self.name == "open-asr-server":
            return [str(bin_dir / "open-asr-server"), "serve", "--host", "127.0.0.1", "--port", str(port),
                    "--preload", f"faster-whisper:{model_dir}"]
        config = workdir / "models.yaml"
        config.write_text(f"models:\n  - name: whisper-1\n    path: {model_dir}\n"
                          "    model_options: {device: cpu, compute_type: int8}\n", encoding="utf-8")
        return [str(bin_dir / "faster-whisper-server"), "--config", str(config), "--host", "127.0.0.1",
                "--port", str(port)]

    def env(self, model_dir: str, api_key: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPEN_ASR", "FWS_", "VIRTUAL_ENV"))}
        env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"))
        if self.name == "open-asr-server":
            env["OPEN_ASR_SERVER_ALLOWED_MODELS"] = f"faster-whisper:{model_dir}"
            if api_key:
                env["OPEN_ASR_SERVER_API_KEY"] = api_key
        return env


KINDS = {k.name: k for k in (
    Kind("open-asr-server", "open-asr-server[faster-whisper]==0.3.0", "/v1/models"),
    Kind("faster-whisper-server", "faster-whisper-server==0.0.3", "/health"),
)}


def install(kind: Kind) -> Path:
    """The server's virtual environment, created and filled from PyPI unless it already holds `requirement`."""
    marker = kind.venv / "installed.txt"
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == kind.requirement:
        return kind.venv
    kind.venv.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)  # not this venv's python: a venv of its own
    subprocess.run([base, "-m", "venv", "--clear", str(kind.venv)], check=True)
    python = kind.venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([str(python), "-m", "pip", "install", "-q", kind.requirement], check=True)
    marker.write_text(kind.requirement + "\n", encoding="utf-8")
    return kind.venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One real server process on 127.0.0.1; `stop()` kills it, `start()` brings it back on the same port."""

    kind: Kind
    model_dir: str
    workdir: Path
    api_key: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        return self.kind.client_model(self.model_dir)

    def start(self) -> Server:
        install(self.kind)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = (self.workdir / f"{self.kind.name}.log").open("ab")
        self.proc = subprocess.Popen(self.kind.command(self.model_dir, self.port, self.workdir),
                                     env=self.kind.env(self.model_dir, self.api_key), stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind.name} exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{self.kind.ready_path}", headers=headers,
                             timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.kind.name} not ready in {READY_TIMEOUT_S:.0f} s: {self.log_text()[-2000:]}")

    def stop(self) -> None:
        """Kill the process (as a crash or a reboot would) and wait for it to be gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_text(self) -> str:
        path = self.workdir / f"{self.kind.name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


class _Proxy(BaseHTTPRequestHandler):
    owner: ClassVar[FaultProxy]

    def log_message(self, *args: object) -> None:
        pass

    def _relay(self) -> None:
        proxy = self.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = proxy.next_fault()
        proxy.requests += 1
        if fault == "500":
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"Internal Server Error")
            return
        if fault == "slow":
            time.sleep(proxy.slow_s)  # the client has given up by now; the answer goes nowhere
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        try:
            r = httpx.request(self.command, proxy.target + self.path, content=body, headers=headers, timeout=600)
        except httpx.TransportError:
            self.send_response(502)
            self.end_headers()
            return
        try:
            self.send_response(r.status_code)
            self.send_header("Content-Type", r.headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)
        except OSError:
            pass

    do_POST = _relay
    do_GET = _relay


class FaultProxy:
    """A pass-through to a real server that answers 500, or answers `slow_s` late, to the requests it is told to."""

    def __init__(self, target: str, slow_s: float = 10.0) -> None:
        self.target = target.removesuffix("/v1")
        self.slow_s = slow_s
        self.faults: list[str] = []  # "500" or "slow" for the next requests, in order
        self.always: str | None = None  # the same fault for every request, until set to None
        self.requests = 0
        self.lock = threading.Lock()
        handler = type("Handler", (_Proxy,), {"owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def next_fault(self) -> str | None:
        with self.lock:
            if self.always:
                return self.always
            return self.faults.pop(0) if self.faults else None

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.asr_servers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("install", help="create the servers' virtual environments (kept once built)")
    serve = sub.add_parser("serve", help="run one server in the foreground with the offline base model")
    serve.add_argument("name", choices=sorted(KINDS))
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.verb == "install":
        for kind in KINDS.values():
            print(f"==> {kind.name}: {install(kind)}", flush=True)
        return 0
    from stages.transcribe.models import resolve

    server = Server(KINDS[args.name], resolve("base"), DEV_CACHE / "run", port=args.port).start()
    print(f"{args.name} ready at {server.url}, model {server.model!r}; Ctrl+C stops it", flush=True)
    try:
        assert server.proc is not None
        server.proc.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
