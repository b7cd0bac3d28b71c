"""The .bat launchers in a console window under Wine's cmd, as a double-click runs them.

They record with the default source (system + microphone) and Élodie's settings. The named launcher
is stopped with `q` in its window, the quick one with `down` from another process. Python's French
output (paths, names) shows as it should; the launchers' own French lines show as Wine's cmd reads
a UTF-8 batch file (see wine.as_wine_cmd_shows), which Windows reads as UTF-8 after `chcp 65001`.
"""

from __future__ import annotations

import re
import time
from pathlib import PureWindowsPath

import pytest

from stages.spool import Session
from tests.pulse import ensure_null_sink
from tests.windows import wine
from tests.windows.sessions import folders, new_session, recording

pytestmark = pytest.mark.usefixtures("installed", "pulse_lock")


def test_named_launcher_asks_the_name_and_stops_on_q(user_config: PureWindowsPath) -> None:
    ensure_null_sink()
    spool = wine.host(user_config)
    before = folders(spool)
    bat = wine.Console(["cmd", "/c", "start_bot_assistant_reunion.bat"])
    try:
        bat.wait_for_output(wine.as_wine_cmd_shows("Nom de la réunion :"), 120)
        bat.type("Réunion Élodie\r")
        session = new_session(spool, before)
        recording(session)
        time.sleep(12)
        bat.type("q")
        screen = bat.finish(600)
    finally:
        if bat.poll() is None:
            bat.kill()
    assert bat.returncode == 0, screen
    assert session.manifest().name == "Réunion Élodie" and sorted(session.manifest().sources) == ["mic", "system"]
    assert (session.report / "END.json").is_file(), screen
    assert f"Report ready: {user_config}" in screen, screen  # C:\Users\Élodie\Mes réunions, accents shown


def test_quick_launcher_names_the_meeting_itself(user_config: PureWindowsPath) -> None:
    ensure_null_sink()
    spool = wine.host(user_config)
    before = folders(spool)
    bat = wine.Console(["cmd", "/c", "start_bot_assistant_reunion_rapide.bat"])
    try:
        bat.wait_for_output(wine.as_wine_cmd_shows("Enregistrement en cours. Appuyez sur q pour arrêter"), 120)
        session = new_session(spool, before)
        recording(session)
        time.sleep(12)
        down = wine.supervisor("down", session.name, timeout=600)
        assert down.returncode == 0, down.stdout
        screen = bat.finish(600)
    finally:
        if bat.poll() is None:
            bat.kill()
    assert bat.returncode == 0, screen
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
