"""faster-whisper behind one call: audio in, filtered segments with absolute times out."""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import os
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from stages import cpu
from stages.config import TranscribeConfig
from stages.transcribe import filters, models
from stages.transcribe.fidelity import crammed, settle_repeats
from stages.transcribe.lead import after
from stages.transcribe.pieces import Decoded, Piece, Word
from stages.transcribe.verify import MIN_PROGRESS_S, Checks, hand_on
from stages.transcribe.windowing import Span, speech_spans
from stages.wavio import RATE, Audio

if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment

log = logging.getLogger("transcribe")
PROMPT_RESET_TEMPERATURE = 0.5  # faster-whisper's prompt_reset_on_temperature
MAX_CHARS_PER_S = 30.0  # twice as fast as anyone speaks: text with less time than this had no audio
END_S = 0.05  # a segment ending this close to the end of a call's audio ran into its padding
COMPRESSION_FALLBACK: float | None = None
MAX_THREADS = 4  # CTranslate2's own default
FOLLOW_EVERY_S = 30.0  # how often the free CPU is read again (a reading is the whole time since the last)
# A clip decoded alone (the fidelity checks' re-decodes) may say at most this many tokens per second of
# its audio: above the fastest speech measured (16 per second, 2-s segments of a French meeting; p50 6.5).
# Unbounded, a loop runs to 224 tokens, about 10 s on one thread beside a call. Passed as `max_new_tokens`
# with no prompt, CTranslate2 4.8 stops at about half of it (the rule in bounded.py): a 5-s stretch is
# bounded at 96 here and really gets 49, which cut 3 of 52 greedy re-decodes of the French bench meeting
# short without a loop. Left as it is until bench.fidelity weighs the fix (it cost live time).
ALONE_TOKENS_PER_S = 16.0
ALONE_TOKENS_MIN = 16
ALONE_TOKENS_MAX = 220  # Whisper's 448 less the prompt's own tokens (hotwords take at most 223)
# A live call's passes first stop at this many tokens per second of its audio (bounded.py): above the
# densest 10-s batch of legitimate text measured live (9.9 per second), below the 224 a loop runs to.
LIVE_TOKENS_PER_S = 12.0


def alone_token_cap(duration: float) -> int:
    """The most tokens a decode of `duration` seconds without a prompt may produce."""
    return min(ALONE_TOKENS_MAX, ALONE_TOKENS_MIN + math.ceil(ALONE_TOKENS_PER_S * duration))


def live_token_cap(duration: float) -> int:
    """The tokens a live pass over `duration` seconds tries first: a loop stops there, dense speech goes on."""
    return ALONE_TOKENS_MIN + math.ceil(LIVE_TOKENS_PER_S * duration)


def pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:
        return "cpu"


def cpu_threads(configured: int) -> int:
    """0 means CTranslate2's default of 4 threads, capped at the cores there are (the benchmarks' whole-file
    decodes, on a machine left to them; the transcriber follows the free CPU under the same cap).

    On 2 cores, 4 threads fight over them: 4 minutes of the 2-hour meeting in 20 s
    windows took 37.0 s with 4 threads and 34.8 s with 2 (two runs each).
    """
    return configured or min(MAX_THREADS, os.cpu_count() or 1)


