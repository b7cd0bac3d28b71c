"""`session.max_duration_hours`: a live recording nobody stopped ends by itself, with its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pulse import ensure_null_sink
from tests.test_pipeline import only_session, start_up

pytestmark = pytest.mark.pulse


def test_forgotten_session_stops_by_itself_with_its_report(tmp_path: Path) -> None:
    ensure_null_sink()
    limit = tmp_path / "limit.toml"
    limit.write_text("[session]\nmax_duration_hours = 0.004\n", encoding="utf-8")  # 14.4 s
    proc = start_up(tmp_path / "spool", "--name", "Oubliée", "--source", "system", "--language", "en",
                    "--llm", "offline", "--model", "tiny.en", "--config", str(limit))
    out, _ = proc.communicate(timeout=240)  # no `down`: it must end by itself
    assert proc.returncode == 0, out
    session = only_session(tmp_path / "spool")
    end = session.audio_end()
    assert end is not None and end.reason == "max_duration"
    assert session.audio_batches() == [1, 2]  # 10 s, then the 4.4 s up to the limit
    metas = [json.loads(session.meta_path(i).read_text(encoding="utf-8")) for i in (1, 2)]
    assert [round(m["duration"], 1) for m in metas] == [10.0, pytest.approx(4.4, abs=0.3)]
    assert session.transcribed_batches() == [1, 2]
    assert (session.report / "END.json").is_file() and (session.report / "final.html").is_file()
    assert session.manifest().state == "finished"
    assert "max_duration_hours" in session.log_path("capture").read_text(encoding="utf-8")
