"""What the Windows tray icon shows and opens, from the session files alone (tests/windows/test_tray_wine.py
shows it under Wine and clicks it); and that no platform but Windows starts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages import atomic, config, lock, tray
from stages.models import AudioEnd, ReportEnd
from stages.spool import now_iso
from stages.tray import state
from tests.spoolkit import make_session


def finish_report(root: Path) -> Path:
    session = make_session(root)
    atomic.write_text(session.report / "final.html", "<!doctype html>")
    atomic.write_json(session.report / "END.json", ReportEnd(files=["final.html"], llm="offline", ended_at=now_iso()))
    return session.report / "final.html"


def test_red_only_while_recording_and_gone_with_the_supervisor(tmp_path: Path) -> None:
    session = make_session(tmp_path / "20261205-0900-point", language="fr")
    assert not state.read(session).running  # no supervisor: the tray ends
    with lock.SessionLock(session):
        shown = state.read(session)
        assert shown.running and shown.recording and shown.tip.startswith("Enregistrement en cours")
        assert shown.labels["stop"] == "Arrêter l'enregistrement"
        session.request("PAUSE")
        assert not state.read(session).recording and state.read(session).tip.startswith("En pause")
        session.withdraw("PAUSE")
        atomic.write_json(session.audio_end_path, AudioEnd(last_batch=3, reason="max_duration", ended_at=now_iso()))
        assert not state.read(session).recording  # stopped by itself: the report is being written
    assert not state.read(session).running


def test_the_last_report_is_the_newest_finished_one(tmp_path: Path) -> None:
    assert state.last_report(tmp_path) is None
    finish_report(tmp_path / "20261204-1000-lundi")
    newest = finish_report(tmp_path / "20261205-0900-mardi")
    make_session(tmp_path / "20261205-1000-en-cours")  # recording now: no report yet
    (tmp_path / "20261205-1100-half" / "report").mkdir(parents=True)
    atomic.write_text(tmp_path / "20261205-1100-half" / "report" / "final.html", "")  # no session.json, no END
    assert state.last_report(tmp_path) == newest


def test_no_tray_off_windows_for_an_import_or_when_turned_off(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    session = make_session(tmp_path / "20261205-0900-x")
    tray.start(session, config.validate({}))  # Linux: none
    monkeypatch.setattr(tray.sys, "platform", "win32")
    tray.start(session, config.validate({"session": {"source": "file:meeting.wav"}}))
    tray.start(session, config.validate({"session": {"tray": False}}))
    assert not session.log_path("tray").exists()
