"""Read the tensors of a PyTorch `.pt` file without torch and without running its pickle.

A `.pt` file is a zip: `data.pkl` describes a dict of tensors whose bytes lie in
`data/<key>`. A pickle may name any Python callable, so the unpickler here knows
only the few names a plain state dict uses and refuses everything else: a file
that asks for more is not a state dict, and nothing in it runs.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "HalfStorage": np.float16,
          "DoubleStorage": np.float64, "IntStorage": np.int32}


class _Stored:
    """A tensor as the pickle describes it: which storage, where in it, which shape."""

    def __init__(self, storage: tuple[str, str], offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage: tuple[str, str], offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: object) -> _Stored:
    return _Stored(storage, offset, size, stride)


class _StateDictUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name in DTYPES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid: Any) -> tuple[str, str]:
        # ('storage', StorageType, key, location, numel)
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage" and pid[1] in DTYPES):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return str(pid[1]), str(pid[2])


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a state-dict `.pt` file, as numpy arrays (copies, C order)."""
    with zipfile.ZipFile(path) as archive:
        pkl = next((n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise ValueError(f"{path} is not a PyTorch zip file (no data.pkl)")
        root = pkl[: -len("data.pkl")]
        with archive.open(pkl) as f:
            described = _StateDictUnpickler(f).load()
        if not isinstance(described, dict):
            raise ValueError(f"{path} does not hold a state dict")
        storages: dict[str, np.ndarray] = {}
        out: dict[str, np.ndarray] = {}
        for name, tensor in described.items():
            if not isinstance(tensor, _Stored):
                raise ValueError(f"{path}: entry {name!r} is not a tensor")
            kind, key = tensor.storage
            if key not in storages:
                storages[key] = np.frombuffer(archive.read(f"{root}data/{key}"), dtype=DTYPES[kind])
            flat = storages[key]
            itemsize = flat.itemsize
            view = np.lib.stride_tricks.as_strided(flat[tensor.offset:], shape=tensor.size,
                                                   strides=[s * itemsize for s in tensor.stride])
            out[str(name)] = np.array(view, copy=True)
        return out
