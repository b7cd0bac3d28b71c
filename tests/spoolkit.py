"""Building session folders by hand for tests: the same files capture would write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from stages import atomic, config, wavio
from stages.models import AudioEnd, BatchMeta, Channel, SessionManifest
from stages.spool import Session, now_iso


def make_session(root: Path, sources: list[Channel] | None = None, language: str = "en",
                 source: str = "system", **sections: dict[str, Any]) -> Session:
    """A session folder with its manifest; `sections` override config, e.g. transcribe={"model": "tiny.en"}."""
    data: dict[str, Any] = {"session": {"language": language, "spool": str(root.parent), "source": source}}
    data.update(sections)
    cfg = config.validate(data)
    session = Session(root)
    session.ensure_layout()
    session.write_manifest(SessionManifest(name=root.name, slug=root.name, created_at=now_iso(), language=language,
                                           sources=sources or ["system"], source=source,
                                           config=cfg.model_dump(mode="json")))
    return session


def decode_16k(path: Path) -> npt.NDArray[np.int16]:
    """Any audio file as 16 kHz mono int16 (PyAV)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=wavio.RATE)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.int16)


def write_batches(session: Session, mic: npt.NDArray[np.int16] | None, system: npt.NDArray[np.int16] | None,
                  batch_s: float = 10.0, first_index: int = 1, start: float = 0.0, end: bool = True) -> int:
    """Cut two legs into batches exactly as capture does (meta first, WAV last); returns the last index."""
    length = max(len(x) for x in (mic, system) if x is not None)
    stereo = np.zeros((length, 2), dtype=np.int16)
    for i, leg in enumerate((mic, system)):
        if leg is not None:
            stereo[: len(leg), i] = leg
    step = round(batch_s * wavio.RATE)
    index = first_index - 1
    for offset in range(0, length, step):
        index += 1
        chunk = stereo[offset: offset + step]
        levels = {ch: wavio.level_dbfs(chunk[:, i]) for i, ch in enumerate(("mic", "system"))}
        meta = BatchMeta(index=index, start=start + offset / wavio.RATE, duration=len(chunk) / wavio.RATE,
                         wall_clock=now_iso(), sources=session.manifest().sources, level_dbfs=levels,
                         silent={ch: v < -60 for ch, v in levels.items()})
        atomic.write_json(session.meta_path(index), meta)
        wavio.write(session.wav_path(index), chunk)
    if end:
        atomic.write_json(session.audio_end_path, AudioEnd(last_batch=index, reason="test", ended_at=now_iso()))
    return index


def transcript_text(session: Session) -> str:
    from stages.models import TranscriptBatch

    segments = []
    for index in session.transcribed_batches():
        doc = TranscriptBatch.model_validate_json(session.transcript_path(index).read_text(encoding="utf-8"))
        segments += doc.segments
    return " ".join(s.text for s in sorted(segments, key=lambda s: s.start))
