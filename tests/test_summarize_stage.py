"""The summarizer stage on spool folders: live chunks, the report files, reruns, fallbacks, regeneration."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from stages import atomic, progress
from stages.models import AudioEnd, ReportEnd
from stages.spool import Session, now_iso
from stages.summarize import regenerate
from stages.summarize.backends.base import BackendDown, OutOfTime, WindowTask
from stages.summarize.backends.offline import OfflineBackend
from stages.summarize.extract import extract
from stages.summarize.llm import TOO_LATE
from stages.summarize.run import drive, settings
from stages.summarize.schema import ChunkFile, FinalReport, SynthesisFile, WindowFile
from stages.summarize.scripted import batches_of, make_session, segments_of, write_batch, write_end
from stages.summarize.stage import BRIEF_NOTE, Summarizer
from tests.conftest import run_stage
from tests.summarize_support import FakeChat, script, session_of

GOOD_EN = json.dumps({
    "action_items": [{"owner": "Sam", "task": "set up the search cache", "due": "Thursday"}],
    "decisions": ["Cache popular search results before the launch"], "key_points": [], "open_questions": [],
    "highlights": [], "summary": "The team decides to cache search results; Sam sets up the cache."})


def test_stage_writes_every_report_file_then_end(tmp_path: Path) -> None:
    session = session_of(tmp_path, "fr", llm="offline")
    done = run_stage("summarize", session.path, timeout=120)
    assert done.returncode == 0, done.stderr
    report = session.report
    end = ReportEnd.model_validate_json((report / "END.json").read_text(encoding="utf-8"))
    for name in end.files:
        assert (report / name).stat().st_mtime <= (report / "END.json").stat().st_mtime
    assert {"final.md", "final.html", "final.json", "transcript.srt", "transcript.vtt", "transcript.json",
            "transcript.md"} <= set(end.files)
    assert end.llm.startswith("offline")
    final = FinalReport.model_validate_json((report / "final.json").read_text(encoding="utf-8"))
    assert final.language == "fr" and final.llm.startswith("offline")
    assert {a.owner for a in final.action_items} >= {"Marc", "Léa"}
    assert all(set(a.model_dump()) >= {"owner", "task", "due"} for a in final.action_items)
    md = (report / "final.md").read_text(encoding="utf-8")
    for heading in ("## Résumé", "## Décisions", "## Actions", "## Questions ouvertes", "## Transcription"):
        assert heading in md
    assert "[00:00:01] Vous: Bonjour à tous." in md
    lines = json.loads((report / "transcript.json").read_text(encoding="utf-8"))
    assert list(lines[0]) == ["start", "end", "speaker", "text"] and lines[0]["speaker"] == "Vous"
    assert [x["start"] for x in lines] == sorted(x["start"] for x in lines)
    assert (report / "transcript.md").read_text(encoding="utf-8").startswith("[00:00:01] Vous: ")
    chunks = sorted(session.summaries.glob("chunk_*.json"))
    assert [c.name for c in chunks] == ["chunk_0001.json", "chunk_0002.json"]
    chunk = ChunkFile.model_validate_json(chunks[0].read_text(encoding="utf-8"))
    assert chunk.start == 0 and chunk.end == 60 and chunk.language == "fr"
    # a second run finds the report and leaves at once
    again = run_stage("summarize", session.path, timeout=60)
    assert again.returncode == 0 and "already written" in again.stderr


def test_chunks_are_written_while_the_meeting_goes_on(tmp_path: Path) -> None:
    data = script("en")
    session = make_session(tmp_path / "live", data, llm="offline",
                           summarize={"interval_minutes": 0.5, "window_minutes": 0.25})
    batches = batches_of(segments_of(data), "en")
    cfg = settings(session, None)
    job = Summarizer(session, cfg, [OfflineBackend(cfg)])
    for batch in batches[:4]:  # 40 s of meeting
        write_batch(session, batch)
    while job.step():
        pass
    assert session.summaries.joinpath("chunk_0001.json").exists()  # minutes 0-0.5 are transcribed
    assert not session.summaries.joinpath("chunk_0002.json").exists()  # 30-60 s is not complete yet
    assert not (session.report / "END.json").exists()
    for batch in batches[4:]:
        write_batch(session, batch)
    write_end(session, batches[-1].batch)
    drive(job)
    assert (session.report / "END.json").exists()
    assert len(list(session.summaries.glob("chunk_*.json"))) == 3


def test_language_auto_follows_the_transcript(tmp_path: Path) -> None:
    data = script("fr")
    session = make_session(tmp_path / "auto", data, llm="offline", manifest_language="auto",
                           summarize={"interval_minutes": 1.0})
    for batch in batches_of(segments_of(data), "fr"):
        write_batch(session, batch)
    write_end(session, 10)
    cfg = settings(session, None)
    drive(Summarizer(session, cfg, [OfflineBackend(cfg)]))
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.language == "fr"
    assert "## Décisions" in (session.report / "final.md").read_text(encoding="utf-8")


def test_report_names_the_gaps_left_by_quarantined_batches(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="offline", end=False)
    lost = session.transcript_path(3)
    session.quarantine(lost, "transcribe", "audio batch unreadable", start=20.0, end=30.0)
    write_end(session, 12)
    assert run_stage("summarize", session.path, timeout=120).returncode == 0
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert [(g.start, g.end) for g in final.gaps] == [(20.0, 30.0)]
    md = (session.report / "final.md").read_text(encoding="utf-8")
    assert "## Missing passages" in md and "from 00:00:20 to 00:00:30" in md


def test_invalid_output_is_retried_then_taken(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="offline", interval_minutes=5.0, window_minutes=5.0)
    cfg = settings(session, None)
    fake = FakeChat(cfg, ["not json at all", '{"summary": 3}', GOOD_EN,
                          json.dumps({"summary": "The website relaunch is on track."})])
    drive(Summarizer(session, cfg, [fake, OfflineBackend(cfg)]))
    assert len(fake.calls) == 4
    assert "not valid" in fake.calls[1][-1]["content"]  # the error was shown to the model
    window = WindowFile.model_validate_json((session.summaries / "windows" / "0001-01.json").read_text("utf-8"))
    assert window.backend == "fake" and window.action_items[0].owner == "Sam"
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.llm == "fake (scripted)" and final.summary == "The website relaunch is on track."


def test_a_window_whose_every_summary_sentence_was_never_said_keeps_the_rules_summary(tmp_path: Path) -> None:
    """The grounding drops a summary sentence whose words were mostly never said; when it drops them all,
    the window keeps the rules' summary (sentences of the transcript) rather than none, and says so: a
    report whose only window lost its summary had none at all (the local model on a 20-s clip under Wine)."""
    session = session_of(tmp_path, "en", llm="offline", interval_minutes=5.0, window_minutes=5.0)
    cfg = settings(session, None)
    invented = json.loads(GOOD_EN) | {"summary": "The committee approves the gala budget and the florist contract."}
    fake = FakeChat(cfg, [json.dumps(invented)])
    task = WindowTask("en", 0, 300, segments_of(script("en")))
    mini, notes = fake.summarize(task)
    rules = extract(task.segments, "en")
    assert rules.summary and mini.summary == rules.summary
    assert any("dropped summary sentence" in n for n in notes) and any("summary by the rules" in n for n in notes)
    assert mini.action_items[0].owner == "Sam"  # the model's lists are kept


def test_an_overall_summary_whose_every_sentence_was_never_said_gives_way_to_the_chunks(tmp_path: Path) -> None:
    """The overall summary is checked against the transcript like a window's; when no sentence of it holds,
    the report shows the chunks' summaries (each checked when written) rather than none (the local model on a
    20-s clip under Wine wrote "... apologizes for any inconvenience caused.", and the report had no summary)."""
    session = session_of(tmp_path, "en", llm="offline", interval_minutes=5.0, window_minutes=5.0)
    cfg = settings(session, None)
    fake = FakeChat(cfg, [GOOD_EN, json.dumps({"summary": "The committee approves the gala budget and the florist."})])
    drive(Summarizer(session, cfg, [fake, OfflineBackend(cfg)]))
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.llm == "fake (scripted)" and final.summary == json.loads(GOOD_EN)["summary"], final.summary


def test_output_still_invalid_falls_back_and_says_so(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="offline", interval_minutes=5.0, window_minutes=5.0, retries=1)
    cfg = settings(session, None)
    fake = FakeChat(cfg, lambda messages: '{"oops": true}')
    drive(Summarizer(session, cfg, [fake, OfflineBackend(cfg)]))
    window = WindowFile.model_validate_json((session.summaries / "windows" / "0001-01.json").read_text("utf-8"))
    assert window.backend == "offline" and any("fake" in n and "invalid" in n for n in window.notes)
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert any("failed" in n for n in final.notes)
    assert "failed" in (session.report / "final.md").read_text(encoding="utf-8")


def test_a_down_llm_makes_summaries_wait_then_catch_up(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="offline", end=False, interval_minutes=5.0, window_minutes=5.0,
                         backoff_s=0.1, backoff_max_s=0.2)
    clock = [0.0]
    cfg = settings(session, None)
    fake = FakeChat(cfg, [BackendDown("connection refused"), BackendDown("connection refused"), GOOD_EN,
                          json.dumps({"summary": "The search cache is set up before the launch."})])
    job = Summarizer(session, cfg, [fake, OfflineBackend(cfg)], now=lambda: clock[0])
    write_end(session, 12)
    assert job.step() is False  # down: nothing written, no fallback while it may come back
    assert not (session.summaries / "windows" / "0001-01.json").exists()
    assert job.step() is False  # still backing off
    clock[0] += 0.15
    assert job.step() is False  # second refusal
    clock[0] += 0.5
    while job.step():
        pass
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.llm == "fake (scripted)" and final.summary == "The search cache is set up before the launch."


def test_a_down_llm_is_given_up_after_the_end_wait(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="offline", wait_at_end_s=5.0, backoff_s=1.0)
    clock = [0.0]
    cfg = settings(session, None)
    fake = FakeChat(cfg, lambda messages: (_ for _ in ()).throw(BackendDown("refused")))
    job = Summarizer(session, cfg, [fake, OfflineBackend(cfg)], now=lambda: clock[0])
    assert job.step() is False
    clock[0] += 6.0
    drive(job)
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.backend == "offline" and any("given up" in n for n in final.notes)


def test_rerun_does_only_what_is_missing(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="offline")
    cfg = settings(session, None)
    drive(Summarizer(session, cfg, [OfflineBackend(cfg)]))
    first = session.summaries / "chunk_0001.json"
    stamp = first.stat().st_mtime_ns
    (session.report / "END.json").unlink()
    (session.summaries / "chunk_0002.json").unlink()
    drive(Summarizer(session, cfg, [OfflineBackend(cfg)]))
    assert first.stat().st_mtime_ns == stamp and (session.summaries / "chunk_0002.json").exists()
    assert (session.report / "END.json").exists()


def test_regenerate_rewrites_everything_with_another_backend(tmp_path: Path) -> None:
    session = session_of(tmp_path, "fr", llm="offline")
    cfg = settings(session, None)
    drive(Summarizer(session, cfg, [OfflineBackend(cfg)]))
    marker = session.summaries / "chunk_0001.json"
    atomic.write_json(marker, {"stale": now_iso()})
    folder = regenerate(session, "offline")
    assert folder == session.report and (folder / "END.json").exists()
    assert "stale" not in marker.read_text(encoding="utf-8")
    assert not any(p.name.startswith(".") for p in session.path.iterdir() if p.is_dir())


def test_overall_summary_keeps_up_during_the_meeting(tmp_path: Path) -> None:
    data = script("en")
    session = make_session(tmp_path / "fold", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25, "fold_windows": 2})
    batches = batches_of(segments_of(data), "en")
    cfg = settings(session, None)
    job = Summarizer(session, cfg, [OfflineBackend(cfg)])
    for batch in batches[:5]:  # 50 s: three 15 s windows done, the first chunk still open
        write_batch(session, batch)
    while job.step():
        pass
    synthesis = SynthesisFile.model_validate_json((session.summaries / "synthesis.json").read_text("utf-8"))
    assert synthesis.windows == ["0001-01", "0001-02", "0001-03"] and synthesis.chunks == []
    assert synthesis.summary and not (session.summaries / "chunk_0001.json").exists()


def test_llm_option_overrides_the_session_setting(tmp_path: Path) -> None:
    session = session_of(tmp_path, "en", llm="ollama", ollama={"host": "http://127.0.0.1:9"})
    done = run_stage("summarize", session.path, "--llm", "offline", timeout=120)
    assert done.returncode == 0, done.stderr
    end = ReportEnd.model_validate_json((session.report / "END.json").read_text(encoding="utf-8"))
    assert end.llm == "offline"
    bad = run_stage("summarize", tmp_path / "nothing-here", timeout=60)
    assert bad.returncode == 2 and "session.json" in bad.stderr


LONG_SUMMARY = ("The team decides to cache the popular search results before the launch; Sam sets up the cache and "
                "measures how much faster the search pages load.")


@pytest.mark.parametrize("window_summary", [LONG_SUMMARY, json.loads(GOOD_EN)["summary"]], ids=["long", "short"])
def test_the_last_minutes_are_added_to_the_summary_not_rewritten(tmp_path: Path, window_summary: str) -> None:
    """Once the meeting is over, its last windows cost one short closing call, or none when their summaries
    are short enough to be added as they are: no rewrite holds up the report."""
    data = script("en")
    session = make_session(tmp_path / "closing", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25, "fold_windows": 2})
    batches = batches_of(segments_of(data), "en")  # 7 files, 70 s: windows of 15 s

    def reply(messages: list[dict[str, str]]) -> str:
        system = messages[0]["content"]
        if system.startswith("You keep the overall summary"):
            return json.dumps({"summary": "The team plans the launch."})
        if system.startswith("You receive the summaries of the last minutes"):
            return json.dumps({"summary": "They close by agreeing on the cache."})
        return json.dumps(json.loads(GOOD_EN) | {"summary": window_summary})

    cfg = settings(session, None)
    fake = FakeChat(cfg, reply)
    job = Summarizer(session, cfg, [fake])

    def synthesis() -> SynthesisFile:
        return SynthesisFile.model_validate_json((session.summaries / "synthesis.json").read_text("utf-8"))

    for batch in batches[:3]:  # one at a time: an LLM that keeps up reads each window on its own
        write_batch(session, batch)
        while job.step():
            pass
    assert synthesis().windows == ["0001-01", "0001-02"]  # folded during the meeting, as usual
    # capture stops; the transcript is one file short of the end: two more windows wait, but no fold starts
    atomic.write_json(session.audio_end_path, AudioEnd(last_batch=batches[-1].batch, reason="stop", ended_at=now_iso()))
    for batch in batches[3:6]:
        write_batch(session, batch)
        while job.step():
            pass
    assert (session.summaries / "windows" / "0001-04.json").exists()
    assert synthesis().windows == ["0001-01", "0001-02"]
    write_batch(session, batches[6])
    write_end(session, batches[6].batch)
    while job.step():
        pass
    assert job.finished()
    done = synthesis()
    assert done.windows == ["0001-01", "0001-02", "0001-03", "0001-04", "0001-05"]
    last = fake.calls[-1]
    if window_summary == LONG_SUMMARY:
        assert last[0]["content"].startswith("You receive the summaries of the last minutes")
        assert "The team plans the launch." not in last[1]["content"] and last[1]["content"].count("[00:") == 3
        assert done.summary == "The team plans the launch. They close by agreeing on the cache."
    else:  # the same sentence from three windows, added once and without a call
        assert last[0]["content"].startswith("You write faithful, concise meeting minutes")
        assert done.summary == "The team plans the launch. " + window_summary
    final = FinalReport.model_validate_json((session.report / "final.json").read_text(encoding="utf-8"))
    assert final.summary == done.summary


def _windows(session: Session) -> dict[str, WindowFile]:
    return {p.stem: WindowFile.model_validate_json(p.read_text(encoding="utf-8"))
            for p in sorted((session.summaries / "windows").glob("*.json"))}


def test_windows_that_wait_for_a_slow_llm_are_read_in_one_call(tmp_path: Path) -> None:
    """Live, a window's call that outlasts the next window must not leave the summaries further behind
    each minute: the windows waiting when the LLM is free again go into one call, and nothing is lost."""
    data = script("en")
    session = make_session(tmp_path / "behind", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25})
    batches = batches_of(segments_of(data), "en")  # 70 s: windows of 15 s
    cfg = settings(session, None)
    fake = FakeChat(cfg, lambda messages: GOOD_EN)
    job = Summarizer(session, cfg, [fake])
    for batch in batches[:3]:
        write_batch(session, batch)
        while job.step():
            pass
    assert len(fake.calls) == 2  # keeping up: one call per window (0-15 s, 15-30 s... as batches land)
    for batch in batches[3:6]:  # the LLM was slow: 30 s of meeting landed meanwhile
        write_batch(session, batch)
    job.step()
    assert len(fake.calls) == 3
    windows = _windows(session)
    first = windows["0001-03"]
    assert first.joined == ["0001-04"] and windows["0001-04"].joined_into == "0001-03"
    assert "Transcript from 00:00:30 to 00:01:00" in fake.calls[-1][-1]["content"]
    assert windows["0001-04"].action_items == [] and windows["0001-04"].backend == "fake"
    assert any("read in one call" in n for n in first.notes)
    write_batch(session, batches[6])
    write_end(session, batches[6].batch)
    drive(job)
    assert job.finished() and set(_windows(session)) == {f"0001-0{i}" for i in range(1, 6)}
    chunk = ChunkFile.model_validate_json((session.summaries / "chunk_0001.json").read_text(encoding="utf-8"))
    assert chunk.windows == 5


def _paced(tmp_path: Path, lighter: float = 1.0) -> tuple[Session, list[dict[str, Any]]]:
    """The script live in 15-s windows: the first call takes 12 s (80 % of the meeting's time), each after it
    1 s, a brief one by a model `lighter` times lighter than the configured one. The windows' schemas."""
    data = script("en")
    session = make_session(tmp_path / "paced", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25})
    cfg = settings(session, None)
    clock, cost, schemas = [0.0], [12.0], []

    class Timed(FakeChat):
        bounded_schema = True  # llama.cpp and Ollama: the schema's bounds are what shortens the answer

        def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
                 temperature: float) -> str:
            clock[0] += cost[0]
            if "decisions" in schema["properties"]:  # a window's call, not a fold into the overall summary
                schemas.append(schema["properties"])
                self.lighter = lighter if schema["properties"]["key_points"]["maxItems"] == 1 else 1.0
            return super().chat(messages, schema, max_tokens, temperature)

    job = Summarizer(session, cfg, [Timed(cfg, lambda messages: GOOD_EN)], now=lambda: clock[0])
    batches = batches_of(segments_of(data), "en")
    for i, batch in enumerate(batches):
        write_batch(session, batch)
        if i == len(batches) - 1:
            write_end(session, batch.batch)
        while job.step():
            cost[0] = 1.0  # the call stopped: the LLM has the CPU again
    assert job.finished()
    return session, schemas


