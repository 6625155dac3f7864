"""The general adapter shipped in the package (issue 21): ``adapter="auto"`` uses it for a schema
with no tuned adapter, a tuned adapter wins over it, ``adapter=None`` is the plain base model,
and through it the demo's two show notes come out right (guests, dates, durations) with no
schema tune. The show notes are not in its training data (``tests/test_general_mix.py``,
``tests/test_general_groups.py``); the manifest shipped beside it says what was."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from examples.podcast import SHOW_NOTES
from extractly import Extractor
from extractly.adapter_registry import (
    GENERAL_PROMPT,
    MANIFEST_FILE,
    SHIPPED_GENERAL,
    register,
    shipped_general,
)
from extractly.errors import TuneDataError
from extractly.general.ship import ship
from extractly.model_files import file_sha256, resolve_model_path
from extractly.tune.export import read_adapter, write_adapter
from extractly.tune.start import SHIPPED, starting_adapter
from schemas.podcast import PodcastEpisode
from tests.golden.characterize import ADAPTER as WEATHER_ADAPTER
from tests.golden.characterize import WEATHER

MANIFEST = json.loads(SHIPPED_GENERAL.with_name(MANIFEST_FILE).read_text(encoding="utf-8"))


def test_the_shipped_adapter_is_small_general_and_for_the_embedded_model() -> None:
    assert SHIPPED_GENERAL.stat().st_size < 10_000_000
    assert MANIFEST["prompt"] == GENERAL_PROMPT
    assert MANIFEST["base_model_sha256"] == file_sha256(resolve_model_path(None))
    assert shipped_general(resolve_model_path(None)) == SHIPPED_GENERAL
    # every source it was trained on is recorded with its license, and the left-out sets
    mix = MANIFEST["mix"]
    assert mix["sources"] and all(len(s) == 3 and s[2] for s in mix["sources"])
    assert set(mix["left_out"]) == {"snips", "usaddress"}


def test_it_is_never_applied_to_another_model(tmp_path: Path) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF not the embedded model")
    assert shipped_general(other) is None


def test_a_schema_without_a_tune_gets_it_and_adapter_none_gets_the_base_model() -> None:
    with Extractor(PodcastEpisode) as general, Extractor(PodcastEpisode, adapter=None) as base:
        assert general.adapter_path == SHIPPED_GENERAL
        assert general.backend_name.endswith(f"+{SHIPPED_GENERAL.name}")
        assert base.adapter_path is None
        # the general prompt is the schema's instructions and fields, the base one adds examples
        assert general.prefix_tokens < base.prefix_tokens
        assert "Fields:" in general.prompt.render("")


def test_explicit_examples_still_prompt_the_base_model() -> None:
    example = {"text": SHOW_NOTES[0], "output": {"title": "Kitchen Science"}}
    with Extractor(PodcastEpisode, examples=[example]) as prompted:
        assert prompted.adapter_path is None


def test_a_tuned_adapter_wins_over_the_shipped_one(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTRACTLY_ADAPTERS", str(tmp_path / "registry"))
    with Extractor(WEATHER) as before:
        assert before.adapter_path == SHIPPED_GENERAL
        spec = before.spec
    registered = register(spec, resolve_model_path(None), WEATHER_ADAPTER, {"pairs": 1})
    with Extractor(WEATHER) as tuned:
        assert tuned.adapter_path == registered


def test_the_demo_show_notes_come_out_right_without_a_schema_tune() -> None:
    expected = [
        ("Kitchen Science", 57, "Priya Raman", ["Marco Bianchi"], 38,
         datetime.date(2025, 1, 12)),
        ("The Long Run", 203, "Jamal Carter", ["Sofia Alvarez"], 65,
         datetime.date(2023, 9, 18)),
    ]
    with Extractor(PodcastEpisode) as extractor:
        assert extractor.adapter_path == SHIPPED_GENERAL
        for text, (title, number, host, guests, minutes, day) in zip(
                SHOW_NOTES, expected, strict=True):
            episode = extractor.run(text).value
            assert (episode.title, episode.episode_number, episode.host) == (title, number, host)
            assert episode.guests == guests
            assert episode.duration_minutes == minutes
            assert episode.published == day


def test_shipping_writes_float16_tensors_equal_to_the_trained_ones(tmp_path: Path) -> None:
    shipped = read_adapter(SHIPPED_GENERAL)
    trained = tmp_path / "trained"
    # a float32 adapter as extractly.general.train writes it, from the shipped tensors
    write_adapter(trained / "adapter.gguf", shipped.tensors, alpha=shipped.alpha,
                  metadata=shipped.metadata)
    (trained / MANIFEST_FILE).write_text(json.dumps(MANIFEST), encoding="utf-8")
    again = ship(trained, tmp_path / "package")
    assert again.read_bytes() == SHIPPED_GENERAL.read_bytes()
    assert again.stat().st_size < (trained / "adapter.gguf").stat().st_size * 0.6
    (trained / MANIFEST_FILE).write_text(json.dumps({"prompt": None}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a general adapter"):
        ship(trained, tmp_path / "elsewhere")


def test_a_schema_tune_can_start_from_it_by_name(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model_sha = file_sha256(resolve_model_path(None))
    start = starting_adapter(SHIPPED, model_sha)  # extractly tune --start-from general
    assert start is not None and start.path == SHIPPED_GENERAL
    assert start.prompt_name == GENERAL_PROMPT and start.stored.rank == 16
    assert start.stored.metadata["base_model_sha256"] == model_sha
    with pytest.raises(TuneDataError, match="trained on base model"):
        starting_adapter(SHIPPED, "0" * 64)
    monkeypatch.setattr("extractly.tune.start.SHIPPED_GENERAL", tmp_path / "gone.gguf")
    with pytest.raises(TuneDataError, match="this install has no general adapter"):
        starting_adapter(SHIPPED, model_sha)
