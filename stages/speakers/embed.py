"""Speaker embeddings of stretches of speech: 80-bin Kaldi fbank -> CAM++ -> unit vectors.

A stretch is cut into windows of `WINDOW_S` (the last one ends at the stretch's end,
overlapping its neighbour; a shorter stretch is repeated to fill one), so every run
of the model has the same input shape and the cost stays about one pass over the
speech; each window's features are mean-normalised on their own, as CAM++ was trained.
"""

from __future__ import annotations

import numpy as np

from stages.wavio import RATE

WINDOW_S = 1.5
BATCH = 8  # windows per run: bounds the activations' memory
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
    """Frame ranges of exactly `window` frames covering `frames`: back to back, the last one ending at the end
    (overlapping its neighbour); a stretch shorter than a window is one range, tiled to full length later."""
    if frames <= window:
        return [(0, frames)]
    out = [(i, i + window) for i in range(0, frames - window + 1, window)]
    if out[-1][1] < frames:
        out.append((frames - window, frames))
    return out


def _fixed(feats: np.ndarray, window: int) -> np.ndarray:
    """`feats` repeated to `window` frames: one input shape for every run keeps memory from fragmenting."""
    reps = -(-window // len(feats))
    return np.tile(feats, (reps, 1))[:window]


class Embedder:
    """CAM++ in onnxruntime on one thread: embeddings cost about 1/50 of real time on one core."""

    def __init__(self, model: bytes | str, threads: int = 1) -> None:
        import kaldi_native_fbank  # noqa: F401  (missing: said now, not at the first segment)
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
        window = round(WINDOW_S * 100)
        spans = windows(len(feats), window)
        inputs = []
        for a, b in spans:
            x = feats[a:b] - feats[a:b].mean(axis=0, keepdims=True)
            inputs.append(_fixed(x, window))
        vectors: list[np.ndarray] = []
        for k in range(0, len(inputs), BATCH):
            out = self.session.run(None, {"feats": np.stack(inputs[k:k + BATCH])})[0]
            vectors += [v / max(float(np.linalg.norm(v)), 1e-9) for v in out]
        return [(a / 100, (b - 1) / 100 + FRAME_LEN / RATE, v) for (a, b), v in zip(spans, vectors, strict=True)]