def test_a_live_llm_that_cannot_keep_up_answers_briefly_until_it_can(tmp_path: Path) -> None:
    """Beside a video call the 1.5B model took 45-90 s per French minute, most of it writing its answer: live,
    an LLM slower than half the meeting's pace is asked for the lists, one key point and a short summary
    only, and for full answers again once it is well under that pace."""
    session, schemas = _paced(tmp_path)
    briefs = [props["key_points"]["maxItems"] == 1 for props in schemas]
    assert briefs[:4] == [False, True, True, False]  # pace 0.8, then 0.43, then 0.25 (smoothed)
    assert all(props["summary"]["maxLength"] < 400 for props, brief in zip(schemas, briefs, strict=True) if brief)
    windows = _windows(session)
    assert BRIEF_NOTE in windows["0001-02"].notes and BRIEF_NOTE not in windows["0001-01"].notes
    assert windows["0001-02"].highlights and windows["0001-02"].decisions  # the rules' highlights; lists whole


def test_brief_answers_from_a_lighter_model_end_by_the_configured_models_pace(tmp_path: Path) -> None:
    """Brief answers may come from a lighter model (`local`'s `brief_model`, about twice as fast): followed at
    its own speed, the stage would go back to full answers from the slow model at once and fall behind
    again. A brief window's time counts as many times as the model that answered it is lighter."""
    _, schemas = _paced(tmp_path, lighter=4.0)  # the lighter model's 1 s is 4 s of the configured model's
    # without the scale: brief, brief, then full at 0.25 (the test above); here the pace stays over 30 %
    assert [props["key_points"]["maxItems"] == 1 for props in schemas] == [False, True, True, True, True]


