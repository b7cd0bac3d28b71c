"""Device audio (interleaved int16, any rate and channel count) -> 16 kHz mono float32.

Used for WASAPI, whose loopback runs at the device's own rate (44.1/48 kHz,
2-8 channels). Channels are averaged, then a stateful `av.AudioResampler`
converts the rate, so consecutive chunks join without clicks.
"""

from __future__ import annotations

import av
import numpy as np

from stages.capture.timeline import Samples
from stages.wavio import RATE


class Converter:
    def __init__(self, rate: int, channels: int) -> None:
        if rate <= 0 or channels <= 0:
            raise ValueError(f"bad device format: {rate} Hz, {channels} channel(s)")
        self.rate = rate
        self.channels = channels
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)

    def convert(self, data: bytes) -> Samples:
        """One chunk of interleaved little-endian int16; returns what the resampler has ready."""
        usable = len(data) - len(data) % (2 * self.channels)
        frames = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, self.channels)
        mono = frames.astype(np.float32).mean(axis=1) / 32768.0 if self.channels > 1 \
            else frames[:, 0].astype(np.float32) / 32768.0
        if self.rate == RATE or mono.shape[0] == 0:
            return mono.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.rate
        out = [np.asarray(f.to_ndarray(), dtype=np.float32).reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
