"""faster-whisper's model, able to end a call after a pass that fell into a repetition loop.

faster-whisper decodes a window in passes: when a pass ends without closing its
last segment, as a loop does at Whisper's 224-token limit, it encodes the rest again
and decodes it with the same context, which often loops again. Live, that is three
passes of about 9 s each on 2 cores for 13 s of French audio: a lag of 40 s. Armed,
the model refuses the next pass instead; the caller leaves the rest to its next call,
which starts from the audio with a fresh context.

A loop's own pass is long too: it runs to the end of Whisper's room, 224 tokens (13-16 s
on the one thread left beside a video call, for 13 s of audio). Given a `token_cap`, a pass
first stops near that many tokens; only a pass the cap stopped without a loop (speech that
dense) is decoded again with all the room, so the cap costs text nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from faster_whisper import WhisperModel

from stages.transcribe.filters import is_loop


class LoopEnded(Exception):
    """The previous pass looped: the call ends where that pass's last segment did."""


class LoopBoundedWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper has no type hints
    armed = False  # set by the caller once a call has yielded some text
    looped = False
    token_cap: int | None = None  # new tokens a pass tries first (live calls)
    recapped = 0  # passes that reached the cap without a loop, decoded again in full (a count for benchmarks)

    def begin_call(self, token_cap: int | None = None) -> None:
        self.armed = self.looped = False
        self.token_cap = token_cap

    def generate_with_fallback(self, encoder_output: Any, prompt: Any, tokenizer: Any, options: Any) -> Any:
        decoded = None
        if self.token_cap is not None and options.max_new_tokens is None:
            # CTranslate2 4.x stops at min(new + 1, (prompt + new) // 2) tokens (measured): ask for enough
            # positions that the cap is the tokens; whether the cap stopped a pass is told by its length
            # alone (a stopped pass may end on a timestamp, like one Whisper ended itself)
            new = max(self.token_cap, 2 * self.token_cap - len(prompt))
            if len(prompt) + new < self.max_length:
                capped = dataclasses.replace(options, max_new_tokens=new)
                decoded = super().generate_with_fallback(encoder_output, prompt, tokenizer, capped)
                stopped = len(decoded[0].sequences_ids[0]) >= min(new, (len(prompt) + new) // 2)
                if stopped and not is_loop(decoded[3]):  # (result, logprob, temperature, compression ratio)
                    self.recapped += 1
                    decoded = None
        if decoded is None:
            decoded = super().generate_with_fallback(encoder_output, prompt, tokenizer, options)
        self.looped = is_loop(decoded[3])
        return decoded

    def encode(self, features: Any) -> Any:
        if self.armed and self.looped:
            raise LoopEnded
        return super().encode(features)