@pytest.mark.parametrize(("fold_windows", "expected"), [(2, ["window"] * 3 + ["fold", "window"]),
                                                       (3, ["window"] * 4)])
def test_a_slowed_llm_still_folds_as_it_goes_and_the_report_does_not_wait_for_a_closing_call(
        tmp_path: Path, fold_windows: int, expected: list[str]) -> None:
    """A slowed LLM always has the next window waiting when it finishes one, and folds into the overall summary
    waited for the windows: beside a call, none came for ten minutes and the report waited 29 s for one fold
    of ten windows. Brief, it folds even so, but only once twice `fold_windows` windows wait for it (a fold
    ahead of every `fold_windows` windows cost a quarter of the LLM's time beside a call), and the last ones
    are added to the overall summary as they are."""
    data = script("en")
    session = make_session(tmp_path / "folds", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25,
                                      "fold_windows": fold_windows})
    cfg = settings(session, None)
    clock, calls = [0.0], []
    batches = batches_of(segments_of(data), "en")  # 70 s: windows of 15 s, batches of 10 s
    landed = iter(batches)

    def meeting_goes_on(n: int) -> None:
        for batch in [b for _, b in zip(range(n), landed, strict=False)]:
            write_batch(session, batch)
            if batch is batches[-1]:
                write_end(session, batch.batch)

    class Slow(FakeChat):
        bounded_schema = True

        def chat(self, messages: list[dict[str, str]], schema: dict[str, object], max_tokens: int,
                 temperature: float) -> str:
            window = "decisions" in schema["properties"]
            calls.append("window" if window else "fold")
            clock[0] += 12.0  # 80 % of a 15-s window's time
            if window:
                meeting_goes_on(2)  # 20 s of meeting while it works: the next window is always ready
            return super().chat(messages, schema, max_tokens, temperature)

    job = Summarizer(session, cfg, [Slow(cfg, lambda m: GOOD_EN if "Transcript from" in m[-1]["content"]
                                         else json.dumps({"summary": "The team plans the launch."}))],
                     now=lambda: clock[0])
    meeting_goes_on(2)
    drive(job)
    assert job.finished() and job.brief
    # fold_windows 2: one fold, while windows were still waiting (a call read two of the four then summarized);
    # 3: none, the six it would wait for never came. None after the last window either way: the closing is the
    # windows' own text, however many are left
    assert calls == expected, calls
    synthesis = SynthesisFile.model_validate_json(session.summaries.joinpath("synthesis.json").read_text("utf-8"))
    assert len(synthesis.windows) == 5


