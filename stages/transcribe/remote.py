"""Whisper on a shared server, behind the same `transcribe()` as faster-whisper's model.

`RemoteWhisper.transcribe(audio, language=, initial_prompt=, temperature=, vad_filter=,
word_timestamps=, ...)` returns `(segments, info)` like `WhisperModel.transcribe`, so the
engine, the windowing and the filters do not know where the decode ran. What it does
itself, since a server's word is not to be trusted:

- Silence is gated here, by the same Silero VAD and options faster-whisper uses: only
  the speech is sent (concatenated; times mapped back as faster-whisper does), audio
  without speech is never sent, and text timed outside the speech heard here is dropped.
  `no_speech_prob` is ours (the share of the segment's time without speech), and so are
  `compression_ratio` (gzip of the text) and `tokens` (the text in Whisper's tokenizer).
- The prompt: the vocabulary (faster-whisper's hot words, which it puts before the previous
  text). The previous text, which the engine passes as Whisper tokens, goes only with
  `[transcribe.openai] previous_text = true`, decoded to text with the local model's
  tokenizer (`tokenizer.json`): as plain text, without the timestamps the local engine's
  prompt carries, it made Whisper skip and garble speech (BENCHMARKS.md, "One Whisper server
  for a team"). The tokens of what the server returns are still kept in the spool, so the
  local model conditions on them when it takes over.
- Temperature: the API takes one. A list is Whisper's fallback schedule: the first value
  is sent, the next only when the text that came back loops (our gzip ratio above
  `compression_ratio_threshold`); the server's `avg_logprob` is not trusted for that.
  `beam_size`, `best_of` and `hotwords` as such are the server's business.
- Failures (refused, timed out, 5xx, an answer that is not a transcription) are retried
  with backoff (1 s doubling to 30 s) while capture keeps writing batches. A server down for
  `fallback_after_s`: the local model (`[transcribe] model`), when installed, decodes
  meanwhile, and the server is tried again before a call (backoff up to 2 minutes, a try
  waiting 10 s at most, so that a hung server does not hold up each call); with no
  local model the call waits for the server, and the windows that queued up meanwhile
  are caught up when it answers. Each state change is reported (`engine.json`, `status`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from faster_whisper.transcribe import Segment, Word, restore_speech_timestamps
from faster_whisper.transcribe import get_compression_ratio as compression_ratio
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from stages.config import TranscribeConfig
from stages.models import EngineState
from stages.spool import now_iso
from stages.transcribe import models
from stages.transcribe.openai_api import Heard, ServerDown, WhisperServer
from stages.wavio import RATE, Audio

log = logging.getLogger("transcribe")
BACKOFF_S = 1.0
BACKOFF_MAX_S = 30.0
# While the local model stands in, each try of the server delays a call: a hung server would cost the whole
# timeout every time. Such a probe waits at most PROBE_TIMEOUT_S, and the tries space out up to PROBE_MAX_S.
PROBE_TIMEOUT_S = 10.0
PROBE_MAX_S = 120.0
# faster-whisper options the server decides for itself (its beam, its own thresholds): no warning for these
SERVER_SIDE = {"beam_size", "best_of", "patience", "length_penalty", "repetition_penalty", "no_repeat_ngram_size",
               "no_speech_threshold", "log_prob_threshold", "condition_on_previous_text", "prompt_reset_on_temperature",
               "suppress_blank", "suppress_tokens", "max_new_tokens", "task", "multilingual",
               "language_detection_segments", "language_detection_threshold", "prepend_punctuations",
               "append_punctuations", "chunk_length"}


@dataclass(frozen=True)
class Info:
    """faster-whisper's TranscriptionInfo, as far as the engine reads it."""

    language: str | None
    language_probability: float
    duration: float
    duration_after_vad: float


