"""`local`: an LLM inside the product, on llama.cpp through xllamacpp (prebuilt wheels, no compiler).

The model is loaded once per process and kept; the JSON schema is enforced by
llama.cpp's grammar sampler, and the shared prompt prefix is cached between
calls. Requests go to the server in-process, but xllamacpp always opens
llama.cpp's HTTP listener too: on Linux and macOS it is a unix socket in a
private temporary folder, so nothing listens on the network; on Windows it is a
127.0.0.1 port, locked with a random API key so no other local program can use it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from stages import cpu
from stages.config import SummarizeConfig
from stages.summarize import models
from stages.summarize.backends import prompt_cache
from stages.summarize.backends.base import BackendError, PromptTooLong, WindowTask
from stages.summarize.llm import ChatBackend, Streamed, messages_tokens
from stages.summarize.schema import MiniSummary

log = logging.getLogger("summarize")
SLOTS = 2
CACHE_REUSE_TOKENS = 64  # shortest run of tokens taken from an earlier prompt's cache
PROMPT_BATCH = 128
STALE_TOKENS = 16  # a warm-up that read more than this found no cache on disk, or one for other instructions
FREE_SAMPLE_S = 0.5  # the least time one reading of the free CPU watches (calls in a row: the time between them)
# llama.cpp in xllamacpp's Linux wheel runs its threads with OpenMP (GNU libgomp): between its steps (hundreds
# a token) a thread that waits spins 300,000 times before it sleeps, on the core its partner, put off by another
# program, needs. Bounded, 2 threads beside a call holding one core of two took 29-34 s a window instead of
# 180-206 s (1 thread: 27-31 s), and the demo's report came 75-77 s after the start instead of 79-81 s (its
# prompt warms beside the import's transcriber); alone, 3 windows took the same 41-43 s (2 cores, Intel Xeon).
# libgomp reads it once, when it loads. The Windows wheel's MSVC OpenMP offers no such setting.
GOMP_SPIN = "3000"


def xllamacpp() -> Any:
    """The xllamacpp module, its OpenMP runtime told to spin less (set before it first loads)."""
    os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPIN)
    import xllamacpp as xlc

    return xlc


# JSON without whitespace. Through `response_format` llama.cpp lets the model lay its answer out, and the
# 1.5B model indents it: a third of a French window's answer was newlines and spaces (234-312 tokens,
# 34-49 s on one thread; compact, 152-197 tokens and 27-41 s for the same lists; laid out as json.dumps
# does, ", " and ": ", 188-248 tokens). The prompts show their JSON the same way: while the overall
# summary's instructions still showed {"summary": "..."}, its French folds came out in English at the first
# try (4 of 5 in a live run; none of the same 5 once shown compact). The key is llguidance's (llama.cpp's
# grammar engine in xllamacpp's wheels); a GBNF engine ignores it.
COMPACT = {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}


def compact_grammar(schema: dict[str, Any]) -> str:
    """The grammar of `schema`'s JSON written without whitespace."""
    return str(xllamacpp().json_schema_to_grammar(json.dumps({**schema, "x-guidance": COMPACT})))


