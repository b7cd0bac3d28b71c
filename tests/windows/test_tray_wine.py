"""The tray icon, seen and clicked: a quick launcher started in a Wine virtual desktop with a taskbar (the
desktop named `shell` has one) on windows.sh's Xvfb display; the screen is read back from X.

The icon is found by its colour in the notification area (red recording, green paused); its menu is
opened with a right click and its items clicked (xdotool); "open the last report" goes through
Windows' file association (ShellExecute, `os.startfile`): .html is registered here for a recorder
program (Wine's prefix has no browser association), "stop" ends the session with its report.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PureWindowsPath

import pytest
from PIL import Image, ImageGrab

from stages import atomic, config
from stages.models import ReportEnd
from stages.sessions import create
from stages.spool import now_iso
from tests.pulse import ensure_null_sink
from tests.windows import wine
from tests.windows.sessions import folders, log_text, new_session, recording, windows_processes

pytestmark = pytest.mark.usefixtures("installed", "pulse_lock")

DISPLAY = os.environ.get("MEETING_ASSISTANT_WINE_DISPLAY", "")
Pixel = tuple[int, ...]
SHOTS = wine.ROOT.parent  # the screenshots are kept beside the root, for a look after a failure


def is_red(p: Pixel) -> bool:
    return p[0] > 180 and p[1] < 60 and p[2] < 60


def is_green(p: Pixel) -> bool:
    return p[1] > 150 and p[0] < 80 and p[2] < 100


def screen() -> Image.Image:
    return ImageGrab.grab(xdisplay=DISPLAY).convert("RGB")


def tray_area(img: Image.Image) -> tuple[int, int, int, int]:
    """The right third of the taskbar (the bottom 30 pixels): the Start button's red glass stays out."""
    return (img.width * 2 // 3, img.height - 30, img.width, img.height)


def disc(img: Image.Image, colour: Callable[[Pixel], bool]) -> tuple[int, int] | None:
    """The centre of the icon drawn in `colour` in the notification area, if it is there (a 16-pixel disc)."""
    left, top, right, bottom = tray_area(img)
    pixels = img.load()
    assert pixels is not None
    found = [(x, y) for y in range(top, bottom) for x in range(left, right) if colour(pixels[x, y])]
    if len(found) < 100:
        return None
    return sum(x for x, _ in found) // len(found), sum(y for _, y in found) // len(found)


def wait_for_disc(colour: Callable[[Pixel], bool], what: str, timeout: float = 90) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while (where := disc(img := screen(), colour)) is None:
        if time.monotonic() > deadline:
            img.save(SHOTS / "tray-fail.png")
            raise AssertionError(f"no {what} icon in the notification area after {timeout:.0f} s "
                                 f"(screen: {SHOTS / 'tray-fail.png'})")
        time.sleep(0.5)
    img.save(SHOTS / f"tray-{what}.png")
    return where


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=DISPLAY), check=True, timeout=30)


MENU_WAIT_S = 40.0
CLICK_WAIT_S = 8.0


def choose(icon: tuple[int, int], item: int, items: int = 2) -> None:
    """Right-click the icon, find its menu (bottom-aligned on the click, so only its top is sought), click an item.

    The pointer leaves the icon at once: its tooltip would otherwise cover the menu and take the click.
    """
    x, y = icon
    column, away = x - 60, y - 200  # inside the menu (right-aligned on the screen's edge), and above it
    desktop = screen().getpixel((column, away))

    def menu_top() -> int | None:
        """The first row below `away` that is not the desktop: the menu's top once it is open.

        Before it opens, that row is the taskbar's (a few pixels above the icon), so an open menu is one
        whose top lies at least `items` rows of 10 pixels above the icon.
        """
        img = screen()
        top = next((row for row in range(away, y) if img.getpixel((column, row)) != desktop), None)
        return top if top is not None and top < y - 10 * items else None

    deadline = time.monotonic() + MENU_WAIT_S
    while True:
        xdotool("mousemove", str(x), str(y), "click", "3", "mousemove", str(column), str(away))
        try:
            wine.wait_for(lambda: menu_top() is not None, CLICK_WAIT_S, "the tray menu to open")
            break
        except AssertionError:  # the click was lost (CI once waited 30 s for a menu): a user clicks again
            if time.monotonic() > deadline:
                screen().save(SHOTS / "tray-menu-fail.png")
                raise
    time.sleep(0.5)  # drawn whole
    top = menu_top()
    assert top is not None, (top, y)
    screen().crop((column - 150, top - 10, screen().width, y + 12)).save(SHOTS / f"tray-menu-{item}.png")
    xdotool("mousemove", str(column), str(top + round((item + 0.5) * (y - top) / items)), "click", "1")


