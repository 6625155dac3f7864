"""Who runs the model: one module per backend behind the contract in ``base``.

``backend_from_spec`` reads the strings accepted by ``Extractor(fallback=[...])``:
``"path/to/model.gguf"`` (or ``"llama.cpp:path"``) for a local GGUF, and
``"openai:http://host/v1#model-name"`` for an OpenAI-compatible server. Backend objects pass
through unchanged.
"""

from __future__ import annotations

from typing import Any

from .base import Backend, BackendAnswer, BackendRequest, Feedback
from .llama_cpp import LlamaCppBackend
from .openai import OpenAIBackend, parse_spec


def backend_from_spec(spec: Backend | str, **local_options: Any) -> Backend:
    """The backend ``spec`` names; ``local_options`` go to a local GGUF's ``Extractor``."""
    if isinstance(spec, Backend):
        return spec
    if not isinstance(spec, str) or not spec:
        raise ValueError(
            f"a fallback backend must be a Backend, a GGUF path or 'openai:URL#model', "
            f"not {spec!r:.100}"
        )
    if spec.startswith("openai:"):
        return parse_spec(spec)
    return LlamaCppBackend(spec.removeprefix("llama.cpp:"), **local_options)


__all__ = [
    "Backend",
    "BackendAnswer",
    "BackendRequest",
    "Feedback",
    "LlamaCppBackend",
    "OpenAIBackend",
    "backend_from_spec",
]
