"""The remote engine's checks that need no server: reading answers, the prompt's text, settings, warnings, notice."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stages import config, notice
from stages.transcribe.models import installed
from stages.transcribe.openai_api import ApiAnswer, checked
from stages.transcribe.remote import PromptCodec, compression_ratio
from tests.conftest import run_cli


def test_segments_past_the_audio_or_without_times_or_text_are_dropped_and_the_rest_clamped() -> None:
    answer = ApiAnswer(text="", language="cy", segments=[
        {"start": 2.0, "end": 35.0, "text": " we ship friday"},  # runs past the 10 s sent: clamped
        {"start": -1.0, "end": 1.5, "text": "hello"},  # starts before: clamped
        {"start": 12.0, "end": 29.0, "text": "..."},  # entirely after the audio: dropped
        {"start": math.nan, "end": 3.0, "text": "nan"},
        {"start": 3.0, "end": 4.0, "text": "   "},
        {"end": 4.0, "text": "no start"},
    ])
    heard = checked(answer, 10.0, want_words=False)
    assert [(h.start, h.end, h.text.strip()) for h in heard] == [(0.0, 1.5, "hello"), (2.0, 10.0, "we ship friday")]
    assert all(h.avg_logprob == 0.0 for h in heard)  # a placeholder or a missing figure is no confidence


def test_text_without_segments_becomes_one_segment_and_words_are_matched_or_spread() -> None:
    plain = checked(ApiAnswer(text="Bonjour à tous."), 4.0, want_words=False)
    assert [(h.start, h.end, h.text) for h in plain] == [(0.0, 4.0, " Bonjour à tous.")]
    answer = ApiAnswer(text="", segments=[{"start": 0.0, "end": 2.0, "text": " one two"},
                                          {"start": 2.0, "end": 4.0, "text": " three four"}],
                       words=[{"word": " one", "start": 0.1, "end": 0.5}, {"word": " two", "start": 0.6, "end": 1.9},
                              {"word": " ghost", "start": 8.0, "end": 9.0}])
    first, second = checked(answer, 4.0, want_words=True)
    assert [w.word for w in first.words] == [" one", " two"] and first.words[0].probability == 1.0
    assert [w.word for w in second.words] == [" three", " four"]  # none given: spread over the segment
    assert second.words[0].start == 2.0 and second.words[-1].end == pytest.approx(4.0)


def test_the_prompt_goes_to_text_and_back_with_the_local_tokenizer() -> None:
    codec = PromptCodec(installed("base"))
    assert codec.tokenizer is not None
    ids = codec.encode(" Nous livrons vendredi, c'est décidé.")
    assert codec.decode([50364, *ids, 50257, 50414]) == " Nous livrons vendredi, c'est décidé."  # specials go
    bare = PromptCodec(None)
    assert bare.decode(bare.encode(" déjà vu")) == " déjà vu"
    assert compression_ratio("on y va " * 20) > 2.4 > compression_ratio("We ship on Friday, Anna writes the notes.")


def test_server_settings_are_checked_and_the_url_completed() -> None:
    ok = config.validate({"transcribe": {"engine": "openai", "openai": {"base_url": "http://asr.lan:8000"}}})
    assert ok.transcribe.openai.base_url == "http://asr.lan:8000/v1"
    assert ok.transcribe.openai.unencrypted_warning() is not None
    for url in ("http://127.0.0.1:8000/v1", "http://localhost:9000/v1", "https://asr.example.com/v1"):
        server = config.WhisperServerConfig(base_url=url)
        assert server.unencrypted_warning() is None, url
    with pytest.raises(config.ConfigError, match="base_url"):
        config.validate({"transcribe": {"engine": "openai"}})
    with pytest.raises(config.ConfigError, match="credentials"):
        config.validate({"transcribe": {"openai": {"base_url": "https://me:secret@asr.lan/v1"}}})


def test_up_with_a_bad_whisper_url_says_so_and_leaves_no_session(tmp_path: Path) -> None:
    result = run_cli("up", "--name", "x", "--spool", str(tmp_path / "spool"), "--whisper-url", "ftp://asr.lan",
                     timeout=120)
    assert result.returncode == 2
    assert "http:// or https:// URL" in " ".join((result.stdout + result.stderr).split())
    assert not (tmp_path / "spool").exists() or not any((tmp_path / "spool").iterdir())


def test_the_consent_notice_says_when_audio_goes_to_a_server_once_per_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_ASSISTANT_CONFIG_DIR", str(tmp_path / "meeting-assistant"))
    assert notice.first_run_notice("en", True) == notice.TEXT["en"]
    first = notice.first_run_notice("fr", True, "http://asr.lan:8000/v1")
    assert first is not None and "http://asr.lan:8000/v1" in first and "quitte cet ordinateur" in first
    assert notice.first_run_notice("fr", True, "http://asr.lan:8000/v1") is None
    assert notice.first_run_notice("en", True) is None
    other = notice.first_run_notice("en", True, "https://asr.example.com/v1")
    assert other is not None and "leaves this computer" in other
