"""The offline rules on what a note-taker lists: decisions settled by a plain answer, and Whisper's kind of text.

"Do we move them automatically?" "No." settles something a note-taker lists; "Do we have the
numbers?" "Yes." settles nothing. Whisper cuts a turn into short sentences, drops commas and
writes numbers as digits: the rules must read that text as they read a script.
Sentences written for these tests, not taken from the meetings the rules were tuned on.
"""

from __future__ import annotations

import random

from stages.models import Segment
from stages.summarize import numbers
from stages.summarize.extract import extract
from stages.summarize.grounding import LlmWindow, ground
from stages.summarize.text import content_words


def said(*lines: str, language: str = "en") -> list[str]:
    """The decisions the rules find in `lines`, spoken 4 s apart by one loopback voice (as an import)."""
    segments = [Segment(start=4.0 * i, end=4.0 * i + 3.5, channel="system", speaker="Others", text=text)
                for i, text in enumerate(lines)]
    return extract(segments, language).decisions


def test_a_no_to_what_the_group_might_do_is_a_decision_in_its_own_words_or_the_question_s() -> None:
    assert said("The dinner is in two weeks.", "Should we cancel the team dinner?",
                "No, we move it to the first week of next month.") == ["Move it to the first week of next month"]
    assert said("And the move, are we renting a second van for the furniture?", "Not for now.",
                "The archive boxes can wait.") == ["The move, renting a second van for the furniture: not for now"]


def test_a_yes_settles_a_question_without_its_question_mark() -> None:
    """Whisper often drops the question mark: English asks by word order alone."""
    assert said("One more thing, should the interns get access to the staging server, I had to share mine",
                "Yes.", "Interns get staging access from Monday.") == ["Interns get staging access from Monday"]


def test_a_french_question_answered_oui_or_non_is_a_decision() -> None:
    assert said("Pour la fête, est-ce qu'on garde le même traiteur que l'an dernier ?", "Oui.",
                "Il était très bien.", language="fr") == [
        "Pour la fête, on garde le même traiteur que l'an dernier : oui"]
    assert said("Le stand, on le monte dès vendredi soir ?", "Non.", language="fr") == [
        "Le stand, on le monte dès vendredi soir : non"]


def test_answers_about_what_the_group_has_knows_or_is_decide_nothing() -> None:
    assert said("Do we have the numbers for March?", "Yes.", "They came in this morning.") == []
    assert said("Are we all here?", "Yes.", "Let's start.") == []
    assert said("Do we know when the auditor comes?", "No idea.") == []
    assert said("Did the supplier call back about the invoice?", "No.", "Not yet.") == []
    assert said("On a les chiffres de mars ?", "Oui.", "Ils sont arrivés ce matin.", language="fr") == []


def test_taking_it_after_a_proposal_agrees_to_it() -> None:
    """"On le prend." after the cost is discussed agrees to what was proposed: that is the decision."""
    assert said("Et il faudrait aussi un deuxième écran pour l'accueil.", "Ça coûte environ deux cents euros.",
                "Deux cents euros, c'est raisonnable.", "Bon, on le prend !", language="fr") == [
        "Aussi un deuxième écran pour l'accueil"]
    assert said("We could rent a projector for the launch evening.", "It's about ninety pounds for the night.",
                "We'll take it.") == ["Rent a projector for the launch evening"]


def test_a_decision_is_listed_without_the_words_that_announce_it() -> None:
    """Rules and model alike: "The decision is, we choose the external vendor." lists "We choose the external
    vendor", the way a note-taker writes it, not the sentence as said."""
    lines = ("The audit needs an outside view.", "The decision is, we choose the external vendor for the audit.")
    assert said(*lines) == ["Choose the external vendor for the audit"]
    segments = [Segment(start=0, end=3, channel="system", speaker="Others", text=lines[0]),
                Segment(start=4, end=7, channel="system", speaker="Others", text=lines[1])]
    raw = LlmWindow.model_validate({"summary": "The team chooses an external vendor for the audit.",
                                    "decisions": ["The decision is, we choose the external vendor for the audit."]})
    assert ground(raw, segments, "en")[0].decisions == ["We choose the external vendor for the audit."]
    assert said("La décision est la suivante, nous repoussons l'audit de deux semaines.", language="fr") == [
        "Nous repoussons l'audit de deux semaines"]