def _slow_to_the_end(tmp_path: Path, name: str, source: str | None = None,
                     rerun: bool = False) -> tuple[Summarizer, float, dict[str, WindowFile]]:
    """A 70-s meeting whose LLM writes each window's answer for 30 s (a token a second, as it streams),
    stopping when the stage says the report cannot wait; what the clock read when the report was written."""
    data = script("en")
    session = make_session(tmp_path / name, data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25, "wait_at_end_s": 20.0})
    if source:
        session.write_manifest(session.manifest().model_copy(update={"source": source}))
    cfg = settings(session, None)
    clock = [0.0]
    batches = batches_of(segments_of(data), "en")
    landed = iter(batches)

    def meeting_goes_on() -> None:
        batch = next(landed, None)
        if batch is not None:
            write_batch(session, batch)
            if batch is batches[-1]:
                write_end(session, batch.batch)

    class Streaming(FakeChat):
        def chat(self, messages: list[dict[str, str]], schema: dict[str, object], max_tokens: int,
                 temperature: float) -> str:
            for second in range(30):
                clock[0] += 1.0
                if second % 10 == 0:
                    meeting_goes_on()  # a 10-s batch lands every 10 s
                if self.cutoff():
                    raise OutOfTime(TOO_LATE)
            return super().chat(messages, schema, max_tokens, temperature)

    if rerun:
        for _ in range(7):
            meeting_goes_on()
    job = Summarizer(session, cfg, [Streaming(cfg, lambda m: GOOD_EN if "Transcript from" in m[-1]["content"]
                                              else json.dumps({"summary": "The team plans the launch."})),
                                    OfflineBackend(cfg)], now=lambda: clock[0])
    meeting_goes_on()
    while not job.finished():
        if not job.step():
            clock[0] += 1.0
            meeting_goes_on()
    return job, clock[0], _windows(session)