def previous_meeting(spool: Path) -> Path:
    """A finished meeting's report in Élodie's spool: what "open the last report" must open."""
    cfg = config.validate({"session": {"spool": str(spool), "language": "en"}})
    session = create(cfg, "Réunion précédente")
    session.report.mkdir(exist_ok=True)
    atomic.write_text(session.report / "final.html", "<!doctype html><title>Réunion précédente</title>")
    atomic.write_json(session.report / "END.json", ReportEnd(files=["final.html"], llm="offline", ended_at=now_iso()))
    return session.report / "final.html"


@pytest.fixture
def html_opens_with_recorder() -> Iterator[PureWindowsPath]:
    """.html opened by tests/windows/win_opened.py, which writes the path it was given into the returned file.

    In HKCR (HKLM), as an installer registers it: Wine's ShellExecute does not read HKCU\\Software\\Classes.
    """
    opened = wine.PROFILE / "opened.txt"
    wine.host(opened).unlink(missing_ok=True)
    recorder = f'"{wine.VENV_PY}" "{wine.PROJECT}\\tests\\windows\\win_opened.py" "{opened}" "%1"'
    keys = [(r"HKCR\.html", "MeetingAssistant.TestReport"),
            (r"HKCR\MeetingAssistant.TestReport\shell\open\command", recorder)]
    for key, value in keys:
        assert wine.run(["reg", "add", key, "/ve", "/d", value, "/f"], timeout=60).returncode == 0
    try:
        yield opened
    finally:
        for key in (r"HKCR\.html", r"HKCR\MeetingAssistant.TestReport"):
            wine.run(["reg", "delete", key, "/f"], timeout=60)


def test_tray_icon_shows_the_state_opens_the_last_report_and_stops(
        user_config: PureWindowsPath, html_opens_with_recorder: PureWindowsPath) -> None:
    assert DISPLAY, "scripts/windows.sh gives the Windows tests an X display"
    spool = wine.host(user_config)
    last_report = previous_meeting(spool)
    ensure_null_sink()
    before = folders(spool)
    desktop = wine.start(["explorer", "/desktop=shell,1024x768", "cmd", "/c", "start_bot_assistant_reunion_rapide.bat"],
                         extra_env={"DISPLAY": DISPLAY})
    try:
        session = new_session(spool, before)
        recording(session)
        icon = wait_for_disc(is_red, "red")  # recording

        choose(icon, 1)  # open the last report
        opened = wine.host(html_opens_with_recorder)
        wine.wait_for(opened.is_file, 60, "the report to be opened")
        assert wine.host(opened.read_text(encoding="utf-8")) == last_report

        paused = wine.supervisor("pause", session.name, timeout=120)
        assert paused.returncode == 0, paused.stdout
        icon = wait_for_disc(is_green, "green")  # not recording

        choose(icon, 0)  # stop
        wine.wait_for(lambda: desktop.poll() is not None, 300, "the launcher to end once the report is written")
    finally:
        if desktop.poll() is None:
            desktop.kill()
    assert (session.report / "END.json").is_file(), log_text(session, "supervisor")
    tray_log = log_text(session, "tray")
    assert "stop chosen in the tray menu" in tray_log and "removing the icon" in tray_log, tray_log
    wine.wait_for(lambda: "python.exe" not in {i.lower() for i in windows_processes().values()}, 60,
                  "the tray to end by itself with the session")
