"""Placing live chunks on the wall clock: gaps padded, surplus dropped, batches exactly B long."""

from __future__ import annotations

import numpy as np
import pytest

from stages.capture.resample import Converter
from stages.capture.timeline import Clock, LegBuffer, to_int16
from stages.wavio import RATE


def ones(seconds: float, value: float = 1.0) -> np.ndarray:
    return np.full(round(seconds * RATE), value, dtype=np.float32)


def at(clock: Clock, seconds: float) -> float:
    """The monotonic time `seconds` after the clock's start."""
    return clock.t0 + seconds


def test_steady_chunks_fill_batches_without_padding() -> None:
    clock = Clock()
    buf = LegBuffer(clock, max_seconds=5)
    for i in range(1, 21):  # 2 s in 100 ms chunks, each arriving as it ends
        buf.push(ones(0.1, i / 100), at(clock, i * 0.1))
    first, second = buf.take(0, RATE), buf.take(RATE, 2 * RATE)
    assert first.shape == second.shape == (RATE,)
    assert first[0] == pytest.approx(0.01) and second[-1] == pytest.approx(0.20)
    assert buf.padded == buf.dropped == 0


def test_a_silent_device_is_padded_where_the_gap_was() -> None:
    """WASAPI loopback sends nothing while nothing plays: the chunk after a 3 s gap lands at its time."""
    clock = Clock()
    buf = LegBuffer(clock, max_seconds=10)
    buf.push(ones(1.0), at(clock, 1.0))
    buf.push(ones(1.0, 0.5), at(clock, 5.0))  # covers 4-5 s
    out = buf.take(0, 6 * RATE)
    assert out[: RATE].min() == 1.0
    assert np.all(out[RATE: 4 * RATE] == 0.0)
    assert np.all(out[4 * RATE: 5 * RATE] == 0.5)
    assert np.all(out[5 * RATE:] == 0.0)  # not delivered by the end of the batch: zeros


def test_a_leg_running_ahead_loses_only_its_surplus() -> None:
    clock = Clock()
    buf = LegBuffer(clock, max_seconds=10, ahead_tolerance_s=0.5)
    buf.push(ones(0.1), at(clock, 0.1))
    buf.push(ones(2.0), at(clock, 1.1))  # 2.1 s of audio after 1.1 s of time: 1 s ahead
    assert buf.dropped == round(0.5 * RATE)
    assert buf.frontier == round(1.6 * RATE)


def test_a_new_stream_is_placed_by_the_arrival_of_its_first_chunk() -> None:
    """Legs that open at different moments still line up: each first chunk ends when it arrived."""
    clock = Clock()
    early, late = LegBuffer(clock, max_seconds=10), LegBuffer(clock, max_seconds=10)
    early.push(ones(0.1), at(clock, 0.1))
    late.push(ones(0.1), at(clock, 0.35))  # opened later; less than the gap tolerance
    assert (early.frontier, late.frontier) == (round(0.1 * RATE), round(0.35 * RATE))
    late.anchor()  # reopened after a failure
    late.push(ones(0.1), at(clock, 0.6))
    assert late.frontier == round(0.6 * RATE)


def test_late_chunks_after_a_padded_batch_continue_after_it() -> None:
    clock = Clock()
    buf = LegBuffer(clock, max_seconds=10)
    buf.push(ones(0.8), at(clock, 0.8))
    batch = buf.take(0, RATE)  # the last 0.2 s had not come: zeros
    assert np.all(batch[round(0.8 * RATE):] == 0.0)
    buf.push(ones(0.4, 0.25), at(clock, 1.2))
    assert buf.take(RATE, 2 * RATE)[0] == 0.25


def test_the_buffer_is_bounded() -> None:
    clock = Clock()
    buf = LegBuffer(clock, max_seconds=1.0)
    for i in range(1, 31):
        buf.push(ones(0.1), at(clock, i * 0.1))
    assert buf.dropped == 2 * RATE  # a consumer that never came: only the last second is kept
    out = buf.take(0, 3 * RATE)
    assert np.all(out[: 2 * RATE] == 0.0) and np.all(out[2 * RATE:] == 1.0)


def test_pause_discards_what_came_before_the_resume() -> None:
    clock = Clock()
    buf = LegBuffer(clock, max_seconds=10)
    buf.push(ones(2.0), at(clock, 2.0))
    buf.discard(round(1.5 * RATE))
    out = buf.take(round(1.5 * RATE), 2 * RATE)
    assert out.shape == (RATE // 2,) and out.min() == 1.0


def test_int16_conversion_clips() -> None:
    assert to_int16(np.array([0.0, 0.5, 2.0, -2.0], dtype=np.float32)).tolist() == [0, 16384, 32767, -32768]


def test_device_audio_is_downmixed_and_resampled_to_16k_without_clicks() -> None:
    """48 kHz stereo in 10 ms chunks, as WASAPI delivers it: a clean 16 kHz mono sine comes out."""
    conv = Converter(48000, 2)
    t = np.arange(48000) / 48000
    left = (np.sin(2 * np.pi * 440 * t) * 16000).astype(np.int16)
    stereo = np.stack([left, left], axis=1).reshape(-1)
    out = np.concatenate([conv.convert(stereo[i: i + 960].tobytes()) for i in range(0, stereo.size, 960)])
    assert abs(out.size - RATE) < 100
    spectrum = np.abs(np.fft.rfft(out[1000: 1000 + 8000]))
    assert np.argmax(spectrum) * RATE / 8000 == pytest.approx(440, abs=2)
    assert np.abs(np.diff(out[100:-100])).max() < 2 * np.pi * 440 / RATE * 0.5 * 1.1
