"""`pipeline.toml`: every option of the pipeline, validated in one place.

Layers, later wins: built-in defaults < the project's `pipeline.toml` < the
user's file (`%APPDATA%\\meeting-assistant\\pipeline.toml` on Windows,
`~/.config/meeting-assistant/pipeline.toml` elsewhere) < `--config FILE` <
command-line options. A session keeps a snapshot in `session.json`, so a stage
rerun by hand uses the settings the session was recorded with.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_CONFIG = PROJECT_DIR / "pipeline.toml"


SECRET_KEY = re.compile(r"(key|token|secret|password)", re.IGNORECASE)


class ConfigError(ValueError):
    """A bad setting, named by its key, its value and what is allowed."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SessionConfig(Section):
    spool: str = "spool"
    language: str = "fr"
    source: str = "system+mic"
    keep_audio_days: int = Field(0, ge=0)
    consent_notice: bool = True  # remind the user, on their first session, to tell the participants
    max_duration_hours: float = Field(4.0, gt=0.0)  # a live recording stops itself after this much audio
    tray: bool = True  # Windows: a notification-area icon during a live recording (stop, open the last report)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if value != "auto" and not (2 <= len(value) <= 3 and value.isalpha()):
            raise ValueError("must be a Whisper language code such as 'fr' or 'en', or 'auto'")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value in ("system", "mic", "system+mic", "mic+system") or value.startswith("file:"):
            return "system+mic" if value == "mic+system" else value
        raise ValueError("must be one of system, mic, system+mic, file:PATH")


class CaptureConfig(Section):
    batch_seconds: float = Field(10.0, ge=2.0, le=60.0)
    silence_dbfs: float = Field(-60.0, le=0.0)
    realtime: bool = False
    system_device: str = ""
    mic_device: str = ""


Temperature = Annotated[float, Field(ge=0.0, le=1.0)]


class WhisperServerConfig(Section):
    """`[transcribe.openai]`: a shared Whisper server speaking OpenAI's `POST /audio/transcriptions`."""

    base_url: str = ""  # e.g. http://asr.example.lan:8000/v1 ("/v1" is added when the URL has no path)
    model: str = "whisper-1"
    api_key_env: str = ""  # the variable holding the key; "" = send no key (a local or team server)
    timeout_s: float = Field(60.0, gt=0.0)
    # The previous text as `prompt`: a server takes it as plain text, which made Whisper skip and garble
    # speech (demo meeting, live: WER 2.8 % without, 11.6 % with; BENCHMARKS.md); the vocabulary is always sent.
    previous_text: bool = False
    local_fallback: bool = True  # a server down for fallback_after_s: transcribe with [transcribe] model meanwhile
    fallback_after_s: float = Field(30.0, ge=0.0)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, such as http://127.0.0.1:8000/v1")
        if parts.username or parts.password:
            raise ValueError("must not hold credentials; put the key in the variable named by api_key_env")
        return value.rstrip("/") if parts.path.strip("/") else value.rstrip("/") + "/v1"

    def unencrypted_warning(self) -> str | None:
        """A warning when audio would cross the network unencrypted (http:// to another machine)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "http" or host in ("localhost", "::1") or host.startswith("127."):
            return None
        return (f"{self.base_url} is plain http:// to another machine: the meeting's audio and its text cross the "
                "network unencrypted. Outside a trusted network, use an https:// URL (a TLS proxy in front of the "
                "server).")


class TranscribeConfig(Section):
    engine: Literal["local", "openai"] = "local"  # openai: decode on the server of [transcribe.openai]
    model: str = "base"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"
    beam_size: int = Field(5, ge=1, le=10)
    cpu_threads: int = Field(0, ge=0)
    min_window_s: float = Field(10.0, ge=5.0, le=60.0)
    max_window_s: float = Field(30.0, ge=5.0, le=60.0)
    live_lead_s: float = Field(0.0, ge=0.0, le=20.0)  # live: final audio heard again before each call's new audio
    pause_ms: int = Field(300, ge=100, le=2000)
    prompt_tokens: int = Field(223, ge=0, le=223)  # Whisper keeps at most 223 tokens of previous text
    no_speech_threshold: float = Field(0.6, ge=0.0, le=1.0)
    log_prob_threshold: float = Field(-1.0, le=0.0)
    temperatures: list[Temperature] = Field([0.0, 0.6], min_length=1)
    live_temperatures: list[Temperature] = Field([0.0], min_length=1)
    best_of: int = Field(2, ge=1, le=10)  # candidates sampled at a fallback temperature
    vocabulary: list[str] = Field(default_factory=list)
    openai: WhisperServerConfig = Field(default_factory=WhisperServerConfig)
    speakers: bool = True  # tell the other participants apart (Speaker 1, 2...) on the system channel

    @model_validator(mode="after")
    def _server_named(self) -> TranscribeConfig:
        if self.engine == "openai" and not self.openai.base_url:
            raise ValueError("engine = 'openai' needs [transcribe.openai] base_url (or `up --whisper-url URL`)")
        return self


LlmName = Literal["auto", "ollama", "local", "openai", "anthropic", "offline"]


class OllamaConfig(Section):
    host: str = "http://127.0.0.1:11434"
    model: str = "qwen2.5:3b"
    num_ctx_min: int = Field(2048, ge=512)
    num_ctx_max: int = Field(32768, ge=1024)
    keep_alive: str = "30m"
    timeout_s: float = Field(300.0, gt=0.0)


class LocalConfig(Section):
    model: str = "default"
    # brief answers (live, the LLM cannot keep up beside other programs) from this lighter model when it is
    # installed; "" = the same model. The 0.5B model's lists, with the rules', were near the 1.5B model's
    # (BENCHMARKS.md) at half its cost beside a call
    brief_model: str = "small"
    n_ctx: int = Field(4096, ge=1024, le=131072)
    threads: int = Field(0, ge=0, le=256)
    gpu_layers: int = Field(0, ge=-1)


class OpenAIConfig(Section):
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    json_mode: Literal["json_schema", "json_object", "none"] = "json_schema"
    schema_limits: bool = False
    timeout_s: float = Field(120.0, gt=0.0)


class AnthropicConfig(Section):
    base_url: str = "https://api.anthropic.com"
    model: str = "claude-3-5-haiku-latest"
    api_key_env: str = "ANTHROPIC_API_KEY"
    timeout_s: float = Field(120.0, gt=0.0)


class SummarizeConfig(Section):
    llm: LlmName = "auto"
    interval_minutes: float = Field(10.0, gt=0.0, le=120.0)
    window_minutes: float = Field(1.0, gt=0.0, le=120.0)
    fold_windows: int = Field(3, ge=1, le=100)
    retries: int = Field(2, ge=0, le=10)
    backoff_s: float = Field(2.0, ge=0.1, le=300.0)
    backoff_max_s: float = Field(60.0, ge=0.1, le=3600.0)
    wait_at_end_s: float = Field(20.0, ge=0.0, le=3600.0)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    max_output_tokens: int = Field(800, ge=64, le=8192)
    complete_lists: bool = True
    low_priority: bool = True
    ollama: OllamaConfig = Field(default_factory=OllamaConfig)
    local: LocalConfig = Field(default_factory=LocalConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    anthropic: AnthropicConfig = Field(default_factory=AnthropicConfig)

    @field_validator("llm", mode="before")
    @classmethod
    def _llm(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class ReportConfig(Section):
    include_full_transcript: bool = True  # false: final.md/.html/.pdf leave the transcript out (files beside stay)


class SupervisorConfig(Section):
    max_restarts: int = Field(5, ge=0, le=100)
    restart_window_s: float = Field(300.0, gt=0.0)
    backoff_s: float = Field(1.0, ge=0.0, le=60.0)


class PipelineConfig(Section):
    session: SessionConfig = Field(default_factory=SessionConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    transcribe: TranscribeConfig = Field(default_factory=TranscribeConfig)
    summarize: SummarizeConfig = Field(default_factory=SummarizeConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig)


def user_config_path() -> Path:
    """The user's own settings file; MEETING_ASSISTANT_CONFIG_DIR moves the folder (tests, portable installs)."""
    override = os.environ.get("MEETING_ASSISTANT_CONFIG_DIR")
    if override:
        return Path(override) / "pipeline.toml"
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "meeting-assistant" / "pipeline.toml"


