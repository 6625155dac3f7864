"""``extractly eval``: field scoring (pure), gold reading, the reports, and the real command."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.datasets import data_dir
from extractly import EvalDataError, EvalReport, Extractor, GoldRow, evaluate, read_gold
from extractly.adapter_registry import SHIPPED_GENERAL
from extractly.errors import SchemaError
from extractly.eval_report import format_table, render_html
from extractly.evaluation import RowError, check_gold, percentile, select_schema
from extractly.options import Safeguards
from extractly.schema import load_schema
from extractly.scoring import FieldCounts, compare, normalize, score_fields, total
from extractly.validate import OutputValidator

ROOT = Path(__file__).resolve().parents[1]
SNIPS = data_dir() / "snips"
needs_snips = pytest.mark.skipif(
    not (SNIPS / "schemas.json").is_file(), reason=f"SNIPS data not found under {data_dir()}"
)

CITY: dict[str, Any] = {
    "title": "Trip",
    "type": "object",
    "properties": {
        "city": {"type": ["string", "null"]},
        "days": {"type": ["integer", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "hotel": {
            "type": ["object", "null"],
            "properties": {"name": {"type": "string"}, "stars": {"type": ["integer", "null"]}},
        },
    },
    "required": ["city"],
    "additionalProperties": False,
}


# -- scoring (pure) ----------------------------------------------------------------------------


def test_normalize_casefolds_collapses_whitespace_and_treats_empty_as_absent() -> None:
    assert normalize("  New   York\n") == normalize("new york") == "new york"
    assert normalize("STRASSE") == normalize("straße")  # casefold, not lower
    absent: Any
    for absent in (None, "", "   ", [], {}, {"a": None}):
        assert normalize(absent) is None, absent
    assert normalize(3) == normalize(3.0)
    assert normalize(True) != normalize(1)


def test_nested_values_are_compared_whole_after_normalization() -> None:
    assert normalize({"name": "The  Ritz", "stars": None}) == normalize({"name": "the ritz"})
    assert normalize({"name": "Ritz", "stars": 5}) != normalize({"name": "Ritz", "stars": 4})
    assert normalize(["a", "B"]) == normalize(["A", "b"])
    assert normalize(["a", "b"]) != normalize(["b", "a"])  # list order counts


def test_compare_counts_each_case() -> None:
    assert compare("Oslo", "oslo") == FieldCounts(tp=1, n=1)
    assert compare("Oslo", "Bergen") == FieldCounts(fp=1, fn=1, n=1)  # wrong: both
    assert compare("Oslo", None) == FieldCounts(fp=1, n=1)  # a value for an absent field
    assert compare(None, "Oslo") == FieldCounts(fn=1, n=1)  # missed
    assert compare([], None) == FieldCounts(tn=1, n=1)  # empty list = null = absent
    assert compare("", "  ") == FieldCounts(tn=1, n=1)


def test_micro_and_per_field_precision_recall_f1_by_hand() -> None:
    gold: list[dict[str, Any]] = [
        {"city": "Oslo", "days": 3, "tags": ["ski"], "hotel": None},
        {"city": "Rome", "days": None, "tags": [], "hotel": {"name": "Ritz", "stars": 5}},
        {"city": None, "days": 2, "tags": ["food", "art"], "hotel": None},
    ]
    pred: list[dict[str, Any] | None] = [
        {"city": "oslo", "days": 3.0, "tags": ["Ski"], "hotel": {"name": "Ritz"}},  # 3 TP, 1 FP
        {"city": "Milan", "days": None, "hotel": {"name": "ritz", "stars": 5}},  # 1 TP, 1 FP+FN
        None,  # a failed document: everything absent -> 2 FN
    ]
    names = list(CITY["properties"])
    per_doc = [score_fields(p, g, names) for p, g in zip(pred, gold, strict=True)]
    fields = {name: total(d[name] for d in per_doc) for name in CITY["properties"]}
    micro = total(fields.values())
    assert (micro.tp, micro.fp, micro.fn, micro.tn, micro.n) == (4, 2, 3, 4, 12)
    assert micro.precision == pytest.approx(4 / 6)
    assert micro.recall == pytest.approx(4 / 7)
    assert micro.f1 == pytest.approx(2 * (4 / 6) * (4 / 7) / (4 / 6 + 4 / 7))
    city = fields["city"]
    assert (city.tp, city.fp, city.fn, city.tn) == (1, 1, 1, 1)
    assert (city.precision, city.recall, city.f1) == (0.5, 0.5, 0.5)
    assert city.accuracy == pytest.approx(2 / 3) and city.support == 2
    hotel = fields["hotel"]  # a value where gold has none, then a nested match
    assert (hotel.tp, hotel.fp, hotel.fn, hotel.tn) == (1, 1, 0, 1)
    assert hotel.precision == 0.5 and hotel.recall == 1.0
    assert FieldCounts().f1 == 0.0 and FieldCounts().accuracy == 0.0  # no division by zero


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 95) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)


# -- gold rows and schemas (pure) --------------------------------------------------------------


def test_read_gold_accepts_gold_output_and_shared_rows_and_filters_by_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gold.jsonl"
    lines = [
        {"text": "a", "gold": {"city": "Oslo"}},
        {"text": "b", "output": {"city": None}},
        {"id": 7, "schema": "Trip", "text": "c", "gold": {"city": "Rome"}},
        {"id": 8, "schema": "Other", "text": "d", "gold": {"x": 1}},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert [r.text for r in read_gold(path)] == ["a", "b", "c", "d"]
    rows = read_gold(path, "Trip")
    assert [r.text for r in rows] == ["a", "b", "c"]
    assert rows[1].gold == {"city": None} and rows[2].id == "7" and rows[2].schema == "Trip"
    assert rows[0].where == f"{path}:1"
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(x) for x in lines[2:]))
    with pytest.raises(EvalDataError, match=r"no gold rows for schema 'Nope'.*'Other', 'Trip'"):
        read_gold(labelled, "Nope")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text": "a", "gold": {}}\n{"text": "b", gold}\n', r"gold\.jsonl:2: not JSON"),
        (b'{"text": "a"}\n', r"gold\.jsonl:1: expected an object with a string 'text'"),
        (b'[1, 2]\n', r"gold\.jsonl:1: expected an object"),
        (b'{"text": "caf\xe9", "gold": {}}\n', r"gold\.jsonl:1: not UTF-8"),
        (b"\n\n", r"gold\.jsonl: no gold rows"),
    ],
)
def test_bad_gold_lines_name_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_bytes(content)
    with pytest.raises(EvalDataError, match=message):
        read_gold(path)


def test_gold_that_does_not_fit_the_schema_is_refused_with_the_line() -> None:
    spec = load_schema(CITY, Safeguards())
    validator = OutputValidator(spec)
    check_gold(GoldRow("t", {"city": "Oslo", "tags": None}), spec, validator)  # null = absent
    with pytest.raises(EvalDataError, match=r"g\.jsonl:3: .* at /days: 'three' is not of type"):
        check_gold(GoldRow("t", {"city": "Oslo", "days": "three"}, where="g.jsonl:3"), spec,
                   validator)
    other = GoldRow("t", {"artist": "x"}, where="g.jsonl:4", schema="PlayMusic")
    with pytest.raises(EvalDataError, match=r"g\.jsonl:4: .*labelled for schema 'PlayMusic'.*"
                       r"--schema-name"):
        check_gold(other, spec, validator)


def test_select_schema_from_a_file_of_named_schemas() -> None:
    named = {"GetWeather": {"type": "object", "properties": {}}, "PlayMusic": {"type": "object"}}
    assert select_schema(named, "PlayMusic", "s.json") == {"type": "object"}
    with pytest.raises(SchemaError, match=r"holds 2 schemas \(GetWeather, PlayMusic\).*"
                       r"--schema-name"):
        select_schema(named, None, "s.json")
    with pytest.raises(SchemaError, match=r"no schema named 'Nope'; it has: GetWeather"):
        select_schema(named, "Nope", "s.json")
    assert select_schema(CITY, None, "c.json") is CITY
    assert select_schema(CITY, "Trip", "c.json") is CITY  # the name then only filters rows


# -- reports (pure) ----------------------------------------------------------------------------


def _hand_report() -> EvalReport:
    return EvalReport(
        schema="Trip <x>",
        model="m.gguf",
        adapter=None,
        n=4,
        valid=3,
        exact=1,
        fields={
            "city": FieldCounts(tp=2, fp=1, fn=1, tn=0, n=4),
            "a<b>&c": FieldCounts(tp=1, fp=0, fn=2, tn=1, n=4),
        },
        seconds=2.0,
        latencies=[0.1, 0.2, 0.3],
        prompt_tokens=[10, 20, 30],
        errors=[RowError(2, "g.jsonl:3", "x", "TruncatedOutputError", "hit max_tokens <here>")],
    )


def test_report_json_has_stable_keys_and_consistent_numbers() -> None:
    data = _hand_report().to_json()
    assert set(data) >= {
        "n", "valid_rate", "exact_match", "micro", "fields", "seconds", "docs_per_second",
        "latency_ms_mean", "latency_ms_p50", "latency_ms_p95", "prompt_tokens_mean", "adapter",
        "model", "errors",
    }
    assert data["valid_rate"] == 0.75 and data["exact_match"] == 0.25
    assert data["docs_per_second"] == 2.0
    assert data["latency_ms_mean"] == pytest.approx(200.0)
    assert data["latency_ms_p50"] == pytest.approx(200.0)
    assert data["prompt_tokens_mean"] == 20.0
    assert data["micro"]["precision"] == pytest.approx(3 / 4)
    assert data["micro"]["recall"] == pytest.approx(3 / 6)
    assert set(data["fields"]["city"]) >= {"precision", "recall", "f1", "accuracy", "support"}
    assert data["fields"]["a<b>&c"]["support"] == 3
    assert data["errors"] == [{"row": 2, "where": "g.jsonl:3", "id": "x",
                               "error": "TruncatedOutputError",
                               "message": "hit max_tokens <here>"}]
    json.dumps(data, allow_nan=False)  # plain JSON


def test_table_columns_are_aligned() -> None:
    text = format_table(_hand_report().to_json())
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("field"))
    table = lines[header : header + 5]  # header, rule, 2 fields, micro
    assert [line.split()[0] for line in table[2:]] == ["city", "a<b>&c", "(micro)"]
    ends = {len(line) for line in table}
    assert len(ends) == 1, table  # right-aligned numbers end in the same column
    assert "valid 75.0%" in text and "g.jsonl:3: TruncatedOutputError" in text


def test_html_is_self_contained_with_an_escaped_bar_chart(tmp_path: Path) -> None:
    path = _hand_report().write_html(tmp_path / "r.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "a&lt;b&gt;&amp;c" in page and "a<b>&c" not in page
    assert "Trip &lt;x&gt;" in page and "&lt;here&gt;" in page
    assert "<script" not in page and not re.search(r"(src|href)=", page)
    assert page.count("<rect") == 3 + 2 * 3  # legend + 3 bars per field
    assert render_html(_hand_report().to_json()) == page


# -- the real model ----------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extractly.cli", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )


def test_cli_bad_gold_line_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "Rain in Oslo?", "gold": {"city": "Oslo"}}\nnot json\n')
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(CITY))
    proc = _cli("eval", str(schema), str(gold))
    assert proc.returncode == 2
    assert f"{gold}:2: not JSON" in proc.stderr and "EvalDataError" in proc.stderr
    named = tmp_path / "schemas.json"
    named.write_text(json.dumps({"Trip": CITY, "Other": {"type": "object"}}))
    proc = _cli("eval", str(named), str(gold))
    assert proc.returncode == 2 and "choose one with --schema-name" in proc.stderr


@needs_snips
def test_cli_eval_on_snips_getweather_writes_json_and_html(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    proc = _cli(
        "eval", str(SNIPS / "schemas.json"), str(SNIPS / "test.jsonl"),
        "--schema-name", "GetWeather", "--limit", "6", "--json", str(out_json),
        "--html", str(out_html),
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(out_json.read_text())
    schema = json.loads((SNIPS / "schemas.json").read_text())["GetWeather"]
    assert data["schema"] == "GetWeather" and data["n"] == 6
    assert data["valid_rate"] == 1.0 and data["errors"] == []  # the decoder is constrained
    assert list(data["fields"]) == list(schema["properties"])
    for scores in [data["micro"], *data["fields"].values()]:
        for key in ("precision", "recall", "f1", "accuracy"):
            assert 0.0 <= scores[key] <= 1.0
    assert 0.0 <= data["exact_match"] <= 1.0
    assert sum(f["support"] for f in data["fields"].values()) > 0
    assert data["seconds"] > 0 and data["docs_per_second"] == pytest.approx(6 / data["seconds"])
    assert 0 < data["latency_ms_p50"] <= data["latency_ms_p95"]
    assert data["prompt_tokens_mean"] > 0
    # no tune for GetWeather: the default path, the shipped general adapter
    assert data["adapter"] == str(SHIPPED_GENERAL) and data["model"].endswith(".gguf")
    page = out_html.read_text(encoding="utf-8")
    assert "<svg" in page and all(name in page for name in schema["properties"])
    micro_f1 = f"{data['micro']['f1']:.3f}"
    assert "GetWeather: 6 documents, valid 100.0%" in proc.stdout and micro_f1 in proc.stdout


@needs_snips
def test_evaluate_records_a_failed_document_and_scores_it_invalid() -> None:
    schema = json.loads((SNIPS / "schemas.json").read_text())["GetWeather"]
    rows = read_gold(SNIPS / "test.jsonl", "GetWeather")[:1]
    with Extractor(schema) as extractor:
        report = evaluate(extractor, [*rows, {"text": "   ", "gold": rows[0].gold}])
    assert report.n == 2 and report.valid == 1 and report.valid_rate == 0.5
    assert [(e.row, e.where, e.error) for e in report.errors] == [(1, "row 1", "EmptyInputError")]
    # The failed row predicts nothing: its gold values are all misses.
    gold_filled = sum(normalize(v) is not None for v in rows[0].gold.values())
    assert report.micro.fn >= gold_filled
    assert len(report.latencies) == 1 and math.isfinite(report.latencies[0])
