"""Read a GGUF file's index: its scalar metadata and where each tensor's data lies.

The ``gguf`` package's reader builds Python objects for every array entry (Gemma 3's vocabulary
alone is 262,144 strings) and takes ~16 s on this machine; this reader skips arrays and reads the
index in well under a second. It never loads tensor data: ``tensor_rows`` memory-maps one tensor.

Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (version 2 and 3).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from ..errors import BackendError

GGML_TYPE_Q8_0 = 8
Q8_0_BLOCK = 32
"""Q8_0 stores blocks of 32 int8 values, each block after its float16 scale (34 bytes)."""
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
           11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TensorInfo:
    name: str
    ggml_type: int
    shape: tuple[int, ...]
    """ggml order: ``shape[0]`` is the row length."""
    offset: int
    """Absolute byte offset of the data in the file."""


@dataclass(frozen=True)
class GgufIndex:
    path: Path
    metadata: dict[str, object]
    """Scalar and string values; arrays are skipped (recorded as their length)."""
    tensors: dict[str, TensorInfo]

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))


class _Reader:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def take(self, fmt: str) -> object:
        return struct.unpack(fmt, self._exactly(struct.calcsize(fmt)))[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self._exactly(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self._exactly(8))[0])

    def _exactly(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise EOFError
        return data

    def string(self) -> str:
        n = self.u64()
        return self.f.read(n).decode("utf-8", errors="replace")

    def value(self, kind: int) -> object:
        if kind in _SCALAR:
            return self.take(_SCALAR[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item = self.u32()
            count = self.u64()
            if item in _SCALAR:
                self.f.seek(count * struct.calcsize(_SCALAR[item]), 1)
            else:
                for _ in range(count):
                    self.value(item)
            return count
        raise ValueError(f"unknown GGUF value type {kind}")


def read_gguf_index(path: Path) -> GgufIndex:
    """The metadata and tensor index of the GGUF at ``path``; a clear error if it is not one."""
    try:
        with path.open("rb") as f:
            r = _Reader(f)
            if f.read(4) != b"GGUF":
                raise ValueError("no GGUF magic")
            version = r.u32()
            if version not in (2, 3):
                raise ValueError(f"GGUF version {version}")
            n_tensors = r.u64()
            n_kv = r.u64()
            metadata: dict[str, object] = {}
            for _ in range(n_kv):
                key = r.string()
                metadata[key] = r.value(r.u32())
            infos = []
            for _ in range(n_tensors):
                name = r.string()
                shape = tuple(r.u64() for _ in range(r.u32()))
                ggml_type = r.u32()
                infos.append((name, ggml_type, shape, r.u64()))
            align = metadata.get("general.alignment", 32)
            if not isinstance(align, int) or align <= 0:
                raise ValueError(f"general.alignment {align!r}")
            start = -(-f.tell() // align) * align
    except (OSError, EOFError, ValueError, UnicodeError) as exc:
        raise BackendError(f"{path} is not a readable GGUF file ({exc})") from exc
    tensors = {n: TensorInfo(n, t, s, start + o) for n, t, s, o in infos}
    return GgufIndex(path, metadata, tensors)


def q8_0_rows(index: GgufIndex, name: str) -> npt.NDArray[np.uint8]:
    """A 2-D Q8_0 tensor as a read-only memory map of shape (rows, row bytes)."""
    info = index.tensors[name]
    if info.ggml_type != GGML_TYPE_Q8_0 or len(info.shape) != 2:
        raise BackendError(f"{name} in {index.path.name} is not a 2-D Q8_0 tensor")
    row_bytes = info.shape[0] // Q8_0_BLOCK * (Q8_0_BLOCK + 2)
    return np.memmap(index.path, dtype=np.uint8, mode="r", offset=info.offset,
                     shape=(info.shape[1], row_bytes))
