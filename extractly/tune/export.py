"""Write a PEFT LoRA as a llama.cpp LoRA adapter GGUF, and read one back (a tune that starts
from an existing adapter). Needs only ``gguf`` and numpy.

llama.cpp (``src/llama-adapter.cpp``) reads ``general.type = adapter``, ``adapter.type = lora``
and ``adapter.lora.alpha``, then pairs tensors named ``<base tensor>.lora_a`` / ``.lora_b``.
With ggml's reversed shapes, a base weight of numpy shape ``(out, in)`` needs ``lora_a`` of shape
``(r, in)`` and ``lora_b`` of shape ``(out, r)``: exactly PEFT's ``lora_A.weight`` and
``lora_B.weight``, so no transpose. The delta applied is ``scale * alpha / r * B @ A``.

This module maps Hugging Face Gemma 3 module names to GGUF tensor names and does nothing else:
no merging (merging into a re-quantized Q4_K_M base erases a small fine-tune).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Hugging Face module -> GGUF base tensor (gguf-py's tensor_mapping for Gemma 3).
_MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_NAME = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.(?:default\.)?weight$")
_GGUF_NAME = re.compile(
    rf"blk\.\d+\.(?:{'|'.join(_MODULES.values())})\.weight\.lora_[ab]")


def gguf_name(peft_name: str) -> str:
    """``...layers.3.self_attn.q_proj.lora_A.weight`` -> ``blk.3.attn_q.weight.lora_a``; a name
    already in that form (as ``read_adapter`` gives it) is returned as it is."""
    if _GGUF_NAME.fullmatch(peft_name):
        return peft_name
    m = _NAME.search(peft_name)
    if not m or m.group(2) not in _MODULES:
        raise ValueError(f"cannot map LoRA tensor {peft_name!r} to a llama.cpp tensor name")
    layer, module, ab = m.groups()
    return f"blk.{layer}.{_MODULES[module]}.weight.lora_{ab.lower()}"


def write_adapter(
    path: Path,
    lora_tensors: Mapping[str, npt.NDArray[np.float32]],
    *,
    alpha: float,
    architecture: str = "gemma3",
    metadata: Mapping[str, str] | None = None,
    half: bool = False,
) -> Path:
    """Write ``lora_tensors`` (PEFT state-dict names, or GGUF names as ``read_adapter`` gives
    them, -> arrays) as an adapter GGUF at ``path``,
    in float32, or float16 with ``half`` (half the size; llama.cpp applies either)."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for key, value in (metadata or {}).items():
        writer.add_string(f"extractly.{key}", value)
    names = sorted(lora_tensors)
    if not names:
        raise ValueError("no LoRA tensors to write")
    for name in names:
        arr = np.ascontiguousarray(lora_tensors[name], dtype=np.float16 if half else np.float32)
        writer.add_tensor(gguf_name(name), arr)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)  # a crash never leaves a half-written adapter under the final name
    return path


@dataclass(frozen=True)
class StoredAdapter:
    tensors: dict[str, npt.NDArray[np.float32]]
    """GGUF tensor name (``blk.3.attn_q.weight.lora_a``) -> array, in PEFT's shape."""
    alpha: float
    metadata: dict[str, str]
    """The ``extractly.*`` keys ``write_adapter`` stored, without the prefix."""

    @property
    def rank(self) -> int:
        return min(int(a.shape[0]) for n, a in self.tensors.items() if n.endswith(".lora_a"))


def read_adapter(path: Path) -> StoredAdapter:
    """An adapter GGUF as ``write_adapter`` wrote it; ``ValueError`` naming what is wrong for a
    file that is not a LoRA adapter."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable GGUF file ({exc})") from None

    def field(name: str) -> object:
        found = reader.fields.get(name)
        return None if found is None else found.contents()

    if field("general.type") != "adapter" or field("adapter.type") != "lora":
        raise ValueError(f"{path}: not a LoRA adapter GGUF (general.type "
                         f"{field('general.type')!r}, adapter.type {field('adapter.type')!r})")
    alpha = field("adapter.lora.alpha")
    if not isinstance(alpha, (int, float)):
        raise ValueError(f"{path}: no adapter.lora.alpha")
    tensors = {t.name: np.array(t.data, dtype=np.float32) for t in reader.tensors}
    if not any(n.endswith(".lora_a") for n in tensors):
        raise ValueError(f"{path}: holds no LoRA tensors")
    metadata = {name.removeprefix("extractly."): str(field(name)) for name in reader.fields
                if name.startswith("extractly.")}
    return StoredAdapter(tensors, float(alpha), metadata)
