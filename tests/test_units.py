"""Fast checks of the pure parts: cutting, echo, hallucination gates, config errors, atomic writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages import atomic, config
from stages.config import ConfigError, TranscribeConfig
from stages.models import Segment
from stages.spool import slugify
from stages.transcribe import filters
from stages.transcribe.echo import drop_echo
from stages.transcribe.windowing import Span, choose_cut


def test_cut_is_the_last_pause_after_the_earliest_point() -> None:
    spans = [Span(0.5, 4.0), Span(4.6, 12.0), Span(12.5, 19.0), Span(19.4, 30.0)]
    assert choose_cut(spans, 30.0, earliest=10.0) == pytest.approx((19.0 + 19.4) / 2)
    assert choose_cut(spans, 30.0, earliest=20.0) is None  # speech runs to the end: no safe cut


def test_trailing_silence_is_a_cut_but_not_a_mid_word_end() -> None:
    assert choose_cut([Span(0.0, 20.0)], 30.0, earliest=10.0) == pytest.approx(21.0)
    assert choose_cut([Span(0.0, 29.9)], 30.0, earliest=10.0) is None


def seg(channel: str, start: float, end: float, text: str) -> Segment:
    return Segment(start=start, end=end, channel=channel, speaker="x", text=text)  # type: ignore[arg-type]


def test_echo_of_the_speakers_in_the_mic_is_dropped_but_real_mic_speech_kept() -> None:
    segments = [seg("system", 1.0, 4.0, "We ship on Friday."), seg("mic", 1.2, 4.1, "we ship on friday"),
                seg("mic", 5.0, 7.0, "I disagree, Monday is better.")]
    kept = drop_echo(segments)
    assert [s.channel for s in kept] == ["system", "mic"]
    assert kept[1].text.startswith("I disagree")


def test_echo_of_several_sentences_is_dropped_when_the_system_channel_is_cut_by_sentence() -> None:
    segments = [seg("system", 1.0, 3.0, "We ship on Friday."), seg("system", 3.2, 6.0, "Then we tell the client."),
                seg("mic", 1.1, 6.1, "we ship on friday then we tell the client")]
    assert [s.channel for s in drop_echo(segments)] == ["system", "system"]


def test_a_segment_is_cut_into_its_sentences_where_each_is_long_enough_to_tell_its_voice() -> None:
    from stages.transcribe.pieces import Piece, Word, sentences

    def piece(*words: tuple[float, float, str]) -> Piece:
        ws = tuple(Word(a, b, t) for a, b, t in words)
        return Piece(words[0][0], words[-1][1] + 0.5, "".join(w.text for w in ws), 0.9, words=ws)

    two = piece((0.0, 0.4, " Can"), (0.4, 0.8, " you"), (0.8, 1.3, " send it?"), (1.8, 2.2, " Yes,"),
                (2.2, 3.0, " tonight."))
    assert sentences(two) == [(0.0, 1.3, "Can you send it?"), (1.8, 3.5, "Yes, tonight.")]
    short = piece((0.0, 0.3, " Okay."), (0.4, 1.0, " I will"), (1.0, 1.8, " send it."))  # "Okay." alone: too short
    assert sentences(short) == [(0.0, 2.3, short.text)]
    titles = piece((0.0, 0.5, " Ask"), (0.5, 0.9, " Mr."), (0.9, 1.4, " Smith"), (1.4, 1.9, " and"),
                   (1.9, 2.3, " J."), (2.3, 2.8, " Doe."))
    assert len(sentences(titles)) == 1
    looped = (Word(0.0, 1.0, " Say it"), Word(1.0, 2.9, " again. again."))
    cut_loop = Piece(0.0, 3.0, "Say it again.", 0.9, words=looped)
    assert sentences(cut_loop) == [(0.0, 3.0, "Say it again.")]  # words that do not spell the text: left whole


@pytest.mark.parametrize("text,language", [
    ("Sous-titres réalisés par la communauté d'Amara.org", "fr"),
    ("Merci d'avoir regardé cette vidéo !", "fr"),
    ("Thanks for watching!", "en"),
])
def test_known_hallucinations_are_dropped_when_unsure(text: str, language: str) -> None:
    cfg = TranscribeConfig()
    assert not filters.keep(text, avg_logprob=-0.8, no_speech_prob=0.4, compression_ratio=1.2,
                            language=language, cfg=cfg)


def test_real_sentences_survive_the_gates() -> None:
    cfg = TranscribeConfig()
    assert filters.keep("Denis appelle le fournisseur avant jeudi.", -0.3, 0.05, 1.3, "fr", cfg)
    assert filters.keep("Thank you, Alice, that was clear.", -0.2, 0.02, 1.2, "en", cfg)
    assert not filters.keep("merci merci merci merci merci merci merci merci", -0.9, 0.1, 4.0, "fr", cfg)


@pytest.mark.parametrize("text,kept", [
    ("Bonjour à tous, comme on s'ouvre, on s'ouvre, on s'ouvre, on s'ouvre, on s'o",
     "Bonjour à tous, comme on s'ouvre,"),
    ("on a fait passer 9 pouces et on a fait passer 9 pouces et on a fait passer 9 pouces et puis merci.",
     "on a fait passer 9 pouces et puis merci."),
    ("non non non, je ne crois pas", "non non non, je ne crois pas"),  # too short to be a loop
    ("Oui, je peux préparer la recette du cloud.", "Oui, je peux préparer la recette du cloud."),
    # a live run of 2026-12-03 (the loop inside one hyphenated word went on into the report)
    ("BUBUJADIC-MANTI-MANTI-MANTI-MANTI-MANTI-MANTI-MANTI-MANTI-MA", "BUBUJADIC-MANTI"),
    ("nous n'approuvons de BUBUJADIC-MANTI-MANTI-MANTI-MANTI-MANTI.", "nous n'approuvons de BUBUJADIC-MANTI."),
    ("quatre-vingt-dix, pom-pom, go-go-go-stop", "quatre-vingt-dix, pom-pom, go-stop"),
])
def test_a_repetition_loop_keeps_one_copy(text: str, kept: str) -> None:
    assert filters.collapse_loops(text) == kept


def test_a_confident_loop_is_kept_once_and_never_becomes_the_next_prompt() -> None:
    from faster_whisper.transcribe import Segment, get_compression_ratio

    from stages.transcribe.engine import to_piece
    from stages.transcribe.fidelity import settle_repeats
    from stages.transcribe.pieces import Piece
    from stages.transcribe.stage import next_context

    def piece(seg: Segment, offset: float) -> Piece | None:  # no word times: judged on the text alone
        found = to_piece(seg, offset, 30.0, "fr", cfg)
        return found and settle_repeats([found], [])[0]

    def segment(text: str, temperature: float = 0.0) -> Segment:
        return Segment(id=1, seek=0, start=1.0, end=29.0, text=" " + text, tokens=[50365, 1, 2, 3],
                       avg_logprob=-0.2, compression_ratio=get_compression_ratio(text), no_speech_prob=0.01,
                       words=None, temperature=temperature)

    cfg = TranscribeConfig()
    loop = piece(segment("Bonjour, " + "on s'ouvre, " * 20), 100.0)
    assert loop is not None and loop.text == "Bonjour, on s'ouvre," and loop.resets and loop.loop
    assert (loop.start, loop.end) == (101.0, 129.0)
    said = piece(segment("Denis appelle le fournisseur avant jeudi."), 100.0)
    assert said is not None and not said.resets
    assert next_context([7, 8], [said], 223) == [7, 8, 50365, 1, 2, 3]
    assert next_context([7, 8], [said, loop], 223) == []
    hot = piece(segment("Denis appelle le fournisseur avant jeudi.", temperature=0.8), 0.0)
    assert hot is not None and hot.resets and not hot.loop
    word = piece(segment("Nous approuvons BUBUJADIC-MANTI-MANTI-MANTI-MANTI."), 0.0)
    assert word is not None and word.text == "Nous approuvons BUBUJADIC-MANTI." and word.loop and word.resets


def test_a_calls_text_ends_at_its_first_loop_and_the_next_call_takes_the_audio_after_it() -> None:
    from stages.transcribe.engine import end_at_loop
    from stages.transcribe.pieces import Piece

    said = Piece(100.0, 104.0, "On a fini la migration.", 0.9)

    def loop(start: float, end: float, text: str = "D'accord, est-ce que tout le monde") -> Piece:
        return Piece(start, end, text, 0.8, (), True, True)

    def ends(pieces: list[Piece]) -> tuple[list[str], float | None]:
        kept, until = end_at_loop(pieces, 100.0, 27.5)
        return [p.text for p in kept], until

    # the 2-hour French import: a loop 0.2 s in, then nothing for the 27 s after it
    assert ends([loop(100.03, 100.23)]) == (["D'accord, est-ce que tout le monde"], pytest.approx(1.03))
    # one sentence again in six segments (seen live), where a decision and an action item were said
    copies = [loop(100.5 + 2 * i, 102.5 + 2 * i, "L'équipe a posé quelques questions.") for i in range(6)]
    assert ends(copies) == (["L'équipe a posé quelques questions."], pytest.approx(2.5))
    assert ends([said, loop(104.5, 111.0), said]) == ([said.text, "D'accord, est-ce que tout le monde"],
                                                      pytest.approx(11.0))
    assert ends([said, loop(104.5, 127.0)]) == ([said.text, "D'accord, est-ce que tout le monde"], None)  # to the end
    assert ends([said]) == ([said.text], None)
    assert ends([]) == ([], None)


@pytest.mark.parametrize("start,end,text,kept", [
    # the 2-hour English import: the last sentence again, in the last half second of a call's audio
    (29.1, 31.4, "Good morning everyone, let's start the meeting and out the quarterly forecast", False),
    # and copies Whisper timed past the end of the audio
    (36.1, 38.0, "Good morning everyone, let's start the meeting and out the quarterly forecast", False),
    (27.9, 29.6, "Can everyone hear me?", True),  # a real last sentence, ending with the audio
    (29.3, 29.6, "Okay.", True),
    (12.0, 12.4, "Good morning everyone, let's start the meeting.", True),  # squeezed, but inside the audio
])
def test_text_decoded_from_the_silence_after_a_calls_audio_is_dropped(start: float, end: float, text: str,
                                                                      kept: bool) -> None:
    from faster_whisper.transcribe import Segment, get_compression_ratio

    from stages.transcribe.engine import to_piece

    seg = Segment(id=1, seek=0, start=start, end=end, text=" " + text, tokens=[50365, 1, 2], avg_logprob=-0.15,
                  compression_ratio=get_compression_ratio(text), no_speech_prob=0.01, words=None, temperature=0.0)
    piece = to_piece(seg, 1643.1, 29.6, "en", TranscribeConfig())
    assert (piece is not None) == kept
    if piece is not None:
        assert piece.start <= piece.end <= 1643.1 + 29.6


def test_bad_config_names_the_key_the_value_and_what_is_allowed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[transcribe]\nbeam_size = "wide"\n[session]\nsource = "speakers"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(bad, use_user_file=False)
    text = str(err.value)
    assert "[transcribe] beam_size = 'wide'" in text and "integer" in text
    assert "[session] source = 'speakers'" in text and "system, mic, system+mic, file:PATH" in text


def test_temperature_lists_are_checked_and_live_decodes_once(tmp_path: Path) -> None:
    assert config.load(None, use_user_file=False).transcribe.live_temperatures == [0.0]
    bad = tmp_path / "hot.toml"
    bad.write_text("[transcribe]\nlive_temperatures = [0.0, 1.5]\ntemperatures = []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(bad, use_user_file=False)
    text = str(err.value)
    assert "[transcribe] live_temperatures[1] = 1.5: Input should be less than or equal to 1" in text, text
    assert "[transcribe] temperatures = []: List should have at least 1 item" in text, text


def test_unknown_key_and_broken_toml_are_reported(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text("[capture]\nbatch_secs = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[capture\] batch_secs = 5: unknown key"):
        config.load(typo, use_user_file=False)
    broken = tmp_path / "broken.toml"
    broken.write_text("[capture\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(broken, use_user_file=False)


def test_command_line_overrides_the_files() -> None:
    cfg = config.load(overrides={"session": {"language": "en", "source": None}}, use_user_file=False)
    assert cfg.session.language == "en" and cfg.session.source == "system+mic"


def test_atomic_write_leaves_no_temp_and_is_private(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic.write_json(target, {"a": "é"})
    atomic.write_json(target, {"a": "b"})
    assert target.read_text(encoding="utf-8").strip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600


def test_slug() -> None:
    assert slugify("Réunion Projet X") == "reunion-projet-x"
    assert slugify("***") == "meeting"


def test_custom_vocabulary_reaches_the_decoder_and_the_summary_prompt(tmp_path: Path) -> None:
    from stages.summarize import prompts
    from stages.summarize.stage import Summarizer
    from tests.spoolkit import make_session

    session = make_session(tmp_path / "s", language="fr", transcribe={"vocabulary": ["Atlas", "Chloé"]})
    cfg = config.validate(session.manifest().config)
    assert cfg.transcribe.vocabulary == ["Atlas", "Chloé"]  # the Engine gives them to Whisper as hot words
    job = Summarizer(session, cfg.summarize, [])
    assert job.vocabulary == ("Atlas", "Chloé")
    seg = Segment(start=1.0, end=2.0, channel="system", speaker="Participants", text="Bonjour")
    user = prompts.window_messages("fr", 0.0, 60.0, [seg], job.vocabulary)[-1]["content"]
    assert "Atlas, Chloé" in user and "Bonjour" in user


def test_user_config_file_is_honoured_below_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEETING_ASSISTANT_NO_USER_CONFIG", raising=False)
    monkeypatch.delenv("MEETING_ASSISTANT_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path))
    user = config.user_config_path()
    user.parent.mkdir(parents=True)
    user.write_text('[session]\nlanguage = "en"\n[transcribe]\nmodel = "tiny.en"\n', encoding="utf-8")
    cfg = config.load()
    assert cfg.session.language == "en" and cfg.transcribe.model == "tiny.en"
    cfg = config.load(overrides={"transcribe": {"model": "base"}})
    assert cfg.transcribe.model == "base" and cfg.session.language == "en"


def test_the_transcriber_turns_mkl_buffer_caching_off_before_ctranslate2_loads() -> None:
    """MKL's cached buffers cost the transcriber ~50 MiB of peak (BENCHMARKS.md): the setting must come first."""
    watch = ("import os, sys\n"
             "class Watch:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'ctranslate2':\n"
             "            print('ctranslate2 loads with', os.environ.get('MKL_DISABLE_FAST_MM'))\n"
             "sys.meta_path.insert(0, Watch())\n"
             "import stages.transcribe.__main__\n")
    env = {k: v for k, v in os.environ.items() if k != "MKL_DISABLE_FAST_MM"}
    out = subprocess.run([sys.executable, "-c", watch], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0] == "ctranslate2 loads with 1"