def user_cache_dir() -> Path:
    """Per-user cache for models: %LOCALAPPDATA%, ~/Library/Caches (macOS) or XDG; MEETING_ASSISTANT_CACHE moves it."""
    override = os.environ.get("MEETING_ASSISTANT_CACHE")
    if override:
        return Path(override)
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "meeting-assistant"


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    """The value a validation error points at (a key in a table, an item in a list), or None."""
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int):
            data = data[part]
        else:
            return None
    return data


def explain(exc: ValidationError, data: dict[str, Any], origin: str) -> ConfigError:
    """One line per problem: `origin: [section] key = value: what is allowed`."""
    lines = []
    for err in exc.errors():
        value = _lookup(data, err["loc"])
        section, *keys = err["loc"] or ("?",)
        key = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys).lstrip(".")
        where = f"[{section}] {key}" if keys else str(section)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see README.md, Configuration)"
        if err["loc"] and SECRET_KEY.search(str(err["loc"][-1])):
            value = "<hidden>"  # never echo what may be a credential into a terminal or a log
            msg += "; API keys are read from the environment only (see api_key_env)"
        lines.append(f"{origin}: {where} = {value!r}: {msg}")
    return ConfigError("\n".join(lines))


def validate(data: dict[str, Any], origin: str = "configuration") -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, data, origin) from None


def load(config_file: Path | None = None, overrides: dict[str, Any] | None = None,
         use_user_file: bool = True) -> PipelineConfig:
    """Defaults < project pipeline.toml < user file < `config_file` < `overrides` ({'section': {key: v}})."""
    data: dict[str, Any] = {}
    layers = [PROJECT_CONFIG]
    if use_user_file and os.environ.get("MEETING_ASSISTANT_NO_USER_CONFIG") != "1":
        layers.append(user_config_path())
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: no such configuration file")
        layers.append(config_file)
    for path in layers:
        if path.is_file():
            layer = _read_toml(path)
            validate(_merge(data, layer), str(path))  # blame the file that brings the error
            data = _merge(data, layer)
    if overrides:
        cleaned = {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in overrides.items()}
        data = _merge(data, cleaned)
        return validate(data, "command line")
    return validate(data)
