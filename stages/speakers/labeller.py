"""Speaker labels in the transcriber: each transcript file's system segments labelled as it is written,
one final pass over the whole meeting before the transcript's end marker.

The live state (voices and the next number) is saved in every transcript file beside the
cursor state, so a restart continues from the file before the first missing one: no label is
lost and no number changes meaning. The final labels go to `transcript/speakers.json`,
written before `transcript/END.json`, so the report always has them; the transcript files
themselves are never rewritten.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stages import atomic
from stages.models import Segment, SpeakerLabels, SpeakerTrack, TranscriptBatch, VoiceState
from stages.speakers import cluster, labels
from stages.speakers.embed import Embedder
from stages.spool import Session, now_iso, read_model

log = logging.getLogger("transcribe")
AudioFn = Callable[[float, float], np.ndarray]


def _online(track: SpeakerTrack) -> cluster.Online:
    voices = [cluster.Voice(v.number, cluster.decode(v.centroid) * v.mass, v.seconds) for v in track.voices]
    return cluster.Online(voices=voices, next_number=track.next_number)


def _saved(online: cluster.Online) -> list[VoiceState]:
    return [VoiceState(number=v.number, seconds=round(v.seconds, 2), mass=round(float(np.linalg.norm(v.total)), 4),
                       centroid=cluster.encode(v.centroid)) for v in online.voices]


@dataclass
class Heard:
    """What the transcript files hold about the speakers, kept in memory so the final pass reads no file
    (rebuilt from the files after a restart)."""

    plain: dict[str, list[str]] = field(default_factory=dict)  # every file's segment labels, in order
    rows: list[tuple[str, int, int, np.ndarray | None, float]] = field(default_factory=list)
    # (file, segment index, live number, vector or None, seconds) of every labelled system segment

    def add(self, key: str, doc: TranscriptBatch) -> None:
        self.plain[key] = [s.speaker for s in doc.segments]
        for i, seg in enumerate(doc.segments):
            number = labels.number_of(seg.speaker)
            if seg.channel == "system" and number is not None:
                vector = cluster.decode(seg.voice) if seg.voice else None
                self.rows.append((key, i, number, vector, max(0.01, seg.end - seg.start)))

    def voices(self) -> tuple[np.ndarray, np.ndarray]:
        embedded = [(v, s) for _, _, _, v, s in self.rows if v is not None]
        if not embedded:
            return np.zeros((0, 1), dtype=np.float32), np.zeros(0)
        return np.stack([v for v, _ in embedded]), np.array([s for _, s in embedded])


class Labeller:
    def __init__(self, session: Session, language: Callable[[], str], embedder: Embedder) -> None:
        self.session = session
        self.language = language
        self.embedder = embedder
        self.track: SpeakerTrack | None = None
        self.after: int | None = None  # the transcript file whose state `track` is
        self.heard = Heard()

    def _state_before(self, batch: int) -> SpeakerTrack:
        earlier = [i for i in self.session.transcribed_batches() if i < batch]
        if self.track is not None and self.after == (earlier[-1] if earlier else None):
            return self.track
        self.heard = Heard()
        track = SpeakerTrack()
        for index in earlier:  # a restart (or a hole filled): what was heard before comes from the files
            try:
                doc = read_model(self.session.transcript_path(index), TranscriptBatch)
            except ValueError:
                doc = None  # the transcriber quarantines it and rewrites it
            if doc is None:
                continue
            self.heard.add(f"{index:06d}", doc)
            if index == earlier[-1] and doc.speakers:
                track = doc.speakers
        return track

    def label(self, doc: TranscriptBatch, audio: AudioFn) -> TranscriptBatch:
        """`doc` with its system segments labelled and the speaker state after it.

        Labels must never cost the transcript: if labelling fails, the file is written with the
        channel's plain label and the speaker state carried over unchanged, and the error is logged."""
        try:
            done = self._label(doc, audio)
        except Exception:
            log.exception("speaker labels for batch %06d failed; its segments keep the channel's label", doc.batch)
            try:
                track = self._state_before(doc.batch)
            except Exception:
                track, self.heard = SpeakerTrack(), Heard()
            done = doc.model_copy(update={"speakers": track})
        self.heard.add(f"{doc.batch:06d}", done)  # as a restart would read it back
        self.track, self.after = done.speakers, doc.batch
        return done

    def _label(self, doc: TranscriptBatch, audio: AudioFn) -> TranscriptBatch:
        began = time.process_time()
        track = self._state_before(doc.batch).model_copy(deep=True)
        online = _online(track)
        language = self.language()
        out: list[Segment] = []
        vectors, weights = self.heard.voices()
        new: list[tuple[np.ndarray, float]] = []
        for seg in doc.segments:
            if seg.channel != "system" or not seg.text.strip():
                out.append(seg)
                continue
            seconds = max(0.0, seg.end - seg.start)
            windows = self.embedder.embed(audio(seg.start, seg.end))
            voice = None
            if windows:
                vector = cluster.unit(sum(((b - a) * v for a, b, v in windows), np.zeros(windows[0][2].shape)))
                voice = cluster.encode(vector)
                vector = cluster.decode(voice)  # as the spool keeps it: a restart sees the same
                number = online.assign(vector, seconds)
                new.append((vector, max(0.01, seconds)))
            else:  # too short to say: most likely whoever spoke just before
                number = track.last if track.last is not None else online.next_number
            track.last = number
            track.speech_seconds = round(track.speech_seconds + seconds, 2)
            out.append(seg.model_copy(update={"speaker": labels.label(number, language), "voice": voice}))
        if doc.batch % cluster.REFINE_EVERY == 0 and (len(vectors) or new):
            if new:
                vectors = np.concatenate([vectors.reshape(-1, new[0][0].size), np.stack([v for v, _ in new])])
                weights = np.concatenate([weights, [w for _, w in new]])
            online.refine(vectors, weights)
        track.voices = _saved(online)
        track.next_number = online.next_number
        track.cpu_seconds = round(track.cpu_seconds + time.process_time() - began, 3)
        return doc.model_copy(update={"segments": out, "speakers": track})

    def finish(self) -> None:
        """Write `transcript/speakers.json`: the final labels from all the meeting's voices (again only when a
        transcript file is newer than it: a batch redone after a resume)."""
        began = time.process_time()
        batches = self.session.transcribed_batches()
        written = self.session.speakers_path.stat().st_mtime_ns if self.session.speakers_path.exists() else None
        if written is not None and all(self.session.transcript_path(i).stat().st_mtime_ns <= written
                                       for i in batches):
            return
        if batches and (self.after != batches[-1] or len(self.heard.plain) != len(batches)):
            self._state_before(batches[-1] + 1)  # not all in memory (a restart at the very end): read the files
            self.track, self.after = None, None
        heard = self.heard
        vectors, seconds = heard.voices()
        embedded = [k for k, row in enumerate(heard.rows) if row[3] is not None]
        numbers = cluster.final(vectors, seconds, [heard.rows[k][2] for k in embedded]) if embedded else []
        final_of = dict(zip(embedded, numbers, strict=True))
        # a segment too short to embed follows the final voice that most of its live number went to
        votes: dict[int, dict[int, float]] = {}
        for k, number in final_of.items():
            live = heard.rows[k][2]
            votes.setdefault(live, {}).setdefault(number, 0.0)
            votes[live][number] += heard.rows[k][4]
        numbers = []
        for k, (_, _, live, _, _) in enumerate(heard.rows):
            options = votes.get(live)
            numbers.append(final_of.get(k, max(options, key=lambda n: options[n]) if options else live))
        pinned = self._pinned()
        if not pinned:
            numbers = cluster.in_order(numbers)
        language = self.language()
        plain = {key: list(row) for key, row in heard.plain.items()}
        order: list[str] = []
        for (key, i, _, _, _), number in zip(heard.rows, numbers, strict=True):
            name = labels.label(number, language)
            plain[key][i] = name
            if name not in order:
                order.append(name)
        last = self._last_track(batches)
        result = SpeakerLabels(labels=plain, speakers=order, live_cpu_seconds=last.cpu_seconds,
                               final_cpu_seconds=round(time.process_time() - began, 3),
                               speech_seconds=last.speech_seconds, written_at=now_iso(), live_numbers=pinned)
        atomic.write_json(self.session.speakers_path, result)
        log.info("speakers: %d told apart (%s); %.1f s of CPU for %.0f s of speech", len(order), ", ".join(order),
                 result.live_cpu_seconds + result.final_cpu_seconds, result.speech_seconds)

    def _pinned(self) -> bool:
        """Whether the final labels keep the live numbers even with a hole: a name given before the first final
        pass named a live label, which must keep meaning that voice; a later pass (a batch redone) numbers as
        the first did, so names given to its labels stay right too."""
        try:
            before = read_model(self.session.speakers_path, SpeakerLabels)
        except ValueError:
            before = None
        if before is not None:
            return before.live_numbers
        try:
            return bool(labels.names(self.session))
        except ValueError:  # a names file that does not read: it may still name a label
            return True

    def _last_track(self, batches: list[int]) -> SpeakerTrack:
        if self.track is not None:
            return self.track
        for index in reversed(batches):
            doc = read_model(self.session.transcript_path(index), TranscriptBatch)
            if doc is not None and doc.speakers is not None:
                return doc.speakers
        return SpeakerTrack()
