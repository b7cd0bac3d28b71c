"""The summarizer loop: transcript files -> windows -> chunk mini-summaries -> synthesis -> report.

Everything it knows is in files, so it can be killed at any moment and rerun:
a window, chunk or report file that exists is done. Work goes oldest first, and
windows come before everything else, so the summaries follow the meeting live
and only the last few minutes are left when the transcript ends.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from stages import atomic, config
from stages.config import SummarizeConfig
from stages.models import Segment, SessionManifest
from stages.spool import Session, make_private_dir, now_iso, read_model
from stages.summarize import grounding, lang, merge, report
from stages.summarize.backends.base import Backend, SynthesisTask, WindowTask
from stages.summarize.chunker import Plan, Window, plan, window_key
from stages.summarize.runner import Runner
from stages.summarize.schema import ChunkFile, MiniSummary, SynthesisFile, WindowFile
from stages.summarize.text import clock, estimate_tokens
from stages.summarize.transcript import TranscriptView

log = logging.getLogger("summarize")
M = TypeVar("M", WindowFile, ChunkFile, SynthesisFile)
SYNTHESIS_BUDGET_TOKENS = 2500  # mini-summary text folded into the overall summary per call
CONTEXT_S = 60.0  # transcript before a window that its extraction may look back at (a proposal, a named task)
JOIN_BUDGET_TOKENS = 1200  # transcript one call may read when windows wait (a 4096-token context keeps room)
# Live, an LLM that takes more than this share of the meeting's time per window answers briefly (one key
# point, a shorter summary) until it is well under the lower one again.
BRIEF_PACE = 0.5
FULL_PACE = 0.3
STARVED_FOLDS = 2  # brief, a fold goes ahead of a waiting window once this many times `fold_windows` wait
BRIEF_NOTE = "the LLM was slow beside the other programs: its answers were kept short (one key point, a short summary)"


class Summarizer:
    def __init__(self, session: Session, cfg: SummarizeConfig, chain: list[Backend], *,
                 summaries: Path | None = None, report_dir: Path | None = None, assume_complete: bool = False,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.session = session
        self.cfg = cfg
        self.manifest: SessionManifest = session.manifest()
        settings = config.validate(self.manifest.config)
        self.vocabulary = tuple(settings.transcribe.vocabulary)
        # live, the meeting will not wait for a slowed LLM: windows that wait are read together.
        # An import is not in a hurry, and its windows keep the size the prompts were made for.
        self.live = settings.capture.realtime or not self.manifest.source.startswith("file:")
        self.include_transcript = settings.report.include_full_transcript
        self.summaries = summaries or session.summaries
        self.report_dir = report_dir or session.report
        self.windows_dir = self.summaries / "windows"
        self.view = TranscriptView(session)
        self.runner = Runner(chain, cfg, now)
        for backend in chain:
            backend.cutoff, backend.live = self.out_of_time, self.live
        self.now = now
        self.assume_complete = assume_complete
        self.complete_seen: float | None = None
        self.followed_live = False  # saw the transcript still growing: someone waits for the report (out_of_time)
        self.pace: float | None = None  # seconds an LLM window call takes per second of meeting (smoothed)
        self.brief = False
        self._done: set[Path] = set()  # window and chunk files read whole once: they never change
        self.interval_s = cfg.interval_minutes * 60.0
        self.window_s = min(cfg.window_minutes, cfg.interval_minutes) * 60.0
        for folder in (self.summaries, self.windows_dir, self.report_dir):
            make_private_dir(folder)
            atomic.remove_stale_temps(folder)

    # paths
    def window_path(self, w: Window) -> Path:
        return self.windows_dir / f"{window_key(w)}.json"

    def chunk_path(self, chunk: int) -> Path:
        return self.summaries / f"chunk_{chunk:04d}.json"

    @property
    def synthesis_path(self) -> Path:
        return self.summaries / "synthesis.json"

    @property
    def end_path(self) -> Path:
        return self.report_dir / "END.json"

    def finished(self) -> bool:
        return self.end_path.exists()

    def language(self) -> str:
        return lang.resolve(self.manifest.language, self.view.languages()) or "en"

    def _complete(self) -> bool:
        return self.view.complete or self.assume_complete

    def may_wait(self, down_since: float | None) -> bool:
        """A down LLM is waited for while the meeting goes on, and `wait_at_end_s` after its transcript ends."""
        ended = self._ended()
        return ended is None or self.now() - ended < self.cfg.wait_at_end_s

    def out_of_time(self) -> bool:
        """Live, the report waits at most `wait_at_end_s` for the LLM once the transcript is complete.

        Beside a video call a window took 37-74 s on the one core left, and the last minute's window only
        starts once that minute is transcribed: the report came 44 s after the meeting. Past this point the
        rules do what is left, and the report says so. An import or a rerun on a finished meeting waits.
        """
        ended = self._ended() if self.followed_live else None
        return ended is not None and self.now() - ended >= self.cfg.wait_at_end_s

    def _ended(self) -> float | None:
        """When the transcript became complete (None: not yet). Followed live, that is its end file's time:
        a call reading its prompt says nothing for up to 20 s, and the wait counts from the end."""
        if self.complete_seen is None:
            end = self.session.transcript_end_path
            if not (self._complete() or end.exists()):
                return None
            age = 0.0
            if self.followed_live:
                with contextlib.suppress(OSError):  # assumed complete, or the folder was moved away
                    age = max(0.0, time.time() - end.stat().st_mtime)
            self.complete_seen = self.now() - age
        return self.complete_seen

    def current_plan(self) -> Plan:
        complete = self._complete()
        covered = float("inf") if complete else self.view.covered_until
        return plan(covered, complete, self.view.end_time(), self.interval_s, self.window_s)

    # the loop body
    def step(self) -> bool:
        """Do one unit of work; False when nothing can be done now (waiting for transcript or for the LLM)."""
        if self.finished():
            return False
        self.view.refresh()
        if self._complete():
            self._ended()
        self.followed_live = self.followed_live or (self.live and self.complete_seen is None)
        p = self.current_plan()
        chunks = set(p.chunks)
        for i, w in enumerate(p.windows):  # in time order; each interval's chunk as soon as its windows are done
            if not self._has(self.window_path(w), WindowFile):
                if self.runner.waiting() > 0:
                    return False
                if self.brief and not self.view.ending() and (fold := self._starved_fold(p.windows[:i])):
                    return self._synthesize(fold[0], p, fold[1])
                return self._window(w, p)
            last_of_chunk = i + 1 == len(p.windows) or p.windows[i + 1].chunk != w.chunk
            if last_of_chunk and w.chunk in chunks and not self._has(self.chunk_path(w.chunk), ChunkFile):
                self._chunk(w.chunk, p)
                return True
        pending, synthesis = self._unfolded(p.windows)
        closed = {w.chunk for w in pending} & chunks
        if pending and (closed or p.last_chunk is not None or len(pending) >= self.cfg.fold_windows):
            if self.runner.waiting() > 0:
                return False
            if p.last_chunk is None and self.view.ending():
                return False  # a fold now would hold up the report: the closing call takes these windows too
            return self._synthesize(pending, p, synthesis)
        if p.last_chunk is not None:
            self._report(p, synthesis)
            return True
        return False

    def _unfolded(self, windows: list[Window]) -> tuple[list[Window], SynthesisFile | None]:
        """Those of `windows` not yet in the overall summary, and the overall summary so far."""
        synthesis = self._load(self.synthesis_path, SynthesisFile)
        folded = set(synthesis.windows) if synthesis else set()
        return [w for w in windows if window_key(w) not in folded], synthesis

    def _starved_fold(self, done: list[Window]) -> tuple[list[Window], SynthesisFile | None] | None:
        """The summarized windows not yet in the overall summary, when a fold cannot wait any longer.

        A slowed LLM always has a window waiting, so folds, which wait for the windows, never came:
        beside a call the report then waited 29 s for one fold of ten windows. But a fold ahead of a
        waiting window is a window's time (34-63 s beside a call, 23 % of the LLM's time, and no list
        is richer for it): brief, a fold comes when no window waits, or ahead of one only once
        `STARVED_FOLDS` times `fold_windows` windows wait for it; the closing adds the last ones as
        they are, without a call, however many they are."""
        unfolded, synthesis = self._unfolded(done)
        return (unfolded, synthesis) if len(unfolded) >= STARVED_FOLDS * self.cfg.fold_windows else None

    def _has(self, path: Path, model: type[M]) -> bool:
        """Is this window or chunk file done? Remembered, not kept: two hours of them stay out of memory."""
        if path not in self._done and self._load(path, model) is not None:
            self._done.add(path)
        return path in self._done

    def _load(self, path: Path, model: type[M]) -> M | None:
        try:
            return read_model(path, model)
        except ValueError as exc:
            log.warning("%s is unreadable, redoing it: %s", path.name, exc)
            self._done.discard(path)
            return None

    def _segments(self, w: Window, p: Plan) -> list[Segment]:
        last = p.last_chunk is not None and w == p.windows[-1]
        return self.view.between(w.start, float("inf") if last else w.end)

    def _waiting_run(self, w: Window, p: Plan) -> list[tuple[Window, list[Segment]]]:
        """`w` and the windows after it that are ready too, with their segments: the LLM fell behind,
        they are read in one call.

        Only windows of the same interval, in a run without a file, up to `JOIN_BUDGET_TOKENS`
        of transcript: fewer, larger calls let a slowed LLM catch up (each call pays its
        prompt and its answer once) instead of falling further behind every minute.
        """
        run = [(w, self._segments(w, p))]
        if not self.live:
            return run
        budget = JOIN_BUDGET_TOKENS - sum(estimate_tokens(s.text) for s in run[0][1])
        for later in p.windows[p.windows.index(w) + 1:]:
            if later.chunk != w.chunk or self.window_path(later).exists():
                break
            part = self._segments(later, p)
            budget -= sum(estimate_tokens(s.text) for s in part)
            if budget < 0:
                break
            run.append((later, part))
        return run

    def _joined_earlier(self, w: Window, p: Plan) -> tuple[str, WindowFile] | None:
        """The window whose call already read `w` (a crash came between its file and `w`'s marker)."""
        for earlier in p.windows:
            if earlier.chunk != w.chunk or earlier.window >= w.window:
                continue
            found = self._load(self.window_path(earlier), WindowFile)
            if found is not None and window_key(w) in found.joined:
                return window_key(earlier), found
        return None

    def _mark_joined(self, w: Window, into: str, by: WindowFile, segments: int) -> None:
        doc = WindowFile(chunk=w.chunk, window=w.window, start=w.start, end=w.end, segments=segments,
                         backend=by.backend, llm=by.llm, joined_into=into, written_at=now_iso())
        atomic.write_json(self.window_path(w), doc)

    def _window(self, w: Window, p: Plan) -> bool:
        self.view.forget_before(w.start - CONTEXT_S)  # windows go in time order: the rest is summarized
        earlier = self._joined_earlier(w, p)
        if earlier is not None:
            self._mark_joined(w, *earlier, len(self._segments(w, p)))
            return True
        waiting = self._waiting_run(w, p)
        run, parts = [x for x, _ in waiting], [part for _, part in waiting]
        segments = [s for part in parts for s in part]
        context = self.view.between(w.start - CONTEXT_S, w.start)
        language = self.language()
        end = run[-1].end
        keys = ", ".join(window_key(x) for x in run)
        tag = f"window {keys} ({clock(w.start)}-{clock(end)}, {len(segments)} segments)"
        if not segments:
            for x in run:
                doc = WindowFile(chunk=x.chunk, window=x.window, start=x.start, end=x.end, segments=0,
                                 backend="none", llm="none", written_at=now_iso())
                atomic.write_json(self.window_path(x), doc)
            log.info("%s: nothing said", tag)
            return True
        task = WindowTask(language, w.start, end, segments, self.vocabulary, context, self.brief)
        began = self.now()
        outcome = self.runner.run(lambda b: b.summarize(task), self.may_wait)
        if outcome is None:
            return False
        mini, fixes = outcome.value
        stats = outcome.backend.stats
        joined = [window_key(x) for x in run[1:]]
        notes = [*outcome.notes, *fixes]
        if joined:
            notes.append(f"the LLM was behind: windows {keys} were read in one call")
        if task.brief and outcome.backend.name != "offline":
            notes.append(BRIEF_NOTE)
        self._keep_pace(outcome.backend.name, (self.now() - began) * outcome.backend.lighter, end - w.start)
        doc = WindowFile(**mini.model_dump(), chunk=w.chunk, window=w.window, start=w.start, end=w.end,
                         segments=len(parts[0]), backend=outcome.backend.name, llm=outcome.backend.describe(),
                         notes=notes, seconds=round(self.now() - began, 2), joined=joined,
                         prompt_tokens=stats.prompt_tokens, output_tokens=stats.output_tokens, written_at=now_iso())
        atomic.write_json(self.window_path(w), doc)  # first: the markers below are redone from it after a crash
        for x, part in zip(run[1:], parts[1:], strict=True):
            self._mark_joined(x, window_key(w), doc, len(part))
        log.info("%s: %s in %.1f s (prompt %d tokens, %d of them cached, answer %d; read %.1f s, written %.1f s): "
                 "%d action item(s), %d decision(s)", tag, outcome.backend.name, self.now() - began,
                 stats.prompt_tokens, stats.cached_tokens, stats.output_tokens, stats.read_s, stats.write_s,
                 len(mini.action_items), len(mini.decisions))
        return True

    def _keep_pace(self, backend: str, seconds: float, covered: float) -> None:
        """Live, follow how long the LLM takes per second of meeting; answer briefly while it cannot keep up.

        Beside a video call on 2 cores, the 1.5B model took 45-90 s per French minute (one thread, most
        of it writing the answer): the summaries fell minutes behind and the report waited for them.
        `seconds` are the configured model's: a lighter model's brief answer counts `lighter` times its time.
        """
        if not self.live or backend == "offline" or covered <= 0:
            return
        now = seconds / covered
        self.pace = now if self.pace is None else (self.pace + now) / 2
        if not self.brief and self.pace > BRIEF_PACE:
            self.brief = True
            log.info("the LLM takes %.0f %% of the meeting's time: brief answers until it is under %.0f %%",
                     100 * self.pace, 100 * FULL_PACE)
        elif self.brief and self.pace < FULL_PACE:
            self.brief = False
            log.info("the LLM takes %.0f %% of the meeting's time again: full answers", 100 * self.pace)

    def _chunk(self, chunk: int, p: Plan) -> None:
        windows = [self._load(self.window_path(w), WindowFile) for w in p.windows if w.chunk == chunk]
        docs = [w for w in windows if w is not None]
        language = self.language()
        merged = merge.merge([MiniSummary.model_validate(d.model_dump()) for d in docs], language)
        llms = list(dict.fromkeys(d.llm for d in docs if d.backend != "none"))
        notes = list(dict.fromkeys(n for d in docs for n in d.notes))
        doc = ChunkFile(**merged.model_dump(), chunk=chunk, start=docs[0].start, end=docs[-1].end,
                        language=language, llm=llms, windows=len(docs), notes=notes, written_at=now_iso())
        atomic.write_json(self.chunk_path(chunk), doc)
        log.info("chunk %04d (%s-%s) written: %d action item(s), %d decision(s)", chunk, clock(doc.start),
                 clock(doc.end), len(doc.action_items), len(doc.decisions))

    def _synthesize(self, pending: list[Window], p: Plan, previous: SynthesisFile | None) -> bool:
        """Fold the window summaries not yet in the overall summary into it (one LLM call, bounded size)."""
        batch: list[tuple[Window, WindowFile]] = []
        budget = SYNTHESIS_BUDGET_TOKENS
        for w in pending:
            found = self._load(self.window_path(w), WindowFile)
            if found is None:
                break
            cost = estimate_tokens(found.summary)
            if batch and cost > budget:
                break
            batch.append((w, found))
            budget -= cost
        texts = [(d.start, d.end, d.summary) for _, d in batch if d.summary.strip()]
        windows = [*(previous.windows if previous else []), *(window_key(w) for w, _ in batch)]
        done = set(windows)
        chunks = sorted(c for c in p.chunks
                        if all(window_key(w) in done for w in p.windows if w.chunk == c))
        prior = previous.summary if previous else ""
        if not texts:  # nothing new was said: the summary stands
            kept = SynthesisFile(summary=prior, windows=windows, chunks=chunks,
                                 backend=previous.backend if previous else "none",
                                 llm=previous.llm if previous else "none",
                                 prompt_chars=previous.prompt_chars if previous else 0,
                                 prompt_tokens=previous.prompt_tokens if previous else 0, updated_at=now_iso())
            atomic.write_json(self.synthesis_path, kept)
            return True
        # the meeting is over and its last few windows are all that is left: add them, do not rewrite. Brief,
        # however many: a call would only hold up the report (beside a call, 8 windows were left, and the
        # rules wrote the overall summary once the report could wait no longer)
        closing = p.last_chunk is not None and batch[-1][0] == p.windows[-1] and \
            (self.brief or len(batch) <= self.cfg.fold_windows + 1)
        task = SynthesisTask(self.language(), prior, texts, closing, self.brief)
        began = self.now()
        outcome = self.runner.run(lambda b: b.synthesize(task), self.may_wait)
        if outcome is None:
            return False
        stats = outcome.backend.stats
        doc = SynthesisFile(summary=outcome.value, windows=windows, chunks=chunks, backend=outcome.backend.name,
                            llm=outcome.backend.describe(), prompt_chars=stats.prompt_chars,
                            prompt_tokens=stats.prompt_tokens, notes=outcome.notes, updated_at=now_iso())
        atomic.write_json(self.synthesis_path, doc)
        log.info("overall summary %s window(s) %s by %s in %.1f s (prompt %d tokens, answer %d)",
                 "closed with" if closing else "updated with", ", ".join(window_key(w) for w, _ in batch),
                 outcome.backend.name, self.now() - began, stats.prompt_tokens, stats.output_tokens)
        return True

    def _report(self, p: Plan, synthesis: SynthesisFile | None) -> None:
        chunks = [c for c in (self._load(self.chunk_path(n), ChunkFile) for n in p.chunks) if c is not None]
        if synthesis is None:
            synthesis = SynthesisFile(summary="", chunks=[], backend="none", llm="none", updated_at=now_iso())
        lines = report.transcript_lines(self.view)
        if synthesis.backend != "offline":  # an LLM's sentence that names, counts or dates what nobody said goes
            kept, dropped = grounding.grounded_text(synthesis.summary, " ".join(x.text for x in lines),
                                                    self.language(), "overall summary")
            for note in dropped:
                log.info("%s", note)
            if not kept:  # every sentence dropped: the chunks' summaries, each checked when written, stand in
                kept = " ".join(c.summary for c in chunks if c.summary.strip())
            synthesis = synthesis.model_copy(update={"summary": kept})
        final = report.build(self.manifest, self.session.name, self.language(), chunks, synthesis,
                             self.view.gaps(), self.view.end_time(), [*self.runner.notes, *self.view.engine_notes()])
        final = report.with_owner_names(final, self.view.owner_names())
        end = report.write(self.report_dir, final, lines, self.include_transcript)
        log.info("report written to %s (%s)", self.report_dir, end.llm)
