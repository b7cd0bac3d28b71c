"""The .bat launchers in a console window under Wine's cmd, as a double-click runs them.

They record with the default source (system + microphone) and Élodie's settings. The named launcher
is stopped with `q` in its window, the quick one with `down` from another process. Their French
(prompt, messages) is printed by Python (scripts/launcher.py; the .bat files are ASCII), so the
accents must show exactly as written, in Wine's console as in Windows'.
"""

from __future__ import annotations

import re
import time
from pathlib import PureWindowsPath

import pytest

from stages.spool import Session
from tests.pulse import ensure_null_sink
from tests.windows import wine
from tests.windows.sessions import folders, new_session, recording, stop

pytestmark = pytest.mark.usefixtures("installed", "pulse_lock")


def launch(launcher: str, spool: PureWindowsPath, prompt: str, typed: str = "") -> tuple[wine.Console, Session]:
    """Start `launcher` in a console, answer its prompt with `typed`, and let it record 12 s."""
    ensure_null_sink()
    before = folders(wine.host(spool))
    bat = wine.Console(["cmd", "/c", launcher])
    try:
        bat.wait_for_output(prompt, 120)
        bat.type(typed)
        session = new_session(wine.host(spool), before)
        recording(session)
    except BaseException:
        bat.kill()
        raise
    time.sleep(12)
    return bat, session


def test_named_launcher_asks_the_name_and_stops_on_q(user_config: PureWindowsPath) -> None:
    bat, session = launch("start_bot_assistant_reunion.bat", user_config, "Nom de la réunion :", "Réunion Élodie\r")
    try:
        bat.type("q")
        screen = bat.finish(600)
    finally:
        if bat.poll() is None:
            bat.kill()
    assert bat.returncode == 0, screen
    assert session.manifest().name == "Réunion Élodie" and sorted(session.manifest().sources) == ["mic", "system"]
    assert (session.report / "END.json").is_file(), screen
    assert "Nom de la réunion :" in screen, screen  # printed by Python: the accent shows as written
    assert "report ready: c:\\users\\élodie\\mes réunions\\" in screen.casefold(), screen


def test_quick_launcher_names_the_meeting_itself(user_config: PureWindowsPath) -> None:
    bat, session = launch("start_bot_assistant_reunion_rapide.bat", user_config,
                          "Enregistrement en cours. Appuyez sur q pour arrêter")
    try:
        screen = stop(bat, session)
    finally:
        if bat.poll() is None:
            bat.kill()
    assert "Enregistrement en cours. Appuyez sur q pour arrêter et produire le compte rendu." in screen, screen
    assert re.fullmatch(r"Reunion_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}", session.manifest().name)
    assert (session.report / "END.json").is_file(), screen


def test_list_sessions_shows_past_meetings(user_config: PureWindowsPath) -> None:
    names = {Session(p).manifest().name for p in folders(wine.host(user_config))}
    assert names, "the tests before this one recorded meetings"
    bat = wine.Console(["cmd", "/c", r"scripts\list_sessions.bat"])
    try:
        wine.wait_for(lambda: all(n in bat.output() for n in names) or bat.poll() is not None, 120,
                      "the list of meetings")
        bat.type("\r")  # the closing `pause`
        screen = bat.finish(60)
    finally:
        if bat.poll() is None:
            bat.kill()
    assert bat.returncode == 0, screen
    for name in names:
        assert name in screen, (name, screen)