def test_a_live_report_waits_at_most_wait_at_end_s_for_a_slow_llm(tmp_path: Path) -> None:
    """Beside a video call the last minute's window took 37 s after the meeting ended, and the report 44 s:
    live, once the transcript is complete the report waits `wait_at_end_s` for the LLM, then the call is
    stopped and the rules do what is left, saying so. An import or a rerun on a finished meeting waits."""
    job, written, windows = _slow_to_the_end(tmp_path, "live")
    assert job.complete_seen is not None and written <= job.complete_seen + 20.0 + 1.0
    by = {key: w.backend for key, w in windows.items()}
    assert by["0001-01"] == "fake" and by["0001-04"] == "offline", by  # the LLM's windows stand; the last is ruled
    stopped = [n for w in windows.values() for n in w.notes if "stopped" in n]
    assert stopped and all("wait_at_end_s" in n for n in stopped)
    final = FinalReport.model_validate_json((job.report_dir / "final.json").read_text(encoding="utf-8"))
    assert any("does not wait longer for the LLM" in n for n in final.notes)
    assert any(a.owner == "Sam" for a in final.action_items)
    for name, source, rerun in (("import", "file:meeting.wav", False), ("rerun", None, True)):
        _, _, windows = _slow_to_the_end(tmp_path, name, source, rerun)
        assert {w.backend for w in windows.values() if not w.joined_into} == {"fake"}, name


