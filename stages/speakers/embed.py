"""Speaker embeddings of stretches of speech: 80-bin Kaldi fbank -> CAM++ -> unit vectors.

A stretch is cut into windows of `WINDOW_S` (the last one takes the remainder, so
nothing is embedded twice and the cost stays one pass over the speech); each
window's features are mean-normalised on their own, as CAM++ was trained.
"""

from __future__ import annotations

import numpy as np

from stages.speakers import campplus
from stages.wavio import RATE

WINDOW_S = 1.5
MIN_S = 0.4  # shorter speech says too little about its speaker to embed
FRAME_SHIFT = RATE // 100
FRAME_LEN = RATE * 25 // 1000


def fbank(audio: np.ndarray) -> np.ndarray:
    """(frames, 80) log mel energies, Kaldi's defaults without dither (as CAM++ was trained)."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = RATE
    opts.mel_opts.num_bins = 80
    extractor = knf.OnlineFbank(opts)
    extractor.accept_waveform(RATE, (np.asarray(audio, dtype=np.float32) * 32768.0).tolist())
    extractor.input_finished()
    n = extractor.num_frames_ready
    if n == 0:
        return np.zeros((0, 80), dtype=np.float32)
    return np.stack([extractor.get_frame(i) for i in range(n)]).astype(np.float32)


def windows(frames: int, window: int) -> list[tuple[int, int]]:
    """Frame ranges covering `frames` once: full windows, the remainder joined to the last (<= MAX_FRAMES)."""
    if frames <= campplus.MAX_FRAMES:
        return [(0, frames)]
    out = [(i, i + window) for i in range(0, frames - window + 1, window)]
    rest = frames - out[-1][1]
    if rest:
        last = out[-1]
        if last[1] - last[0] + rest <= campplus.MAX_FRAMES:
            out[-1] = (last[0], frames)
        else:
            out.append((frames - window, frames))
    return out


class Embedder:
    """CAM++ in onnxruntime on one thread: embeddings cost about 1/50 of real time on one core."""

    def __init__(self, model: bytes | str, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def embed(self, audio: np.ndarray) -> list[tuple[float, float, np.ndarray]]:
        """(start s, end s, unit vector) per window of `audio` (one stretch of speech); [] when too short."""
        if len(audio) < MIN_S * RATE:
            return []
        feats = fbank(audio)
        spans = windows(len(feats), round(WINDOW_S * 100))
        groups: dict[int, list[int]] = {}
        for i, (a, b) in enumerate(spans):
            groups.setdefault(b - a, []).append(i)
        vectors: list[np.ndarray | None] = [None] * len(spans)
        for _, members in groups.items():
            batch = np.stack([feats[spans[i][0]:spans[i][1]] for i in members])
            batch = batch - batch.mean(axis=1, keepdims=True)
            out = self.session.run(None, {"feats": batch})[0]
            for i, v in zip(members, out, strict=True):
                vectors[i] = v / max(float(np.linalg.norm(v)), 1e-9)
        return [(a / 100, (b - 1) / 100 + FRAME_LEN / RATE, v) for (a, b), v in zip(spans, vectors, strict=True)
                if v is not None]
