"""Every word said reaches the transcript: skipped speech is decoded again, real repetitions stay, loops go.

The audio is the project's own demo meeting (stages/demo/), decoded by the real Whisper
base model. What must hold is what the transcript says, on any CPU: CTranslate2's kernels
differ between processors, so a test never relies on one decode going wrong in one way.
Where a test needs a decode to skip a stretch, or to find nothing in it, the engine's
decode is wrapped to drop what it found: everything else (the re-decode, the model, the
VAD, the transcript files) is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stages import config
from stages.models import TranscriptBatch
from stages.progress import status_of
from stages.spool import Session
from stages.summarize.transcript import TranscriptView
from stages.transcribe.engine import Engine
from stages.transcribe.fidelity import judge_repeats, uncovered
from stages.transcribe.pieces import Piece, Word
from stages.transcribe.stage import Transcription
from stages.transcribe.windowing import Span
from tests.conftest import DEMO_EN
from tests.spoolkit import decode_16k, make_session, write_batches

pytestmark = pytest.mark.slow
RATE = 16000
TURNS = {"hear": (7.1, 10.4, "Can everyone hear me? I have a new headset."),
         "fine": (10.9, 12.8, "Yes, we can hear you fine.")}  # demo turns 1 and 2, with their margins


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return (decode_16k(DEMO_EN) / 32768).astype(np.float32)


@pytest.fixture(scope="module", params=[False, True], ids=["import", "live"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    yield Engine(config.validate({}).transcribe, "en", live=request.param)


def turn(demo: np.ndarray, name: str) -> np.ndarray:
    start, end, _ = TURNS[name]
    return demo[round(start * RATE):round(end * RATE)]


def pause(seconds: float = 0.7) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def said(pieces: list[Piece], phrase: str) -> int:
    plain = " ".join(p.text for p in pieces).lower()
    return plain.count(phrase.lower())


def words(*spec: tuple[float, float, str]) -> list[Word]:
    return [Word(a, b, " " + t) for a, b, t in spec]


def test_speech_that_no_word_covers_is_found() -> None:
    speech = [Span(0.5, 3.0), Span(3.5, 6.0), Span(7.0, 7.6), Span(9.0, 12.0)]
    heard = words((0.5, 1.0, "Can"), (1.0, 2.9, "everyone"), (9.1, 11.8, "sure"))
    # 3.5-6.0 has no word; 7.0-7.6 is too short to matter alone; the tolerance covers 0.3 s either side
    assert uncovered(speech, heard, 0.0, 12.0) == [Span(3.5, 6.0)]
    assert uncovered(speech, heard, 0.0, 5.0) == [Span(3.5, 5.0)]  # only what the call's text must cover
    assert uncovered(speech, [], 0.0, 12.0) == [Span(0.5, 6.0), Span(9.0, 12.0)]  # joined across short pauses
    assert uncovered([], heard, 0.0, 12.0) == []


def test_copies_are_kept_where_the_audio_holds_them_and_cut_where_it_does_not() -> None:
    phrase = ("can", "you", "hear", "me")
    spoken = words(*[(t0 + 0.3 * i, t0 + 0.3 * i + 0.25, w) for t0 in (0.0, 2.0, 4.0) for i, w in enumerate(phrase)])
    speech = [Span(0.0, 1.2), Span(2.0, 3.2), Span(4.0, 5.2)]
    kept, real = judge_repeats(spoken, speech)
    assert None not in kept and real == set(range(12))  # three copies, each on its own speech
    squeezed = words(*[(0.05 * i, 0.05 * i + 0.05, phrase[i % 4]) for i in range(24)])  # six copies in 1.2 s
    kept, real = judge_repeats(squeezed, [Span(0.0, 1.2)])
    assert [w.text for w in kept if w] == [" can", " you", " hear", " me"] and not real
    over_silence = words(*[(1.5 * i, 1.5 * i + 1.4, phrase[i % 4]) for i in range(12)])  # copies spread over silence
    kept, _ = judge_repeats(over_silence, [Span(0.0, 5.6)])
    assert len([w for w in kept if w]) == 4
    # a loop that goes on over silence on a shorter part of its phrase (an Intel Xeon's decode of a forced loop:
    # the sentence eight times, then its question eleven times): the shorter phrase's first copy is a copy too
    sentence = ("can", "everyone", "hear", "me?", "I", "have", "a", "new", "headset.")
    said_once = [(0.3 * i, 0.3 * i + 0.25, w) for i, w in enumerate(sentence)]
    shifted = words(*said_once, *[(3.0, 3.0, w) for w in sentence * 2], *[(3.6, 3.6, w) for w in sentence[:4] * 3])
    kept, real = judge_repeats(shifted, [Span(0.0, 2.8)])
    assert [w.text.strip() for w in kept if w] == list(sentence) and not real
    said_again = words(*said_once, *[(3.0 + 0.3 * i, 3.25 + 0.3 * i, w) for i, w in enumerate(sentence[:4] * 2)])
    kept, real = judge_repeats(said_again, [Span(0.0, 2.8), Span(3.0, 4.2), Span(4.2, 5.4)])
    assert None not in kept  # after a phrase said once, its question really said twice stays


def test_words_timed_over_speech_they_do_not_hold_are_told_from_natural_timing() -> None:
    from stages.transcribe.fidelity import stretched

    speech = [Span(179.5, 182.13), Span(182.79, 186.1)]  # two utterances (live French run)
    natural = words((179.4, 180.3, "Utilisateur"), (180.3, 180.6, "se"), (180.6, 181.1, "joindra"),
                    (182.7, 183.0, "La"), (183.0, 183.5, "conférence"), (183.5, 184.2, "débutera"))
    assert not stretched(natural, speech)
    # Whisper skipped the first utterance and timed the second over both
    over_both = words((179.28, 180.7, "la"), (180.7, 183.44, "conférence"), (183.44, 184.16, "débutera"))
    assert stretched(over_both, speech)
    assert stretched(words((181.5, 183.4, "de")), speech)  # one short word across the pause
    assert not stretched(words((181.9, 182.9, "conférence")), speech)  # ends its utterance a little late
    assert not stretched(words((182.0, 183.0, "La")), speech)  # timed from the silence before its utterance


def test_a_real_repetition_stays_in_the_prompt_and_a_loop_never_enters_it() -> None:
    from stages.transcribe.fidelity import settle_repeats
    from stages.transcribe.stage import next_context

    phrase = ("can", "you", "hear", "me")
    copies = [Piece(t0, t0 + 1.2, "can you hear me", 0.9, (t0_token,), loop=True,  # one gzip ratio for the pass
                    words=tuple(words(*[(t0 + 0.3 * i, t0 + 0.3 * i + 0.25, w) for i, w in enumerate(phrase)])))
              for t0, t0_token in ((0.0, 1), (2.0, 2), (4.0, 3))]
    speech = [Span(0.0, 1.2), Span(2.0, 3.2), Span(4.0, 5.2)]
    kept = settle_repeats(copies, speech)
    assert [p.text for p in kept] == ["can you hear me"] * 3 and not any(p.loop or p.resets for p in kept)
    assert next_context([9], kept, 223) == [9, 1, 2, 3]
    looped = settle_repeats(copies, [Span(0.0, 1.2)])  # the audio holds one copy: the others are Whisper's
    assert [p.text for p in looped] == ["can you hear me"] and next_context([9], looped, 223) == []
    unsure = replace(kept[1], words=tuple(replace(w, probability=0.3) if w.text == " hear" else w
                                          for w in kept[1].words))  # one word in four misheard, maybe
    assert next_context([9], [kept[0], unsure, kept[2]], 223) == [9, 1, 3]


def test_a_live_lead_ends_at_the_last_words_said_found_again_and_else_by_time() -> None:
    """A live call hears final audio again (its lead) and returns only what follows it. A previous call of
    a French meeting ended "nous sommes a environ." in a short pause before "35 %"; heard again, "35" is
    timed a little before the seam, and by time alone it would be lost."""
    from stages.transcribe.lead import after

    said = ["nous", "sommes", "à", "environ."]
    heard = words((76.4, 76.8, "nous"), (76.8, 77.0, "sommes"), (77.0, 77.2, "à"), (77.2, 77.9, "environ"),
                  (77.95, 78.35, "35"), (78.69, 78.9, "%"), (79.05, 79.3, "et"))
    piece = Piece(76.4, 79.3, "".join(w.text for w in heard).strip(), 0.8, (1, 2, 3), words=tuple(heard))
    new = after([piece], 78.19, said, lambda text: (len(text),))
    assert [(p.start, p.text, p.tokens) for p in new] == [(78.19, "35 % et", (7,))]
    assert [p.text for p in after([piece], 78.19, [], lambda text: ())] == ["% et"]  # time alone
    # the last word said, timed past the seam this time, is not written twice
    late = [replace(w, start=w.start + 0.7, end=w.end + 0.7) for w in heard]
    shifted = replace(piece, words=tuple(late))
    assert [p.text for p in after([shifted], 78.19, said, lambda text: ())] == ["35 % et"]
    assert [p.text for p in after([shifted], 78.19, [], lambda text: ())] == ["environ 35 % et"]
    # a phrase said again: the copy that ends nearest the seam is the old text's end
    twice = words((70.0, 70.4, "non"), (70.5, 70.9, "merci"), (77.5, 77.9, "non"), (78.0, 78.4, "merci"),
                  (78.6, 79.0, "oui"))
    both = Piece(70.0, 79.0, "".join(w.text for w in twice).strip(), 0.8, words=tuple(twice))
    assert [p.text for p in after([both], 78.1, ["non", "merci"], lambda text: ())] == ["oui"]
    # pieces wholly before the seam go; pieces wholly after it stay as they are
    before = Piece(70.0, 71.0, "bonjour", 0.9, words=tuple(words((70.0, 71.0, "bonjour"))))
    later = replace(piece, start=80.0, end=82.0, words=())
    assert after([before, later], 78.19, [], lambda text: ()) == [later]


def test_a_phrase_really_said_three_times_comes_out_three_times(engine: Engine, demo: np.ndarray) -> None:
    for name in TURNS:
        one = turn(demo, name)
        decoded = engine.transcribe(np.concatenate([pause(), one, pause(), one, pause(), one, pause()]), 50.0)
        assert said(decoded.pieces, TURNS[name][2].split(",")[0].split("?")[0]) == 3, decoded.pieces
        assert decoded.gaps == [] and decoded.until is None
        assert all(not p.loop for p in decoded.pieces)


def test_a_forced_whisper_loop_comes_out_once(engine: Engine, demo: np.ndarray) -> None:
    """A prompt of the same sentence eight times makes Whisper write it over and over for the one time it is said."""
    for name in TURNS:
        text = TURNS[name][2]
        prompt = engine.model.hf_tokenizer.encode(f" {text}" * 8).ids
        decoded = engine.transcribe(np.concatenate([pause(0.5), turn(demo, name), pause(3.0)]), 50.0, prompt)
        assert said(decoded.pieces, text.split(",")[0].split("?")[0]) == 1, decoded.pieces
        assert next_prompt_is_clean(decoded.pieces)


def test_a_stretch_decoded_alone_writes_no_more_than_its_audio_can_hold(demo: np.ndarray,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-decodes of skipped speech have no prompt and no loop bound: a loop there ran to the end of
    Whisper's window, seconds on one thread beside a call (the live lag's worst batches). Hotwords made of the
    sentence 20 times make Whisper loop over the 1.9 s it is said in; alone, the decode stops at its cap."""
    from stages.transcribe.engine import alone_token_cap

    engine = Engine(config.validate({}).transcribe, "en")
    written: list[int] = []
    generate = engine.model.generate_with_fallback

    def counting(*args: Any) -> Any:
        decoded = generate(*args)
        written.append(len(decoded[0].sequences_ids[0]))
        return decoded

    monkeypatch.setattr(engine.model, "generate_with_fallback", counting)
    text = TURNS["fine"][2]
    engine.hotwords = f" {text}" * 20
    clip = np.concatenate([pause(0.5), turn(demo, "fine"), pause(1.0)])
    cap = alone_token_cap(len(clip) / RATE)
    pieces = engine._decode_alone(clip, 50.0, [0.0])
    assert written and max(written) <= cap + 1, (written, cap)  # within one token: how CTranslate2 counts
    assert said(pieces, "hear you fine") >= 1
    written.clear()
    engine._decode(clip, 50.0, None, [0.0], bounded=False)  # the same decode without the cap
    assert max(written) > cap + 1, (written, cap)


