"""``load_schema_ref``: a schema named on the command line or in a Ray job. Pure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractly.errors import SchemaError
from extractly.schema_ref import load_schema_ref
from schemas.podcast import PodcastEpisode


def test_a_module_class_and_a_json_file_resolve(tmp_path: Path) -> None:
    assert load_schema_ref("schemas.podcast:PodcastEpisode") is PodcastEpisode
    path = tmp_path / "city.json"
    path.write_text(json.dumps({"type": "object"}))
    assert load_schema_ref(str(path)) == {"type": "object"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_such_module:Thing", "cannot import no_such_module"),
        ("schemas.podcast:Nothing", "is not a Pydantic model class or a JSON Schema dict"),
        ("podcast", "SCHEMA must be module:Class or a .json file"),
        ("missing.json", "cannot read JSON Schema from missing.json"),
    ],
)
def test_bad_references_are_schema_errors(ref: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        load_schema_ref(ref)
