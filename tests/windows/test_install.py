"""scripts/install_meeting_assistant.bat under Wine's cmd: environment, project, Whisper models, local LLM."""

from __future__ import annotations

from tests.windows import wine
from tests.windows.conftest import Install


def test_install_creates_the_environment_with_models_and_local_llm(installed: Install) -> None:
    for said in ("Installation des dépendances, des modèles Whisper", "Vérification des modèles",  # accents right
                 "Installation terminée. Double-cliquez sur start_bot_assistant_reunion.bat"):
        assert said in installed.screen, installed.screen
    listed = wine.python("-m", "stages.summarize.models", "list", timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    default = next(line for line in listed.stdout.splitlines() if line.startswith("default"))
    assert "installed" in default, listed.stdout
    small = next(line for line in listed.stdout.splitlines() if line.startswith("small"))
    assert "installed" in small, listed.stdout  # brief answers while the default cannot keep up
    probe = wine.python("-c", "from stages.transcribe.models import resolve; print(resolve('base'))", timeout=120)
    assert probe.returncode == 0 and "whisper-base" in probe.stdout, probe.stdout + probe.stderr