def test_numbers_compare_the_same_in_words_and_in_digits() -> None:
    """Whisper writes "70,000" and "2.3%" where people and models write the words."""
    assert content_words("The salary is 70,000.") == content_words("The salary is seventy thousand.")
    assert content_words("two point three percent of users") == content_words("2.3% of users")
    assert content_words("quatre-vingt-dix euros, deux pour cent") == content_words("90 euros, 2 %")
    assert content_words("le vingt et un mars, deux mille quatre cents") == content_words("le 21 mars, 2 400")
    assert content_words("three two-hour slots") == ["3", "2", "hour", "slot"]  # two numbers, not five
    assert content_words("un plat, un million") == ["plat", "1000000"]  # "un" alone is an article
    assert content_words("deux cents euros, fifty cents") == ["200", "euro", "50", "cent"]  # money, not 5000


def test_a_proposal_is_found_across_the_sentences_whisper_cut_a_turn_into() -> None:
    """One spoken turn comes back as several short sentences: the proposal is 7 sentences before "Let's do
    that." but 28 s, and the restatement right after it is the decision."""
    assert said("What if we hold the retreat in the mountains?", "Somewhere near a lake.",
                "It's quieter.", "Hotels are cheaper too.", "I like lakes.", "The train is easy.",
                "Okay.", "Let's do that.", "The retreat goes to the mountains, near a lake.",
                "And the budget stays the same.") == ["The retreat goes to the mountains, near a lake"]


def test_a_question_stays_open_when_its_no_idea_comes_two_sentences_later() -> None:
    lines = ["Does the new scanner work with the old drivers?", "Clients will ask.", "Good point.",
             "Honestly, nobody knows."]
    segments = [Segment(start=4.0 * i, end=4.0 * i + 3.5, channel="system", speaker="Others", text=text)
                for i, text in enumerate(lines)]
    assert extract(segments, "en").open_questions == ["Does the new scanner work with the old drivers?"]


def test_a_task_stated_to_someone_keeps_its_owner_without_the_comma() -> None:
    segments = [Segment(start=0.0, end=3.0, channel="system", speaker="Speaker 1",
                        text="Nadia you call the caterer about the menu this week.")]
    items = extract(segments, "en").action_items
    assert [(a.owner, a.task) for a in items] == [("Nadia", "call the caterer about the menu")]


def test_i_d_like_asks_for_a_task() -> None:
    segments = [Segment(start=0.0, end=3.0, channel="system", speaker="Speaker 1",
                        text="Ines, I'd like a draft of the newsletter for the next meeting."),
                Segment(start=4.0, end=7.0, channel="system", speaker="Speaker 1",
                        text="Tom, I'd like you to check the invoices tomorrow.")]
    items = extract(segments, "en").action_items
    assert [(a.owner, a.task, a.due) for a in items] == [("Ines", "a draft of the newsletter", "next meeting"),
                                                          ("Tom", "check the invoices", "tomorrow")]


def test_any_sequence_of_number_words_reads_without_error() -> None:
    """Every transcript sentence goes through the number reader: no run of words may break it."""
    vocab = [*numbers.VALUES, *numbers.SCALES, numbers.PLURAL_CENT, "et", "and", "point", "pour", "cent", "x", "12"]
    rng = random.Random(0)
    sampled = [rng.choices(vocab, k=rng.randint(3, 7)) for _ in range(20000)]
    for words in [[a, b] for a in vocab for b in vocab] + sampled:
        assert all(w for w in numbers.as_digits(words))
    assert content_words("deux cents et un") == ["201"]
