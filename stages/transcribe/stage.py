"""The transcriber loop: pending batches -> windows cut at pauses -> one transcript file per batch.

State that must survive a crash lives in the files: each transcript file records,
per channel, the cursor (audio before it is final) and the final segments that
belong to later batches. A restart reads the last file before the first missing
one and carries on from there, so every batch gets exactly one file.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from stages import atomic
from stages.config import TranscribeConfig
from stages.models import CHANNELS, Channel, ChannelCursor, Segment, TranscriptBatch, TranscriptEnd
from stages.spool import Session, now_iso, read_model
from stages.transcribe.batches import Batch, BatchStore, Run, runs_of
from stages.transcribe.echo import drop_echo
from stages.transcribe.lead import Recent
from stages.transcribe.pieces import Decoded, Piece, sentences
from stages.transcribe.windowing import choose_cut, speech_spans
from stages.wavio import RATE

if TYPE_CHECKING:
    from stages.speakers.labeller import Labeller

log = logging.getLogger("transcribe")
EPS = 1e-3
SPEAKERS = {"fr": {"mic": "Vous", "system": "Participants"}}
DEFAULT_SPEAKERS = {"mic": "You", "system": "Others"}

TranscribeFn = Callable[..., Decoded]


def speaker_of(channel: Channel, language: str) -> str:
    return SPEAKERS.get(language, DEFAULT_SPEAKERS)[channel]


PROMPT_MAX_UNSURE = 0.2


def next_context(context: list[int], pieces: list[Piece], keep: int) -> list[int]:
    """The prompt for the next call: the last `keep` tokens of final text, reset after a shaky decode.

    A piece with many words the decoder was unsure of is left out: conditioned on a word it
    misheard, Whisper writes the same word again in the next calls where the whole-file call
    gets it right (French Kokoro dev meeting: "environ" -> "vieux" six times; such repeated
    mistakes 25 -> 15 there, 7 -> 5 on the English espeak one, WER 19.8 -> 19.3 % and 4.3 -> 3.6 %).
    """
    if not keep:
        return []
    out = list(context)
    for piece in pieces:
        if piece.resets:
            out = []
        elif piece.unsure <= PROMPT_MAX_UNSURE:
            out += list(piece.tokens)
    return out[-keep:]


class Transcription:
    """Advances each channel's cursor window by window and writes the batches that became final."""

    def __init__(self, session: Session, cfg: TranscribeConfig, channels: list[Channel],
                 transcribe: TranscribeFn, language: Callable[[], str], model_name: str | Callable[[], str],
                 live: bool = True, speakers: Labeller | None = None) -> None:
        self.session = session
        self.speakers = speakers  # labels the system segments of each file as it is written
        self.cfg = cfg
        # Live, a call starts once `min_window_s` waits, to keep the lag bounded. An imported file
        # has no lag to keep: every call waits for a full window, so the windows, and the text, depend
        # on the audio alone, never on how fast capture went (a rerun or a restart gives the same text).
        self.min_window = cfg.min_window_s if live else cfg.max_window_s
        # A cut in a pause never comes before this far into a call's audio (imports: 10 s of 30).
        self.earliest_cut = cfg.min_window_s / 2 if live else cfg.max_window_s / 3
        self.channels = channels
        self.transcribe = transcribe
        self.language = language
        self.model_name = model_name
        # Live, a call hears up to `live_lead_s` of final audio again before its new audio (lead.py). Not with a
        # server: some give no word times to tell the lead's words from the new ones (openai_api.py).
        self.lead_s = cfg.live_lead_s if live and cfg.engine == "local" else 0.0
        self.recent: dict[str, Recent] = {}  # per channel, in memory: where a lead may start
        self.store = BatchStore(session)
        self.state: dict[str, ChannelCursor] | None = None
        self.expect: int | None = None  # the batch whose file comes next from the in-memory state

    def step(self, assume_ended: bool = False) -> bool:
        """Do one unit of work; False when nothing can be done until more audio arrives.

        `assume_ended` treats the audio present as complete (a rerun on a session whose
        capture died without writing its end marker).
        """
        batches = self.store.scan()
        pending = [b for b in batches if not self.session.transcript_path(b.index).exists()]
        if not pending:
            self.state = None
            return False
        first = pending[0]
        if self.state is None or self.expect != first.index:
            self.state = self._state_before(batches, first)
            self.expect = first.index
            self.recent = {}
            if self.state is None:
                return True  # a broken transcript file was quarantined: rescan
        runs = runs_of(batches)
        ended = assume_ended or self.session.audio_end_path.exists()
        worked = any([self._advance(ch, runs, ended) for ch in self.channels])
        wrote = self._write_ready(batches, pending)
        cursors = [c.cursor for c in self.state.values()] if self.state else []
        self.store.forget_before(min(cursors, default=0.0) - self.lead_s)
        return worked or wrote

    def _state_before(self, batches: list[Batch], first: Batch) -> dict[str, ChannelCursor] | None:
        """Cursor and carry left by the file of the batch just before `first` (or a fresh start)."""
        earlier = [b for b in batches if b.index < first.index]
        fresh: dict[str, ChannelCursor] = {ch: ChannelCursor(cursor=first.start) for ch in self.channels}
        if not earlier:
            return fresh
        path = self.session.transcript_path(earlier[-1].index)
        try:
            previous = read_model(path, TranscriptBatch)
        except ValueError as exc:
            self.session.quarantine(path, "transcribe", f"transcript file unreadable: {exc}",
                                    earlier[-1].start, earlier[-1].end)
            log.warning("quarantined %s: %s", path.name, exc)
            return None
        if previous is None:
            return fresh
        found: dict[str, ChannelCursor] = {ch: previous.state.get(ch, ChannelCursor(cursor=first.start))
                                           for ch in self.channels}
        return found

    def _advance(self, channel: Channel, runs: list[Run], ended: bool) -> bool:
        """Transcribe the next window of one channel if enough audio waits; True if the cursor moved."""
        assert self.state is not None
        cur = self.state[channel]
        run = next((r for r in runs if r.end - EPS > cur.cursor), None)
        if run is None:
            return False
        start = max(cur.cursor, run.start)
        closed = run is not runs[-1] or ended
        todo = run.end - start
        if todo < EPS or (todo < self.min_window and not closed):
            return False
        limit = min(run.end, start + self.cfg.max_window_s)
        final_piece = closed and limit >= run.end - EPS
        audio = self.store.slice(CHANNELS.index(channel), run, start, limit)
        spans = speech_spans(audio, self.cfg.pause_ms)
        if not spans:
            cur.cursor = limit
            return True
        cut_at = None if final_piece else choose_cut(spans, limit - start, self.earliest_cut)
        cut = start + cut_at if cut_at is not None else limit
        recent = self.recent.setdefault(channel, Recent())
        earliest = max(run.start, start - self.lead_s, cut - self.cfg.max_window_s)
        heard_from, context, said = recent.lead(earliest, start) or (start, cur.context, [])
        prompt = context[-self.cfg.prompt_tokens:] if self.cfg.prompt_tokens else None
        audio = audio[: round((cut - start) * RATE)]
        if heard_from < start:
            audio = np.concatenate([self.store.slice(CHANNELS.index(channel), run, heard_from, start), audio])
        began = time.monotonic()
        decoded = self.transcribe(audio, heard_from, prompt, open_end=not final_piece and cut_at is None,
                                  lead=start - heard_from, said=said)
        took = time.monotonic() - began
        pieces = decoded.pieces
        # the call may end early (a repetition loop, a last segment to redo): the next one starts there
        new_cursor = cut if decoded.until is None else heard_from + decoded.until
        for piece in pieces:  # the prompt before each piece: a lead that starts there leaves itself out of it
            recent.add(piece, cur.context)
            cur.context = next_context(cur.context, [piece], self.cfg.prompt_tokens)
        # after a call that ended early (a loop, its last words left), the next starts afresh, with no lead
        recent.forget_before(new_cursor - self.lead_s if decoded.until is None else new_cursor)
        speaker = speaker_of(channel, self.language())
        voices = channel == "system" and self.speakers is not None  # one voice per sentence, not per segment
        cur.carry.extend(Segment(start=round(a, 2), end=round(b, 2), channel=channel, speaker=speaker, text=text,
                                 confidence=p.confidence)
                         for p in pieces for a, b, text in (sentences(p) if voices else [(p.start, p.end, p.text)]))
        cur.carry.extend(Segment(start=round(g.start, 2), end=round(g.end, 2), channel=channel, speaker=speaker,
                                 text="", confidence=0.0, gap=True) for g in decoded.gaps)
        cur.carry.sort(key=lambda s: s.start)
        cur.cursor = new_cursor
        log.info("%s %.1f-%.1f s: %d segment(s)%s%s, decoded in %.1f s", channel, start, new_cursor, len(pieces),
                 "" if cut_at is None else f", cut in a pause at {cut:.1f} s",
                 f", heard from {heard_from:.1f} s" if heard_from < start else "", took)
        return True

    def _write_ready(self, batches: list[Batch], pending: list[Batch]) -> bool:
        """Write every pending batch that all channels have passed, in order."""
        assert self.state is not None
        wrote = False
        following = {b.index: n for b, n in itertools.pairwise(batches)}
        for batch in pending:
            if batch.index != self.expect:
                break
            if any(self.state[ch].cursor < batch.end - EPS for ch in self.channels):
                break
            mine = sorted((s for c in self.state.values() for s in c.carry if s.start < batch.end - EPS),
                          key=lambda s: (s.start, s.channel))
            for c in self.state.values():
                c.carry = [s for s in c.carry if s.start >= batch.end - EPS]
            doc = TranscriptBatch(batch=batch.index, start=batch.start, end=batch.end,
                                  segments=drop_echo(mine), state={k: v.model_copy(deep=True)
                                                                   for k, v in self.state.items()},
                                  model=self.model_name if isinstance(self.model_name, str) else self.model_name(),
                                  language=self.language(), transcribed_at=now_iso())
            if self.speakers is not None:
                doc = self.speakers.label(doc, self._system_audio(batches))
            atomic.write_json(self.session.transcript_path(batch.index), doc)
            wrote = True
            nxt = following.get(batch.index)
            self.expect = nxt.index if nxt else None
            if nxt is not None and self.session.transcript_path(nxt.index).exists():
                self.state = None  # filled a hole in the middle: the files after it stand
                break
        return wrote

    def _system_audio(self, batches: list[Batch]) -> Callable[[float, float], np.ndarray]:
        run, channel = Run(tuple(batches)), CHANNELS.index("system")
        return lambda t0, t1: self.store.slice(channel, run, t0, t1)

    def finish_if_complete(self) -> bool:
        """Write transcript/END.json once capture has ended and every batch has its file."""
        end = self.session.audio_end()
        if end is None:
            return False
        batches = self.store.scan()
        if any(not self.session.transcript_path(b.index).exists() for b in batches):
            return False
        if self.session.transcript_end_path.exists():
            return True
        if self.speakers is not None:
            self.speakers.finish()  # the final labels exist before the end marker says the transcript is complete
        last = max([b.index for b in batches] + [end.last_batch])
        atomic.write_json(self.session.transcript_end_path, TranscriptEnd(last_batch=last, ended_at=now_iso()))
        return True
