"""Small text helpers shared by prompts, the offline extractor, merging and rendering."""

from __future__ import annotations

import functools
import math
import re
import unicodedata

from stages.summarize import numbers

WORD_RE = re.compile(r"[\w']+", re.UNICODE)
SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+(?=\S)")
_EN_STOP = """a an the and or but if then so of to in on at by for with from as is are was were be been being
    it its this that these those there here we you i he she they them our your my his her their me us do does did
    done have has had will would can could should shall may might must not no yes ok okay just also very really
    about into over than too up out what which who when where how all any some more most other such only own same
    let lets let's i'll we'll you'll i'm it's that's go going get got"""
_FR_STOP = """le la les un une des du de d l et ou mais si donc alors car ni que qui quoi dont où à au aux en dans
    sur sous par pour avec sans ce cet cette ces c ça cela il elle ils elles on nous vous je j tu te t me m se s
    lui leur leurs mon ma mes ton ta tes son sa ses notre nos votre vos est sont était être été a ai as avons avez
    ont avait avoir fait faire pas ne n plus très bien aussi oui non d'accord ok y qu puis comme tout tous toute
    toutes même"""
STOPWORDS = {"en": set(_EN_STOP.split()), "fr": set(_FR_STOP.split())}


def clock(seconds: float) -> str:
    """Seconds -> `hh:mm:ss` (what people read in reports and prompts)."""
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def fold(text: str) -> str:
    """Lowercase, no accents, no punctuation: the form used to compare texts."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


_FOLDED_STOPWORDS = {fold(w) for words in STOPWORDS.values() for w in words}


# Endings that inflection adds in English and French (folded), longest first: "keeping" and "keep",
# "décidé" and "décider" compare equal once stemmed.
SUFFIXES = ("ements", "ement", "ations", "ation", "ings", "ing", "ees", "ons", "ent", "ers", "ies", "ed", "es",
            "ee", "er", "ez", "s", "e")


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if len(word) - len(suffix) >= 4 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:5]


# "June 1st", "the first of June" and "1 June" say the same date: numbers compare as digits (`numbers`).
_ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th|er|e|eme)$")


def _word(w: str) -> str:
    m = _ORDINAL_DIGITS.match(w)
    return m.group(1) if m else w


def content_words(text: str) -> list[str]:
    """Folded words that carry meaning (stopwords of either language dropped), as short stems; numbers as digits."""
    words = [_word(w) for w in numbers.as_digits(fold(numbers.prepare(text)).split())]
    return [w if w.isdigit() else stem(w) for w in words if w not in _FOLDED_STOPWORDS and (len(w) > 1 or w.isdigit())]


@functools.lru_cache(maxsize=65536)
def stems(text: str) -> frozenset[str]:
    """The set of content stems of `text` (cached: merging a long meeting compares the same texts often)."""
    return frozenset(content_words(text))


def similarity(a: str, b: str, symmetric: bool = False) -> float:
    """Overlap of content stems relative to the shorter text (1.0 when one says all the other says), or with
    `symmetric` to the longer one (1.0 only when both say the same: what "listed twice" means)."""
    sa, sb = stems(a), stems(b)
    if not sa or not sb:
        return 1.0 if fold(a) == fold(b) else 0.0
    return len(sa & sb) / (max if symmetric else min)(len(sa), len(sb))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_RE.split(text.strip()) if s.strip()]


def unsaid(previous: str, text: str) -> list[str]:
    """The sentences of `text` that neither `previous` nor an earlier sentence of `text` already holds."""
    said = {fold(s) for s in sentences(previous)}
    kept = []
    for sentence in sentences(text):
        if fold(sentence) not in said:
            said.add(fold(sentence))
            kept.append(sentence)
    return kept


def words(text: str) -> int:
    return len(text.split())


def estimate_tokens(text: str) -> int:
    """A safe upper estimate of LLM tokens (about 3 characters per token in French, 4 in English)."""
    return math.ceil(len(text) / 3.0) + 8


def guess_language(text: str) -> str | None:
    """'fr' or 'en' by stopwords when the text says so clearly, else None."""
    tokens = [w.lower() for w in WORD_RE.findall(text)]
    if len(tokens) < 6:
        return None
    fr = sum(1 for t in tokens if t in STOPWORDS["fr"])
    en = sum(1 for t in tokens if t in STOPWORDS["en"])
    if fr >= 2 * en + 2:
        return "fr"
    if en >= 2 * fr + 2:
        return "en"
    return None


_TIME_TEXT = """monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi vendredi
    samedi dimanche
    january february march april may june july august september october november december janvier fevrier
    mars avril mai juin juillet aout septembre octobre novembre decembre week weeks weekend month months year
    quarter semaine semaines mois an annee trimestre tomorrow today tonight demain aujourd hui soir matin
    morning afternoon evening noon midi end fin next prochain prochaine prochains following suivant suivante
    day days jour jours hour hours heure heures eod asap soon bientot sprint first second third premier 1er
    twelfth eleventh tenth tomorrow later plus tard"""
_TIME_WORDS = set(_TIME_TEXT.split())


def is_temporal(text: str) -> bool:
    """Does `text` name a time (a day, a date, a delay)? What a deadline must do."""
    folded = fold(text)
    words = folded.split()
    if any(w in _TIME_WORDS or re.fullmatch(r"\w+(?:th|ieme)|\d+(?:st|nd|rd|er|e)", w) for w in words):
        return True
    # a bare number ("2") is not a date: a date, an hour or a count of days is
    return bool(re.search(r"\d{1,4}[/.-]\d{1,2}|\d{1,2} ?[h:] ?\d{0,2}\b", text.lower()))
