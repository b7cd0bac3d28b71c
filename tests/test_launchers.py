"""The Windows launchers' form and the CLI verbs they call; tests/windows/ runs them under Wine's cmd."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import typer.main

from stages.cli import app
from tests.conftest import ROOT

LAUNCHERS = [ROOT / "start_bot_assistant_reunion.bat", ROOT / "start_bot_assistant_reunion_rapide.bat",
             ROOT / "scripts" / "install_meeting_assistant.bat", ROOT / "scripts" / "list_sessions.bat"]


def launcher_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("launcher", ROOT / "scripts" / "launcher.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli_verbs() -> dict[str, set[str]]:
    """Every verb of the CLI with the option names it accepts."""
    group = typer.main.get_command(app)
    return {name: {opt for p in cmd.params for opt in getattr(p, "opts", [])}
            for name, cmd in group.commands.items()}  # type: ignore[attr-defined]


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=lambda p: p.name)
def test_launcher_is_ascii_crlf_and_runs_from_any_folder(launcher: Path) -> None:
    raw = launcher.read_bytes()
    text = raw.decode("ascii")  # cmd reads a .bat in the console's code page: only ASCII reads the same in all
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "batch files need CRLF line endings"
    assert re.search(r'cd /d "%~dp0(\.\.)?"', text), "must not depend on the current folder"
    said = re.findall(r"(?:launcher\.py say|%SAY%) (\w+)", text)
    assert said, "its French messages come from scripts/launcher.py"
    assert set(said) <= set(launcher_py().MESSAGES), said


def test_launcher_py_speaks_french_and_starts_up_with_a_name() -> None:
    module = launcher_py()
    assert all(re.search(r"[éèàçÉ]", m) for m in (module.NAME_PROMPT, module.MESSAGES["installed"], module.FAILED))
    assert "--name" in cli_verbs()["up"]


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=lambda p: p.name)
def test_every_cli_call_in_a_launcher_exists(launcher: Path) -> None:
    verbs = cli_verbs()
    text = launcher.read_text(encoding="utf-8")
    calls = re.findall(r"supervisor\.py\s+([^\r\n]*)", text)
    assert calls or re.search(r"launcher\.py (named|quick)", text), "the launcher calls the CLI"
    for call in calls:
        words = call.split()
        verb = words[0]
        if verb.startswith("-"):
            assert verb in ("--help",)
            continue
        assert verb in verbs, f"{launcher.name} calls unknown verb {verb!r}"
        for option in (w for w in words[1:] if w.startswith("--")):
            assert option in verbs[verb], f"{launcher.name}: {verb} has no option {option}"


def test_quick_launcher_name_format() -> None:
    from stages.cli.start import _default_name

    assert re.fullmatch(r"Reunion_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}", _default_name("system+mic"))


def test_install_script_installs_the_offline_models_and_the_local_llm() -> None:
    text = (ROOT / "scripts" / "install_meeting_assistant.bat").read_text(encoding="utf-8")
    assert "-m venv .venv" in text and '.[models,llm,llm-small]' in text and "stages.summarize.models install" in text
    assert "stages.summarize.models install --small" in text  # brief answers beside a call
