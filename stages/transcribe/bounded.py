"""faster-whisper's model, able to end a call after a pass that fell into a repetition loop.

faster-whisper decodes a window in passes: when a pass ends without closing its
last segment, as a loop does at Whisper's 224-token limit, it encodes the rest again
and decodes it with the same context, which often loops again. Live, that is three
passes of about 9 s each on 2 cores for 13 s of French audio: a lag of 40 s. Armed,
the model refuses the next pass instead; the caller leaves the rest to its next call,
which starts from the audio with a fresh context.
"""

from __future__ import annotations

from typing import Any

from faster_whisper import WhisperModel

from stages.transcribe.filters import is_loop


class LoopEnded(Exception):
    """The previous pass looped: the call ends where that pass's last segment did."""


class LoopBoundedWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper has no type hints
    armed = False  # set by the caller once a call has yielded some text
    looped = False

    def begin_call(self) -> None:
        self.armed = self.looped = False

    def generate_with_fallback(self, encoder_output: Any, prompt: Any, tokenizer: Any, options: Any) -> Any:
        decoded = super().generate_with_fallback(encoder_output, prompt, tokenizer, options)
        self.looped = is_loop(decoded[3])  # (result, logprob, temperature, compression ratio)
        return decoded

    def encode(self, features: Any) -> Any:
        if self.armed and self.looped:
            raise LoopEnded
        return super().encode(features)