class LocalBackend(ChatBackend):
    name = "local"
    bounded_schema = True

    def __init__(self, cfg: SummarizeConfig) -> None:
        super().__init__(cfg)
        self.server: Any = None
        self.model_file = ""
        self.socket_dir: str | None = None
        self.threads = 0
        self.cpu: cpu.Threads | None = None  # read when the model first loads
        self.served = False  # has the loaded server answered a request yet (see close)
        self.api_key = ""
        self.prompt_dir: Path | None = None  # where llama.cpp keeps the instructions' cache (None: nowhere)
        self.prefix_files: list[str] = []  # the warmed language's files there: read back after a reload
        self.model = cfg.local.model  # the one loaded: the configured model, or `brief_model` for brief answers
        self.brief_usable: bool | None = None  # is `brief_model` installed (asked once)
        self.configured_bytes = 0  # the configured model's file size, for `lighter`

    def describe(self) -> str:
        spec = models.MODELS.get(self.model or "default")
        label = spec.label if spec else os.path.basename(self.model)
        return f"local ({label})"

    def probe(self) -> str | None:
        try:
            xllamacpp()
        except ImportError:
            return "the xllamacpp package is not installed (pip install xllamacpp)"
        if not models.available(self.cfg.local.model):
            return (f"model {self.cfg.local.model!r} is not installed "
                    "(python -m stages.summarize.models install)")
        return None

    def prepare(self) -> None:
        if self.server is None:
            if self.cpu is None:
                # an import's transcriber runs flat out for a while and is done: counted, it held the model at
                # one thread on an idle machine and cost a reload (and the prompt cache) once the transcript was
                # done (demo, 2 cores: report 109 s after the start; left out, 74 s). Live, its bursts count:
                # two threads then slowed Whisper (alone, 20 min French: lag max 29.3 s against 25.6 s)
                self.cpu = cpu.Threads(self.cfg.local.threads, min_s=FREE_SAMPLE_S, ours=not self.live)
            self._load(self.cpu.now)

    def _load(self, threads: int) -> None:
        try:
            xlc = xllamacpp()
        except ImportError as exc:
            raise BackendError("the xllamacpp package is not installed (pip install xllamacpp)") from exc
        try:
            path = models.resolve(self.model)
        except models.ModelMissing as exc:
            raise BackendError(str(exc)) from exc
        params = xlc.CommonParams()
        params.model.path = str(path)
        # two slots, each of n_ctx: window prompts and overall-summary prompts each keep their own cached
        # prefix instead of evicting each other (llama.cpp routes a request to the slot it shares most with)
        params.n_ctx = self.cfg.local.n_ctx * SLOTS
        params.n_parallel = SLOTS
        # llama.cpp keeps old prompts in a host-RAM cache of up to 8 GiB by default: over a 2-hour meeting
        # that grew the process by about 19 MiB a window (2 GiB in all). The slots' own KV cache already
        # reuses the shared prefix, so that cache only cost memory: off.
        params.cache_ram_mib = 0
        params.cache_idle_slots = False
        params.n_gpu_layers = self.cfg.local.gpu_layers
        # a window's prompt carries the minute before it, which was the previous call's transcript: llama.cpp
        # takes those tokens' cache from the previous call (shifted into place) instead of reading them again.
        # French windows, 1 thread: 900-1000 prompt tokens read per window instead of 490-520, 23-29 s instead
        # of 36-45 s; on 8 meetings of the tuning part the lists came out the same (bench.summarize_quality)
        params.n_cache_reuse = CACHE_REUSE_TOKENS
        # the prompt is read in batches of PROMPT_BATCH tokens, each reported (return_progress), so a call the
        # report cannot wait for stops within seconds even while it reads its prompt (500 French tokens took
        # 18 s beside the call, in one silent batch of the default 2048); alone, 531 tokens on one thread
        # took 13.5 s in batches of 128 and 13.4 s in one
        params.n_batch = params.n_ubatch = PROMPT_BATCH
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
        # `poll` (llama.cpp's own spin between steps) measured no different at 0 and 50: this build waits in
        # OpenMP instead, whose spin is bounded by GOMP_SPIN (above)
        params.hostnames = [self._listen_address()]
        self.api_key = secrets.token_urlsafe(24)
        params.api_keys = [self.api_key]
        try:
            self.prompt_dir = prompt_cache.folder()
            params.slot_save_path = str(self.prompt_dir) + os.sep  # llama.cpp adds the file name as is
        except OSError as exc:
            self.prompt_dir = None
            log.info("local: no folder for the instructions' cache (%s)", exc)
        params.endpoint_slots = False
        params.endpoint_props = False
        params.verbosity = 0
        params.sampling.seed = 1234
        try:
            self.server = xlc.Server(params)
            self.served = False
        except Exception as exc:  # a bad GGUF, too little memory
            raise BackendError(f"could not load {path}: {exc}") from exc
        self.model_file, self.threads = str(path), threads
        size = path.stat().st_size
        if self.model == self.cfg.local.model:
            self.configured_bytes = size
        self.lighter = self.configured_bytes / size if self.configured_bytes else 1.0
        log.info("local model loaded: %s (n_ctx %d, %d thread(s))", path.name, self.cfg.local.n_ctx, self.threads)
        self._restore_prefix()

    def follow_free_cpu(self) -> None:
        """Reload with the threads the machine leaves free now (`threads = 0`), read since the last call.

        llama.cpp's thread count is fixed when the model loads, so a change costs a reload
        (a few seconds, the model file is in the page cache) and the cached prompt prefix.
        """
        if self.server is None or self.cpu is None or (wanted := self.cpu.change()) is None:
            return
        log.info("local: %d core(s) free now, reloading with %d thread(s) instead of %d", wanted, wanted,
                 self.threads)
        self.close()
        self._load(wanted)

    def summarize(self, task: WindowTask) -> tuple[MiniSummary, list[str]]:
        wanted = self._brief_model() if task.brief else self.cfg.local.model
        if wanted != self.model:
            self._switch(wanted, task.language)
        return super().summarize(task)

    def _brief_model(self) -> str:
        """The lighter model for brief answers: beside a video call on 2 cores the 1.5B model took 46-71 s per
        French minute in the pipeline and the summaries fell 4-6 windows behind; the 0.5B model reads and writes
        the same brief window in about half the time, and with the rules' items its lists were near the 1.5B
        model's (BENCHMARKS.md). The configured model when it is not installed."""
        name = self.cfg.local.brief_model
        if not name or name == self.cfg.local.model:
            return self.cfg.local.model
        if self.brief_usable is None:
            self.brief_usable = models.available(name)
            if not self.brief_usable:
                log.info("local: brief answers from %s: the lighter model %r is not installed "
                         "(python -m stages.summarize.models install --small)", self.describe(), name)
        return name if self.brief_usable else self.cfg.local.model

    def _switch(self, name: str, language: str) -> None:
        """Load `name` instead (a second or two: one model at a time keeps memory flat) with its own
        instructions' cache; the configured model again if the lighter one will not load."""
        log.info("local: %s for %s answers", name, "full" if name == self.cfg.local.model else "brief")
        for model in dict.fromkeys([name, self.cfg.local.model]):
            self.close()
            self.model, self.prefix_files = model, []  # the other model's files: llama.cpp would refuse them
            try:
                self.warm(language)
                break
            except BackendError as exc:
                if model == self.cfg.local.model:
                    raise
                log.warning("local: the lighter model %r did not load (%s): brief answers from the configured "
                            "one", model, exc)
                self.brief_usable = False

    def _listen_address(self) -> str:
        """Where llama.cpp's HTTP listener goes: a unix socket (a path ending in .sock) where there are some."""
        if os.name == "nt":
            return "127.0.0.1"
        self.socket_dir = tempfile.mkdtemp(prefix="meeting-assistant-llm-")  # 0700
        return os.path.join(self.socket_dir, "llama.sock")

    def warm(self, language: str) -> None:
        """The instructions' cache read back from disk when there is one, else read and written there."""
        self.prepare()
        self.prefix_files = []  # never another language's: its files would be restored and overwritten
        if self.prompt_dir is not None:
            try:
                self.prefix_files = prompt_cache.file_names(self.model_file, self.cfg.local.n_ctx, language, SLOTS)
            except OSError as exc:
                log.info("local: the instructions' cache is out of reach (%s)", exc)
        self._restore_prefix()
        if self.warm_prefix(language) > STALE_TOKENS and self.prompt_dir is not None and self.prefix_files:
            self._slots().save(self.prefix_files, self.prompt_dir)

    def _slots(self) -> prompt_cache.Slots:
        return prompt_cache.Slots(str(self.server.listening_address), self.api_key)

    def _restore_prefix(self) -> None:
        if self.server is None or self.prompt_dir is None or not self.prefix_files:
            return
        began = time.monotonic()
        tokens = self._slots().restore(self.prefix_files, self.prompt_dir)
        if tokens:
            log.info("local: %d tokens of instructions read back from disk in %.1f s", tokens,
                     time.monotonic() - began)

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
             temperature: float) -> str:
        self.follow_free_cpu()
        self.prepare()
        needed = messages_tokens(messages) + max_tokens
        if needed > self.cfg.local.n_ctx:
            raise PromptTooLong(f"prompt of about {needed} tokens with its answer exceeds n_ctx "
                                f"{self.cfg.local.n_ctx} ([summarize.local] n_ctx)")
        request = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                   "cache_prompt": True, "seed": 1234, "repeat_penalty": 1.05, "grammar": compact_grammar(schema),
                   "stream": True, "stream_options": {"include_usage": True}, "return_progress": True}
        answer = Streamed(self.cutoff)
        try:
            self.server.handle_chat_completions(request, answer.take)
            self.served = True
        except Exception as exc:
            raise BackendError(f"llama.cpp failed: {exc}") from exc
        if answer.error is not None:
            raise BackendError(f"llama.cpp answered an error: {answer.error}")
        if answer.cut:  # the stream was closed: llama.cpp has stopped writing this answer
            raise answer.stopped()
        self.stats.prompt_tokens = int(answer.usage.get("prompt_tokens") or self.stats.prompt_tokens)
        self.stats.output_tokens = int(answer.usage.get("completion_tokens") or 0)
        self.stats.cached_tokens = int(answer.timings.get("cache_n") or 0)
        self.stats.read_s = float(answer.timings.get("prompt_ms") or 0.0) / 1000
        self.stats.write_s = float(answer.timings.get("predicted_ms") or 0.0) / 1000
        self.stats.cut = answer.finish == "length" and max_tokens > 1
        if self.stats.cut:
            log.warning("local: the answer was cut at %d tokens", max_tokens)
        return "".join(answer.parts)

    def close(self) -> None:
        if self.server is not None and not self.served:
            # xllamacpp can wait forever for its main loop when the server is dropped before that loop has
            # run (2 of 5 closes right after a load hung here); one answered request proves it runs
            try:
                self.server.handle_chat_completions({"messages": [{"role": "user", "content": "OK"}],
                                                     "max_tokens": 1})
            except Exception as exc:  # it is going away anyway
                log.debug("local: the request before closing failed: %s", exc)
        self.server = None
        if self.socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None
