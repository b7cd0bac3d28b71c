"""The project's own speech for tests: demo meetings, their reference text, WER, silence and noise.

The demo meetings live in stages/demo/ (package data, made by
tests/fixtures/make_speech.py): `meeting_en` (English, three voices, about
2.5 minutes) and `reunion_fr` (French, two voices, about 1 minute). Each has a
.flac, a .txt reference (one turn per line) and a .json script with the turn
times and the truth (decisions, action items).

WER is computed with jiwer after the same normalisation on both sides:
lowercase, Unicode NFC, typographic apostrophes made straight, punctuation and
hyphens removed, numbers spelled out in words (`2` -> `two`, `1st` ->
`first`, `3e` -> `troisième`, `1,000` -> `one thousand`) and a few spelling
variants Whisper is free to choose folded together (`ok` -> `okay`). In
French, elided articles are split off (`l'équipe` -> `l équipe`) and accents
are folded (`à` -> `a`), so a missing accent counts as no error.
"""

from __future__ import annotations

import json
import re
import unicodedata
import wave
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "stages" / "demo"
DEMO_STEMS = {"en": "meeting_en", "fr": "reunion_fr"}
RATE = 16000


# ---------------------------------------------------------------------------
# The demo meetings
# ---------------------------------------------------------------------------


def _stem(lang: str) -> Path:
    try:
        return DEMO_DIR / DEMO_STEMS[lang]
    except KeyError:
        raise ValueError(f"no demo meeting in {lang!r}; there are: {', '.join(DEMO_STEMS)}") from None


def demo_audio(lang: str = "en") -> Path:
    """The demo meeting's audio file (16 kHz mono FLAC)."""
    return _stem(lang).with_suffix(".flac")


def demo_script(lang: str = "en") -> dict[str, Any]:
    """The demo meeting's script: speakers, turns with start/end seconds, truth."""
    data: dict[str, Any] = json.loads(_stem(lang).with_suffix(".json").read_text(encoding="utf-8"))
    return data


def reference_text(lang: str = "en") -> str:
    """What is said in the demo meeting, all turns joined by spaces."""
    lines = _stem(lang).with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    return " ".join(line.strip() for line in lines if line.strip())


# ---------------------------------------------------------------------------
# Word error rate
# ---------------------------------------------------------------------------

_EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
               "nine": "ninth", "twelve": "twelfth"}

_FR_UNITS = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
             "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"]
_FR_TENS = ["", "", "vingt", "trente", "quarante", "cinquante", "soixante", "soixante", "quatre-vingt",
            "quatre-vingt"]


def _en_words(n: int) -> str:
    if n < 20:
        return _EN_UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _EN_TENS[tens] + (f" {_EN_UNITS[unit]}" if unit else "")
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            high, rest = divmod(n, size)
            return f"{_en_words(high)} {name}" + (f" {_en_words(rest)}" if rest else "")
    raise AssertionError(n)


def _en_ordinal(n: int) -> str:
    words = _en_words(n).split()
    last = words[-1]
    if last in _EN_ORDINAL:
        words[-1] = _EN_ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _fr_words(n: int) -> str:
    if n < 20:
        return _FR_UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        if tens in (7, 9):  # soixante-dix, quatre-vingt-dix...
            tens, unit = tens - 1, unit + 10
        base = _FR_TENS[tens]
        if unit == 0:
            return base + ("s" if tens == 8 else "")
        if unit in (1, 11) and tens < 8:
            return f"{base} et {_FR_UNITS[unit]}"
        return f"{base}-{_FR_UNITS[unit]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cent" if hundreds == 1 else f"{_FR_UNITS[hundreds]} cent" + ("s" if rest == 0 else "")
        return head + (f" {_fr_words(rest)}" if rest else "")
    for size, name in ((10**9, "milliard"), (10**6, "million"), (1000, "mille")):
        if n >= size:
            high, rest = divmod(n, size)
            if size == 1000:  # "deux cent mille": cent and vingt take no s before mille
                head = "mille" if high == 1 else re.sub(r"(cent|vingt)s$", r"\1", _fr_words(high)) + " mille"
            else:
                head = f"{_fr_words(high)} {name}" + ("s" if high > 1 else "")
            return head + (f" {_fr_words(rest)}" if rest else "")
    raise AssertionError(n)


def _fr_ordinal(n: int) -> str:
    if n == 1:
        return "premier"
    words = _fr_words(n)
    if words.endswith("cinq"):
        return words + "uième"
    if words.endswith("neuf"):
        return words[:-1] + "vième"
    if words.endswith("e"):
        words = words[:-1]
    return words.rstrip("s") + "ième" if words.endswith(("cents", "vingts")) else words + "ième"


