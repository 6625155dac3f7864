"""Logits for a few allowed tokens without the 262k-row output head (the "sparse head").

Gemma 3 270M ties its output head to ``token_embd``: 262,144 rows x 640 in Q8_0, more than half
of every decode step on this CPU. When the constraint allows only a handful of tokens next (an
enum's values, a digit, ``,`` or ``}``, the words a verbatim field may copy), the decoder needs
only those rows. Two pieces make that possible without patching llama.cpp:

- ``HiddenTap``, llama.cpp's ``cb_eval`` scheduler callback. Asked about every graph node, it
  asks to see only ``result_norm`` (the final hidden state of the output rows); when it sees it
  it copies the rows and either lets the graph go on (the head runs, full logits as usual) or
  returns false, which ends the graph there: the KV cache is already written, the head is
  skipped. (``abort_callback`` is not used: an aborted micro-batch drops its KV cells.)
- ``HeadRows``, the memory-mapped Q8_0 ``token_embd``, and the dot product exactly as ggml
  computes it: ggml quantizes the activation to Q8_0 (blocks of 32, scale max/127 rounded to
  float16) before the integer dot product, and a float dot would differ by ~1e-3 relative. With
  that rounding emulated, logits match llama.cpp's to ~4e-6 (summation order only).

``sparse_head_refusal`` says why a model or adapter cannot take this path (never guess): the
model must be a Gemma 3 with the head tied to a Q8_0 ``token_embd`` and no final logit softcap,
and no adapter may touch the embeddings or the output. Not here: when a position is served this
way (``decoder.py``), or choosing among the allowed tokens (``sampling.py``).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .gguf_file import GGML_TYPE_Q8_0, Q8_0_BLOCK, GgufIndex, q8_0_rows, read_gguf_index

SPARSE_LIMIT = 512
"""Positions allowing at most this many tokens are served from the hidden state. Gathering and
scoring 512 Q8_0 rows costs well under a millisecond against the head's ~9 ms per step here."""

TapMode = Literal["off", "observe", "stop"]


def sparse_head_refusal(model: GgufIndex, adapter: GgufIndex | None = None) -> str | None:
    """Why ``model`` (with ``adapter``) cannot take the sparse head, or ``None`` if it can."""
    if model.architecture != "gemma3":
        return f"the model is {model.architecture or 'of unknown architecture'}, not Gemma 3"
    if "output.weight" in model.tensors:
        return "the model has its own output head (not tied to token_embd)"
    embd = model.tensors.get("token_embd.weight")
    if embd is None or embd.ggml_type != GGML_TYPE_Q8_0:
        return "token_embd is not Q8_0 (the exact dot product is emulated for Q8_0 only)"
    if model.metadata.get("gemma3.final_logit_softcapping"):
        return "the model applies a final logit softcap"
    return None if adapter is None else _adapter_refusal(adapter)


def _adapter_refusal(adapter: GgufIndex) -> str | None:
    touched = [n for n in adapter.tensors if n.startswith(("token_embd.", "output."))]
    if touched:
        return f"the adapter changes the embeddings or the head ({touched[0]})"
    return None


_heads: dict[str, HeadRows | str] = {}
_heads_lock = threading.Lock()


def sparse_head_for(model: Path, adapter: Path | None) -> tuple[HeadRows | None, str | None]:
    """The head rows for ``model`` with ``adapter``, or ``None`` and the reason it is refused.
    Model files are read once per process."""
    with _heads_lock:
        key = str(model.resolve())
        if key not in _heads:
            index = read_gguf_index(model)
            refusal = sparse_head_refusal(index)
            _heads[key] = refusal if refusal is not None else HeadRows(index)
        head = _heads[key]
    if isinstance(head, str):
        return None, head
    if adapter is not None:
        refusal = _adapter_refusal(read_gguf_index(adapter))
        if refusal is not None:
            return None, refusal
    return head, None


class HeadRows:
    """Rows of the tied Q8_0 head, scored against hidden states the way ggml scores them."""

    def __init__(self, index: GgufIndex) -> None:
        rows = q8_0_rows(index, "token_embd.weight")
        self.n_vocab, row_bytes = rows.shape
        self.blocks = row_bytes // (Q8_0_BLOCK + 2)
        self.rows = rows.reshape(self.n_vocab, self.blocks, Q8_0_BLOCK + 2)

    @classmethod
    def of(cls, path: Path) -> HeadRows:
        return cls(read_gguf_index(path))

    def logits(self, hidden: npt.NDArray[np.float32], ids: npt.NDArray[np.intp]) -> npt.NDArray[
        np.float32
    ]:
        """The logits of tokens ``ids`` for one hidden state (a row of ``result_norm``)."""
        x = np.asarray(hidden, dtype=np.float32).reshape(self.blocks, Q8_0_BLOCK)
        amax = np.abs(x).max(axis=1)
        scale_x = (amax / np.float32(127.0)).astype(np.float16).astype(np.float32)
        inverse = np.divide(np.float32(127.0), amax, out=np.zeros_like(amax), where=amax > 0)
        qx = np.rint(x * inverse[:, None])  # ggml's AVX2 path rounds to nearest even
        raw = self.rows[ids]  # (k, blocks, 34)
        scale_w = np.ascontiguousarray(raw[:, :, :2]).view(np.float16)[:, :, 0].astype(np.float32)
        qw = np.ascontiguousarray(raw[:, :, 2:]).view(np.int8).astype(np.float32)
        sums = np.einsum("kbi,bi->kb", qw, qx)  # integers below 2**24: exact in float32
        out: npt.NDArray[np.float32] = (sums * (scale_w * scale_x[None])).sum(axis=1)
        return out.astype(np.float32, copy=False)


class _Tensor(ctypes.Structure):
    """The head of ``struct ggml_tensor`` in the vendored ggml (include/ggml.h), up to ``name``."""

    _fields_ = [
        ("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4), ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32), ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64),
    ]


_TARGET = b"result_norm\0"
_NAME_OFFSET = _Tensor.name.offset


@dataclass
class HiddenTap:
    """The ``cb_eval`` callback of one context (see the module docstring).

    ``mode`` is set before each ``llama_decode``: ``off`` (the callback asks for nothing),
    ``observe`` (copy ``result_norm``, run the head as usual) or ``stop`` (copy it and end the
    graph). ``rows`` then holds the hidden states of the batch's output tokens, in output order.
    """

    mode: TapMode = "off"
    rows: list[npt.NDArray[np.float32]] = field(default_factory=list)
    c_callback: Any = None

    def __post_init__(self) -> None:
        import llama_cpp

        self.c_callback = llama_cpp.ggml_backend_sched_eval_callback(self._call)

    def arm(self, mode: TapMode) -> None:
        self.mode = mode
        self.rows = []

    def hidden(self) -> npt.NDArray[np.float32]:
        """All output rows seen since ``arm``, stacked."""
        if not self.rows:
            raise RuntimeError("the decode step produced no hidden state (result_norm not seen)")
        return self.rows[0] if len(self.rows) == 1 else np.concatenate(self.rows)

    def _call(self, tensor: int, ask: bool, _user: Any) -> bool:
        if ask:
            return self.mode != "off" and ctypes.string_at(tensor + _NAME_OFFSET, 12) == _TARGET
        t = _Tensor.from_address(tensor)
        width, n = int(t.ne[0]), int(t.ne[1])
        data = (ctypes.c_float * (width * n)).from_address(t.data)
        self.rows.append(np.ctypeslib.as_array(data).reshape(n, width).copy())
        return self.mode != "stop"
