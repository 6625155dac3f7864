"""``extractly adapters``: the registry's slot, kept and pinned adapters (no model), and the
export -> remove -> import round trip with the golden weather adapter and ``extractly eval``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from extractly.adapter_bundle import HEADER_FILE
from extractly.adapter_registry import adapter_id, lookup, register
from extractly.adapter_store import find, format_list, pin, remove, stored_adapters, unpin
from extractly.errors import AdapterError
from extractly.model_files import resolve_model_path
from extractly.schema import load_schema
from extractly.settings import Safeguards
from tests.golden.characterize import ADAPTER, WEATHER, WEATHER_TRAIN

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_schema(WEATHER, Safeguards())
GOLD = [
    ("will it rain in Madrid on Thursday", {"city": "Madrid", "day": "Thursday",
                                            "condition": "rain"}),
    ("sunny in Boston tomorrow?", {"city": "Boston", "day": "tomorrow", "condition": "sun"}),
    ("snow?", {"city": None, "day": None, "condition": "snow"}),
    ("how windy is Seattle on Monday", {"city": "Seattle", "day": "Monday", "condition": "wind"}),
    ("any rain in Rome tonight", {"city": "Rome", "day": "tonight", "condition": "rain"}),
]
TIMING = ("seconds", "docs_per_second", "latency_ms_mean", "latency_ms_p50", "latency_ms_p95")


def _cli(registry: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXTRACTLY_ADAPTERS": str(registry), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "extractly.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300, check=False)


def _fake_adapter(tmp_path: Path, tag: str) -> Path:
    """A file standing for an adapter: the registry stores and moves bytes, never loads them."""
    path = tmp_path / f"{tag}.gguf"
    path.write_bytes(f"adapter {tag}".encode())
    return path


def test_a_new_adapter_takes_the_slot_and_a_pinned_one_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTRACTLY_ADAPTERS", str(tmp_path / "registry"))
    model = resolve_model_path(None)
    first, second, third = (_fake_adapter(tmp_path, t) for t in ("one", "two", "three"))
    register(SPEC, model, first, {"pairs": 10})
    register(SPEC, model, second, {"pairs": 20})
    in_use = lookup(SPEC, model)
    assert in_use is not None and in_use.read_bytes() == second.read_bytes()
    one = adapter_id(first.read_bytes())
    assert [(a.id, a.in_use) for a in stored_adapters()] == [
        (adapter_id(second.read_bytes()), True), (one, False)]

    pinned = pin(one[:6])  # an id prefix is enough
    assert pinned.in_use and pinned.pinned
    assert lookup(SPEC, model) == pinned.path and pinned.path.read_bytes() == first.read_bytes()
    register(SPEC, model, third, {"pairs": 30})  # a later tune does not take a pinned slot
    assert lookup(SPEC, model).read_bytes() == first.read_bytes()  # type: ignore[union-attr]
    assert len(stored_adapters()) == 3
    table = format_list(stored_adapters())
    assert "pinned" in table and "Weather" in table and "kept" in table

    unpin(one)
    register(SPEC, model, third, {"pairs": 30})  # same bytes as a kept one: now it takes the slot
    assert lookup(SPEC, model).read_bytes() == third.read_bytes()  # type: ignore[union-attr]
    with pytest.raises(AdapterError, match="names 3 adapters"):
        find("Weather")
    gone, left = remove(adapter_id(third.read_bytes()))
    assert gone.in_use and lookup(SPEC, model) is None  # nothing is picked silently
    assert sorted(a.id for a in left) == sorted(
        adapter_id(p.read_bytes()) for p in (first, second))
    with pytest.raises(AdapterError, match="no adapter 'ffff'"):
        find("ffff")


def test_export_remove_import_in_a_fresh_folder_gives_the_same_eval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = tmp_path / "weather.json"
    schema.write_text(json.dumps(WEATHER))
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": f"w{i}", "text": t, "gold": g}) + "\n"
                            for i, (t, g) in enumerate(GOLD)))
    first, fresh = tmp_path / "here", tmp_path / "there"
    monkeypatch.setenv("EXTRACTLY_ADAPTERS", str(first))
    register(SPEC, resolve_model_path(None), ADAPTER,
             {"pairs": len(WEATHER_TRAIN), "data_file": "tests/golden/characterize.py"})

    before = _eval(first, schema, gold, tmp_path / "before.json")
    listed = _cli(first, "adapters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["schema"] == "Weather" and row["in_use"] and row["pairs"] == len(WEATHER_TRAIN)
    shown = _cli(first, "adapters", "show", row["id"])
    assert json.loads(shown.stdout)["manifest"]["schema_fingerprint"] == SPEC.fingerprint

    bundle = tmp_path / "weather.extractly-adapter.zip"
    exported = _cli(first, "adapters", "export", "Weather", "-o", str(bundle))
    assert exported.returncode == 0, exported.stderr
    assert sorted(zipfile.ZipFile(bundle).namelist()) == sorted(
        [HEADER_FILE, "manifest.json", "schema.json", "adapter.gguf"])
    removed = _cli(first, "adapters", "remove", row["id"])
    assert removed.returncode == 0 and "no adapter in use" in removed.stdout, removed.stderr
    assert _cli(first, "adapters", "list", "--json").stdout == ""

    imported = _cli(fresh, "adapters", "import", str(bundle))
    assert imported.returncode == 0 and "in use" in imported.stdout, imported.stderr
    after = _eval(fresh, schema, gold, tmp_path / "after.json")
    assert before["adapter"] is not None and after["adapter"] is not None
    assert Path(after["adapter"]).read_bytes() == ADAPTER.read_bytes()
    assert _comparable(after) == _comparable(before)

    other_base = _cli(tmp_path / "third", "adapters", "import", str(bundle), "--model",
                      str(ADAPTER))  # any file that is not the base model it was tuned on
    assert other_base.returncode == 2
    assert "AdapterError" in other_base.stderr and "tuned on a base model" in other_base.stderr
    assert "--model" in other_base.stderr and "extractly tune" in other_base.stderr
    assert not (tmp_path / "third").exists()
    other_schema = _cli(tmp_path / "third", "adapters", "import", str(bundle), "--schema",
                        "schemas.podcast:PodcastEpisode")
    assert other_schema.returncode == 2 and "fingerprint" in other_schema.stderr
    assert "'Weather'" in other_schema.stderr and "'PodcastEpisode'" in other_schema.stderr


def test_a_damaged_or_foreign_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    from extractly.adapter_bundle import export_adapter, import_adapter

    monkeypatch.setenv("EXTRACTLY_ADAPTERS", str(tmp_path / "registry"))
    register(SPEC, resolve_model_path(None), ADAPTER, {"pairs": 12})
    bundle = export_adapter("Weather", tmp_path)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(damaged, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(name, data[:-1] + b"\0" if name == "adapter.gguf" else data)
    with pytest.raises(AdapterError, match="damaged"):
        import_adapter(damaged)
    with pytest.raises(AdapterError, match="not an adapter file"):
        import_adapter(ADAPTER)


def _eval(registry: Path, schema: Path, gold: Path, out: Path) -> dict[str, Any]:
    proc = _cli(registry, "eval", str(schema), str(gold), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without wall-clock figures and the registry folder."""
    return {k: v for k, v in report.items() if k not in (*TIMING, "adapter")}
