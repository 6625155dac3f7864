"""``extractly.general.train`` end to end on a tiny mix: the real tokenizer encodes each pair
behind its schema's zero-shot prompt, the real LoRA trains for two steps, and an Extractor given
the adapter sends the schema's instructions (not the bare text a schema adapter gets) and
returns a valid object; a schema tune started from it (``--start-from``) begins at its weights
and keeps its prompt. Too short to teach anything: accuracy lives in benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from extractly import Extractor
from extractly.adapter_registry import GENERAL_PROMPT, adapter_prompt
from extractly.errors import TuneDataError
from extractly.general.mix import synthetic
from extractly.general.train import GeneralConfig, train_general
from extractly.model_files import file_sha256
from extractly.tune import TuneConfig, tune
from extractly.tune.export import read_adapter
from tests.support.deliveries import DELIVERY_SCHEMA

pytest.importorskip("peft")

PERSON = {"title": "Person", "type": "object", "properties": {
    "name": {"type": "string"}, "city": {"type": ["string", "null"]},
    "age": {"type": ["integer", "null"], "minimum": 0, "maximum": 120}}, "required": ["name"]}


@pytest.fixture(scope="module")
def general(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("general")
    schemas = tmp / "schemas.jsonl"
    schemas.write_text("".join(json.dumps({"id": i, "schema": s}) + "\n"
                               for i, s in (("person", PERSON), ("delivery", DELIVERY_SCHEMA))))
    mix = synthetic(schemas, per_schema=10, origin="test", license_="MIT")
    return train_general(mix, tmp / "general",
                         GeneralConfig(validation=4, max_steps=2, batch_size=4), progress=None)


def test_a_general_adapter_trains_and_is_used_with_the_schema_prompt(general: Path) -> None:
    adapter = general
    manifest = json.loads(adapter.with_name("manifest.json").read_text())
    assert manifest["prompt"] == GENERAL_PROMPT == adapter_prompt(adapter)
    assert manifest["mix"]["pairs"] == 20 and manifest["pairs_trained"] == 16
    assert manifest["metrics"]["steps"] == 2

    text = "Sven Okafor, 41, moved to Bergen last spring."
    with Extractor(PERSON, adapter=adapter) as zero_shot, \
            Extractor(PERSON, adapter=None) as base:
        tuned = zero_shot.run(text)
        plain = base.run(text)
    assert set(tuned.value) >= {"name"}  # valid: the constraint still holds
    # the prompt carried the field list (the shared prefix, cached): the same prompt as the
    # base model's zero-shot one, far more than the ~20 tokens of the text alone
    sent = tuned.usage.prompt_tokens + tuned.usage.cached_prompt_tokens
    assert tuned.usage.cached_prompt_tokens > 30 and sent > 2 * tuned.usage.prompt_tokens
    assert sent == plain.usage.prompt_tokens + plain.usage.cached_prompt_tokens


PEOPLE = [("Sven Okafor, 41, moved to Bergen last spring.", {"name": "Sven Okafor", "age": 41,
                                                            "city": "Bergen"}),
          ("Ada Park is 29.", {"name": "Ada Park", "age": 29, "city": None}),
          ("Leila Haddad lives in Lyon.", {"name": "Leila Haddad", "age": None, "city": "Lyon"}),
          ("Our guest, Omar Silva (63), flew in from Quito.",
           {"name": "Omar Silva", "age": 63, "city": "Quito"}),
          ("Bruno Kaur runs the bakery in Porto.", {"name": "Bruno Kaur", "age": None,
                                                    "city": "Porto"}),
          ("Mei Tanaka, 35.", {"name": "Mei Tanaka", "age": 35, "city": None})] * 2


def test_a_schema_tune_started_from_the_general_adapter_begins_at_its_weights_and_prompt(
        general: Path, tmp_path: Path) -> None:
    train = tmp_path / "people.jsonl"
    train.write_text("".join(json.dumps({"text": t, "output": o}) + "\n" for t, o in PEOPLE))
    # a learning rate of ~0: the tune's first (and only) step leaves the weights where it began
    config = TuneConfig(max_steps=1, batch_size=4, learning_rate=1e-12, start_from=str(general),
                        held_out_report=False)
    result = tune(PERSON, train, out_dir=tmp_path / "out", config=config,
                  register_adapter=False, progress=None)
    began, ended = read_adapter(general), read_adapter(result.adapter)
    assert set(began.tensors) == set(ended.tensors) and ended.rank == began.rank == 16
    lora_b = [n for n in began.tensors if n.endswith(".lora_b")]
    assert any(np.abs(began.tensors[n]).max() > 0 for n in lora_b)  # not PEFT's zero init
    for name, value in began.tensors.items():
        np.testing.assert_allclose(ended.tensors[name], value, atol=1e-6)
    assert result.manifest["prompt"] == GENERAL_PROMPT == adapter_prompt(result.adapter)
    assert result.manifest["started_from"]["sha256"] == file_sha256(general)
    assert ended.alpha == began.alpha and ended.metadata["prompt"] == GENERAL_PROMPT

    text = "Sven Okafor, 41, moved to Bergen last spring."
    with Extractor(PERSON, adapter=result.adapter) as tuned:
        answer = tuned.run(text)
    assert answer.usage.cached_prompt_tokens > 30  # the field list went with the text


def test_a_tune_refuses_to_start_from_a_file_it_cannot_start_from(general: Path,
                                                                   tmp_path: Path) -> None:
    train = tmp_path / "people.jsonl"
    train.write_text("".join(json.dumps({"text": t, "output": o}) + "\n" for t, o in PEOPLE))
    foreign = _copy_adapter(general, tmp_path / "foreign.gguf", base_model_sha256="0" * 64)
    not_adapter = tmp_path / "notes.gguf"
    not_adapter.write_text("not a gguf")
    for start, why in ((tmp_path / "missing.gguf", "no such file"),
                       (not_adapter, "not a readable GGUF"),
                       (foreign, "trained on base model 000000000000")):
        with pytest.raises(TuneDataError, match=why):
            tune(PERSON, train, out_dir=tmp_path / "out", progress=None,
                 config=TuneConfig(max_steps=1, start_from=str(start)), register_adapter=False)
        assert not (tmp_path / "out").exists()


def _copy_adapter(adapter: Path, to: Path, **metadata: str) -> Path:
    """``adapter``'s tensors and alpha under other ``extractly.*`` metadata."""
    import gguf

    stored = read_adapter(adapter)
    writer = gguf.GGUFWriter(str(to), arch="gemma3")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", stored.alpha)
    for key, text in (stored.metadata | metadata).items():
        writer.add_string(f"extractly.{key}", text)
    for name, tensor in stored.tensors.items():
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return to
