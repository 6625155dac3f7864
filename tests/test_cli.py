"""The command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from schemas.podcast import PodcastEpisode

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extractly.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_extract_with_a_pydantic_schema_prints_valid_json() -> None:
    proc = _cli("extract", "schemas.podcast:PodcastEpisode", "Episode 4 of Bytes with host Li Na.")
    assert proc.returncode == 0, proc.stderr
    PodcastEpisode.model_validate_json(proc.stdout)


def test_extract_with_a_json_schema_file_reads_stdin(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 30}},
        "required": ["city"],
    }
    path = tmp_path / "city.json"
    path.write_text(json.dumps(schema))
    proc = _cli("extract", str(path), "-", stdin="I flew to Oslo last week.")
    assert proc.returncode == 0, proc.stderr
    assert isinstance(json.loads(proc.stdout)["city"], str)


def test_bad_schema_reference_is_a_clear_error() -> None:
    proc = _cli("extract", "no_such_module:Thing", "text")
    assert proc.returncode == 2
    assert "SchemaError" in proc.stderr and "no_such_module" in proc.stderr
