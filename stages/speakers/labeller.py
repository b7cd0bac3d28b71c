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


class Labeller:
    def __init__(self, session: Session, language: Callable[[], str], embedder: Embedder) -> None:
        self.session = session
        self.language = language
        self.embedder = embedder
        self.track: SpeakerTrack | None = None
        self.after: int | None = None  # the transcript file whose state `track` is
        self.heard: list[tuple[np.ndarray, float]] = []  # (vector, seconds) of every segment so far: regrouping

    def _state_before(self, batch: int) -> SpeakerTrack:
        earlier = [i for i in self.session.transcribed_batches() if i < batch]
        if self.track is not None and self.after == (earlier[-1] if earlier else None):
            return self.track
        self.heard = []
        track = SpeakerTrack()
        for index in earlier:  # a restart (or a hole filled): what was heard before comes from the files
            try:
                doc = read_model(self.session.transcript_path(index), TranscriptBatch)
            except ValueError:
                doc = None  # the transcriber quarantines it and rewrites it
            if doc is None:
                continue
            self.heard += [(cluster.decode(s.voice), s.end - s.start) for s in doc.segments if s.voice]
            if index == earlier[-1] and doc.speakers:
                track = doc.speakers
        return track

    def label(self, doc: TranscriptBatch, audio: AudioFn) -> TranscriptBatch:
        """`doc` with its system segments labelled and the speaker state after it.

        Labels must never cost the transcript: if labelling fails, the file is written with the
        channel's plain label and the speaker state carried over unchanged, and the error is logged."""
        heard = len(self.heard)
        try:
            return self._label(doc, audio)
        except Exception:
            log.exception("speaker labels for batch %06d failed; its segments keep the channel's label", doc.batch)
            try:
                track = self._state_before(doc.batch)
                del self.heard[heard:]  # as a restart would see it: this file holds no vectors
            except Exception:
                track, self.heard = SpeakerTrack(), []
            self.track, self.after = track, doc.batch
            return doc.model_copy(update={"speakers": track})

    def _label(self, doc: TranscriptBatch, audio: AudioFn) -> TranscriptBatch:
        began = time.process_time()
        track = self._state_before(doc.batch).model_copy(deep=True)
        online = _online(track)
        language = self.language()
        out: list[Segment] = []
        for seg in doc.segments:
            if seg.channel != "system" or not seg.text.strip():
                out.append(seg)
                continue
            seconds = max(0.0, seg.end - seg.start)
            windows = self.embedder.embed(audio(seg.start, seg.end))
            voice = None
            if windows:
                vector = cluster.unit(sum(((b - a) * v for a, b, v in windows), np.zeros(windows[0][2].shape)))
                vector = cluster.decode(cluster.encode(vector))  # as the spool keeps it: a restart sees the same
                number = online.assign(vector, seconds)
                voice = cluster.encode(vector)
                self.heard.append((vector, seconds))
            else:  # too short to say: most likely whoever spoke just before
                number = track.last if track.last is not None else online.next_number
            track.last = number
            track.speech_seconds = round(track.speech_seconds + seconds, 2)
            out.append(seg.model_copy(update={"speaker": labels.label(number, language), "voice": voice}))
        if doc.batch % cluster.REFINE_EVERY == 0 and self.heard:
            online.refine(np.stack([v for v, _ in self.heard]), np.array([s for _, s in self.heard]))
        track.voices = _saved(online)
        track.next_number = online.next_number
        track.cpu_seconds = round(track.cpu_seconds + time.process_time() - began, 3)
        self.track, self.after = track, doc.batch
        return doc.model_copy(update={"segments": out, "speakers": track})

    def finish(self) -> None:
        """Write `transcript/speakers.json` (once): the final labels from all the meeting's voices."""
        if self.session.speakers_path.exists():
            return
        began = time.process_time()
        rows: list[tuple[str, int]] = []  # (file, segment index) of every system segment
        vectors: list[np.ndarray] = []
        seconds: list[float] = []
        live: list[int] = []
        plain: dict[str, list[str]] = {}
        last_track: SpeakerTrack | None = None
        for index in self.session.transcribed_batches():
            doc = read_model(self.session.transcript_path(index), TranscriptBatch)
            if doc is None:
                continue
            key = f"{index:06d}"
            plain[key] = [s.speaker for s in doc.segments]
            last_track = doc.speakers or last_track
            for i, seg in enumerate(doc.segments):
                number = labels.number_of(seg.speaker)
                if seg.channel != "system" or number is None:
                    continue
                rows.append((key, i))
                vectors.append(cluster.decode(seg.voice) if seg.voice else np.zeros(0, dtype=np.float32))
                seconds.append(max(0.01, seg.end - seg.start))
                live.append(number)
        embedded = [k for k, v in enumerate(vectors) if v.size]
        numbers = cluster.final(np.stack([vectors[k] for k in embedded]), np.array([seconds[k] for k in embedded]),
                                [live[k] for k in embedded]) if embedded else []
        final_of = dict(zip(embedded, numbers, strict=True))
        # a segment too short to embed follows the final voice that most of its live number went to
        votes: dict[int, dict[int, float]] = {}
        for k, number in final_of.items():
            votes.setdefault(live[k], {}).setdefault(number, 0.0)
            votes[live[k]][number] += seconds[k]
        language = self.language()
        order: list[str] = []
        for k, (key, i) in enumerate(rows):
            number = final_of.get(k)
            if number is None:
                options = votes.get(live[k])
                number = max(options, key=lambda n: options[n]) if options else live[k]
            name = labels.label(number, language)
            plain[key][i] = name
            if name not in order:
                order.append(name)
        result = SpeakerLabels(labels=plain, speakers=order,
                            live_cpu_seconds=last_track.cpu_seconds if last_track else 0.0,
                            final_cpu_seconds=round(time.process_time() - began, 3),
                            speech_seconds=last_track.speech_seconds if last_track else 0.0, written_at=now_iso())
        atomic.write_json(self.session.speakers_path, result)
        log.info("speakers: %d told apart (%s); %.1f s of CPU for %.0f s of speech", len(order), ", ".join(order),
                 result.live_cpu_seconds + result.final_cpu_seconds, result.speech_seconds)
