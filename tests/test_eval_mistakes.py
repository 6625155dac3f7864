"""The documents ``extractly eval`` got wrong: kinds and grouping (pure), their terminal and HTML
views, and a real evaluation with the golden weather adapter."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from extractly import EvalReport, Extractor, evaluate
from extractly.eval_mistakes import INVENTED, MISSED, WRONG_VALUE, kind_of, wrong_document
from extractly.eval_report import format_table, render_html
from extractly.scoring import FieldCounts, compare, score_fields
from extractly.spans import normalize
from tests.golden.characterize import ADAPTER, WEATHER

FIELDS = ["city", "day", "condition"]
# (text, gold, predicted or None for a failed extraction)
DOCS: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("rain in Oslo on Monday", {"city": "Oslo", "day": "Monday", "condition": "rain"},
     {"city": "oslo", "day": "Monday", "condition": "rain"}),  # right (case ignored)
    ("rain in <Oslo> & Bergen tomorrow", {"city": "Bergen", "day": "tomorrow", "condition": "rain"},
     {"city": "<Oslo>", "day": None, "condition": "rain"}),  # wrong value, missed
    ("snow?", {"city": None, "day": None, "condition": "snow"},
     {"city": "Moscow", "day": None, "condition": "snow"}),  # invented
    ("wind in Lima", {"city": "Lima", "day": None, "condition": "wind"}, None),  # failed
    ("sun in Rome today", {"city": "Rome", "day": "today", "condition": "sun"},
     {"city": "Milan", "day": "today", "condition": "sun"}),  # wrong value
]  # fmt: skip


def _report() -> EvalReport:
    fields = {name: FieldCounts() for name in FIELDS}
    report = EvalReport(schema="Weather", model="m.gguf", adapter=None, n=len(DOCS), valid=4,
                        exact=1, fields=fields, seconds=1.0)
    for row, (text, gold, predicted) in enumerate(DOCS):
        counts = score_fields(predicted, gold, FIELDS)
        for name, c in counts.items():
            report.fields[name] = report.fields[name] + c
        spans = {}
        if predicted and isinstance(predicted["city"], str) and predicted["city"] in text:
            start = text.index(predicted["city"])
            spans["/city"] = (start, start + len(predicted["city"]))
        wrong = wrong_document(row, f"g.jsonl:{row + 1}", None, text, gold, predicted, counts,
                               predicted_spans=spans,
                               error=None if predicted else "TruncatedOutputError: cut")
        if wrong is not None:
            report.wrong.append(wrong)
    return report


def test_each_wrong_field_gets_its_kind() -> None:
    assert kind_of(compare("Oslo", "oslo")) is None and kind_of(compare(None, None)) is None
    assert kind_of(compare("Oslo", "Bergen")) == WRONG_VALUE
    assert kind_of(compare(None, "Bergen")) == MISSED
    assert kind_of(compare("Moscow", None)) == INVENTED


def test_report_json_groups_wrong_documents_by_field_and_kind() -> None:
    mistakes = _report().to_json()["mistakes"]
    docs = mistakes["documents"]
    assert [d["row"] for d in docs] == [1, 2, 3, 4]  # the right document is not kept
    assert mistakes["by_field"] == {
        "city": {WRONG_VALUE: [0, 3], MISSED: [2], INVENTED: [1]},
        "day": {WRONG_VALUE: [], MISSED: [0], INVENTED: []},
        "condition": {WRONG_VALUE: [], MISSED: [2], INVENTED: []},
    }
    bergen = docs[0]
    assert bergen["fields"] == {"city": WRONG_VALUE, "day": MISSED}
    text = bergen["text"]
    start, end = bergen["gold_spans"]["/city"]
    assert text[start:end] == "Bergen"
    assert text[slice(*bergen["predicted_spans"]["/city"])] == "<Oslo>"
    assert docs[2]["predicted"] is None and docs[2]["error"].startswith("TruncatedOutputError")
    json.dumps(mistakes, allow_nan=False)


def test_terminal_lists_counts_and_a_few_examples_per_field_and_kind() -> None:
    text = format_table(_report().to_json())
    assert "4 documents with wrong fields" in text
    assert "  city: wrong value x2" in text and "  city: missed x1" in text
    assert "  day: missed x1" in text and "condition: missed x1" in text
    assert 'g.jsonl:2: gold "Bergen", predicted "<Oslo>"' in text
    lines = format_table(_report().to_json()).splitlines()
    examples = [line for line in lines if line.startswith("    g.jsonl:")]
    assert len(examples) == 2 + 1 + 1 + 1 + 1  # every group here is at most 3 long


class _Marks(HTMLParser):
    """(group, css class, text content) of every mark of the mistakes section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.group: tuple[str, str] | None = None
        self.open: list[list[str]] = []
        self.marks: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "details":
            self.group = (values["data-field"], values["data-kind"])
        elif tag == "mark" and self.group is not None:
            mark = [f"{self.group[0]}/{self.group[1]}", values["class"], ""]
            self.marks.append(mark)
            self.open.append(mark)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for mark in self.open:
            mark[2] += data


def test_html_shows_wrong_documents_with_gold_and_predicted_spans_escaped() -> None:
    page = render_html(_report().to_json())
    assert "Documents it got wrong (4)" in page
    assert "city: 2 wrong value, 1 missed, 1 invented" in page
    assert "<Oslo>" not in page and "&lt;Oslo&gt;" in page and "<script" not in page
    parser = _Marks()
    parser.feed(page)
    assert ["city/wrong_value", "gold", "Bergen"] in parser.marks
    assert ["city/wrong_value", "pred", "<Oslo>"] in parser.marks
    assert ["city/wrong_value", "pred", "Milan"] not in parser.marks  # not in its text
    assert ["city/missed", "gold", "Lima"] in parser.marks
    assert re.search(r"failed: TruncatedOutputError: cut", page)


def test_a_real_evaluation_keeps_exactly_the_wrong_fields() -> None:
    rows: list[dict[str, Any]] = [{"text": t, "gold": g} for t, g in [
        ("will it rain in Madrid on Thursday", {"city": "Madrid", "day": "Thursday",
                                                "condition": "rain"}),
        ("snow?", {"city": None, "day": None, "condition": "snow"}),
        ("any rain in Rome tonight", {"city": "Rome", "day": "tonight", "condition": "rain"}),
        ("sunny in Boston tomorrow?", {"city": "Boston", "day": None, "condition": "sun"}),
    ]]
    with Extractor(WEATHER, adapter=ADAPTER) as extractor:
        report = evaluate(extractor, rows)
        predicted = [r.data for r in extractor.run_many([r["text"] for r in rows])]
    expected = {}
    for i, (row, pred) in enumerate(zip(rows, predicted, strict=True)):
        kinds = {name: kind for name in FIELDS
                 if (kind := kind_of(compare(pred.get(name), row["gold"].get(name))))}
        if kinds:
            expected[i] = kinds
    assert expected, "the adapter got everything right: pick harder rows"
    assert {w.row: w.fields for w in report.wrong} == expected
    for wrong in report.wrong:
        assert wrong.predicted is not None
        for pointer, (start, end) in wrong.predicted_spans.items():
            assert normalize(wrong.text[start:end]) == normalize(wrong.predicted[pointer[1:]])
    data = report.to_json()["mistakes"]
    grouped = sorted((data["documents"][i]["row"], name, kind)
                     for name, kinds in data["by_field"].items()
                     for kind, indexes in kinds.items() for i in indexes)
    assert grouped == sorted((row, name, kind) for row, kinds in expected.items()
                             for name, kind in kinds.items())
