"""Probe for issue 14 (decode past the 262k-row head): can a decode step stop after the final
norm, and the logits of a few allowed tokens be computed from the hidden state, exactly and
faster? No patch: llama.cpp's ``cb_eval`` scheduler callback observes ``result_norm`` and
returns false, which ends the graph there (the KV cache is written by then).

Measures, on the embedded model, one process, one sequence, greedy continuation of a prompt:

- exactness: logits of 16 tokens (the 8 best and 8 random) computed from the hidden state
  against llama.cpp's full logits, with and without emulating llama.cpp's Q8_0 rounding of the
  activation (the tied ``token_embd`` is Q8_0; ggml quantizes the other operand to Q8_0 before
  the dot product);
- the KV cache after sparse steps: a full step on the sparse context against the full context;
- ms per single-token decode: plain context; context with the callback installed but never
  stopping (its cost on every step: one Python call per graph node); sparse (stop at
  ``result_norm`` + the allowed rows' logits in numpy).

    python benchmarks/sparse_head_probe.py [--steps 60] [--out FILE.json]

A probe, not the feature: run it on a quiet machine (its timings are what it is for).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from extractly.engine.llama import load_model
from extractly.model_files import resolve_model_path
from extractly.settings import thread_count

PROMPT = ("Text: Book a table for four at Lyon tonight, then play some jazz by Miles Davis.\n"
          "JSON:\n")
TARGET = b"result_norm\0"
BLOCK = 32
"""Q8_0: blocks of 32 int8 values with one float16 scale (34 bytes)."""


class GgmlTensor(ctypes.Structure):
    """``struct ggml_tensor`` of the vendored ggml (include/ggml.h)."""

    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p),
                ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4), ("op", ctypes.c_int),
                ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32),
                ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p),
                ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p),
                ("name", ctypes.c_char * 64), ("extra", ctypes.c_void_p),
                ("padding", ctypes.c_char * 8)]


class Observer:
    """The ``cb_eval`` callback: when ``sparse``, ask for ``result_norm``, copy it, stop."""

    def __init__(self) -> None:
        import llama_cpp.llama_cpp as raw

        self.sparse = False
        self.asks = 0
        self.hidden: npt.NDArray[np.float32] | None = None
        self.offset = int(GgmlTensor.name.offset)
        self.c_callback = raw.ggml_backend_sched_eval_callback(self._call)

    def _call(self, tensor: int, ask: bool, _user: Any) -> bool:
        if ask:
            self.asks += 1
            return self.sparse and ctypes.string_at(tensor + self.offset, len(TARGET)) == TARGET
        t = ctypes.cast(tensor, ctypes.POINTER(GgmlTensor)).contents
        n = int(t.ne[0] * t.ne[1])
        data = (ctypes.c_float * n).from_address(t.data)
        flat = np.ctypeslib.as_array(data).astype(np.float32)  # a copy: the buffer is reused
        self.hidden = flat.reshape(int(t.ne[1]), int(t.ne[0]))
        return False


class HeadRows:
    """Rows of the Q8_0 ``token_embd`` (memory-mapped) and the exact llama.cpp dot product."""

    def __init__(self, path: Path) -> None:
        import gguf

        reader = gguf.GGUFReader(str(path))
        tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
        if tensor.tensor_type.name != "Q8_0":
            raise SystemExit(f"token_embd is {tensor.tensor_type.name}, not Q8_0")
        self.rows = tensor.data  # (n_vocab, blocks * 34) uint8

    def logits(self, hidden: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], *,
               emulate: bool = True) -> npt.NDArray[np.float32]:
        raw = np.asarray(self.rows[ids]).reshape(len(ids), -1, BLOCK + 2)
        scale = raw[:, :, :2].copy().view(np.float16).astype(np.float32)[:, :, 0]
        quant = raw[:, :, 2:].copy().view(np.int8).astype(np.float32)
        if not emulate:
            weights = (quant * scale[:, :, None]).reshape(len(ids), -1)
            return (weights @ hidden).astype(np.float32)
        x = hidden.reshape(-1, BLOCK)  # quantize_row_q8_0's reference rounding
        amax = np.abs(x).max(axis=1)
        d = amax / 127.0
        q = np.round(x * np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)[:, None])
        d16 = d.astype(np.float16).astype(np.float32)
        dots: npt.NDArray[np.float32] = (
            (quant * q[None]).sum(axis=2) * scale * d16[None]).sum(axis=1).astype(np.float32)
        return dots


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", default="benchmarks/results/sparse_head_probe.json")
    args = ap.parse_args(argv)
    path = resolve_model_path(None)
    model = load_model(path)
    lib = model.lib
    observer = Observer()
    head = HeadRows(path)
    threads = thread_count(None)

    def context(callback: bool) -> Any:
        params = lib.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = 2048, 512, 512, 1
        params.n_threads = params.n_threads_batch = threads
        params.swa_full, params.kv_unified, params.no_perf = True, False, True
        params.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        if callback:
            params.cb_eval = observer.c_callback
        return lib.llama_init_from_model(model.ptr, params)

    batch = lib.llama_batch_init(512, 0, 1)

    def decode(ctx: Any, tokens: Sequence[int], start: int) -> None:
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + i, 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = i == len(tokens) - 1
        batch.n_tokens = len(tokens)
        rc = lib.llama_decode(ctx, batch)
        if rc != 0:
            raise SystemExit(f"llama_decode failed with {rc} at position {start}")

    def logits(ctx: Any) -> npt.NDArray[np.float32]:
        ptr = lib.llama_get_logits_ith(ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(model.n_vocab,)).copy()

    prompt = model.tokenize(PROMPT)
    if model.add_bos:
        prompt = [model.bos, *prompt]
    full, sparse = context(False), context(True)
    decode(full, prompt, 0)
    decode(sparse, prompt, 0)
    pos, ref = len(prompt), logits(full)
    errors, plain_errors, tokens = [], [], []
    rng = np.random.default_rng(0)
    for _ in range(40):  # exactness, sparse context following the full one's greedy tokens
        token = int(np.argmax(ref))
        tokens.append(token)
        decode(full, [token], pos)
        ref = logits(full)
        observer.sparse = True
        decode(sparse, [token], pos)
        observer.sparse = False
        assert observer.hidden is not None
        hidden = observer.hidden[-1].copy()
        ids = np.unique(np.concatenate([np.argsort(-ref)[:8],
                                        rng.integers(0, model.n_vocab, 8)]))
        errors.append(float(np.abs(head.logits(hidden, ids) - ref[ids]).max()))
        plain_errors.append(float(np.abs(head.logits(hidden, ids, emulate=False)
                                         - ref[ids]).max()))
        pos += 1
    token = int(np.argmax(ref))
    decode(full, [token], pos)
    decode(sparse, [token], pos)
    kv_diff = float(np.abs(logits(full) - logits(sparse)).max())
    pos += 1
    asks_before = observer.asks
    decode(sparse, [token], pos)
    asks_per_step = observer.asks - asks_before
    decode(full, [token], pos)  # both contexts at the same position again
    pos += 1

    def timed(ctx: Any, stop: bool, start: int) -> float:
        ids = np.arange(100, 116)
        began = time.perf_counter()
        for i in range(args.steps):
            observer.sparse = stop
            decode(ctx, [tokens[i % len(tokens)]], start + i)
            if stop:
                assert observer.hidden is not None
                head.logits(observer.hidden[-1], ids)
        observer.sparse = False
        return float((time.perf_counter() - began) / args.steps * 1e3)

    ms_full = timed(full, False, pos)
    ms_callback = timed(sparse, False, pos)
    ms_sparse = timed(sparse, True, pos + args.steps)
    ms_full_again = timed(full, False, pos + args.steps)  # drift check: same as the first
    ms_full = min(ms_full, ms_full_again)
    result = {
        "benchmark": "sparse_head_probe", "threads": threads, "steps": args.steps,
        "max_abs_logit_error_emulated": max(errors),
        "max_abs_logit_error_plain_dot": max(plain_errors),
        "max_abs_logit": float(np.abs(ref).max()),
        "kv_after_sparse_steps_max_diff": kv_diff,
        "callback_asks_per_step": asks_per_step,
        "ms_per_token": {"full": round(ms_full, 2), "callback_installed": round(ms_callback, 2),
                         "sparse_16_rows": round(ms_sparse, 2)},
    }
    print(f"logit error: emulated Q8_0 {max(errors):.2e}, plain dot {max(plain_errors):.2e} "
          f"(logits up to {result['max_abs_logit']:.1f}); KV after sparse steps: "
          f"max diff {kv_diff:.2e}; callback asks per step: {asks_per_step}")
    print(f"{'ms / token':<28}{'full':>8}{'callback':>10}{'sparse':>8}")
    print(f"{'single-token decode':<28}{ms_full:>8.2f}{ms_callback:>10.2f}{ms_sparse:>8.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