def next_prompt_is_clean(pieces: list[Piece]) -> bool:
    return all(p.resets or not p.loop for p in pieces)


class Skipping:
    """The engine's decode with pieces of its first main call taken away (by default the second: a sentence
    Whisper skipped), or, with `deaf`, every piece of the re-decodes too (speech no decode could put into words)."""

    def __init__(self, engine: Engine, deaf: bool = False, drop: tuple[int, ...] = (1,)) -> None:
        self.engine, self.deaf, self.drop, self.calls = engine, deaf, drop, 0
        self.decode = engine._decode

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[list[Piece], float | None]:
        pieces, until = self.decode(*args, **kwargs)
        self.calls += 1
        if self.calls == 1 and len(pieces) > max(self.drop):
            return [p for i, p in enumerate(pieces) if i not in self.drop], until
        return ([] if self.deaf and self.calls > 1 else pieces), until


def test_a_sentence_squeezed_into_the_end_of_the_audio_is_left_to_the_next_call(
        engine: Engine, three_turns: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a server gave for audio cut inside "Same here": "We'll see you next week." in its last 0.44 s."""
    from stages.transcribe.fidelity import crammed

    made_up = Piece(62.6, 63.04, "We'll see you next week.", 0.9,
                    words=tuple(words((62.6, 62.7, "We'll"), (62.7, 62.8, "see"), (62.8, 62.9, "you"),
                                      (62.9, 63.0, "next"), (63.0, 63.04, "week."))))
    decode = engine._decode

    def inventing(*args: Any, **kwargs: Any) -> tuple[list[Piece], float | None]:
        pieces, until = decode(*args, **kwargs)
        return ([*pieces, made_up] if args[1] == 50.0 else pieces), until

    monkeypatch.setattr(engine, "_decode", inventing)
    assert crammed(made_up) and not crammed(Piece(50.0, 53.6, "That was a long day, and I was very hungry.", 0.9))
    decoded = engine.transcribe(three_turns, 50.0)
    assert made_up not in decoded.pieces and len(decoded.pieces) >= 3, decoded.pieces
    assert decoded.until == pytest.approx(62.6 - 50.0)  # the next call decodes that audio again, whole


@pytest.fixture(scope="module")
def three_turns(demo: np.ndarray) -> np.ndarray:
    return demo[round(5.0 * RATE):round(18.0 * RATE)]  # Peter's end, David, Peter, Emma: four sentences


def test_a_skipped_sentence_is_decoded_again_on_its_own(engine: Engine, three_turns: np.ndarray,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    whole = engine.transcribe(three_turns, 5.0)
    assert len(whole.pieces) >= 3
    skipped = whole.pieces[1]
    monkeypatch.setattr(engine, "_decode", Skipping(engine))
    decoded = engine.transcribe(three_turns, 5.0)
    assert decoded.gaps == []
    found = [p for p in decoded.pieces if p.start < skipped.end and skipped.start < p.end]
    assert found and said(found, skipped.text.split()[1]) >= 1, (skipped, decoded.pieces)
    assert [p.start for p in decoded.pieces] == sorted(p.start for p in decoded.pieces)


def test_stretches_a_call_skipped_are_decoded_again_together(engine: Engine, three_turns: np.ndarray,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sentences skipped with one kept between them: one decode of the audio from before the first to the
    end of the second finds both (each on its own cost a whole encode, and after a loop a call had five)."""
    whole = engine.transcribe(three_turns, 5.0)
    assert len(whole.pieces) >= 4
    skipping = Skipping(engine, drop=(1, 3))
    monkeypatch.setattr(engine, "_decode", skipping)
    decoded = engine.transcribe(three_turns, 5.0)
    assert decoded.gaps == [] and skipping.calls == 2  # the call's decode, then one for both stretches
    for lost in (whole.pieces[1], whole.pieces[3]):
        found = [p for p in decoded.pieces if p.start < lost.end and lost.start < p.end]
        assert found and said(found, lost.text.split()[1]) >= 1, (lost, decoded.pieces)


def test_after_a_loop_a_live_call_leaves_the_speech_it_skipped_to_the_next_call(
        engine: Engine, three_turns: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop ended the call and was dropped (its copies lay over speech they do not hold): the speech it covered
    has no words. Decoded again alone, it often loops too (14-21 s of a live call beside the video call); live,
    the call ends before it and the next call decodes it. An import decodes it again within the call."""
    whole = engine.transcribe(three_turns, 5.0)
    assert len(whole.pieces) >= 3
    first, lost = whole.pieces[0], whole.pieces[1]
    decode, offsets = engine._decode, []

    def looping(*args: Any, **kwargs: Any) -> tuple[list[Piece], float | None]:
        pieces, until = decode(*args, **kwargs)
        offsets.append(args[1])
        if len(offsets) == 1:  # the call's own decode: a loop after its first sentence ended it
            return pieces[:1], whole.pieces[2].end - 5.0
        return pieces, until

    monkeypatch.setattr(engine, "_decode", looping)
    decoded = engine.transcribe(three_turns, 5.0)
    assert decoded.gaps == []
    if not engine.live:
        assert len(offsets) >= 2 and said(decoded.pieces, lost.text.split()[1]) >= 1, decoded.pieces
        return
    assert len(offsets) == 1 and [p.text for p in decoded.pieces] == [first.text]  # nothing decoded again
    assert decoded.until is not None and first.end <= 5.0 + decoded.until <= lost.start + 0.3
    monkeypatch.setattr(engine, "_decode", decode)
    following = engine.transcribe(three_turns[round(decoded.until * RATE):], 5.0 + decoded.until)
    assert said(following.pieces, lost.text.split()[1]) >= 1, (lost, following.pieces)


def test_a_loop_over_speech_that_says_something_else_is_cut_and_that_speech_decoded(
        engine: Engine, three_turns: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whisper looped over the speech of other sentences, each copy timed on speech at a plausible rate (espeak
    French: "de l'obligation" ten times over 26 s of five turns), so the timing alone keeps them. The looping
    decode is scripted (a loop cannot be provoked on demand); decoded again on its own, that audio says
    something else: one copy stays, and the other sentences are found."""
    whole = engine.transcribe(three_turns, 5.0)
    assert len(whole.pieces) >= 4
    first, rest = whole.pieces[0], whole.pieces[1:]
    phrase = ["I", "have", "a", "new", "headset."]
    start, end = rest[0].start, rest[-1].end
    step = (end - start) / (4 * len(phrase))
    loop = words(*((start + k * step, start + (k + 1) * step, phrase[k % len(phrase)]) for k in range(4 * len(phrase))))
    decode, calls = engine._decode, []

    def looping(*args: Any, **kwargs: Any) -> tuple[list[Piece], float | None]:
        pieces, until = decode(*args, **kwargs)
        calls.append(args[1])
        if len(calls) == 1:
            return [first, Piece(start, end, "".join(w.text for w in loop).strip(), 0.8, words=tuple(loop))], None
        return pieces, until

    monkeypatch.setattr(engine, "_decode", looping)
    copies, _ = judge_repeats(loop, [Span(start, end)])
    assert all(w is not None for w in copies)  # on speech all along, at a rate people speak: timing keeps them
    decoded = engine.transcribe(three_turns, 5.0)
    assert said(decoded.pieces, "new headset") <= 1 and decoded.gaps == [], decoded.pieces
    found = list(decoded.pieces)
    if decoded.until is not None:  # a call that looped ends there: the next call decodes the rest
        assert decoded.until + 5.0 <= rest[1].start + 0.3, decoded
        monkeypatch.setattr(engine, "_decode", decode)
        found += engine.transcribe(three_turns[round(decoded.until * RATE):], 5.0 + decoded.until).pieces
    for other in rest[1:]:
        assert said(found, other.text.split()[1]) >= 1, (other, found)


def test_a_loop_at_the_start_of_a_live_call_leaves_its_speech_to_the_re_decodes() -> None:
    """The next call must start at least a second further on: a loop sooner than that is decoded again in the call."""
    from stages.transcribe.verify import hand_on

    def looped(at: float) -> Piece:
        said_ = words((at, at + 0.3, "Je"), (at + 0.3, at + 0.4, "suis"), (at + 0.4, at + 0.6, "là"))
        return Piece(at, at + 0.6, "Je suis là", 0.9, loop=True, words=tuple(said_))

    assert hand_on([looped(50.2)], [Span(50.2, 58.0)], 50.0, 58.0) is None
    kept, until = hand_on([looped(51.7)], [Span(51.7, 58.0)], 50.0, 58.0) or ([], 0.0)
    assert kept == [looped(51.7)] and until == pytest.approx(2.3)


def test_speech_at_the_start_of_a_call_is_not_decoded_twice_the_same_way(engine: Engine, demo: np.ndarray,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A skipped stretch is decoded with the audio before it, then alone, then sampled; at the start of a
    call there is no audio before it, and the first two would be one clip decoded twice (a looping one cost
    5 s of a live call beside the video call). Two stretches are first decoded together, then each alone.
    Here every decode comes back empty: each stretch is a gap."""
    decode, greedy = engine._decode, []

    def deaf(audio: np.ndarray, offset: float, prompt: Any, temperatures: list[float], *args: Any,
             **kwargs: Any) -> tuple[list[Piece], float | None]:
        decode(audio, offset, prompt, temperatures, *args, **kwargs)
        if kwargs.get("max_new_tokens") and temperatures == [0.0]:  # a stretch decoded again, greedy
            greedy.append((offset, offset + len(audio) / RATE))
        return [], None

    monkeypatch.setattr(engine, "_decode", deaf)
    (only,) = engine.transcribe(turn(demo, "hear"), 50.0).gaps
    assert only.start < 50.5 and len(greedy) == 1  # no audio before it: one greedy decode, then sampled
    greedy.clear()
    first, second = engine.transcribe(np.concatenate([turn(demo, "hear"), pause(), turn(demo, "fine")]), 50.0).gaps
    assert first.start < 50.5 < second.start
    together, *alone = greedy
    assert together[0] <= first.start and together[1] >= second.end  # both in one clip
    assert [a < first.end for a, _ in alone] == [True, False]  # then each on its own, greedy once


def test_speech_no_decode_puts_into_words_is_a_marked_gap_in_the_transcript_report_and_status(
        tmp_path: Path, three_turns: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    session = make_session(tmp_path / "20260101-0900-gap", sources=["system"], language="en")
    write_batches(session, None, (three_turns * 32767).astype(np.int16))
    cfg = config.validate(session.manifest().config).transcribe
    engine = Engine(cfg, "en", live=False)
    monkeypatch.setattr(engine, "_decode", Skipping(engine, deaf=True))
    job = Transcription(session, cfg, ["system"], engine.transcribe, lambda: "en", "base", live=False)
    while job.step():
        pass
    assert job.finish_if_complete()
    segments = [s for i in session.transcribed_batches()
                for s in TranscriptBatch.model_validate_json(session.transcript_path(i).read_text()).segments]
    gaps = [s for s in segments if s.gap]
    assert len(gaps) == 1 and gaps[0].text == "" and gaps[0].end - gaps[0].start >= 1.0
    assert all(not (s.start < gaps[0].end and gaps[0].start < s.end) for s in segments if not s.gap)
    view = TranscriptView(Session(session.path))
    view.refresh()
    (reported,) = view.gaps()
    assert (reported.start, reported.end) == (gaps[0].start, gaps[0].end) and "not understood" in reported.reason
    assert all(s.text for s in view.all_segments())  # the gap is no line of the transcript
    assert status_of(session).gaps == 1
