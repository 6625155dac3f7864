"""``chain`` without the model: argument checks and finding the JSON in a chatty answer."""

from __future__ import annotations

import pytest

from extractly import Chain, OpenAIBackend
from extractly.chain import json_span


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
