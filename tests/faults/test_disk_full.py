"""Disk full: the whole spool on a small tmpfs; capture stops clearly, nothing is torn, resume finishes the job.

Needs permission to mount a tmpfs (root on Linux, as in CI containers); skipped
with the reason otherwise. The ENOSPC comes from the kernel, not from a mock.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stages import wavio
from stages.spool import iter_sessions
from tests.conftest import DEMO_EN, run_cli
from tests.faults import chaos
from tests.faults.conftest import Observed

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="tmpfs mounts are Linux-only")]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_stops_cleanly_and_resume_finishes_once_space_is_freed(small_disk: Path,
                                                                         clean_demo: Observed) -> None:
    spool = small_disk / "spool"
    first = run_cli("up", "--name", "Full disk", "--source", f"file:{DEMO_EN}", "--language", "en",
                    "--llm", "offline", "--spool", str(spool), timeout=300)
    said = " ".join((first.stdout + first.stderr).split())
    assert first.returncode == 1, said
    assert "capture stopped: the disk holding" in said and "is full" in said and "resume" in said
    assert "Traceback" not in said
    (session,) = list(iter_sessions(spool))
    assert "disk full while writing batch" in session.log_path("capture").read_text(encoding="utf-8")
    # nothing torn: what is there is whole (and the same bytes as the clean run), no temp file is left
    written = session.audio_batches()
    assert 0 < len(written) < len(clean_demo.session.audio_batches())
    for index in written:
        assert len(wavio.read(session.wav_path(index))[0]) == 10 * wavio.RATE
        assert chaos.sha256(session.wav_path(index)) == chaos.sha256(clean_demo.session.wav_path(index))
    assert chaos.torn_json(session.path) == []
    assert not [p for p in session.path.rglob(".*.tmp")]
    assert session.manifest().state == "interrupted"
    assert "interrupted" in run_cli("status", str(session.path)).stdout

    # still full: resume says so in one line instead of a traceback
    filler = small_disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
    again = run_cli("resume", str(session.path), timeout=120)
    said = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 3, said
    assert "the disk is full" in said and "Traceback" not in said

    filler.unlink()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)  # space freed
    last = run_cli("resume", str(session.path), timeout=600)
    assert last.returncode == 0, last.stdout + last.stderr
    verdict = chaos.verify(session, clean_demo.session)
    assert verdict.lost == [] and verdict.duplicated == [] and verdict.torn == [], verdict
    assert verdict.transcript_equal and verdict.report_complete, verdict
    assert verdict.leftovers == [], verdict
