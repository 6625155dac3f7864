"""Build llguidance's view of a llama.cpp vocabulary, once per model per process.

Building it walks all 262,144 Gemma tokens (about a second), so it is cached.
"""

from __future__ import annotations

import threading

import llguidance
from llguidance.llamacpp import lltokenizer_from_vocab

from .llama import LlamaModel

_cache: dict[int, llguidance.LLTokenizer] = {}
_lock = threading.Lock()


def tokenizer_for(model: LlamaModel) -> llguidance.LLTokenizer:
    with _lock:
        tok = _cache.get(id(model))
        if tok is None:
            tok = _cache[id(model)] = lltokenizer_from_vocab(model.vocab)
        return tok
