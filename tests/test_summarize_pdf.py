"""The PDF report as a person gets it: rendered to PNG pages by pdftoppm and read back by pdftotext
(Debian's poppler-utils), French accents included; and the report without its transcript."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stages import config
from stages.summarize import backends
from stages.summarize.run import drive, settings
from stages.summarize.schema import FinalReport
from stages.summarize.scripted import make_session, write_transcript
from stages.summarize.stage import Summarizer
from tests.summarize_support import script, session_of

POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed (apt-get install poppler-utils)")


def report_of(tmp: Path, name: str) -> Path:
    session = session_of(tmp, name)
    cfg = settings(session, None)
    drive(Summarizer(session, cfg, backends.chain(cfg.llm, cfg)))
    return session.report


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def test_the_pdf_holds_what_the_html_holds_with_french_accents(tmp_path: Path) -> None:
    folder = report_of(tmp_path, "fr")
    pdf = folder / "final.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], capture_output=True,
                           text=True, timeout=60)
    assert pages.returncode == 0, pages.stderr
    pngs = sorted(tmp_path.glob("page*.png"))
    assert pngs and all(p.stat().st_size > 2000 for p in pngs)  # real pages with ink on them, not blank
    text = " ".join(pdf_text(pdf).split())
    report = FinalReport.model_validate_json((folder / "final.json").read_text(encoding="utf-8"))
    for heading in ("Résumé", "Décisions", "Actions", "Questions ouvertes", "Échéance", "Transcription"):
        assert heading in text, heading
    for item in [*report.decisions, *(a.task for a in report.action_items), *report.open_questions]:
        assert " ".join(item.split()) in text, item  # the same lists as the HTML, accents intact
    assert "Participants:" in text and "prestataire de paiement" in text  # the transcript


def test_include_full_transcript_false_leaves_it_out_of_every_report_file(tmp_path: Path) -> None:
    data = script("en")
    session = make_session(tmp_path / "private", data, llm="offline")
    manifest = session.manifest()
    manifest.config["report"] = {"include_full_transcript": False}
    config.validate(manifest.config)
    session.write_manifest(manifest)
    write_transcript(session, data)
    cfg = settings(session, None)
    drive(Summarizer(session, cfg, backends.chain(cfg.llm, cfg)))
    said = "the first user tests went well"
    for name in ("final.md", "final.html"):
        body = (session.report / name).read_text(encoding="utf-8")
        assert "Transcript" not in body and said not in body, name
        assert "Decisions" in body
    text = pdf_text(session.report / "final.pdf")
    assert "Transcript" not in text and "user tests" not in text and "Decisions" in text
    assert said in (session.report / "transcript.md").read_text(encoding="utf-8")  # the transcript files stay