def test_the_report_wait_counts_from_the_transcript_end_not_from_when_it_was_seen(tmp_path: Path) -> None:
    """A call reading its prompt says nothing for up to 20 s: the stage may first see the transcript complete
    that late, and the report's wait still counts from the end file's time."""
    data = script("en")
    session = make_session(tmp_path / "late", data, llm="offline", summarize={"wait_at_end_s": 20.0})
    cfg = settings(session, None)
    clock = [100.0]
    job = Summarizer(session, cfg, [OfflineBackend(cfg)], now=lambda: clock[0])
    batches = batches_of(segments_of(data), "en")
    write_batch(session, batches[0])
    job.step()  # the meeting is followed live
    for batch in batches[1:]:
        write_batch(session, batch)
    write_end(session, batches[-1].batch)
    end = session.transcript_end_path
    then = end.stat().st_mtime - 15.0
    os.utime(end, (then, then))
    assert not job.out_of_time()  # 15 s since the end
    clock[0] += 5.0
    assert job.out_of_time()
    rerun = Summarizer(session, cfg, [OfflineBackend(cfg)], now=lambda: clock[0])
    rerun.step()
    clock[0] += 600.0
    assert not rerun.out_of_time()  # a rerun on a finished meeting is not in a hurry


def test_a_crash_between_a_joined_call_and_its_markers_costs_no_new_call(tmp_path: Path) -> None:
    data = script("en")
    session = make_session(tmp_path / "crash", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25})
    for batch in batches_of(segments_of(data), "en")[:4]:
        write_batch(session, batch)
    cfg = settings(session, None)
    fake = FakeChat(cfg, lambda messages: GOOD_EN)
    Summarizer(session, cfg, [fake]).step()
    assert _windows(session)["0001-01"].joined == ["0001-02"]
    (session.summaries / "windows" / "0001-02.json").unlink()  # killed before the marker was written
    again = FakeChat(cfg, lambda messages: GOOD_EN)
    Summarizer(session, cfg, [again]).step()
    assert again.calls == [] and _windows(session)["0001-02"].joined_into == "0001-01"