_SUFFIXES = r"(st|nd|rd|th|er|re|ère|e|ème|eme)?(?!\w)"
_NUMBER = {  # thousands grouped with commas in English, with (narrow) spaces or dots in French
    "en": re.compile(r"(?<!\w)(\d{1,3}(?:,\d{3})+|\d+)" + _SUFFIXES, re.IGNORECASE),
    "fr": re.compile(r"(?<!\w)(\d{1,3}(?:[ .\u202f\u00a0]\d{3})+|\d+)" + _SUFFIXES, re.IGNORECASE),
}


def _spell_numbers(text: str, lang: str) -> str:
    def spell(match: re.Match[str]) -> str:
        value = int(re.sub(r"\D", "", match.group(1)))
        if value >= 10**12:
            return match.group(0)
        suffix = (match.group(2) or "").lower()
        if lang == "fr":
            if suffix:
                return f" {_fr_ordinal(value)} "
            return f" {_fr_words(value)} "
        return f" {_en_ordinal(value) if suffix else _en_words(value)} "

    return _NUMBER["fr" if lang == "fr" else "en"].sub(spell, text)


_EN_VARIANTS = {"ok": "okay", "alright": "all right", "mr": "mister", "mrs": "missus", "dr": "doctor"}
_FR_VARIANTS = {"ok": "okay"}


def normalise(text: str, lang: str) -> str:
    """The text WER compares: see the module docstring for the rules."""
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"[’‘`´ʼ]", "'", text)
    text = text.replace("%", " percent " if lang != "fr" else " pour cent ")
    text = re.sub(r"([$€£])\s*(\d[\d,. \u202f\u00a0]*\d|\d)", r"\2 \1", text)  # $20 -> 20 $
    text = text.replace("€", " euros ").replace("$", " dollars ").replace("£", " pounds ")
    text = _spell_numbers(text, lang)
    if lang == "fr":
        text = text.replace("œ", "oe").replace("æ", "ae")
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.replace("'", " ")  # elision: l'equipe -> l equipe
    text = re.sub(r"[-‐‑–—_/]", " ", text)  # hyphens and dashes separate words
    text = re.sub(r"[^\w' ]+", " ", text)  # other punctuation goes
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, not apostrophes inside words
    words = text.split()
    variants = _FR_VARIANTS if lang == "fr" else _EN_VARIANTS
    return " ".join(" ".join(variants.get(w, w) for w in words).split())


def wer(reference: str, hypothesis: str, lang: str) -> float:
    """Word error rate of `hypothesis` against `reference` after normalise() (0.0 is perfect)."""
    import jiwer

    ref, hyp = normalise(reference, lang), normalise(hypothesis, lang)
    if not ref:
        raise ValueError("empty reference")
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))


def longest_miss(reference: str, hypothesis: str, lang: str) -> int:
    """The most reference words in a row that the hypothesis misses (deleted or misheard): a lost sentence
    is a long run, where Whisper's ordinary mistakes are a word or two."""
    import jiwer

    run = longest = 0
    for chunk in jiwer.process_words(normalise(reference, lang), normalise(hypothesis, lang) or "-").alignments[0]:
        if chunk.type == "insert":
            continue
        size = chunk.ref_end_idx - chunk.ref_start_idx
        run = 0 if chunk.type == "equal" else run + size
        longest = max(longest, run)
    return longest


# ---------------------------------------------------------------------------
# Audio that should produce no text
# ---------------------------------------------------------------------------


def _write_wav(path: Path, samples: np.ndarray, channels: int) -> Path:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.ascontiguousarray(pcm).tobytes())
    return path


def make_silence(path: Path, seconds: float, channels: int = 1) -> Path:
    """A WAV of digital silence, 16 kHz 16-bit (mono unless `channels`)."""
    return _write_wav(Path(path), np.zeros(round(seconds * RATE), dtype=np.float64), channels)


def noise_samples(seconds: float, level_dbfs: float = -30.0, color: str = "white", seed: int = 0) -> np.ndarray:
    """White or pink noise, float64 in [-1, 1], with the given RMS level in dBFS."""
    n = round(seconds * RATE)
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n)
    if color == "white":
        x = white
    elif color == "pink":  # 1/f power: shape white noise's spectrum by 1/sqrt(f)
        spectrum = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = f[1] if n > 1 else 1.0
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
    else:
        raise ValueError(f"color must be 'white' or 'pink', not {color!r}")
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    return np.clip(x * (10 ** (level_dbfs / 20) / rms), -1.0, 1.0)


def make_noise(path: Path, seconds: float, level_dbfs: float = -30.0, color: str = "white", seed: int = 0,
               channels: int = 1) -> Path:
    """A WAV of white or pink noise at `level_dbfs` RMS, 16 kHz 16-bit (mono unless `channels`)."""
    return _write_wav(Path(path), noise_samples(seconds, level_dbfs, color, seed), channels)