class PromptCodec:
    """Whisper token ids <-> text, with the local model's tokenizer.json (or Unicode code points without one).

    The spool keeps the previous text as token ids (`ChannelCursor.context`), the local
    engine's prompt; with the same tokenizer, a session can go from the server to the local
    model and back and keep its context.
    """

    def __init__(self, model_dir: str | None) -> None:
        self.tokenizer: Any = None
        path = os.path.join(model_dir, "tokenizer.json") if model_dir else ""
        if path and os.path.isfile(path):
            import tokenizers

            self.tokenizer = tokenizers.Tokenizer.from_file(path)
            self.eot = self.tokenizer.token_to_id("<|endoftext|>")
        else:
            log.info("no local Whisper tokenizer: the prompt is the previous text's last characters, one per token")

    def encode(self, text: str) -> list[int]:
        if self.tokenizer is None:
            return [ord(c) for c in text]
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        if self.tokenizer is None:
            return "".join(chr(i) for i in ids if 0 < i < 0x110000)
        return str(self.tokenizer.decode([i for i in ids if i < self.eot]))


class RemoteWhisper:
    """Duck-types faster-whisper's WhisperModel (and the loop-bounded one) over a server; see the module doc."""

    looped = False

    def __init__(self, cfg: TranscribeConfig, load_local: Callable[[], Any],
                 on_state: Callable[[EngineState], None] | None = None) -> None:
        scfg = cfg.openai
        self.cfg = cfg
        self.base_url = scfg.base_url
        key = os.environ.get(scfg.api_key_env, "") if scfg.api_key_env else ""
        self.server = WhisperServer(scfg.base_url, scfg.model, scfg.timeout_s, key or None)
        self.label_remote = f"{scfg.model} at {scfg.base_url}"
        local_dir = models.installed(cfg.model)
        self.codec = PromptCodec(local_dir or models.installed("base"))
        self.can_fall_back = scfg.local_fallback and local_dir is not None
        self.label_local = f"{cfg.model} (local fallback: {scfg.base_url} did not answer)"
        self._load_local = load_local
        self.local: Any = None
        self.on_state = on_state
        self.down_since: float | None = None  # monotonic clock
        self.down_at: str | None = None  # the same, for people
        self.next_try = 0.0
        self.delay = BACKOFF_S
        self.used: list[str] = []
        self.token_cap: int | None = None  # the engine's, for the local model in a fallback
        self.last_label = self.label_remote
        self.warned: set[str] = set()
        if warning := scfg.unencrypted_warning():
            log.warning("%s", warning)
        log.info("transcribing on %s%s (local fallback: %s)", self.label_remote,
                 f", key from ${scfg.api_key_env}" if key else "",
                 cfg.model if self.can_fall_back else "none")
        self._report("ok", None)

    # -- what the engine calls ---------------------------------------------------------------------------------
    @property
    def armed(self) -> bool:
        return bool(self.local is not None and self.local.armed)

    @armed.setter
    def armed(self, value: bool) -> None:
        if self.local is not None:
            self.local.armed = value  # the engine arms the model that decodes: the local one in a fallback

    def begin_call(self, token_cap: int | None = None) -> None:
        self.token_cap = token_cap
        if self.local is not None:
            self.local.begin_call(token_cap)

    def transcribe(self, audio: Audio, language: str | None = None, initial_prompt: str | list[int] | None = None,
                   temperature: float | list[float] | tuple[float, ...] = 0.0, vad_filter: bool = False,
                   vad_parameters: dict[str, Any] | VadOptions | None = None, word_timestamps: bool = False,
                   hotwords: str | None = None, compression_ratio_threshold: float | None = 2.4,
                   **options: Any) -> tuple[Any, Any]:
        """faster-whisper's `transcribe` on the server, or on the local model while the server is down."""
        call = dict(language=language, initial_prompt=initial_prompt, temperature=temperature, vad_filter=vad_filter,
                    vad_parameters=vad_parameters, word_timestamps=word_timestamps, hotwords=hotwords,
                    compression_ratio_threshold=compression_ratio_threshold, **options)
        if self._use_local_now():
            return self._local_call(audio, call)
        for name in set(options) - SERVER_SIDE - self.warned:
            log.warning("transcribe option %s has no equivalent in the server's API: ignored on the server", name)
            self.warned.add(name)
        audio = np.asarray(audio, dtype=np.float32)
        duration = len(audio) / RATE
        vad = vad_parameters if isinstance(vad_parameters, VadOptions) else VadOptions(**(vad_parameters or {}))
        speech = get_speech_timestamps(audio, vad)
        if not speech:
            return [], Info(language, 0.0, duration, 0.0)  # nothing heard here: nothing is sent
        sent = np.concatenate(collect_chunks(audio, speech)[0]) if vad_filter else audio
        prompt = self._prompt(initial_prompt, hotwords)
        temperatures = list(temperature) if isinstance(temperature, (list, tuple)) else [temperature]
        best: tuple[float, list[Heard], str | None, float] | None = None
        for t in temperatures:
            answer = self._decode(sent, language, prompt, t, word_timestamps)
            if answer is None:  # the server is given up on for now: the local model takes this call
                return self._local_call(audio, call)
            heard, named = answer
            ratio = compression_ratio(" ".join(h.text for h in heard))
            if best is None or ratio < best[0]:
                best = (ratio, heard, named, t)
            if compression_ratio_threshold is None or ratio <= compression_ratio_threshold:
                break
            log.info("the server's text loops (gzip ratio %.2f) at temperature %g", ratio, t)
        assert best is not None
        _, heard, named, used_t = best
        self.used.append(self.label_remote)
        segments = self._segments(heard, used_t)
        if vad_filter:
            segments = list(restore_speech_timestamps(segments, speech, RATE))
        segments = [s for s in (self._gate(s, speech, duration) for s in segments) if s is not None]
        language_out = language or _language_code(named)
        return segments, Info(language_out, 1.0 if language else 0.5, duration, len(sent) / RATE)

    def describe(self) -> str:
        """What decoded the calls since the last time this was asked (for a transcript file's `model`)."""
        if self.used:
            self.last_label = " + ".join(dict.fromkeys(self.used))
            self.used = []
        return self.last_label

    # -- pieces ------------------------------------------------------------------------------------------------
    def _local_call(self, audio: Audio, call: dict[str, Any]) -> tuple[Any, Any]:
        if self.local is None:
            log.warning("loading the local model %s to transcribe while the server is down", self.cfg.model)
            self.local = self._load_local()
            self.local.begin_call(self.token_cap)
        self.used.append(self.label_local)
        decoded: tuple[Any, Any] = self.local.transcribe(audio, **call)
        return decoded

    def _prompt(self, initial_prompt: str | list[int] | None, hotwords: str | None) -> str | None:
        text = ""
        if self.cfg.openai.previous_text and initial_prompt:
            text = self.codec.decode(list(initial_prompt)) if isinstance(initial_prompt, list) else initial_prompt
        text = f"{hotwords.strip()} {text.strip()}" if hotwords else text.strip()
        return text.strip() or None

    def _segments(self, heard: list[Heard], temperature: float) -> list[Segment]:
        return [Segment(id=i, seek=0, start=h.start, end=h.end, text=h.text, tokens=self.codec.encode(h.text),
                        avg_logprob=h.avg_logprob, compression_ratio=compression_ratio(h.text), no_speech_prob=0.0,
                        words=[Word(w.start, w.end, w.word, w.probability) for w in h.words] or None,
                        temperature=temperature) for i, h in enumerate(heard)]

    @staticmethod
    def _gate(seg: Segment, speech: list[dict[str, int]], duration: float) -> Segment | None:
        """The segment within the audio and our VAD's speech, or None (text the server heard in silence)."""
        seg.start, seg.end = max(0.0, min(seg.start, duration)), max(0.0, min(seg.end, duration))
        span = max(seg.end - seg.start, 1e-3)
        heard = sum(max(0.0, min(seg.end, c["end"] / RATE) - max(seg.start, c["start"] / RATE)) for c in speech)
        if heard <= 0.0:
            log.info("dropped %r: timed at %.2f-%.2f s, where no speech was heard", seg.text.strip(), seg.start,
                     seg.end)
            return None
        seg.no_speech_prob = round(max(0.0, 1.0 - heard / span), 3)
        return seg

    def _decode(self, audio: Audio, language: str | None, prompt: str | None, temperature: float,
                words: bool) -> tuple[list[Heard], str | None] | None:
        """The server's answer, retried with backoff; None when the local model is to take the call."""
        while True:
            probe = self._standing_in()
            try:
                answer = self.server.transcribe(audio, language, prompt, temperature, words,
                                                min(PROBE_TIMEOUT_S, self.cfg.openai.timeout_s) if probe else None)
            except ServerDown as exc:
                self._failed(str(exc))
                if self._use_local_now():
                    return None
                _exit_if_orphaned()
                time.sleep(max(0.0, self.next_try - time.monotonic()))
                continue
            if self.down_since is not None:
                log.warning("the server answers again after %.0f s: transcribing on %s",
                            time.monotonic() - self.down_since, self.base_url)
                self.down_since, self.down_at, self.delay, self.next_try = None, None, BACKOFF_S, 0.0
                self._report("ok", None)
            return answer

    def _failed(self, error: str) -> None:
        now = time.monotonic()
        if self.down_since is None:
            self.down_since, self.down_at = now, now_iso()
        down_for = now - self.down_since
        self.next_try = now + self.delay
        self.delay = min(self.delay * 2, PROBE_MAX_S if self._standing_in() else BACKOFF_MAX_S)
        after = self.cfg.openai.fallback_after_s
        state = "fallback" if self.can_fall_back and down_for >= after else \
            "waiting" if down_for >= after else "retrying"
        log.warning("server %s: %s; %s", self.base_url, error,
                    f"{self.cfg.model} decodes meanwhile" if state == "fallback" else
                    f"trying again in {self.next_try - now:.0f} s")
        self._report(state, error)

    def _standing_in(self) -> bool:
        """The local model is taking the calls while the server is down."""
        return (self.can_fall_back and self.down_since is not None
                and time.monotonic() - self.down_since >= self.cfg.openai.fallback_after_s)

    def _use_local_now(self) -> bool:
        """Down long enough, a local model to take over, and not yet time to try the server again."""
        return self._standing_in() and time.monotonic() < self.next_try

    def report_now(self) -> None:
        self._report("ok" if self.down_since is None else "retrying", None)

    def _report(self, state: str, error: str | None) -> None:
        if self.on_state is not None:
            label = self.label_local if state == "fallback" else self.label_remote
            self.on_state(EngineState.model_validate(
                {"engine": "openai", "label": label, "server": self.base_url, "state": state,
                 "down_since": self.down_at, "error": error, "updated_at": now_iso()}))


def _language_code(named: str | None) -> str | None:
    """A Whisper language code from what a server names (`fr`, or OpenAI's `french`), else None."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if not named:
        return None
    named = named.strip().lower()
    if named in _LANGUAGE_CODES:
        return named
    return NAMES.get(named)


NAMES = {"english": "en", "french": "fr", "german": "de", "spanish": "es", "italian": "it", "portuguese": "pt",
         "dutch": "nl", "polish": "pl", "russian": "ru", "chinese": "zh", "japanese": "ja", "arabic": "ar"}


def _exit_if_orphaned() -> None:
    from stages.lock import orphaned

    if orphaned():
        log.warning("the supervisor is gone while the server is down: exiting; `resume` carries on")
        raise SystemExit(1)
