"""File source: any file PyAV decodes, as 16 kHz mono in the SYSTEM channel.

An imported recording is "the others" (a call recorded from the speakers, or
a mixed recording): it goes to the system channel and the mic channel stays
zero. File time is session time: batch i covers [(i-1)*B, i*B) of the file,
so a restarted capture decodes and discards what is already committed (exact:
the same samples as an uninterrupted run, unlike a seek) and goes on from
there; nothing is duplicated or lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import InputContainer

from stages.capture.errors import SourceError
from stages.capture.writer import BatchWriter, ResumePoint
from stages.spool import Session, now_iso
from stages.wavio import RATE

log = logging.getLogger("capture")

Pcm = npt.NDArray[np.int16]
POLL_S = 0.1


def _open(path: Path) -> tuple[InputContainer, AudioStream]:
    """(container, first audio stream), or SourceError saying what is wrong with the file."""
    if not path.is_file():
        raise SourceError(f"file not found: {path} (give an existing audio or video file: --source file:PATH)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(f"cannot read {path} as audio or video: {exc}") from exc
    if not container.streams.audio:
        container.close()
        raise SourceError(f"{path} has no audio stream")
    return container, container.streams.audio[0]


def describe_file(path: Path) -> str:
    """One line about the file; decodes its first second to prove it is usable (SourceError if not)."""
    container, stream = _open(path)
    try:
        decoded = 0
        for chunk in _decode(container, stream):
            decoded += chunk.shape[0]
            if decoded >= RATE:
                break
        if decoded == 0:
            raise SourceError(f"{path}: no audio could be decoded from it")
        seconds = float(container.duration) / 1e6 if container.duration else None
        length = f"{seconds:.1f} s" if seconds else "length unknown"
        return f"file {path.name}: {stream.codec_context.name}, {stream.rate} Hz, {stream.channels} ch, {length}"
    finally:
        container.close()


def _decode(container: InputContainer, stream: AudioStream) -> Iterator[Pcm]:
    """16 kHz mono int16 chunks; a corrupt packet is skipped with a warning, not fatal."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    bad = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                bad += 1
                if bad <= 3:
                    log.warning("skipping an undecodable packet at %s: %s", packet.pts, exc)
                continue
            for frame in frames:
                for out in resampler.resample(frame):
                    yield np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1)
    except av.FFmpegError as exc:  # truncated or damaged container: keep what was decoded
        log.warning("decoding stopped early: %s", exc)
    for out in resampler.resample(None):
        yield np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1)


def decode_16k(path: Path) -> Iterator[Pcm]:
    """The whole file as 16 kHz mono int16 chunks (the exact samples the batches hold)."""
    container, stream = _open(path)
    try:
        yield from _decode(container, stream)
    finally:
        container.close()


def _batches(chunks: Iterator[Pcm], skip: int, size: int) -> Iterator[Pcm]:
    """Cut the stream into `size`-frame batches after discarding `skip` frames; the last may be shorter."""
    pending: list[Pcm] = []
    have = 0
    for chunk in chunks:
        if skip:
            drop = min(skip, chunk.shape[0])
            chunk, skip = chunk[drop:], skip - drop
        if not chunk.shape[0]:
            continue
        pending.append(chunk)
        have += chunk.shape[0]
        while have >= size:
            joined = np.concatenate(pending)
            yield joined[:size]
            rest = joined[size:]
            pending, have = ([rest] if rest.shape[0] else []), int(rest.shape[0])
    if have:
        yield np.concatenate(pending)


def _wall_start(frames: int) -> str:
    """Wall-clock time of the first sample of a batch that ends now."""
    start = dt.datetime.now().astimezone() - dt.timedelta(seconds=frames / RATE)
    return start.isoformat(timespec="milliseconds")


def run_file(session: Session, writer: BatchWriter, path: Path, batch_seconds: float, realtime: bool,
             resume: ResumePoint, stop_requested: Callable[[], bool]) -> tuple[str, int | None]:
    """Write the file's remaining batches; returns (END reason, last index written or None)."""
    size = round(batch_seconds * RATE)
    skip = round(resume.next_start * RATE)
    index, start_frame = resume.next_index, skip
    log.info("file source %s -> system channel; %s; starting at batch %06d (%.1f s)", path,
             "paced in real time" if realtime else "as fast as possible", index, resume.next_start)
    paced_from = 0.0  # monotonic time at which the audio after `skip` started "playing"
    last: int | None = None
    for batch in _batches(decode_16k(path), skip, size):
        if not paced_from:  # after the decode-and-discard of a resume, which takes a while on long files
            paced_from = time.monotonic()
        while True:
            if stop_requested():
                # paced: what was "played" of this batch so far is the partial last batch
                played = round((time.monotonic() - paced_from) * RATE) - (start_frame - skip) if realtime else 0
                if played > 0:
                    part = batch[: min(played, batch.shape[0])]
                    writer.write(index, start_frame / RATE, {"system": part}, _wall_start(part.shape[0]))
                    last = index
                return "stopped", last
            if session.requested("PAUSE"):
                log.info("paused (control/PAUSE); the file waits where it is")
                paused_at = time.monotonic()
                while session.requested("PAUSE") and not stop_requested():
                    time.sleep(POLL_S)
                paced_from += time.monotonic() - paused_at
                log.info("resumed")
                continue
            due = paced_from + (start_frame + batch.shape[0] - skip) / RATE if realtime else 0.0
            if time.monotonic() >= due:
                break
            time.sleep(min(POLL_S, due - time.monotonic()))
        writer.write(index, start_frame / RATE, {"system": batch},
                     _wall_start(batch.shape[0]) if realtime else now_iso())
        last, index, start_frame = index, index + 1, start_frame + batch.shape[0]
    return "end of file", last