def test_an_import_keeps_one_call_per_window(tmp_path: Path) -> None:
    """An import is not in a hurry: its windows keep the size the prompts were written for."""
    data = script("en")
    session = make_session(tmp_path / "import", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25})
    session.write_manifest(session.manifest().model_copy(update={"source": "file:meeting.wav"}))
    for batch in batches_of(segments_of(data), "en")[:4]:
        write_batch(session, batch)
    cfg = settings(session, None)
    fake = FakeChat(cfg, lambda messages: GOOD_EN)
    job = Summarizer(session, cfg, [fake])
    while job.step():
        pass
    assert len(fake.calls) == 2 and not any(w.joined for w in _windows(session).values())


def test_status_says_when_summaries_fall_behind(tmp_path: Path) -> None:
    """`status` and the dashboard read it from the files: windows ready to read, and their mini-summaries."""
    data = script("en")
    session = make_session(tmp_path / "status", data, llm="offline",
                           summarize={"interval_minutes": 10.0, "window_minutes": 0.25})
    manifest = session.manifest()
    assert progress.summaries_waiting(session, manifest, 70.0) == (4, 70.0)  # 4 windows of 15 s, none read
    for batch in batches_of(segments_of(data), "en")[:2]:
        write_batch(session, batch)
    cfg = settings(session, None)
    Summarizer(session, cfg, [OfflineBackend(cfg)]).step()  # reads 0-15 s
    assert progress.summaries_waiting(session, manifest, 20.0) == (0, 0.0)
    waiting, behind = progress.summaries_waiting(session, manifest, 62.0)
    assert (waiting, behind) == (3, 47.0)
    status = progress.status_of(session)
    line = progress.summaries_line(dataclasses.replace(status, summaries_waiting=waiting,
                                                       summaries_behind_seconds=behind))
    assert line is not None and "3 windows waiting (0:00:47 of meeting)" in line
    assert progress.summaries_line(dataclasses.replace(status, summaries_waiting=1)) is None  # the one in hand
