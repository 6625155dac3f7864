"""End-to-end extraction with the real embedded model."""

from __future__ import annotations

import json
import threading
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from extractly import (
    BackendError,
    Extractor,
    TruncatedOutputError,
    UnsupportedSchemaError,
    extract,
    extract_many,
)
from extractly.adapter_registry import SHIPPED_GENERAL
from extractly.prompt import compact_json
from schemas.podcast import PodcastEpisode
from tests.support.texts import SHOW_NOTES


def test_podcast_episode_is_extracted_and_validated(podcast: Extractor[PodcastEpisode]) -> None:
    result = podcast.run(SHOW_NOTES[0])
    assert isinstance(result.value, PodcastEpisode)
    # no tune for the schema: the general adapter shipped in the package (the default path)
    assert result.backend == f"llama.cpp:gemma-3-270m-q4_k_m.gguf+{SHIPPED_GENERAL.name}"
    assert len(result.attempts) == 1 and result.attempts[0].error is None
    # Compact JSON in schema order, exactly as decoded.
    assert result.raw_text == compact_json(json.loads(result.raw_text))
    assert list(json.loads(result.raw_text)) == list(PodcastEpisode.model_fields)
    u = result.usage
    assert u.prompt_tokens > 10 and u.cached_prompt_tokens == podcast.prefix_tokens
    assert u.sampled_tokens > 0 and u.forced_tokens > 0 and u.seconds > 0
    # The wiring (prompt, adapter, decode) is right enough to copy a number.
    assert result.value.episode_number == 42


def test_extract_reuses_one_extractor_per_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    init = Extractor.__init__

    def counting(self: Extractor[Any], *args: Any, **kwargs: Any) -> None:
        built.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(Extractor, "__init__", counting)
    first = extract(SHOW_NOTES[1], PodcastEpisode, max_tokens=120)
    second = extract(SHOW_NOTES[1], PodcastEpisode, max_tokens=120)
    assert first == second
    assert list(extract_many(SHOW_NOTES[1:2], PodcastEpisode, max_tokens=120)) == [first]
    assert len(built) == 1  # one Extractor for the schema and options, reused


def test_run_many_keeps_input_order_and_matches_run(podcast: Extractor[PodcastEpisode]) -> None:
    one_by_one = [podcast.run(t).value for t in SHOW_NOTES]
    assert [r.value for r in podcast.run_many(SHOW_NOTES)] == one_by_one
    batched = list(podcast.run_many(SHOW_NOTES, batch_size=3))
    assert [r.raw_text for r in batched] == [podcast.run(t).raw_text for t in SHOW_NOTES]


def test_threads_get_the_same_results_as_sequential_calls(
    podcast: Extractor[PodcastEpisode],
) -> None:
    expected = [podcast.run(t).value for t in SHOW_NOTES[:2]]
    got: dict[int, PodcastEpisode] = {}

    def work(i: int) -> None:
        got[i] = podcast.run(SHOW_NOTES[i % 2]).value

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [got[i] for i in range(4)] == expected * 2


def test_prefix_is_evaluated_once_per_extractor() -> None:
    with Extractor(PodcastEpisode) as ex:
        before = ex.evaluated_tokens
        results = [ex.run(t) for t in SHOW_NOTES]
        evaluated = ex.evaluated_tokens - before
        assert ex.prefix_evaluations == 1
        per_doc = sum(r.usage.prompt_tokens + r.usage.output_tokens for r in results)
        assert (
            sum(r.usage.prompt_tokens for r in results) <= evaluated - ex.prefix_tokens <= per_doc
        )


def test_batched_runs_evaluate_the_prefix_once_and_copy_it_to_each_stream() -> None:
    with Extractor(PodcastEpisode, batch_size=3) as ex:
        results = list(ex.run_many(SHOW_NOTES)) + list(ex.run_many(SHOW_NOTES[::-1]))
        assert ex.prefix_evaluations == 1
        per_doc = sum(r.usage.prompt_tokens + r.usage.output_tokens for r in results)
        assert ex.evaluated_tokens - ex.prefix_tokens <= per_doc


class Address(BaseModel):
    city: str = Field(max_length=40)
    zip_code: str | None = Field(default=None, pattern=r"^[0-9]{5}$")


class Order(BaseModel):
    status: Literal["open", "shipped", "cancelled"]
    quantity: int = Field(ge=1, le=99)
    price: float = Field(ge=0, le=10_000)
    ship_to: Address
    items: list[str] = Field(max_length=3)
    gift: bool | None = None


def test_nested_models_literals_bounds_and_patterns_are_enforced() -> None:
    text = "Order shipped: 3 lamps at 19.99 each to Springfield 62704. Not a gift."
    with Extractor(Order) as ex:
        order = ex.run(text).value
    assert isinstance(order, Order)
    assert order.status in ("open", "shipped", "cancelled") and 1 <= order.quantity <= 99


def test_json_schema_dict_gives_a_dict_that_validates() -> None:
    schema = {
        "type": "object",
        "title": "Meeting",
        "properties": {
            "topic": {"type": "string", "maxLength": 60},
            "day": {"type": "string", "format": "date"},
            "attendees": {"type": "integer", "minimum": 0, "maximum": 500},
            "room": {"enum": ["A1", "B2", "C3"]},
        },
        "required": ["topic", "day"],
    }
    with Extractor(schema) as ex:
        value = ex.run("Budget review on 2024-11-02 in room B2 with 12 people.").value
    assert isinstance(value, dict)
    jsonschema.validate(
        value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_unenforceable_keyword_is_refused_at_build_naming_field_and_keyword() -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
    }
    with pytest.raises(UnsupportedSchemaError, match=r"tags.*uniqueItems") as info:
        Extractor(schema)
    assert info.value.feature == "uniqueItems" and info.value.path == "/properties/tags"
    with Extractor(schema, allow_post_checks=True) as ex:
        assert ex.post_checked == ("uniqueItems",)


def test_a_closed_extractor_refuses_work_instead_of_crashing() -> None:
    ex = Extractor(PodcastEpisode)
    ex.close()
    with pytest.raises(BackendError, match="closed"):
        ex.run(SHOW_NOTES[0])


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max_token"):
        Extractor(PodcastEpisode, max_token=5)  # type: ignore[call-overload]


def test_output_cut_by_max_tokens_is_reported_as_truncated() -> None:
    with Extractor(PodcastEpisode, max_tokens=6) as ex, pytest.raises(TruncatedOutputError) as info:
        ex.run(SHOW_NOTES[0])
    assert info.value.raw_text.startswith('{"title":"')
    assert info.value.attempts and info.value.attempts[0].error
