"""The general adapter's training mix (``extractly.general.mix``): train splits only, whole sets
left out on request, every source's origin and license recorded, synthetic pairs per schema;
and no demo text, nor a near copy, in it (``leakage``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.datasets import data_dir
from examples.podcast import SHOW_NOTES
from extractly.general.leakage import near_copies
from extractly.general.mix import Mix, Source, combine, labelled_sets, spans, synthetic
from extractly.general.train import GeneralConfig, LeakError, train_general

SHARED = data_dir()


def _write_set(root: Path, name: str, rows: int) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    schema = {"type": "object", "properties": {"city": {"type": ["string", "null"]}}}
    (folder / "schemas.json").write_text(json.dumps({"Weather": schema}))
    for split in ("train", "test"):
        (folder / f"{split}.jsonl").write_text("".join(
            json.dumps({"id": f"{split}-{i}", "schema": "Weather",
                        "text": f"{split} text {i} in Lyon", "gold": {"city": "Lyon"}}) + "\n"
            for i in range(rows)))


def test_labelled_sets_read_train_splits_leave_sets_out_and_record_licenses(
    tmp_path: Path,
) -> None:
    _write_set(tmp_path, "alpha", 30)
    _write_set(tmp_path, "beta", 10)
    (tmp_path / "sources.json").write_text(json.dumps({
        "alpha": ["org/alpha", "0123456789abcdef", "data/*.json", "MIT", 30, 30],
        "beta": ["org/beta", "fedcba9876543210", "b.csv", "CC0-1.0", 10, 10]}))
    mix = labelled_sets(tmp_path, ["alpha", "beta"], leave_out=["beta"], per_set=20, seed=1)
    assert [s.name for s in mix.sources] == ["alpha/Weather"]
    (source,) = mix.sources
    assert len(source.pairs) == 20
    assert all(text.startswith("train text") for text, _ in source.pairs)  # never the test split
    assert source.origin == "org/alpha@0123456: data/*.json" and source.license == "MIT"
    record = mix.record()
    assert record["left_out"] == ["beta"] and record["pairs"] == 20
    assert record["sources"] == [("alpha", "org/alpha@0123456: data/*.json", "MIT")]
    again = labelled_sets(tmp_path, ["alpha"], per_set=20, seed=1)
    assert again.sources[0].pairs == source.pairs  # seeded
    with pytest.raises(FileNotFoundError, match="no train split for set 'gamma'"):
        labelled_sets(tmp_path, ["gamma"])


def test_synthetic_sources_give_pairs_per_object_schema_and_list_the_rest(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas.jsonl"
    schemas.write_text("\n".join(json.dumps(row) for row in [
        {"id": "person", "schema": {"type": "object", "properties": {
            "name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
            "required": ["name"]}},
        {"id": "tags", "schema": {"type": "array", "items": {"type": "string"}}},
        {"id": "sku", "schema": {"type": "object", "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]+$"}}}},
    ]) + "\n")
    mix = synthetic(schemas, per_schema=4, origin="test schemas", license_="MIT")
    assert [(s.name, len(s.pairs)) for s in mix.sources] == [("synthetic/person", 4)]
    assert {why.split(",")[0] for _, why in mix.skipped} == {
        "not an object schema with properties", "uses pattern"}
    both = combine(mix, synthetic(schemas, per_schema=2))
    assert both.record()["pairs"] == 6 and both.record()["pairs_by_set"] == {"synthetic": 6}


@pytest.mark.skipif(not (SHARED / "sources.json").is_file(),
                    reason=f"shared data not found under {SHARED} (set $EXTRACTLY_DATA)")
def test_the_shared_sets_leave_one_out_mix() -> None:
    mix = labelled_sets(SHARED, ["snips", "e2e", "usaddress"], leave_out=["e2e"], per_set=200)
    names = {s.name.split("/")[0] for s in mix.sources}
    assert names == {"snips", "usaddress"}
    assert mix.record()["pairs_by_set"] == {"snips": 200, "usaddress": 200}
    licenses = {s.name.split("/")[0]: s.license for s in mix.sources}
    assert licenses == {"snips": "CC0-1.0", "usaddress": "MIT"}


def test_near_copies_find_exact_and_reworded_copies_only() -> None:
    demo = ["Episode 57 of Kitchen Science with host Priya Raman. This week Priya welcomes "
            "chef Marco Bianchi to talk about fermentation and sourdough starters."]
    reworded = ("Kitchen Science, episode 58, with host Priya Raman: this week Priya welcomes "
                "chef Marco Bianchi to talk about fermentation and sourdough starters!")
    unrelated = "Host Priya Raman talks sourdough with Marco Bianchi on Kitchen Science."
    found = near_copies([demo[0], reworded, unrelated], demo)
    assert [f.candidate for f in found] == [demo[0], reworded]
    assert found[0].containment == 1.0 and 0.5 <= found[1].containment < 1.0


def test_training_refuses_a_mix_that_holds_a_demo_text(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    leaky = Mix(sources=[Source("synthetic/x", schema, ((SHOW_NOTES[1], {"title": "x"}),),
                                "test", "MIT")])
    with pytest.raises(LeakError, match="copy a protected text"):
        train_general(leaky, tmp_path / "out", GeneralConfig(), protected=SHOW_NOTES,
                      progress=None)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not (SHARED / "sources.json").is_file(),
                    reason=f"shared data not found under {SHARED} (set $EXTRACTLY_DATA)")
def test_the_recipe_mix_holds_no_demo_text_nor_a_near_copy() -> None:
    mix = combine(labelled_sets(SHARED, ["snips", "e2e", "usaddress"], per_set=None),
                  synthetic(SHARED / "jsonschemabench/maskbench_subset.jsonl", per_schema=3),
                  spans(SHARED / "jsonschemabench/maskbench_subset.jsonl", pairs=1400))
    texts = [text for source in mix.sources for text, _ in source.pairs]
    assert len(texts) > 10_000
    assert near_copies(texts, SHOW_NOTES) == []
