"""``backends.backend_from_spec``: the backend strings ``fallback=[...]`` accepts (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractly import OpenAIBackend
from extractly.backends import backend_from_spec


def test_openai_spec_strings() -> None:
    backend = backend_from_spec(
        "openai:http://127.0.0.1:8080/v1#qwen;api=completions;api_key_env=MY_KEY;timeout=5"
    )
    assert isinstance(backend, OpenAIBackend)
    assert backend.base_url == "http://127.0.0.1:8080/v1"
    assert (backend.model, backend.api) == ("qwen", "completions")
    assert (backend.api_key_env, backend.timeout) == ("MY_KEY", 5.0)
    assert backend.name == "openai:http://127.0.0.1:8080/v1#qwen"
    with pytest.raises(ValueError, match="openai:http"):
        backend_from_spec("openai:127.0.0.1/v1")
    with pytest.raises(ValueError, match="unknown parameter 'key=abc'"):
        backend_from_spec("openai:http://h/v1#m;key=abc")
    with pytest.raises(ValueError, match="GGUF path"):
        backend_from_spec("")


def test_missing_gguf_in_fallback_fails_at_once(tmp_path: Path) -> None:
    from extractly import ModelNotFoundError

    with pytest.raises(ModelNotFoundError):
        backend_from_spec(str(tmp_path / "nope.gguf"))