def test_free_cpu_counts_the_other_programs_not_this_one() -> None:
    """What a busy program takes is seen (real spinning processes, measured by the kernel's counters);
    what this process uses itself is left out: it is the one asking how many threads to start. A program
    at a lower priority (the summarizer's LLM, seen from the transcriber) gives way: a yielding meter leaves it out."""
    import psutil

    from stages import cpu

    spin = [sys.executable, "-c", "import time\nt = time.time() + 20\nwhile time.time() < t: pass"]
    spinner = subprocess.Popen(spin)
    try:
        assert cpu.Meter().busy(1.5) >= 0.8
    finally:
        spinner.kill()
        spinner.wait()
    lower = subprocess.Popen(spin)
    try:
        psutil.Process(lower.pid).nice(psutil.BELOW_NORMAL_PRIORITY_CLASS if os.name == "nt" else 10)
        everyone, yielding = cpu.Meter(), cpu.Meter(yielding=True)
        time.sleep(1.5)
        assert everyone.busy(0.0) - yielding.busy(0.0) >= 0.7
    finally:
        lower.kill()
        lower.wait()
    assert cpu.threads_for(2, 0.1) == 2 and cpu.threads_for(2, 0.9) == 1 and cpu.threads_for(2, 1.6) == 1
    assert cpu.threads_for(8, 2.2) == 6 and cpu.threads_for(8, 2.2, cap=4) == 4 and cpu.threads_for(1, 3.0) == 1


