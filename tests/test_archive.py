"""Past meetings through the CLI: search, show, purge and the audio retention setting."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from stages import archive, atomic
from stages.models import Segment, TranscriptBatch
from stages.spool import Session
from tests.conftest import run_cli
from tests.spoolkit import make_session, write_batches


def finished_session(root: Path, name: str, lines: list[tuple[float, str, str]], days_old: int = 0) -> Session:
    session = make_session(root / name, sources=["mic", "system"], language="fr")
    write_batches(session, np.zeros(16000 * 20, dtype=np.int16), np.zeros(16000 * 20, dtype=np.int16))
    for index, (start, speaker, text) in enumerate(lines, start=1):
        channel = "mic" if speaker == "Vous" else "system"
        doc = TranscriptBatch(batch=index, start=10.0 * (index - 1), end=10.0 * index, state={}, model="base",
                              language="fr", transcribed_at="", segments=[Segment(
                                  start=start, end=start + 2, channel=channel, speaker=speaker, text=text)])
        atomic.write_json(session.transcript_path(index), doc)
    manifest = session.manifest()
    manifest.state = "finished"
    manifest.created_at = (dt.datetime.now().astimezone() - dt.timedelta(days=days_old)).isoformat()
    session.write_manifest(manifest)
    return session


def test_search_finds_lines_across_sessions_ignoring_case_and_accents(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    finished_session(spool, "20261120-0900-comite", [(3.0, "Participants", "On réserve le budget formation."),
                                                      (12.5, "Vous", "Je rappelle le fournisseur jeudi.")])
    finished_session(spool, "20261121-0900-point", [(65.0, "Participants", "Le BUDGET est validé.")])
    atomic.write_json(spool / "20261121-0900-point" / "summaries" / "chunk_0001.json",
                      {"summary": "Point rapide", "decisions": [{"text": "valider le budget"}]})
    result = run_cli("search", "budget", "--spool", str(spool))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "20261120-0900-comite 0:00:03 Participants On réserve le budget formation." in out
    assert "20261121-0900-point 0:01:05 Participants Le BUDGET est validé." in out
    assert "valider le budget" in out
    assert run_cli("search", "fournisseur", "--spool", str(spool)).stdout.count("fournisseur") == 1
    assert run_cli("search", "kubernetes", "--spool", str(spool)).returncode == 1


def test_purge_deletes_audio_but_keeps_transcript_and_report(tmp_path: Path) -> None:
    session = finished_session(tmp_path / "spool", "20261120-0900-comite", [(1.0, "Vous", "Bonjour.")])
    (session.report / "final.md").write_text("# Rapport", encoding="utf-8")
    result = run_cli("purge", session.name, "--spool", str(session.path.parent), "--yes")
    assert result.returncode == 0, result.stderr
    assert not list(session.audio.glob("*.wav"))
    assert session.transcribed_batches() == [1] and (session.report / "final.md").exists()
    shown = run_cli("show", session.name, "--spool", str(session.path.parent))
    assert "Rapport" in shown.stdout
    run_cli("purge", session.name, "--spool", str(session.path.parent), "--all", "--yes")
    assert not session.path.exists()


def test_retention_purges_old_finished_audio_only(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    old = finished_session(spool, "20261001-0900-old", [(1.0, "Vous", "Ancien.")], days_old=40)
    recent = finished_session(spool, "20261120-0900-recent", [(1.0, "Vous", "Récent.")], days_old=2)
    unfinished = finished_session(spool, "20261002-0900-crashed", [(1.0, "Vous", "Interrompu.")], days_old=40)
    manifest = unfinished.manifest()
    manifest.state = "interrupted"
    unfinished.write_manifest(manifest)
    assert archive.apply_retention(spool, 0) == []
    assert archive.apply_retention(spool, 30) == [old.name]
    assert not list(old.audio.glob("*.wav")) and old.transcribed_batches() == [1]
    assert list(recent.audio.glob("*.wav")) and list(unfinished.audio.glob("*.wav"))
    assert json.loads(old.manifest_path.read_text(encoding="utf-8"))["state"] == "finished"
