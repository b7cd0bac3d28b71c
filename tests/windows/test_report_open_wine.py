"""The report rewritten (`report SESSION --llm offline`) while another Windows process holds it open."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PureWindowsPath

import pytest

from stages.spool import Session
from tests.windows import wine
from tests.windows.conftest import Install
from tests.windows.sessions import demo_clip, folders, new_session


@pytest.fixture(scope="module")
def imported(installed: Install, user_config: PureWindowsPath) -> tuple[Session, PureWindowsPath]:
    """A finished session: the first 20 s of the demo meeting imported from a file."""
    clip = wine.PROFILE / "Extrait réunion.wav"
    demo_clip(wine.host(clip), 20.0)
    spool = wine.host(user_config)
    before = folders(spool)
    done = wine.supervisor("up", "--name", "Import", "--source", f"file:{clip}", "--model", "tiny.en",
                           timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    session = new_session(spool, before, timeout=1)
    assert (session.report / "END.json").is_file()
    return session, user_config / session.name


@contextmanager
def held(kind: str, path: PureWindowsPath) -> Iterator[None]:
    """A Windows process holding `path` (win_hold.py) for the duration of the block."""
    release = wine.PROFILE / f"release-{uuid.uuid4().hex[:8]}"
    holder = wine.start([str(wine.VENV_PY), r"tests\windows\win_hold.py", kind, str(path), str(release)])
    try:
        holder.wait_for_output("holding", 120)
        yield
    finally:
        wine.host(release).write_text("", encoding="utf-8")
        holder.finish(60)


def leftovers(session: Session) -> list[str]:
    return sorted(p.name for p in session.path.iterdir() if p.name.startswith((".report", ".summaries")))


def test_report_rewritten_while_its_file_is_open(imported: tuple[Session, PureWindowsPath]) -> None:
    session, win = imported
    before = (session.report / "END.json").read_text(encoding="utf-8")
    with held("file", win / "report" / "final.md"):
        rewrite = wine.supervisor("report", session.name, "--llm", "offline", timeout=300)
        assert rewrite.returncode == 0, rewrite.stdout + rewrite.stderr
        assert (session.report / "END.json").read_text(encoding="utf-8") != before
        assert (session.report / "final.md").is_file() and (session.report / "final.html").is_file()
    again = wine.supervisor("report", session.name, "--llm", "offline", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert leftovers(session) == []  # the old copy the open file kept is gone once it is closed


def test_report_folder_held_past_the_retries(imported: tuple[Session, PureWindowsPath]) -> None:
    session, win = imported
    before = {p.name: p.read_bytes() for p in session.report.iterdir()}
    with held("folder", win / "report"):
        refused = wine.supervisor("report", session.name, "--llm", "offline", timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "another program holds a file" in " ".join((refused.stdout + refused.stderr).split()), refused.stderr
    assert {p.name: p.read_bytes() for p in session.report.iterdir()} == before  # the previous report, whole
    again = wine.supervisor("report", session.name, "--llm", "offline", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert leftovers(session) == []


def test_the_installed_local_llm_writes_the_report(imported: tuple[Session, PureWindowsPath]) -> None:
    """What install_meeting_assistant.bat installed gives a Windows user without Ollama real LLM summaries.

    Run through win_local_llm.py: under Wine the local backend's teardown hangs (see there).
    """
    session, win = imported
    kept = wine.host(wine.PROFILE / "AppData" / "Local" / "meeting-assistant" / "prompts")
    shutil.rmtree(kept, ignore_errors=True)  # the prefix outlives a run: this one must write them
    rewrite = wine.python(r"tests\windows\win_local_llm.py", str(win), timeout=900)
    assert rewrite.returncode == 0, rewrite.stdout
    final = json.loads((session.report / "final.json").read_text(encoding="utf-8"))
    assert final["backend"] == "local" and final["llm"].startswith("local (Qwen2.5-Coder-1.5B"), final
    assert final["chunk_llms"] == {final["llm"]: [1]}, final
    assert final["summary"].strip(), final
    # the instructions' cache kept for the next meeting: llama.cpp's slot files, over its 127.0.0.1 listener
    assert sorted(p.suffix for p in kept.iterdir()) == [".bin", ".bin"], list(kept.iterdir())
