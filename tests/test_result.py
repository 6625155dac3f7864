"""``Extraction.data``, ``as_json_data`` and ``Usage.total``, and the paths that now share the
one model-to-JSON convention (run/ETL, Ray, eval, distillation log, worked examples). Pure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from extractly import DistillLog, Example, Extraction, Usage, read_distill_log
from extractly.etl.job import success_fields
from extractly.evaluation import predicted_object
from extractly.integrations.ray import ExtractlyUDF
from extractly.result import as_json_data


class Episode(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    episode_title: str = Field(alias="episodeTitle")
    number: int | None = None


EPISODE = Episode(episodeTitle="Bytes", number=4)
KEYS = ["episodeTitle", "number"]


def _usage(**counts: Any) -> Usage:
    base = {"prompt_tokens": 0, "cached_prompt_tokens": 0, "sampled_tokens": 0,
            "forced_tokens": 0, "seconds": 0.0}
    return Usage(**(base | counts))


def _extraction(value: Any) -> Extraction[Any]:
    return Extraction(
        value=value,
        backend="test",
        attempts=(),
        usage=_usage(prompt_tokens=3, seconds=0.5),
        raw_text=json.dumps(as_json_data(value), separators=(",", ":")),
    )


def test_as_json_data_uses_the_schema_property_names() -> None:
    assert list(Episode.model_json_schema()["properties"]) == KEYS
    assert as_json_data(EPISODE) == {"episodeTitle": "Bytes", "number": 4}
    assert as_json_data({"a": 1}) == {"a": 1}
    assert as_json_data([1, "x"]) == [1, "x"]


def test_extraction_data_has_the_keys_of_raw_text() -> None:
    result = _extraction(EPISODE)
    assert result.data == json.loads(result.raw_text)
    assert list(result.data) == KEYS
    assert _extraction({"city": "Oslo"}).data == {"city": "Oslo"}


def test_run_ray_and_eval_paths_write_and_score_the_same_keys() -> None:
    result = _extraction(EPISODE)
    written = success_fields(result)["output"]  # what `extractly run` writes
    scored = predicted_object(result)  # what `extractly eval` compares with the gold
    assert written == scored == result.data
    assert list(written) == KEYS

    class OneAnswer:
        def run_many(self, texts: list[str], return_exceptions: bool) -> list[Any]:
            return [result for _ in texts]

    udf = ExtractlyUDF.__new__(ExtractlyUDF)  # without building an Extractor (no model here)
    udf.text_column = "text"
    udf.extractor = OneAnswer()  # type: ignore[assignment]  # answers without a model
    batch = udf({"text": ["Episode 4 of Bytes"]})
    assert json.loads(batch["output"][0]) == written


def test_eval_scores_a_non_object_value_as_nothing_predicted() -> None:
    assert predicted_object(_extraction(["not", "an", "object"])) == {}


def test_distill_log_and_examples_use_aliases_too(tmp_path: Path) -> None:
    log = DistillLog(tmp_path / "d.jsonl")
    log.append("Episode 4 of Bytes", EPISODE, backend="b", schema_fingerprint="f")
    [(_, output)] = list(read_distill_log(log.path))
    assert list(output) == KEYS
    assert list(Example.coerce(("Episode 4 of Bytes", EPISODE)).output) == KEYS


def test_usage_total_sums_tokens_and_takes_the_given_seconds() -> None:
    parts = [
        _usage(prompt_tokens=10, cached_prompt_tokens=5, sampled_tokens=3, forced_tokens=7,
               seconds=1.0, repetition_breaks=1),
        _usage(prompt_tokens=20, cached_prompt_tokens=5, sampled_tokens=4, forced_tokens=1,
               seconds=2.0, closed_early=True),
    ]
    total = Usage.total(parts, seconds=2.5)
    assert total == Usage(
        prompt_tokens=30, cached_prompt_tokens=10, sampled_tokens=7, forced_tokens=8,
        seconds=2.5, repetition_breaks=1, closed_early=True,
    )
    assert Usage.total([], seconds=0.0) == _usage()
    assert not Usage.total(parts[:1], seconds=1.0).closed_early
