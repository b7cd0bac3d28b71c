"""One clean, observed run of the demo meeting, shared by the fault tests as their reference.

It is also the privacy observation: the run gets fake API keys in its environment
(grepped for afterwards in every file of the spool and in what `up` printed), and a
watcher samples the sockets of the supervisor and every stage while they run.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from stages.spool import Session, iter_sessions
from tests.conftest import DEMO_EN
from tests.faults.chaos import cli_env, start_cli, up_args

PLANTED = {
    "OPENAI_API_KEY": "sk-proj-PLANTEDopenai7Qx2Vb9Lm4Kd8Rt1",
    "ANTHROPIC_API_KEY": "sk-ant-api03-PLANTEDanthropic5Hw3Zp6Jn",
    "HF_TOKEN": "hf_PLANTEDhuggingface2Gd8Sk4Wq",
    "MEETING_ASSISTANT_API_KEY": "PLANTED-meeting-assistant-9f3e1c",
}


@dataclass
class Observed:
    session: Session
    output: str  # everything `up` printed
    seconds: float
    processes: dict[int, str] = field(default_factory=dict)  # pid -> command line, every process seen
    listening: list[str] = field(default_factory=list)  # sockets that accept connections


def listening_sockets(proc: psutil.Process) -> list[str]:
    """TCP sockets in LISTEN and UDP sockets bound without a peer: what the network could reach."""
    found = []
    for conn in proc.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN or (conn.type == 2 and conn.laddr and not conn.raddr):
            found.append(f"{conn.laddr.ip}:{conn.laddr.port} ({'udp' if conn.type == 2 else 'tcp listen'})")
    return found


def watch(root: subprocess.Popen[bytes], seen: Observed, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            procs = [psutil.Process(root.pid)]
            procs += procs[0].children(recursive=True)
        except psutil.NoSuchProcess:
            procs = []
        for proc in procs:
            try:
                command = " ".join(proc.cmdline())  # latest: a child is the parent until exec...
                if command:  # ...and a zombie's is empty
                    seen.processes[proc.pid] = command
                for sock in listening_sockets(proc):
                    seen.listening.append(f"{command or proc.pid}: {sock}")
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        stop.wait(0.05)


@pytest.fixture(scope="session")
def clean_demo(tmp_path_factory: pytest.TempPathFactory) -> Observed:
    """`up` on the demo meeting with no fault; (the session, what it printed, what the watcher saw)."""
    base = tmp_path_factory.mktemp("clean-demo")
    spool, log = base / "spool", base / "up.log"
    env = cli_env({**PLANTED, "MEETING_ASSISTANT_CONFIG_DIR": str(base / "profile" / "meeting-assistant")})
    t0 = time.monotonic()
    with log.open("wb") as out:
        proc = start_cli(up_args(DEMO_EN, spool, "Clean demo"), out, env)
        stop = threading.Event()
        seen = Observed(Session(base), "", 0.0)
        watcher = threading.Thread(target=watch, args=(proc, seen, stop), daemon=True)
        watcher.start()
        code = proc.wait(timeout=600)
        stop.set()
        watcher.join()
    seen.output = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, seen.output
    (seen.session,) = list(iter_sessions(spool))
    seen.seconds = time.monotonic() - t0
    return seen


def copy_session(session: Session, dest: Path) -> Session:
    """A private copy of a finished session to break things in (the shared one stays intact)."""
    shutil.copytree(session.path, dest, symlinks=True)
    return Session(dest)