class Engine:
    """A loaded Whisper model and the decoding options of the session."""

    def __init__(self, cfg: TranscribeConfig, language: str, live: bool = False) -> None:
        self.cfg = cfg
        self.live = live
        # A window Whisper is unsure of is decoded again at each hotter temperature: on hard audio
        # all six, 23.5 s instead of 5 s for one 25 s window here. Live, that lands on the lag.
        self.temperatures = cfg.live_temperatures if live else cfg.temperatures
        self.language = None if language == "auto" else language
        self.hotwords = ", ".join(cfg.vocabulary) or None
        self.threads: cpu.Threads | None = None
        self.device = ""
        if cfg.engine == "openai":  # the same calls, decoded on a server (the local model only as its fallback)
            from stages.transcribe.remote import RemoteWhisper

            self.model: Any = RemoteWhisper(cfg, self.load_local)
        else:
            self.model = self.load_local()

    def follow_free_cpu(self) -> None:
        """Reload the model with the threads the machine leaves free now (`cpu_threads = 0`, on the CPU).

        Beside a video call holding one core of two, one thread decoded 8 live windows in
        79.1 s and two in 86.5 s; alone, two took 64.9 s and one 77.0 s (bench/threads_beside.py).
        """
        if self.threads is None or self.device != "cpu" or self.cfg.engine == "openai":
            return
        wanted = self.threads.change()
        if wanted is not None:
            log.info("%d core(s) free now: Whisper reloaded with %d thread(s)", wanted, wanted)
            self.model = None  # its threads end before the new ones start
            self.model = self.load_local()

    def load_local(self) -> Any:
        """faster-whisper's model for [transcribe] model, on CUDA when there is one."""
        from stages.transcribe.bounded import LoopBoundedWhisper as WhisperModel

        cfg = self.cfg
        path = models.ensure_available(cfg.model)
        tune_heap()  # before the model starts its threads
        device = pick_device(cfg.device)
        compute = cfg.compute_type if cfg.compute_type != "auto" else ("float16" if device == "cuda" else "int8")
        if self.threads is None:  # the summarizer's LLM, at a lower priority, gives way: it does not count
            self.threads = cpu.Threads(cfg.cpu_threads, cap=cpu_threads(0), yielding=True, every_s=FOLLOW_EVERY_S)
        threads = self.threads.now
        try:
            model = WhisperModel(path, device=device, compute_type=compute, cpu_threads=threads)
        except Exception as exc:
            if device != "cuda":
                raise models.ModelError(f"cannot load Whisper model {cfg.model!r} from {path}: {exc}") from exc
            log.warning("CUDA unavailable (%s): falling back to CPU int8", exc)
            device, compute = "cpu", "int8"
            model = WhisperModel(path, device=device, compute_type=compute, cpu_threads=threads)
        self.device, self.compute_type = device, compute
        log.info("model %s (%s) on %s/%s%s, language %s", cfg.model, path, device, compute,
                 f", {threads} thread(s)" if device == "cpu" else "", self.language or "auto")
        return model

    def transcribe(self, audio: Audio, offset: float, prompt: list[int] | None = None,
                   open_end: bool = False, lead: float = 0.0, said: list[str] | None = None) -> Decoded:
        """Transcribe `audio` (<= 30 s is one Whisper window) starting at `offset` seconds.

        `prompt` is the tokens of the previous final segments, timestamps included, exactly
        what whole-file decoding conditions each window on. On the 20-minute seams meeting
        it brings WER from 7.1 % to 5.3 % (whole file 4.2 %); the same text given as a plain
        string made it worse (9.9-11.7 %): Whisper then skipped repeated sentences.

        `open_end`: the audio ends inside speech (no pause in a whole window), so its last
        segment may be cut: it is left to the next call, which starts where its first word does.

        `lead`: the first seconds of `audio` are final already (an earlier call wrote them, ending in the
        words `said`); they are heard again as context for what follows, and only new words are returned.

        Then the text is checked against the audio (`fidelity`): repetitions the audio does
        not hold are cut, and speech that no word covers is decoded again on its own.
        """
        self.follow_free_cpu()
        duration = len(audio) / RATE
        begin = offset + lead
        speech = [Span(max(begin, offset + s.start), offset + s.end) for s in speech_spans(audio, self.cfg.pause_ms)
                  if offset + s.end > begin]
        pieces, until = self._decode(audio, offset, prompt, self.temperatures, bounded=self.live, lead=lead)
        if lead:
            pieces = after(pieces, begin, said or [], self._encode)
        check = Checks(self._decode_alone, audio, offset, speech)
        pieces = settle_repeats(pieces, speech, confirm=check.heard_alone)
        if self.live and (until is not None or any(p.loop for p in pieces)):
            handed = hand_on(pieces, speech, begin, offset + (duration if until is None else until))
            if handed is not None:
                pieces, until = handed[0], lead + handed[1]
        if until is None and not self.live:
            pieces, until = end_at_loop(pieces, offset, duration)
            if until is not None:
                log.info("text ends in a repetition loop at %.1f s; the rest goes to the next call", offset + until)
        if (until is None and len(pieces) > 1 and pieces[-1].start > begin + MIN_PROGRESS_S
                and (open_end or crammed(pieces[-1]))):
            # no pause in a whole window, or a last segment squeezed into the end of the audio (made up from
            # a cut word): the next call starts where it does and decodes that speech again, whole
            until = pieces.pop().start - offset
        pieces = check.recheck(pieces)
        pieces, gaps = check.fill(pieces, offset + (duration if until is None else until))
        return Decoded(pieces, until, gaps)

    def _encode(self, text: str) -> tuple[int, ...]:
        """`text` as Whisper's tokens, for the next call's prompt (none from a server's model)."""
        tokenizer = getattr(self.model, "hf_tokenizer", None)
        return tuple(tokenizer.encode(" " + text, add_special_tokens=False).ids) if tokenizer is not None else ()

    def _decode_alone(self, audio: Audio, offset: float, temperatures: list[float]) -> list[Piece]:
        """A stretch decoded on its own: no prompt, no more tokens than its length can hold, no pass after one
        that loops (the fidelity checks' decode)."""
        return self._decode(audio, offset, None, temperatures, bounded=False,
                            max_new_tokens=alone_token_cap(len(audio) / RATE), ends_at_loop=True)[0]

    def _decode(self, audio: Audio, offset: float, prompt: list[int] | None, temperatures: list[float],
                bounded: bool, max_new_tokens: int | None = None,
                ends_at_loop: bool = False, lead: float = 0.0) -> tuple[list[Piece], float | None]:
        """One faster-whisper call: its filtered pieces, and where a repetition loop ended it (if `bounded`, once
        it has moved on past its `lead`; at once if `ends_at_loop`: a re-decode's next attempt takes what a loop
        left)."""
        import ctranslate2

        from stages.transcribe.bounded import LoopEnded

        ctranslate2.set_random_seed(0)  # temperature fallback samples: keep reruns identical
        duration = len(audio) / RATE
        self.model.begin_call(live_token_cap(duration) if bounded else None)
        segments, info = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=self.language,
            beam_size=self.cfg.beam_size,
            vad_filter=True,
            no_speech_threshold=self.cfg.no_speech_threshold,
            log_prob_threshold=self.cfg.log_prob_threshold,
            # a repetition is judged against the audio (fidelity), not by its gzip ratio alone: a phrase
            # really said again must not send the window to a sampled decode that drops the copies
            compression_ratio_threshold=COMPRESSION_FALLBACK,
            hotwords=self.hotwords,
            initial_prompt=prompt or None,
            temperature=temperatures,
            best_of=self.cfg.best_of,
            word_timestamps=True,
            max_new_tokens=max_new_tokens,
        )
        if self.language is None:
            self.language = info.language  # pin what was detected on the first speech
            log.info("language detected: %s (p=%.2f)", info.language, info.language_probability)
        out: list[Piece] = []
        decoded_to = 0.0
        try:
            for seg in segments:
                decoded_to = min(duration, max(decoded_to, seg.end))
                # a loop may end a live call (once it has moved on) or a re-decode (at once)
                self.model.armed = ends_at_loop or (bounded and decoded_to >= lead + MIN_PROGRESS_S)
                if piece := to_piece(seg, offset, duration, self.language or "", self.cfg):
                    out.append(piece)
        except LoopEnded:
            if bounded:
                log.info("a repetition loop ended the call at %.1f s; the rest goes to the next call",
                         offset + decoded_to)
            else:
                log.info("a repetition loop ended a re-decode at %.1f s", offset + decoded_to)
            return out, decoded_to
        finally:
            release_freed_memory()
        return out, None

