"""Privacy: owner-only files, no API key on disk, escaped HTML with a CSP, no listening socket, consent notice.

Most checks read the shared clean run (tests/faults/conftest.py), which ran with
fake API keys in its environment and a watcher on its processes' sockets.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from stages.models import SessionManifest, TranscriptBatch
from stages.notice import TEXT
from stages.spool import iter_sessions
from tests.conftest import ROOT, run_stage
from tests.faults.chaos import cli_env, start_cli, up_args
from tests.faults.conftest import PLANTED, Observed, copy_session, listening_sockets
from tests.speech import make_silence

pytestmark = pytest.mark.slow
POSIX = os.name == "posix"


@pytest.mark.skipif(not POSIX, reason="Windows: session data is private through the user profile's ACLs (README)")
def test_session_folders_are_0700_and_files_0600(clean_demo: Observed) -> None:
    root = clean_demo.session.path
    assert stat.S_IMODE(root.parent.stat().st_mode) == 0o700  # the spool folder `up` created lists meeting names
    checked = {"dirs": 0, "files": 0}
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        kind = "dirs" if path.is_dir() else "files"
        assert mode == (0o700 if kind == "dirs" else 0o600), f"{path.relative_to(root)}: {oct(mode)}"
        checked[kind] += 1
    logs = {p.name for p in (root / "logs").iterdir()}
    assert {"capture.log", "transcribe.log", "summarize.log"} <= logs
    assert checked["files"] > 50 and (root / "report" / "final.html").exists()


def leaks(folder: Path, also: str = "") -> list[str]:
    """Where any planted key (or a recognisable half of it) appears: every file, any format, plus `also`."""
    needles = [v.encode() for v in PLANTED.values()] + [v[: len(v) // 2].encode() for v in PLANTED.values()]
    found = [f"{p}: {n.decode()}" for p in folder.rglob("*") if p.is_file() for n in needles if n in p.read_bytes()]
    found += [f"output: {n.decode()}" for n in needles if n.decode() in also]
    return found


def test_api_keys_from_the_environment_are_never_written(clean_demo: Observed) -> None:
    assert leaks(clean_demo.session.path, clean_demo.output) == []
    config = clean_demo.session.manifest().config
    flat = json.dumps(config)
    assert "api_key_env" in flat and "OPENAI_API_KEY" in flat  # the variable's name is kept, never its value
    assert not any(k.lower() in ("api_key", "key", "token", "secret") for section in config.values()
                   if isinstance(section, dict) for k in section)


class _OpenAIStub(BaseHTTPRequestHandler):
    """Refuses every request with 401, as OpenAI does for a revoked key; remembers what it was sent."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def openai_stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIStub)
    _OpenAIStub.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_key_that_is_used_and_refused_is_still_never_written(clean_demo: Observed, tmp_path: Path,
                                                              openai_stub: str) -> None:
    """The summarizer really sends the key (to a loopback stub that refuses it), and still writes it nowhere."""
    session = copy_session(clean_demo.session, tmp_path / "20260101-1100-key-test")
    manifest: SessionManifest = session.manifest()
    summarize: dict[str, Any] = json.loads(json.dumps(manifest.config["summarize"]))
    summarize.update(llm="openai", retries=0)
    summarize["openai"]["base_url"] = openai_stub
    manifest.config["summarize"] = summarize
    session.write_manifest(manifest)
    result = subprocess.run([sys.executable, "-m", "stages.summarize", str(session.path), "--regenerate"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=cli_env({**PLANTED, "PYTHONPATH": str(ROOT)}))
    assert result.returncode == 0, result.stderr
    assert f"Bearer {PLANTED['OPENAI_API_KEY']}" in _OpenAIStub.seen  # the key was read and sent
    assert "refused the API key from OPENAI_API_KEY (401)" in result.stderr
    assert leaks(session.path, result.stdout + result.stderr) == []


HOSTILE_NAME = '<script>alert("name")</script> Réunion & "co"'
HOSTILE_TEXT = "</p><script>alert('said')</script><img src=x onerror=alert(1)> \"quoted\" & more"


def test_transcript_and_names_are_escaped_in_the_html_report_with_a_csp(clean_demo: Observed,
                                                                       tmp_path: Path) -> None:
    session = copy_session(clean_demo.session, tmp_path / "20260101-1200-hostile")
    manifest = session.manifest()
    manifest.name = HOSTILE_NAME
    session.write_manifest(manifest)
    path = session.transcript_path(2)
    doc = TranscriptBatch.model_validate_json(path.read_text(encoding="utf-8"))
    doc.segments[0].text = HOSTILE_TEXT + " We decided to ship on Friday."
    path.write_text(doc.model_dump_json(), encoding="utf-8")
    result = run_stage("summarize", session.path, "--regenerate")
    assert result.returncode == 0, result.stderr
    html = (session.report / "final.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img" not in html.lower() and "onerror=alert" not in html.replace(
        "onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&#x27;said&#x27;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; Réunion &amp; &quot;co&quot;" in html
    csp = next(line for line in html.splitlines() if "Content-Security-Policy" in line)
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_the_product_opens_no_listening_socket(clean_demo: Observed) -> None:
    commands = " ".join(clean_demo.processes.values())
    # the watcher did see the stages that live through the session (an imported file's capture
    # is done within a second and can finish between two samples)
    for stage in ("stages.transcribe", "stages.summarize"):
        assert stage in commands
    assert clean_demo.listening == []


@pytest.mark.skipif(os.name == "nt", reason="on Windows llama.cpp's listener is a 127.0.0.1 port with a random key")
def test_the_local_llm_opens_no_network_socket(tmp_path: Path) -> None:
    """xllamacpp always opens llama.cpp's HTTP listener: here it is a unix socket, removed on close."""
    from stages.summarize import models

    if not models.available("small"):
        pytest.skip("the small local GGUF is not installed (python -m stages.summarize.models install small)")
    probe = ("import json, psutil\n"
             "from stages.config import SummarizeConfig\n"
             "from stages.summarize.backends.local import LocalBackend\n"
             "cfg = SummarizeConfig.model_validate({'llm': 'local', 'local': {'model': 'small', 'n_ctx': 1024}})\n"
             "backend = LocalBackend(cfg)\nbackend.prepare()\n"
             "from tests.faults.conftest import listening_sockets\n"
             "import os\ninet = listening_sockets(psutil.Process())\n"
             "unix = [c.laddr for c in psutil.Process().net_connections(kind='unix') if c.laddr]\n"
             "folder = backend.socket_dir\nmode = os.stat(folder).st_mode & 0o777\nbackend.close()\n"
             "print(json.dumps([inet, unix, mode, os.path.exists(folder)]))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=cli_env({"PYTHONPATH": str(ROOT)}))
    assert done.returncode == 0, done.stderr[-2000:]
    inet, unix, mode, folder_left = json.loads(done.stdout.strip().splitlines()[-1])
    assert inet == []  # nothing on the network
    assert len(unix) == 1 and unix[0].endswith("llama.sock") and "meeting-assistant-llm-" in unix[0]
    assert mode == 0o700 and folder_left is False  # a private folder, gone with the backend


def test_listening_sockets_sees_a_listening_socket() -> None:
    """The socket check itself can fail: a process that listens is reported."""
    import socket

    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert any(str(s.getsockname()[1]) in found for found in listening_sockets(psutil.Process()))


# ---------------------------------------------------------------------------
# The first-run consent notice
# ---------------------------------------------------------------------------


def up_once(audio: Path, spool: Path, profile: Path, language: str, *extra: str) -> str:
    log = spool.with_suffix(".log")
    with log.open("wb") as out:
        proc = start_cli(up_args(audio, spool, "notice", language, *extra), out,
                         cli_env({"MEETING_ASSISTANT_CONFIG_DIR": str(profile / "meeting-assistant")}))
        assert proc.wait(timeout=300) == 0, log.read_text(encoding="utf-8")
    return " ".join(log.read_text(encoding="utf-8").split())


def test_first_run_notice_once_in_the_meeting_language_and_can_be_turned_off(tmp_path: Path) -> None:
    audio = make_silence(tmp_path / "short.wav", 2.0)
    french, english = " ".join(TEXT["fr"].split()), " ".join(TEXT["en"].split())
    first = up_once(audio, tmp_path / "s1", tmp_path / "profile", "fr")
    assert french in first and english not in first
    assert "informez-en les autres participants" in first.lower()
    marker = tmp_path / "profile" / "meeting-assistant" / "consent-notice-shown"
    assert marker.is_file()
    second = up_once(audio, tmp_path / "s2", tmp_path / "profile", "fr")
    assert french not in second and "Rappel" not in second
    off = tmp_path / "off.toml"
    off.write_text("[session]\nconsent_notice = false\n", encoding="utf-8")
    quiet = up_once(audio, tmp_path / "s3", tmp_path / "fresh-profile", "en", "--config", str(off))
    assert english not in quiet and "Reminder" not in quiet
    assert not (tmp_path / "fresh-profile" / "meeting-assistant").exists()
    assert len(list(iter_sessions(tmp_path / "s3"))) == 1


def test_english_notice_for_other_languages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stages import notice

    monkeypatch.setenv("MEETING_ASSISTANT_CONFIG_DIR", str(tmp_path / "meeting-assistant"))
    assert notice.first_run_notice("de", enabled=True) == TEXT["en"]
    assert notice.first_run_notice("de", enabled=True) is None
    assert "participants" in TEXT["en"] and "participants" in TEXT["fr"]
