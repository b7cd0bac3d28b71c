"""One call to an OpenAI-compatible Whisper server (`POST {base_url}/audio/transcriptions`), answer checked.

What the request carries: a 16 kHz mono WAV of the call's audio, `model`, `language`,
`prompt`, one `temperature`, `response_format=verbose_json` and
`timestamp_granularities[]` (segment, and word when asked for). The key, when there is
one, goes in the `Authorization` header and nowhere else.

What the answer may hold is never taken on trust (real servers differ: open-asr-server
0.3.0 leaves `avg_logprob`, `no_speech_prob` and `tokens` as placeholders and lists
words at the top level; faster-whisper-server 0.0.3 gives no words at all; either may
time text past the end of the audio it was sent). Segments are clamped to the audio
sent, and dropped when they start past its end, carry no text or no valid times;
a server that gives text but no segments gets one segment over the whole audio.
Words are matched to the segment they fall in; a segment left without words gets
words spread over it by length (approximate times, said in the log).
"""

from __future__ import annotations

import io
import logging
import math
import wave
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from stages.wavio import RATE, Audio

log = logging.getLogger("transcribe")
MIN_SEGMENT_S = 0.01  # a segment starting this close to the end of the audio is past it
RETRYABLE_STATUS = {408, 409, 425, 429}  # besides 5xx: the server may answer next time


class ServerDown(Exception):
    """The server did not answer, answered an error, or answered something that is not a transcription."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ApiWord(_Lenient):
    word: str = ""
    start: float
    end: float
    probability: float | None = None


class ApiSegment(_Lenient):
    start: float
    end: float
    text: str = ""
    avg_logprob: float | None = None
    words: list[ApiWord] | None = None


class ApiAnswer(_Lenient):
    text: str = ""
    language: str | None = None
    segments: list[dict[str, Any]] | None = None  # checked one by one: one bad segment spoils nothing else
    words: list[dict[str, Any]] | None = None


@dataclass
class Word:
    """faster-whisper's Word, as the engine reads it."""

    start: float
    end: float
    word: str
    probability: float


@dataclass
class Heard:
    """A segment as the server gave it after checking, times in seconds into the audio sent."""

    start: float
    end: float
    text: str
    avg_logprob: float
    words: list[Word]


def wav_bytes(audio: Audio) -> bytes:
    """The samples as a 16 kHz, 16-bit mono WAV file in memory."""
    pcm = np.clip(np.round(np.asarray(audio, dtype=np.float32) * 32767.0), -32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


class WhisperServer:
    """An HTTP client for one server; one connection kept open between calls."""

    def __init__(self, base_url: str, model: str, timeout_s: float, api_key: str | None) -> None:
        self.url = base_url.rstrip("/") + "/audio/transcriptions"
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)))

    def transcribe(self, audio: Audio, language: str | None, prompt: str | None, temperature: float,
                   words: bool, timeout_s: float | None = None) -> tuple[list[Heard], str | None]:
        """(checked segments, the language the server names) for `audio`; ServerDown when it fails.

        `timeout_s` shortens the client's timeout for this request (a probe of a server that was down).
        """
        form: dict[str, Any] = {"model": self.model, "response_format": "verbose_json",
                                "temperature": f"{temperature:g}",
                                "timestamp_granularities[]": ["segment", "word"] if words else ["segment"]}
        if language:
            form["language"] = language
        if prompt:
            form["prompt"] = prompt
        try:
            r = self.client.post(self.url, data=form, files={"file": ("audio.wav", wav_bytes(audio), "audio/wav")},
                                 timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)) if timeout_s
                                 else httpx.USE_CLIENT_DEFAULT)
        except httpx.TransportError as exc:  # refused, timed out, cut
            raise ServerDown(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        if r.status_code != 200:
            kind = "error" if r.status_code >= 500 or r.status_code in RETRYABLE_STATUS else "refusal"
            raise ServerDown(f"HTTP {r.status_code} ({kind}): {' '.join(r.text.split())[:200]}")
        try:
            answer = ApiAnswer.model_validate_json(r.content)
        except ValidationError as exc:
            raise ServerDown(f"the answer is not a verbose_json transcription: {r.text[:120]!r}") from exc
        return checked(answer, len(audio) / RATE, words), answer.language

    def close(self) -> None:
        self.client.close()


def checked(answer: ApiAnswer, duration: float, want_words: bool) -> list[Heard]:
    """The answer's segments that can be true of `duration` seconds of audio, in time order."""
    if answer.segments is None:
        raw: list[dict[str, Any]] = []
        if answer.text.strip():
            raw = [{"start": 0.0, "end": duration, "text": answer.text}]
            log.info("the server gave text without segments: one segment over the %.1f s sent", duration)
    else:
        raw = answer.segments
    out: list[Heard] = []
    for item in raw:
        try:
            seg = ApiSegment.model_validate(item)
        except ValidationError:
            log.info("dropped a segment the server gave without valid times: %.80r", item)
            continue
        text = seg.text.strip()
        if not text or not (_finite(seg.start) and _finite(seg.end)):
            continue
        start, end = max(0.0, seg.start), min(duration, max(seg.start, seg.end))
        if start >= duration - MIN_SEGMENT_S:
            log.info("dropped %r: timed at %.2f-%.2f s, past the %.2f s of audio sent", text, seg.start, seg.end,
                     duration)
            continue
        logprob = seg.avg_logprob if seg.avg_logprob is not None and _finite(seg.avg_logprob) else 0.0
        out.append(Heard(start, end, " " + text, min(0.0, logprob), _words(seg.words, start, end)))
    out.sort(key=lambda h: (h.start, h.end))
    if want_words:
        _attach_words(out, answer.words or [])
    return out


def _finite(x: float) -> bool:
    return math.isfinite(x)


def _words(items: list[ApiWord] | None, start: float, end: float) -> list[Word]:
    out = []
    for w in items or []:
        if not (_finite(w.start) and _finite(w.end)) or not w.word.strip() or w.start >= end or w.end < start:
            continue
        p = w.probability if w.probability is not None and 0.0 <= w.probability <= 1.0 else 1.0
        out.append(Word(max(start, w.start), min(end, max(w.start, w.end)), w.word, p))
    return out


def _attach_words(segments: list[Heard], top_level: list[dict[str, Any]]) -> None:
    """Top-level words (OpenAI's layout) go to the segment holding their middle; segments still without
    words get them spread over their time by length."""
    for item in top_level:
        try:
            w = ApiWord.model_validate(item)
        except ValidationError:
            continue
        middle = (w.start + w.end) / 2
        home = next((s for s in segments if s.start <= middle <= s.end), None)
        if home is not None and not any(x.start == w.start and x.word == w.word for x in home.words):
            home.words.extend(_words([w], home.start, home.end))
    for seg in segments:
        seg.words.sort(key=lambda x: x.start)
        if not seg.words:
            seg.words = spread_words(seg.text, seg.start, seg.end)


def spread_words(text: str, start: float, end: float) -> list[Word]:
    """Words over [start, end] in proportion to their length: where a server gives no word times."""
    tokens = text.split()
    total = sum(len(t) + 1 for t in tokens) or 1
    out, t = [], start
    for token in tokens:
        step = (end - start) * (len(token) + 1) / total
        out.append(Word(round(t, 3), round(t + step, 3), " " + token, 1.0))
        t += step
    return out
