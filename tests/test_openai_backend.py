"""``backends.openai``: API-key hygiene, against a real loopback server for the key that is sent."""

from __future__ import annotations

import pytest

from extractly import BackendRequestError, OpenAIBackend
from extractly.backends.base import BackendRequest
from extractly.options import Safeguards
from extractly.schema import load_schema
from tests.support.servers import FaultyProxy

SPEC = load_schema({"type": "object", "properties": {"x": {"type": "string"}}}, Safeguards())


def test_api_key_is_sent_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("EXTRACTLY_TEST_KEY", secret)
    server = FaultyProxy(None, fail=[401], echo_auth=True)
    try:
        backend = OpenAIBackend(server.url, "m", api_key_env="EXTRACTLY_TEST_KEY")
        with pytest.raises(BackendRequestError) as info:
            backend.generate(BackendRequest(text="t", spec=SPEC))
    finally:
        server.stop()
    assert server.auth_seen == f"Bearer {secret}"
    assert info.value.status == 401 and not info.value.retryable
    assert secret not in str(info.value) and "***" in str(info.value)


def test_unset_api_key_variable_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXTRACTLY_UNSET_KEY", raising=False)
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="EXTRACTLY_UNSET_KEY")
    with pytest.raises(BackendRequestError, match="EXTRACTLY_UNSET_KEY is not set"):
        backend.generate(BackendRequest(text="t", spec=SPEC))
