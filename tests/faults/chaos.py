"""Random `kill -9` against a running session, and the checks that prove nothing was lost.

Shared by tests/faults/test_kill9.py (the demo meeting, a few kills, in CI) and
bench/kill_harness.py (a generated 10-minute meeting, 30 kills or more).

Targets are found the way an operator would: the supervisor is the `up`/`resume`
process; the stages are the pids listed in `supervisor.lock` (`stages`), checked
against their command line so that a reused pid is never hit. A supervisor killed
with -9 leaves its stages running (they have their own process group); the harness
then starts `resume`, which stops those orphans and restarts the session.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from stages import lock
from stages.models import TranscriptBatch
from stages.spool import Session, iter_sessions

ROOT = Path(__file__).resolve().parent.parent.parent
TARGETS = ("supervisor", "capture", "transcribe", "summarize")
# The supervisor's give-up policy is tested elsewhere; here every kill must be survived,
# so crashes are forgotten after 2 s and restarts come after 0.3 s.
CHAOS_CONFIG = "[supervisor]\nmax_restarts = 5\nrestart_window_s = 2.0\nbackoff_s = 0.3\n"


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return dict(os.environ, MEETING_ASSISTANT_NO_USER_CONFIG="1", PYTHONIOENCODING="utf-8", COLUMNS="200",
                **(extra or {}))


def start_cli(args: list[str], out: IO[bytes], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`python supervisor.py ARGS` in the background, output appended to `out`."""
    return subprocess.Popen([sys.executable, str(ROOT / "supervisor.py"), *args], cwd=ROOT, env=env or cli_env(),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def up_args(audio: Path, spool: Path, name: str, language: str = "en", *extra: str) -> list[str]:
    return ["up", "--name", name, "--source", f"file:{audio}", "--language", language, "--llm", "offline",
            "--spool", str(spool), *extra]


def run_clean(audio: Path, spool: Path, name: str, log: Path, language: str = "en",
              env: dict[str, str] | None = None, timeout: float = 1800,
              extra: tuple[str, ...] = ()) -> tuple[Session, float]:
    """The reference: the same audio through `up` with no fault; (session, seconds)."""
    t0 = time.monotonic()
    with log.open("ab") as out:
        proc = start_cli(up_args(audio, spool, name, language, *extra), out, env)
        code = proc.wait(timeout=timeout)
    if code != 0:
        raise RuntimeError(f"clean run exited {code}: see {log}")
    (session,) = list(iter_sessions(spool))
    return session, time.monotonic() - t0


@dataclass
class Kill:
    at: float  # seconds since the start of the run
    target: str
    pid: int
    progress: str  # batches captured/transcribed when it happened


@dataclass
class ChaosRun:
    session: Session | None = None
    kills: list[Kill] = field(default_factory=list)
    resumes: int = 0
    seconds: float = 0.0
    exit_codes: list[int] = field(default_factory=list)  # of every supervisor that was not killed
    log: Path | None = None

    def by_target(self) -> dict[str, int]:
        counts = Counter(k.target for k in self.kills)
        return {t: counts.get(t, 0) for t in TARGETS}


def _stage_pids(session: Session) -> dict[str, int]:
    try:
        data = json.loads((session.path / "supervisor.lock").read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in data.get("stages", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _is_stage(pid: int, name: str, session: Session) -> bool:
    """The pid is still that stage of that session (not a reused pid, not a zombie)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return f"stages.{name}" in cmd and str(session.path) in cmd


def _progress(session: Session) -> str:
    return f"{len(session.audio_batches())} captured, {len(session.transcribed_batches())} transcribed"


def live_targets(session: Session, supervisor: subprocess.Popen[bytes] | None) -> dict[str, int]:
    found = {name: pid for name, pid in _stage_pids(session).items() if _is_stage(pid, name, session)}
    if supervisor is not None and supervisor.poll() is None:
        found["supervisor"] = supervisor.pid
    return found


def stray_processes(session: Session) -> list[str]:
    """Processes of this session still alive (there must be none once it is finished)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if any(str(session.path) in part for part in cmd) or (session.name in cmd and "supervisor.py" in " ".join(cmd)):
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(f"{proc.info['pid']}: {' '.join(cmd)}")
            except psutil.NoSuchProcess:
                continue
    return found


def chaos_run(audio: Path, spool: Path, name: str, log: Path, kills: int, seed: int, batches: int,
              gap_s: tuple[float, float] = (0.2, 2.0), language: str = "en", timeout: float = 1800,
              cover: bool = False, capture_after: int = 1, say: Any = None,
              extra: tuple[str, ...] = ()) -> ChaosRun:
    """Run `up` on `audio` and kill -9 a random live process `kills` times, resuming the supervisor when it dies.

    Kill moments are random in progress, not only in time: each kill waits for a random
    number of transcribed batches (uniform over the first 90 % of `batches`, the count of
    the clean run) and a random gap after the previous kill. Timed kills alone starve the
    run: a supervisor killed every few seconds restarts the transcriber before its model
    has loaded, so every kill would land before the first window and prove little.
    `cover`: the first kill hits capture as soon as it has committed `capture_after` batches
    (a fast file source is captured in about a second, so random moments rarely find it),
    and later kills prefer targets not hit yet, so that a short run kills each process once.
    With `capture_after` >= 1 the transcript may legitimately differ from the clean run's:
    a transcriber that starts while the restarted capture is still writing picks shorter
    windows (stages/transcribe/stage.py `_advance`: `limit = min(run.end, start + max_window_s)`
    depends on the audio that has arrived). 0 kills capture before its first batch.
    """
    rng = random.Random(seed)
    thresholds = sorted(rng.uniform(0, 0.9 * batches) for _ in range(kills))
    if cover:
        thresholds[0] = 0.0
    result = ChaosRun(log=log)
    config = log.with_suffix(".toml")
    config.write_text(CHAOS_CONFIG, encoding="utf-8")
    t0 = time.monotonic()
    deadline = t0 + timeout
    with log.open("ab") as out:
        args = up_args(audio, spool, name, language, "--config", str(config), *extra)
        sup: subprocess.Popen[bytes] | None = start_cli(args, out)
        while result.session is None:
            found = list(iter_sessions(spool))
            if found:
                result.session = found[0]
            elif sup is not None and sup.poll() is not None:
                raise RuntimeError(f"up exited {sup.returncode} before creating a session: see {log}")
            time.sleep(0.05)
        session = result.session
        next_kill = time.monotonic() + rng.uniform(*gap_s)
        if cover:
            next_kill = time.monotonic()
        while time.monotonic() < deadline:
            assert sup is not None
            code = sup.poll()
            if code is not None:  # the supervisor ended by itself: done, or gave up
                result.exit_codes.append(code)
                if code == 0:
                    break
                out.write(f"\n[chaos] supervisor exited {code}: resuming\n".encode())
                out.flush()
                sup = start_cli(["resume", str(session.path)], out)
                result.resumes += 1
                continue
            due = len(result.kills) < kills and time.monotonic() >= next_kill
            if due and len(session.transcribed_batches()) >= thresholds[len(result.kills)]:
                targets = live_targets(session, sup)
                if cover and not result.kills:
                    targets = {k: v for k, v in targets.items()
                               if k == "capture" and len(session.audio_batches()) >= capture_after}
                elif cover:
                    fresh = {k: v for k, v in targets.items() if k not in {x.target for x in result.kills}}
                    targets = fresh or targets
                if targets:
                    target = rng.choice(sorted(targets))
                    pid = targets[target]
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        continue
                    kill = Kill(round(time.monotonic() - t0, 2), target, pid, _progress(session))
                    result.kills.append(kill)
                    out.write(f"\n[chaos] kill -9 {target} (pid {pid}) at {kill.at:.1f} s, {kill.progress}\n".encode())
                    out.flush()
                    if say:
                        say(f"kill {len(result.kills):3d}: {target:<10} pid {pid:<7} at {kill.at:6.1f} s "
                            f"({kill.progress})")
                    if target == "supervisor":
                        sup.wait()
                        time.sleep(rng.uniform(0.0, 1.0))  # orphans run on meanwhile
                        sup = start_cli(["resume", str(session.path)], out)
                        result.resumes += 1
                    next_kill = time.monotonic() + rng.uniform(*gap_s)
                elif cover and not result.kills and "capture" not in live_targets(session, sup) \
                        and session.audio_end_path.exists():
                    raise RuntimeError("capture finished before it could be killed")
            time.sleep(0.005 if cover and not result.kills else 0.02)
        else:
            if sup is not None and sup.poll() is None:
                sup.kill()
            raise TimeoutError(f"session not finished after {timeout:.0f} s: see {log}")
    result.seconds = time.monotonic() - t0
    return result


# ---------------------------------------------------------------------------
# What must hold afterwards
# ---------------------------------------------------------------------------


@dataclass
class Verdict:
    batches: int = 0
    lost: list[int] = field(default_factory=list)  # batches of the clean run missing or different, or untranscribed
    duplicated: list[str] = field(default_factory=list)  # batches or segments present twice
    torn: list[str] = field(default_factory=list)  # JSON files empty or unparsable
    leftovers: list[str] = field(default_factory=list)  # temp files, locks, quarantined files, live processes
    transcript_equal: bool = False
    first_difference: str = ""
    report_complete: bool = False
    report_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.lost and not self.duplicated and not self.torn and not self.leftovers
                and self.transcript_equal and self.report_complete)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def torn_json(folder: Path) -> list[str]:
    """Every *.json under `folder` that is empty or does not parse."""
    bad = []
    for path in sorted(folder.rglob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
            if not text.strip():
                raise ValueError("empty")
            json.loads(text)
        except (OSError, ValueError) as exc:
            bad.append(f"{path.relative_to(folder)}: {exc}")
    return bad


def segments_of(session: Session) -> dict[int, list[dict[str, Any]]]:
    out = {}
    for index in session.transcribed_batches():
        doc = TranscriptBatch.model_validate_json(session.transcript_path(index).read_text(encoding="utf-8"))
        out[index] = [s.model_dump() for s in doc.segments]
    return out


def verify(session: Session, clean: Session) -> Verdict:
    """Compare a session that survived faults with the clean run of the same audio."""
    v = Verdict()
    audio, clean_audio = session.audio_batches(), clean.audio_batches()
    v.batches = len(audio)
    for index in clean_audio:
        if index not in audio or sha256(session.wav_path(index)) != sha256(clean.wav_path(index)):
            v.lost.append(index)
    v.duplicated += [f"audio {i:06d} (not in the clean run)" for i in audio if i not in clean_audio]
    transcribed = session.transcribed_batches()
    v.lost += [i for i in audio if i not in transcribed and i not in v.lost]
    v.duplicated += [f"transcript {i:06d} (no audio batch)" for i in transcribed if i not in audio]
    expected = {"END.json", "speakers.json", *(f"{i:06d}.json" for i in transcribed)}
    extra = sorted(p.name for p in session.transcript.iterdir() if p.name not in expected)
    v.leftovers += [f"transcript/{name}" for name in extra]
    mine, theirs = segments_of(session), segments_of(clean)
    seen = Counter((s["channel"], s["start"], s["text"]) for segs in mine.values() for s in segs)
    v.duplicated += [f"segment {k[1]:.2f} s {k[2]!r} x{n}" for k, n in seen.items() if n > 1]
    v.torn = torn_json(session.path)
    for folder in (session.path, session.audio, session.transcript, session.summaries, session.report,
                   session.summaries / "windows", session.control):
        v.leftovers += [str(p.relative_to(session.path)) for p in folder.glob(".*.tmp")]
    # a lock whose owner is dead is harmless (the next writer takes it over): a stage killed after its
    # last output but before releasing it leaves one; only a lock with a live owner is a leftover
    v.leftovers += [p.name for p in session.path.glob("*.lock")
                    if p.stem != "supervisor" and lock.holder(session, p.stem) is not None]
    v.leftovers += ["supervisor.lock"] if (session.path / "supervisor.lock").exists() else []
    v.leftovers += [f"failed/{p.name}" for p in session.failed.iterdir()] if session.failed.is_dir() else []
    v.leftovers += [f"process {p}" for p in stray_processes(session)]
    v.transcript_equal = mine == theirs
    if not v.transcript_equal:
        for index in sorted(set(mine) | set(theirs)):
            if mine.get(index) != theirs.get(index):
                v.first_difference = (f"batch {index:06d}:\n  faults: {json.dumps(mine.get(index))[:600]}\n"
                                      f"  clean:  {json.dumps(theirs.get(index))[:600]}")
                break
    v.report_problems = report_problems(session, clean)
    v.report_complete = not v.report_problems
    return v


def report_problems(session: Session, clean: Session) -> list[str]:
    problems = []
    end = session.report / "END.json"
    if not end.exists():
        return ["report/END.json missing"]
    files = json.loads(end.read_text(encoding="utf-8")).get("files", [])
    for name in files:
        path = session.report / name
        if not path.is_file() or path.stat().st_size == 0:
            problems.append(f"report/{name} missing or empty")
    clean_files = json.loads((clean.report / "END.json").read_text(encoding="utf-8")).get("files", [])
    problems += [f"report/{name} missing (the clean run has it)" for name in clean_files if name not in files]
    for name in ("transcript.json", "transcript.srt"):
        if (session.report / name).read_bytes() != (clean.report / name).read_bytes():
            problems.append(f"report/{name} differs from the clean run")
    if session.manifest().state != "finished":
        problems.append(f"session state is {session.manifest().state!r}")
    return problems


def describe(v: Verdict, run: ChaosRun) -> list[str]:
    """The lines a person reads: kills survived, batches lost and duplicated, equality."""
    lines = [
        f"kills survived: {len(run.kills)} ({', '.join(f'{t} {n}' for t, n in run.by_target().items())}); "
        f"supervisor resumes: {run.resumes}; run time {run.seconds:.1f} s",
        f"batches: {v.batches}; lost: {len(v.lost)}{' ' + str(v.lost) if v.lost else ''}; "
        f"duplicated: {len(v.duplicated)}{' ' + str(v.duplicated[:5]) if v.duplicated else ''}",
        f"torn or empty JSON files: {len(v.torn)}{' ' + str(v.torn[:5]) if v.torn else ''}",
        f"leftovers (temp files, locks, quarantined files, processes): {len(v.leftovers)}"
        f"{' ' + str(v.leftovers[:5]) if v.leftovers else ''}",
        f"transcript equals the clean run: {'yes' if v.transcript_equal else 'NO'}",
        f"report complete: {'yes' if v.report_complete else 'NO: ' + '; '.join(v.report_problems)}",
    ]
    if v.first_difference:
        lines.append(f"first difference: {v.first_difference}")
    return lines
