"""The HTML report as a person sees it: opened in headless Chromium (Debian's `chromium`)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from stages.summarize.backends.offline import OfflineBackend
from stages.summarize.run import drive, settings
from stages.summarize.scripted import batches_of, make_session, segments_of, write_batch, write_end
from stages.summarize.stage import Summarizer
from tests.summarize_support import script

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
EVIL = "<script>document.body.setAttribute('data-pwned','yes')</script> et <b>gras</b>"


class Visible(HTMLParser):
    """Text a person sees (no <style>/<script> contents), and the elements present."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.headings: list[str] = []
        self._skip = 0
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._skip += tag in ("style", "script", "title")
        if tag in ("h1", "h2"):
            self._heading = []
        if ("data-pwned", "yes") in attrs:
            self.tags.append("PWNED")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script", "title")
        if tag in ("h1", "h2") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)
            if self._heading is not None:
                self._heading.append(data)


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp / 'profile'}", *args], capture_output=True, text=True,
                          timeout=120)


def test_report_page_shows_headings_actions_and_escaped_transcript(tmp_path: Path) -> None:
    data = script("fr")
    data["turns"].insert(3, {"speaker": "Karim", "text": EVIL})
    session = make_session(tmp_path / "html", data, llm="offline", summarize={"interval_minutes": 1.0})
    batches = batches_of(segments_of(data), "fr")
    for batch in batches:
        write_batch(session, batch)
    write_end(session, batches[-1].batch)
    cfg = settings(session, None)
    drive(Summarizer(session, cfg, [OfflineBackend(cfg)]))
    page = session.report / "final.html"
    source = page.read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in source and "default-src 'none'" in source
    assert "<script" not in source and "src=" not in source.replace("default-src", "")

    done = chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = Visible()
    seen.feed(done.stdout)
    text = " ".join(" ".join(seen.text).split())
    assert seen.headings[0] == data["title"]
    for heading in ("Résumé", "Points clés", "Décisions", "Actions", "Questions ouvertes", "Moments forts",
                    "Transcription"):
        assert heading in seen.headings
    assert "Marc" in text and "comparer les offres des deux prestataires" in text and "vendredi" in text
    assert EVIL in text  # the transcript line is shown as text...
    assert "script" not in seen.tags and "b" not in seen.tags and "PWNED" not in seen.tags  # ...never as markup

    shot = tmp_path / "report.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri(), tmp=tmp_path)
    assert done.returncode == 0 and shot.stat().st_size > 10_000  # something was painted