def test_the_pipelines_own_stages_above_the_llm_do_not_count_as_busy(tmp_path: Path) -> None:
    """On an import the summarizer's LLM gives way to the transcriber, which runs flat out for a while and is
    done: a meter that leaves `ours` out does not see a stage of the same supervisor that spins at a higher
    priority, while a plain meter does; nor one that ends within the reading (its last CPU seconds cannot be
    read: a fresh reading is taken). Real processes: a parent starts spinning stand-ins for a stage (their
    command lines run `-m stages.…`, as the supervisor's do) and a lowered measuring process beside them."""
    def spin(seconds: float) -> str:
        return f"import time\nt = time.time() + {seconds}\nwhile time.time() < t: pass"

    measure = ("import json, os, time, psutil\nfrom stages import cpu\n"
               "psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS if os.name == 'nt' else 10)\n"
               "everyone, ours = cpu.Meter(), cpu.Meter(ours=True)\ntime.sleep(2.0)\n"
               "print(json.dumps([everyone.busy(0.0), ours.busy(0.0)]))\n"
               "ending = cpu.Meter(ours=True)\ntime.sleep(2.5)\nprint(json.dumps(ending.busy(0.5)))")
    parent = ("import subprocess, sys, time\n"
              f"stage = subprocess.Popen([sys.executable, '-c', {spin(4)!r}, '-m', 'stages.transcribe'])\n"
              f"ending = subprocess.Popen([sys.executable, '-c', {spin(3.5)!r}, '-m', 'stages.capture'])\n"
              "time.sleep(0.3)\n"
              f"out = subprocess.run([sys.executable, '-c', {measure!r}], capture_output=True, text=True)\n"
              "stage.kill()\nprint(out.stdout, out.stderr)")
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    lines = out.stdout.split("\n")
    everyone, ours = json.loads(lines[0])
    assert everyone >= 1.4 and everyone - ours >= 1.4, out.stdout
    assert json.loads(lines[1]) < 0.5, out.stdout  # both stand-ins left out, one of them ended meanwhile


def test_thread_count_drops_at_once_and_rises_when_two_readings_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Too many threads is the costly mistake (each step waits for a thread the call holds), too few only
    slows: fewer at the first reading that finds fewer cores free, more only when two in a row agree. A count
    the user set never moves. The busy cores are given here; the test above measures them for real."""
    from stages import cpu

    busy = iter([0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.5])
    monkeypatch.setattr(cpu, "cores", lambda: 2)
    monkeypatch.setattr(cpu.Meter, "busy", lambda self, min_s=0.0: next(busy))
    threads = cpu.Threads(min_s=0.0)
    seen = [threads.now]
    for _ in range(7):
        threads.change()
        seen.append(threads.now)
    assert seen == [2, 1, 1, 1, 1, 2, 2, 1]
    pinned = cpu.Threads(configured=3)
    assert pinned.now == 3 and pinned.change() is None
