"""Build llguidance's view of a llama.cpp vocabulary, once per model per process.

Building it walks all 262,144 Gemma tokens (about a second), so it is cached. This follows
``llguidance.llamacpp.lltokenizer_from_vocab`` but uses the non-deprecated llama.cpp calls.
"""

from __future__ import annotations

import ctypes
import threading

import llguidance
import numpy as np
import numpy.typing as npt

from .llama import LlamaModel

_cache: dict[int, tuple[llguidance.LLTokenizer, npt.NDArray[np.bool_]]] = {}
_lock = threading.Lock()

_CLOSERS = frozenset(b'",]}')


def tokenizer_for(model: LlamaModel) -> llguidance.LLTokenizer:
    return _entry(model)[0]


def closing_tokens(model: LlamaModel) -> npt.NDArray[np.bool_]:
    """Tokens that start with ``"``, ``,``, ``]`` or ``}``: the ones that end a JSON value."""
    return _entry(model)[1]


def _entry(model: LlamaModel) -> tuple[llguidance.LLTokenizer, npt.NDArray[np.bool_]]:
    with _lock:
        entry = _cache.get(id(model))
        if entry is None:
            entry = _cache[id(model)] = _build(model)
        return entry


def _build(model: LlamaModel) -> tuple[llguidance.LLTokenizer, npt.NDArray[np.bool_]]:
    lib = model.lib
    vocab = model.vocab
    size = 16 * 1024
    buffer = ctypes.create_string_buffer(size + 1)
    control = lib.LLAMA_TOKEN_ATTR_CONTROL
    user_defined = lib.LLAMA_TOKEN_ATTR_USER_DEFINED
    tokens: list[bytes] = []
    for token in range(model.n_vocab):
        n = lib.llama_token_to_piece(vocab, token, buffer, size, 0, True)
        piece = buffer.raw[:n] if n > 0 else b""
        attr = lib.llama_vocab_get_attr(vocab, token)
        # Special tokens are marked with a 0xff prefix so the grammar never emits them as text.
        if attr & control or (
            attr & user_defined and piece.startswith(b"<") and piece.endswith(b">")
        ):
            piece = b"\xff" + piece
        tokens.append(piece)
    # llguidance calls llama.cpp's tokenizer through a C function pointer; llama-cpp-python only
    # exposes the loaded library as its private ``_lib``.
    tokenize = ctypes.cast(lib.llama_cpp._lib.llama_tokenize, ctypes.c_void_p).value
    tokenizer = llguidance.LLTokenizer.from_llamacpp(  # type: ignore[attr-defined]
        tokens=tokens,
        vocab_ptr=vocab,
        tokenize_fptr=tokenize,
        eos_token=int(lib.llama_vocab_eos(vocab)),
        slices=None,
    )
    closing = np.array([bool(t) and t[0] in _CLOSERS for t in tokens], dtype=bool)
    return tokenizer, closing
