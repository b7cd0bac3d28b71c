"""atomic.swap_folder: a complete new folder takes the place of the old one, nothing left beside them.

Windows' refusal to rename a folder holding an open file is exercised for real under Wine
(tests/windows/test_report_open_wine.py); here the ordinary path and the leftovers it cleans.
"""

from __future__ import annotations

from pathlib import Path

from stages.atomic import swap_folder


def test_new_folder_replaces_the_old_and_old_copies_are_cleaned(tmp_path: Path) -> None:
    target, new = tmp_path / "report", tmp_path / ".report.new"
    target.mkdir()
    (target / "final.md").write_text("old", encoding="utf-8")
    stale = tmp_path / ".report.old-12345678"  # left by an earlier swap while a file in it was open
    stale.mkdir()
    (stale / "final.md").write_text("older", encoding="utf-8")
    new.mkdir()
    (new / "final.md").write_text("new", encoding="utf-8")
    swap_folder(new, target)
    assert (target / "final.md").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_a_first_report_has_no_old_folder(tmp_path: Path) -> None:
    new = tmp_path / ".report.new"
    new.mkdir()
    (new / "END.json").write_text("{}", encoding="utf-8")
    swap_folder(new, tmp_path / "report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
