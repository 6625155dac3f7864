"""``extractly.general.train`` end to end on a tiny mix: the real tokenizer encodes each pair
behind its schema's zero-shot prompt, the real LoRA trains for two steps, and an Extractor given
the adapter sends the schema's instructions (not the bare text a schema adapter gets) and
returns a valid object. Too short to teach anything: accuracy lives in benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractly import Extractor
from extractly.adapter_registry import GENERAL_PROMPT, adapter_prompt
from extractly.general.mix import synthetic
from extractly.general.train import GeneralConfig, train_general
from tests.support.deliveries import DELIVERY_SCHEMA

pytest.importorskip("peft")

PERSON = {"title": "Person", "type": "object", "properties": {
    "name": {"type": "string"}, "city": {"type": ["string", "null"]},
    "age": {"type": ["integer", "null"], "minimum": 0, "maximum": 120}}, "required": ["name"]}


def test_a_general_adapter_trains_and_is_used_with_the_schema_prompt(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas.jsonl"
    schemas.write_text("".join(json.dumps({"id": i, "schema": s}) + "\n"
                               for i, s in (("person", PERSON), ("delivery", DELIVERY_SCHEMA))))
    mix = synthetic(schemas, per_schema=10, origin="test", license_="MIT")
    adapter = train_general(mix, tmp_path / "general",
                            GeneralConfig(validation=4, max_steps=2, batch_size=4),
                            progress=None)
    manifest = json.loads((tmp_path / "general/manifest.json").read_text())
    assert manifest["prompt"] == GENERAL_PROMPT == adapter_prompt(adapter)
    assert manifest["mix"]["pairs"] == 20 and manifest["pairs_trained"] == 16
    assert manifest["metrics"]["steps"] == 2

    text = "Sven Okafor, 41, moved to Bergen last spring."
    with Extractor(PERSON, adapter=adapter) as general, \
            Extractor(PERSON, adapter=None) as base:
        tuned = general.run(text)
        plain = base.run(text)
    assert set(tuned.value) >= {"name"}  # valid: the constraint still holds
    # the prompt carried the field list (the shared prefix, cached): the same prompt as the
    # base model's zero-shot one, far more than the ~20 tokens of the text alone
    sent = tuned.usage.prompt_tokens + tuned.usage.cached_prompt_tokens
    assert tuned.usage.cached_prompt_tokens > 30 and sent > 2 * tuned.usage.prompt_tokens
    assert sent == plain.usage.prompt_tokens + plain.usage.cached_prompt_tokens
