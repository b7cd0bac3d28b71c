"""Numbers said in words read as digits, so texts compare by what they say, not how it was written.

Whisper writes most numbers as digits ("70,000", "2.3%", "20 mètres carrés") where a person
or a model writes them in words ("seventy thousand", "two point three percent", "vingt
mètres carrés"): merging, grounding and the offline rules compare content words, and these
must compare equal. English and French, cardinals and ordinals, "and"/"et" inside a number
("two hundred and fifty", "vingt et un"), French's "soixante-dix" and "quatre-vingt(s)".
"""

from __future__ import annotations

import re

_EN_UNITS = """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen"""
_EN_ORDINALS = """zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
    thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"""
_EN_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_EN_TENTHS = "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth"
_FR_UNITS = "zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize"
_FR_TENS = "vingt trente quarante cinquante soixante"


def _counted(text: str, first: int = 0, step: int = 1) -> dict[str, int]:
    return {w: first + step * i for i, w in enumerate(text.split())}


VALUES: dict[str, int] = {
    **_counted(_EN_UNITS), **_counted(_EN_ORDINALS), **_counted(_EN_TENS, 20, 10), **_counted(_EN_TENTHS, 20, 10),
    **_counted(_FR_UNITS), **_counted(_FR_TENS, 20, 10), "une": 1, "premier": 1, "premiere": 1, "vingts": 20,
}
SCALES = {"hundred": 100, "cent": 100, "thousand": 1000, "mille": 1000, "million": 10 ** 6, "millions": 10 ** 6}
PLURAL_CENT = "cents"  # "deux cents": a hundred, only after a French number ("fifty cents" is money)
_FR_HUNDREDS = frozenset(_FR_UNITS.split()[2:10])  # deux..neuf: what "cents" multiplies
JOINS = {"and", "et"}  # inside a number only: "two hundred and fifty", "vingt et un"
POINTS = {"point", "virgule"}  # "four point one": the digits' "4.1" folds to "4 1"
ALONE = {"un", "une"}  # an article, unless part of a longer number ("vingt et un", "un million")
# "2,400" / "2 400" / "70.000": one number (a thousands separator between digit groups)
_GROUPED = re.compile(r"(?<=\d)[,.\u00a0\u202f ](?=\d{3}(?!\d))")
_PERCENT = re.compile(r"\s*%")


def prepare(text: str) -> str:
    """Before folding: digit groups joined, "%" as a word."""
    return _PERCENT.sub(" percent", _GROUPED.sub("", text))


def _is_number(word: str) -> bool:
    return word in VALUES or word in SCALES


def _follows(prev: str, word: str) -> bool:
    """Can `word` go on the number `prev` ends? "twenty one", "two hundred", "dix sept", "quatre vingt",
    "soixante dix" do; "three two" ("three two-hour slots") are two numbers."""
    if word == PLURAL_CENT:
        return prev in _FR_HUNDREDS
    if word in SCALES or prev in SCALES or prev == PLURAL_CENT:
        return True
    if prev == "quatre" and word in ("vingt", "vingts"):
        return True
    before, after = VALUES[prev], VALUES[word]
    if before >= 20 and before % 10 == 0:
        return after < 10 or (prev in ("soixante", "vingt", "vingts") and after < 20)
    return prev == "dix" and 7 <= after <= 9


def _value(run: list[str]) -> int:
    total, current = 0, 0
    for k, word in enumerate(run):
        if word in SCALES or word == PLURAL_CENT:
            scale = SCALES.get(word, 100)
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        elif word in ("vingt", "vingts") and k and run[k - 1] == "quatre":
            current += 80 - 4  # "quatre-vingt(s)": four twenties
        else:
            current += VALUES[word]
    return total + current


def as_digits(words: list[str]) -> list[str]:
    """Folded words with each run of number words replaced by its digits; "pour cent" as "percent"."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "pour" and i + 1 < len(words) and words[i + 1] == "cent" \
                and (i + 2 == len(words) or not _is_number(words[i + 2])):
            out.append("percent")
            i += 2
            continue
        if not _is_number(word):
            if word in POINTS and out and out[-1].isdigit() and i + 1 < len(words) \
                    and (words[i + 1].isdigit() or words[i + 1] in VALUES):
                i += 1  # the decimal point: "4.1" folds to "4 1" as well
                continue
            out.append(word)
            i += 1
            continue
        run = [word]
        j = i + 1
        while j < len(words):
            if (_is_number(words[j]) or words[j] == PLURAL_CENT) and _follows(run[-1], words[j]):
                run.append(words[j])
            elif words[j] in JOINS and j + 1 < len(words) and words[j + 1] in VALUES and run[-1] not in ALONE \
                    and _follows(run[-1], words[j + 1]):
                pass
            else:
                break
            j += 1
        if len(run) == 1 and word in ALONE:
            out.append(word)
        else:
            out.append(str(_value(run)))
        i = j
    return out
