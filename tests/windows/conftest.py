"""The Windows tests run only inside scripts/windows.sh (a Wine root, a private mount namespace, root)."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.windows import wine

if not os.environ.get("MEETING_ASSISTANT_WINE_ROOT"):
    collect_ignore_glob = ["test_*.py"]  # the ordinary suite: scripts/windows.sh runs these

PULSE_LOCK = "/tmp/pulse-tests.lock"


@pytest.fixture
def pulse_lock() -> Iterator[None]:
    """One user of the shared PulseAudio server at a time (the team's `flock /tmp/pulse-tests.lock`)."""
    with open(PULSE_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _ends_its_windows_processes() -> Iterator[None]:
    """A test that failed half-way leaves no stage running into the next one (an orphaned stage waits forever)."""
    yield
    from tests.windows.sessions import windows_processes

    for pid, image in windows_processes().items():
        if image.lower() == "python.exe":
            wine.run(["taskkill", "/F", "/PID", str(pid)], timeout=60)


@dataclass
class Install:
    """What scripts/install_meeting_assistant.bat did, run once per session in a console under Wine."""

    returncode: int | None
    screen: str


@pytest.fixture(scope="session")
def installed() -> Install:
    """The project installed by its own .bat with the Windows Python (offline: the wheels windows.sh fetched)."""
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": r"Z:\wheels",
               "PIP_CONSTRAINT": r"Z:\wheels\constraints.txt",  # pip splits this variable at spaces
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    console = wine.Console(["cmd", "/c", r"scripts\install_meeting_assistant.bat"], extra_env=offline)
    done = "Installation terminée"
    wine.wait_for(lambda: done in console.output() or "Press any key" in console.output() or
                  console.poll() is not None, 1800, "the installation to end")
    console.type("\r")  # the closing `pause`
    screen = console.finish(60)
    if console.returncode != 0 or not wine.host(wine.VENV_PY).is_file():
        pytest.fail(f"install_meeting_assistant.bat failed ({console.returncode}):\n{screen}")
    return Install(console.returncode, screen)


SPOOL = wine.PureWindowsPath(f"C:\\Users\\{wine.USER}\\Mes réunions")
USER_CONFIG = wine.PROFILE / "AppData" / "Roaming" / "meeting-assistant" / "pipeline.toml"


@pytest.fixture(scope="session")
def user_config() -> wine.PureWindowsPath:
    """Élodie's own settings in %APPDATA%: her spool under `Mes réunions`, English meetings, offline summaries.

    Every command below takes them from there (none passes --spool or --language), as hers would.
    """
    shutil.rmtree(wine.host(SPOOL), ignore_errors=True)  # the Wine prefix is kept between runs; its meetings not
    path = wine.host(USER_CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[session]\nspool = '{SPOOL}'\nlanguage = \"en\"\n\n[summarize]\nllm = \"offline\"\n",
                    encoding="utf-8")
    return SPOOL
