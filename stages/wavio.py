"""The batch WAV format: 16 kHz, 16-bit PCM, stereo [mic, system]."""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stages import atomic

RATE = 16000
CHANNELS = 2
SAMPLE_WIDTH = 2

Audio = npt.NDArray[np.float32]


class BadWav(ValueError):
    """A batch that cannot be used as it is; the message says why (it goes to failed/)."""


def encode(stereo: npt.NDArray[np.int16]) -> bytes:
    """WAV bytes of an (n, 2) int16 array."""
    if stereo.ndim != 2 or stereo.shape[1] != CHANNELS:
        raise ValueError(f"expected (n, 2) samples, got {stereo.shape}")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(CHANNELS)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(RATE)
        w.writeframes(np.ascontiguousarray(stereo, dtype="<i2").tobytes())
    return buf.getvalue()


def write(path: Path, stereo: npt.NDArray[np.int16]) -> None:
    atomic.write_bytes(path, encode(stereo))


def read(path: Path) -> tuple[Audio, Audio]:
    """(mic, system) as float32 in [-1, 1]; raises BadWav for anything that is not our format."""
    try:
        size = path.stat().st_size
        if size == 0:
            raise BadWav("empty file (0 bytes)")
        with wave.open(str(path), "rb") as w:
            if w.getframerate() != RATE:
                raise BadWav(f"sample rate {w.getframerate()} Hz, expected {RATE} Hz")
            if w.getnchannels() != CHANNELS:
                raise BadWav(f"{w.getnchannels()} channel(s), expected {CHANNELS} (mic, system)")
            if w.getsampwidth() != SAMPLE_WIDTH:
                raise BadWav(f"{8 * w.getsampwidth()}-bit samples, expected 16-bit")
            declared = w.getnframes()
            raw = w.readframes(declared)
    except (wave.Error, EOFError) as exc:
        raise BadWav(f"not a readable WAV file: {exc}") from exc
    got = len(raw) // (CHANNELS * SAMPLE_WIDTH)
    if got < declared:
        raise BadWav(f"truncated: header says {declared} frames, file holds {got}")
    if got == 0:
        raise BadWav("no audio frames")
    data = np.frombuffer(raw[: got * CHANNELS * SAMPLE_WIDTH], dtype="<i2").reshape(-1, CHANNELS)
    scaled = data.astype(np.float32) / 32768.0
    return np.ascontiguousarray(scaled[:, 0]), np.ascontiguousarray(scaled[:, 1])


def level_dbfs(samples: npt.NDArray[np.float32] | npt.NDArray[np.int16]) -> float:
    """RMS level in dBFS (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    x = samples.astype(np.float64)
    if samples.dtype == np.int16:
        x = x / 32768.0
    rms = math.sqrt(float(np.mean(x * x)))
    return max(-120.0, 20.0 * math.log10(rms)) if rms > 0 else -120.0
