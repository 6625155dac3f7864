"""Backends, chain and distillation log without the model: spec strings, answer parsing, the
log's line format under concurrent writers, and API-key hygiene against a real loopback server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from extractly import BackendRequestError, Chain, DistillLog, OpenAIBackend, read_distill_log
from extractly.backends import backend_from_spec
from extractly.backends.base import BackendRequest
from extractly.chain import json_span
from extractly.options import Safeguards
from extractly.schema import load_schema
from tests.support.servers import FaultyProxy

SPEC = load_schema({"type": "object", "properties": {"x": {"type": "string"}}}, Safeguards())


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


def test_json_span_finds_the_object_in_chatty_answers() -> None:
    assert json_span('Sure! ```json\n{"x": "a}"}\n``` done') == '{"x": "a}"}'
    assert json_span("no json here") == "no json here"
    assert json_span('{"x": ') == '{"x": '


def test_chain_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Chain([])
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m")
    with pytest.raises(ValueError, match="min_confidence"):
        Chain([backend], min_confidence=1.5)
    with pytest.raises(ValueError, match="deadline"):
        Chain([backend], deadline=0)


def test_distill_log_lines_stay_whole_under_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "distill.jsonl"
    logs = [DistillLog(path), DistillLog(path)]  # two writers, as two processes would be
    long_text = "ü" * 5000

    def write(log: DistillLog, n: int) -> None:
        for i in range(50):
            log.append(f"{n}:{i} {long_text}", {"i": i}, backend="b", schema_fingerprint="f")

    threads = [threading.Thread(target=write, args=(logs[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pairs = list(read_distill_log(path))
    assert len(pairs) == 200
    expected = {f"{n}:{i}" for n in range(4) for i in range(50)}
    assert {text.split(" ")[0] for text, _ in pairs} == expected
    row = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(row) == {"text", "output", "backend", "schema_fingerprint"}


def test_distill_log_reader_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "output": {}}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        list(read_distill_log(path))


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
