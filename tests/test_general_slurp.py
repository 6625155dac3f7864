"""SLURP's annotated commands as general-adapter training pairs (``extractly.general.slurp``):
one schema an intent, slot words as the annotation writes them, the unusable commands counted,
evaluation texts kept out. The rows below are written in SLURP's own format (the fields the
reader uses: ``sentence_annotation`` and ``intent``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractly.general.slurp import evaluation_texts, parse, slurp_set
from extractly.general.train import main
from extractly.schema import load_schema
from extractly.settings import Safeguards
from extractly.tune.dataset import make_pair

ROWS = {
    "devel.jsonl": [
        ("alarm_set", "wake me up at [time : six thirty] [date : tomorrow]"),
        ("alarm_set", "set an alarm for [time : noon]"),
        ("play_music", "play [artist_name : Nina Vale] on [player_setting : shuffle]"),
        ("play_music", "put some music on"),  # no slot
    ],
    "test.jsonl": [
        ("qa_currency", "how many [currency_name : euros] to the [currency_name : pound]"),
        ("play_music", "play some [music_genre : jazz]"),
        ("weather_query", "what is the weather in [place_name : Oslo]"),
        ("weather_query", "What is the weather in [place_name : oslo]"),  # a duplicate
    ],
}


def _clone(root: Path) -> Path:
    folder = root / "dataset" / "slurp"
    folder.mkdir(parents=True)
    for name, rows in ROWS.items():
        (folder / name).write_text("".join(
            json.dumps({"slurp_id": i, "intent": intent, "sentence_annotation": annotation,
                        "sentence": parse(annotation)[0].lower()}) + "\n"
            for i, (intent, annotation) in enumerate(rows)))
    return root


def test_parse_gives_the_plain_text_and_each_slot_in_order() -> None:
    text, slots = parse("wake me up at [time : six thirty] [date : tomorrow]")
    assert text == "wake me up at six thirty tomorrow"
    assert slots == [("time", "six thirty"), ("date", "tomorrow")]


def test_one_schema_an_intent_with_every_slot_it_uses_and_nulls_for_the_rest(
    tmp_path: Path,
) -> None:
    mix = slurp_set(_clone(tmp_path))
    by_name = {s.name: s for s in mix.sources}
    assert sorted(by_name) == ["slurp/alarm_set", "slurp/play_music", "slurp/weather_query"]
    music = by_name["slurp/play_music"]
    assert music.schema["required"] == ["artist_name", "music_genre", "player_setting"]
    assert dict(music.pairs) == {
        "play Nina Vale on shuffle": {"artist_name": "Nina Vale", "music_genre": None,
                                      "player_setting": "shuffle"},
        "play some jazz": {"artist_name": None, "music_genre": "jazz", "player_setting": None},
    }
    assert len(by_name["slurp/weather_query"].pairs) == 1  # the same words twice: kept once
    why = sorted(reason for _, reason in mix.skipped)
    assert why == ["a slot type filled twice", "no slot"]
    assert music.license.startswith("CC-BY-4.0") and "pswietojanski/slurp@" in music.origin
    for source in mix.sources:  # every pair is one a tune can encode
        spec = load_schema(source.schema, Safeguards())
        for text, output in source.pairs:
            make_pair(text, output, spec, where=source.name)


def test_evaluation_texts_are_kept_out_and_the_sample_is_seeded(tmp_path: Path) -> None:
    data = tmp_path / "data" / "snips"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text(json.dumps(
        {"id": "t-0", "schema": "GetWeather", "text": "What is the weather in Oslo?",
         "gold": {}}) + "\n")
    clone = _clone(tmp_path / "slurp")
    mix = slurp_set(clone, exclude=evaluation_texts(tmp_path / "data"))
    assert "slurp/weather_query" not in {s.name for s in mix.sources}
    assert ("slurp/weather_query",
            "an evaluation text: 'what is the weather in Oslo'") in mix.skipped
    one = slurp_set(clone, per_set=2, seed=3)
    assert sum(len(s.pairs) for s in one.sources) == 2
    assert one.sources == slurp_set(clone, per_set=2, seed=3).sources


def test_a_folder_without_slurp_says_where_it_looked_and_what_to_clone(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"clone https://github\.com/pswietojanski/slurp"):
        slurp_set(tmp_path)


def test_the_recipe_refuses_slurp_without_the_evaluation_sets_to_keep_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clone = _clone(tmp_path / "slurp")
    with pytest.raises(SystemExit) as stop:
        main(["--slurp", str(clone), "--synthetic", str(tmp_path / "none.jsonl"),
              "-o", str(tmp_path / "out")])
    assert stop.value.code == 2
    assert "--slurp needs --data" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evaluation_texts_refuse_a_folder_holding_no_set(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a set")
    with pytest.raises(FileNotFoundError, match="no labelled set here"):
        evaluation_texts(tmp_path)