def end_at_loop(pieces: list[Piece], offset: float, duration: float) -> tuple[list[Piece], float | None]:
    """A call's text up to its first repetition loop, the audio after that left to the next call.

    The loop is kept once. faster-whisper would otherwise lose or duplicate what follows it:
    a loop that never closes its segment leaves it a single timestamp, and it takes the whole
    window as done (on the 2-hour French import, a loop 0.2 s into a call left the next 27 s
    of speech without text); a loop spread over several segments repeats one sentence in
    each (live, six copies of one sentence stood in for a decision and an action item). The
    next call starts after the copy that was kept (at least MIN_PROGRESS_S further on), with a
    fresh prompt, so it cannot stall. Imports only: live, the next call would add to the lag.
    """
    first = next((i for i, p in enumerate(pieces) if p.loop), None)
    if first is None:
        return pieces, None
    loop = pieces[first]
    resume = max(loop.end, loop.start + MIN_PROGRESS_S) - offset
    if resume >= duration - MIN_PROGRESS_S:
        return pieces, None  # the loop ran to the end of the audio: nothing is left
    return pieces[: first + 1], resume


def to_piece(seg: Segment, offset: float, duration: float, language: str, cfg: TranscribeConfig) -> Piece | None:
    """A decoded segment as kept in the transcript, or None when it is probably not what was said.

    After the last segment it finds, faster-whisper decodes what is left of the audio,
    often under a second of silence padded to 30 s, and Whisper may fill it with the
    previous sentence again, timed at or past the end. Such text is dropped: on the 2-hour
    English import, all 11 segments above 30 characters a second were such copies, and
    one, sampled at a fallback temperature, reset the prompt after which "done" came out
    as "run" for the rest of the meeting.
    """
    text = seg.text.strip()
    if not filters.keep(text, seg.avg_logprob, seg.no_speech_prob, seg.compression_ratio, language, cfg):
        log.info("dropped %r (logprob %.2f, no_speech %.2f)", text, seg.avg_logprob, seg.no_speech_prob)
        return None
    start, end = min(max(0.0, seg.start), duration), min(duration, max(seg.end, seg.start))
    if end >= duration - END_S and len(text) > MAX_CHARS_PER_S * (end - start):
        log.info("dropped %r: decoded from the silence after the audio (%.2f s of it left)", text, end - start)
        return None
    loop = filters.is_loop(seg.compression_ratio) or filters.HYPHEN_LOOP.search(text) is not None
    words = tuple(Word(offset + min(max(0.0, w.start), duration), offset + min(max(w.start, w.end), duration), w.word,
                       w.probability)
                  for w in seg.words or ())
    return Piece(offset + start, offset + end, text, round(math.exp(seg.avg_logprob), 3), tuple(seg.tokens),
                 seg.temperature > PROMPT_RESET_TEMPERATURE, loop, words)


def tune_heap() -> None:
    """Bound what glibc keeps of a decode's freed memory (glibc only).

    CTranslate2's threads share two malloc arenas instead of one each: every arena keeps
    its own freed pages (on 25 s windows of the 2-hour French meeting, the peak RSS of a
    call fell from 353-517 to 337-466 MiB at equal speed). Blocks of 4 MiB and more (the
    encoder's activations, the beams' caches) are mapped and given back when freed; glibc
    would otherwise raise that threshold to the largest block freed so far and keep them in
    the heap. On a 15-minute French import: peak 581 -> 527 MiB, CPU time unchanged.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 2)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system after a call.

    glibc keeps what one long decode freed (a hard window, a repetition loop) as
    the process's new floor: in the 2-hour run that was a lasting +140 MiB step.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


M_ARENA_MAX = -8  # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 2**20  # at 1 MiB the peak was 489 MiB but the CPU time 1.45 x (a page fault per buffer)


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - musl or another libc lacks them: nothing to tune
        return libc
    except (OSError, AttributeError):
        return None
