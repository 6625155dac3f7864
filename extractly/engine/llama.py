"""A thin, typed layer over llama.cpp's C API (through llama-cpp-python's ctypes bindings).

What it does: load a GGUF once per process, tokenize, build multi-sequence batches, decode,
hand out logits rows as numpy views without copying, and edit the KV cache per sequence.
What it does not do: sampling, constraints or prompts (see ``decoder.py``). We deliberately
avoid ``llama_cpp.Llama``: its ``__call__`` copies full-vocabulary logits every step.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import BackendError, ModelNotFoundError
from ..settings import thread_count
from .cpu_share import WATCH, quiet_idle_threads
from .sparse_head import HiddenTap, TapMode

_backend_lock = threading.Lock()
_backend_ready = False
_log_callback: Any = None  # keep the ctypes callback alive


def _llama() -> Any:
    """Import llama_cpp lazily, with quiet logs; a failed import names the fix."""
    global _backend_ready, _log_callback
    quiet_idle_threads()  # before libgomp loads with llama_cpp: it reads the policy once
    try:
        import llama_cpp
    except (ImportError, OSError) as exc:
        raise BackendError(
            f"llama-cpp-python cannot be imported ({exc}). Run scripts/bootstrap.sh "
            "(or `make demo`) to build it for this CPU."
        ) from exc
    with _backend_lock:
        if not _backend_ready:

            @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
            def _quiet(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
                if level == 4 and os.environ.get("EXTRACTLY_LLAMA_LOG"):  # GGML_LOG_LEVEL_ERROR
                    os.write(2, text)

            _log_callback = _quiet
            if not os.environ.get("EXTRACTLY_LLAMA_VERBOSE"):
                llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _backend_ready = True
    return llama_cpp


class LlamaModel:
    """Weights and vocabulary of one GGUF, shared by every context in the process.

    Models are cached for the life of the process (``load_model``) and never freed.
    """

    def __init__(self, path: Path, *, repack: bool = False) -> None:
        lib = _llama()
        if not path.is_file():
            raise ModelNotFoundError(f"no GGUF file at {path}")
        params = lib.llama_model_default_params()
        params.n_gpu_layers = 0
        # Repacked weights switch kernels (GEMV for one row, GEMM for several), so a sequence's
        # logits depend on how many others share its batch. Off removes that source of drift
        # between batched and one-by-one outputs (not every source; see the README).
        params.use_extra_bufts = repack
        self.lib = self._lib = lib
        """llama-cpp-python's ctypes bindings (the C API) this model was loaded with."""
        self.path = path
        self.ptr = lib.llama_model_load_from_file(str(path).encode(), params)
        if not self.ptr:
            raise BackendError(f"llama.cpp could not load {path} (not a GGUF, or unsupported)")
        self.vocab = lib.llama_model_get_vocab(self.ptr)
        self.n_vocab = int(lib.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(lib.llama_model_n_ctx_train(self.ptr))
        self.bos = int(lib.llama_vocab_bos(self.vocab))
        self.add_bos = bool(lib.llama_vocab_get_add_bos(self.vocab))
        buf = ctypes.create_string_buffer(256)
        lib.llama_model_desc(self.ptr, buf, 256)
        self.description = buf.value.decode(errors="replace")

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        data = text.encode("utf-8")
        capacity = len(data) + 8
        out = (ctypes.c_int32 * capacity)()
        n = self._lib.llama_tokenize(self.vocab, data, len(data), out, capacity, add_bos, False)
        if n < 0:  # pragma: no cover - capacity always suffices: a token covers >= 1 byte
            raise BackendError(f"tokenization failed ({n})")
        return list(out[:n])


_models: dict[str, LlamaModel] = {}
_models_lock = threading.Lock()


def load_model(path: Path, *, repack: bool = False) -> LlamaModel:
    """Load ``path`` once per process (per ``repack`` setting)."""
    key = f"{path.resolve()}|{repack}"
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = LlamaModel(path, repack=repack)
        return model


_adapters: dict[tuple[int, str], Any] = {}


def load_adapter(model: LlamaModel, path: Path) -> Any:
    """Load a LoRA adapter GGUF for ``model`` once per process (never freed, like models).

    The adapter's tensors are checked against the model's by llama.cpp: an adapter for another
    base model fails here with a clear error rather than giving wrong outputs later.
    """
    if not path.is_file():
        raise ModelNotFoundError(f"no adapter GGUF at {path}")
    key = (id(model), str(path.resolve()))
    with _models_lock:
        adapter = _adapters.get(key)
        if adapter is None:
            adapter = model.lib.llama_adapter_lora_init(model.ptr, str(path).encode())
            if not adapter:
                raise BackendError(
                    f"llama.cpp could not load the LoRA adapter {path} for {model.path.name} "
                    "(not an adapter GGUF, or made for another base model)"
                )
            _adapters[key] = adapter
        return adapter


@dataclass(frozen=True)
class ContextConfig:
    n_ctx: int = 8192
    """Cells in all; each of the ``n_seq_max`` sequences gets ``n_ctx / n_seq_max``."""
    n_batch: int = 512
    n_seq_max: int = 17
    n_threads: int = 0  # 0: settings.thread_count()'s default ($EXTRACTLY_THREADS, else all cores)


class LlamaContext:
    """One llama.cpp context: up to ``n_seq_max`` sequences, each with its own KV stream.

    Separate streams (``kv_unified=False``) keep a sequence's attention independent of what else
    is in the batch: with one shared cache, where a document's cells land changes the order of
    floating-point sums, and batched greedy outputs drift from one-by-one ones. (Matrix kernels
    chosen by batch size can still differ; see the README.)
    ``seq_cp`` copies the prompt prefix from sequence 0's stream. ``swa_full`` keeps Gemma's
    sliding-window layers' cache whole so the copied prefix is never evicted.
    """

    def __init__(
        self, model: LlamaModel, config: ContextConfig, *, tap: HiddenTap | None = None
    ) -> None:
        lib = self._lib = model.lib
        self.model = model
        self.config = config
        params = lib.llama_context_default_params()
        params.n_ctx = config.n_ctx
        params.n_batch = config.n_batch
        params.n_ubatch = config.n_batch
        params.n_seq_max = config.n_seq_max
        threads = self.threads = thread_count(config.n_threads or None)
        params.n_threads = threads
        params.n_threads_batch = threads
        params.swa_full = True
        params.kv_unified = False
        params.no_perf = True
        params.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.tap = tap
        """The ``cb_eval`` callback that reads (and may stop at) the final hidden state."""
        if tap is not None:
            params.cb_eval = tap.c_callback
        self.ptr = lib.llama_init_from_model(model.ptr, params)
        if not self.ptr:
            raise BackendError(
                f"llama.cpp could not create a context (n_ctx={config.n_ctx}, "
                f"n_seq_max={config.n_seq_max}); try a smaller n_ctx"
            )
        self.n_ctx = int(lib.llama_n_ctx(self.ptr))
        self.n_ctx_seq = int(lib.llama_n_ctx_seq(self.ptr))
        self.memory = lib.llama_get_memory(self.ptr)
        self._batch = lib.llama_batch_init(config.n_batch, 0, 1)
        for i in range(config.n_batch):
            self._batch.n_seq_id[i] = 1
        self.n_vocab = model.n_vocab
        self.evaluated_tokens = 0
        """Every token this context has run through the model (prompt and generated)."""
        self.passes = 0
        """``llama_decode`` calls made."""
        self.decode_seconds = 0.0
        """Wall time spent inside them (the model's share of a decode; the rest is Python)."""

    def decode(self, entries: list[tuple[int, int, int, bool]], *, tap: TapMode = "off") -> None:
        """Decode ``(token, pos, seq_id, want_logits)`` entries in one llama.cpp batch.

        ``tap`` (with a ``HiddenTap``): ``observe`` also keeps the output rows' final hidden
        states, ``stop`` keeps them and skips the output head (the logits rows are then
        meaningless)."""
        self._check_open()
        if self.tap is not None:
            self.tap.arm(tap)
        elif tap != "off":
            raise BackendError("this context has no hidden-state tap")
        n = len(entries)
        if n > self.config.n_batch:
            raise BackendError(f"batch of {n} tokens exceeds n_batch={self.config.n_batch}")
        b = self._batch
        token, pos, seq_id, logits = b.token, b.pos, b.seq_id, b.logits
        for i, (tok, p, seq, want) in enumerate(entries):
            token[i] = tok
            pos[i] = p
            seq_id[i][0] = seq
            logits[i] = want
        b.n_tokens = n
        started = time.perf_counter()
        rc = self._lib.llama_decode(self.ptr, b)
        seconds = time.perf_counter() - started
        WATCH.record(self.model.path.name, self.threads, n, seconds)
        self.passes += 1
        self.decode_seconds += seconds
        if rc != 0:
            raise BackendError(
                f"llama_decode failed with code {rc} "
                "(1: no room in the KV cache; increase n_ctx)"
            )
        self.evaluated_tokens += n

    def logits(self, batch_index: int) -> npt.NDArray[np.float32]:
        """Logits of the ``batch_index``-th entry of the last batch, as a view (no copy)."""
        ptr = self._lib.llama_get_logits_ith(self.ptr, batch_index)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def seq_rm(self, seq: int, p0: int = -1, p1: int = -1) -> None:
        self._check_open()
        self._lib.llama_memory_seq_rm(self.memory, seq, p0, p1)

    def seq_cp(self, src: int, dst: int, p0: int = -1, p1: int = -1) -> None:
        self._check_open()
        self._lib.llama_memory_seq_cp(self.memory, src, dst, p0, p1)

    def clear(self) -> None:
        self._check_open()
        self._lib.llama_memory_clear(self.memory, True)

    def set_adapter(self, adapter: Any | None, scale: float = 1.0) -> None:
        """Apply one LoRA adapter to this context (``None``: none). Cached KV cells were
        computed with the previous weights: the caller must drop them."""
        if adapter is None:
            rc = self._lib.llama_set_adapters_lora(self.ptr, None, 0, None)
        else:
            adapters = (self._lib.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(scale)
            rc = self._lib.llama_set_adapters_lora(self.ptr, adapters, 1, scales)
        if rc != 0:
            raise BackendError(f"llama.cpp could not apply the LoRA adapter (code {rc})")

    def _check_open(self) -> None:
        """A closed context's memory is freed: using it would crash the process."""
        if self.ptr is None:
            raise BackendError("this llama.cpp context is closed; build a new Extractor")

    def close(self) -> None:
        if getattr(self, "ptr", None):
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(self.ptr)
            self.ptr = None

    def __del__(self) -> None:
        if not sys.is_finalizing():  # at exit the ctypes bindings may already be gone
            self.close()
