"""``extractly view``: marks at spans (pure), and a page of 1,000 real extractions loaded in
headless Chromium: every mark's text is its span's slice, filters work, a screenshot is saved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from extractly import Extractor
from extractly.etl.job import success_fields
from extractly.highlight import Mark, highlight
from extractly.html_view import ViewDocument, render_view
from extractly.testing import FunctionBackend
from tests.golden.characterize import ADAPTER, WEATHER

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "will it rain in Madrid on Thursday",
    "sunny in Boston tomorrow?",
    "snow?",
    "🌧 will it rain in São Paulo <b>tonight</b> & tomorrow?",
    'is there snow in Denver on Friday <img src=x onerror="alert(1)">',
    "how windy is Chicago this weekend",
]
DOCUMENTS = 1000
LOW = 0.5
FALLBACK = '{"city":"Atlantis","day":null,"condition":"rain"}'
"""The stronger backend's answer: an invented city, which gets no span."""


# -- marks (pure) ------------------------------------------------------------------------------


def test_marks_nest_crossing_ones_are_left_out_and_text_is_escaped() -> None:
    text = "🌧 <b>New York</b> & York"
    york = text.index("York")
    marks = [
        Mark(text.index("New"), york + 4, "c0", {"data-field": "/city"}),
        Mark(york, york + 4, "c1", {"data-field": "/name"}),  # inside /city: nested
        Mark(york + 2, text.index("&"), "c2", {"data-field": "/x"}),  # crosses /name
        Mark(5, 5, "c3", {"data-field": "/empty"}),
    ]
    html, left_out = highlight(text, marks)
    assert sorted(m.attrs["data-field"] for m in left_out) == ["/empty", "/x"]
    assert html == ('🌧 &lt;b&gt;<mark class="c0" data-field="/city">New '
                    '<mark class="c1" data-field="/name">York</mark></mark>&lt;/b&gt; &amp; York')
    attack = [Mark(0, 1, 'c0"><script>', {"title": '"><script>alert(1)</script>'})]
    assert "<script>" not in highlight("x", attack)[0]


def test_values_without_a_span_are_listed_apart_and_escaped() -> None:
    record = {"id": "<i>1</i>", "output": {"city": "Oslo", "day": "<b>x</b>", "n": 3},
              "backend": "llama.cpp:m.gguf", "confidence": 0.2,
              "field_confidence": {"/city": 0.9, "/day": 0.2}, "spans": {"/city": [6, 10]}}
    page = render_view([ViewDocument(record, "go to Oslo")])
    assert 'data-field="/city" data-start="6" data-end="10"' in page
    apart = page.split('class="apart"')[1].split("</div>")[0]
    assert "/day" in apart and "&lt;b&gt;x&lt;/b&gt;" in apart and "/n" in apart
    assert "<i>1</i>" not in page and "<b>x</b>" not in page


# -- the page in a real browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def run_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    """The input and output of a run of 1,000 documents: real extractions of ``TEXTS`` (the
    golden weather adapter; under-confident documents escalate to a stronger backend),
    replicated with their own ids, written as ``extractly run`` writes them."""
    stronger = FunctionBackend.returning(FALLBACK, name="stronger")
    with Extractor(WEATHER, adapter=ADAPTER, fallback=[stronger], min_confidence=0.3) as ex:
        results = list(ex.run_many(TEXTS))
    folder = tmp_path_factory.mktemp("view")
    records = []
    with (folder / "input.jsonl").open("w") as inp, (folder / "output.jsonl").open("w") as out:
        for i in range(DOCUMENTS):
            ident = f"doc-{i:04d}"
            inp.write(json.dumps({"id": ident, "text": TEXTS[i % len(TEXTS)]}) + "\n")
            record = {"id": ident, **success_fields(results[i % len(TEXTS)])}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            records.append(record)
    assert {r["backend"] for r in records[: len(TEXTS)]} >= {"stronger"}, "nothing escalated"
    return folder / "input.jsonl", folder / "output.jsonl", records


def test_a_page_of_1000_documents_in_headless_chromium(
    run_files: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    inp, out, records = run_files
    page = tmp_path / "view.html"
    proc = subprocess.run(
        [sys.executable, "-m", "extractly.cli", "view", str(out), "--input", str(inp), "-o",
         str(page)], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0 and "1000 documents" in proc.stdout, proc.stderr
    texts = {r["id"]: TEXTS[i % len(TEXTS)] for i, r in enumerate(records)}
    by_id = {r["id"]: r for r in records}

    dom = _parse(_chromium("--dump-dom", page.as_uri() + f"#low={LOW}"))
    assert len(dom.articles) == DOCUMENTS and dom.scripts == 1 and dom.images == 0
    colours = {name: i for i, name in enumerate(dict.fromkeys(
        k for r in records for k, v in r["output"].items() if v is not None))}
    marks = 0
    for article in dom.articles:
        record = by_id[article.id]
        low = record["confidence"] < LOW
        assert article.hidden != low, article.id  # the filter from the URL fragment ran
        for mark in article.marks:
            start, end = int(mark.attrs["data-start"]), int(mark.attrs["data-end"])
            assert mark.text == texts[article.id][start:end]
            assert record["spans"][mark.attrs["data-field"]] == [start, end]
            assert mark.attrs["class"].split()[0] == f"c{colours[mark.field]}"
            confidence = record["field_confidence"].get(mark.attrs["data-field"])
            is_low = confidence is not None and confidence < LOW
            assert ("low" in mark.attrs["class"].split()) == is_low
            marks += 1
    assert marks == sum(len(r.get("spans", {})) for r in records) > 0
    low_count = sum(r["confidence"] < LOW for r in records)
    assert dom.shown == f"{low_count} of {DOCUMENTS} documents shown"

    escalated = _parse(_chromium("--dump-dom", page.as_uri() + "#escalated=1"))
    assert [a.id for a in escalated.articles if not a.hidden] == [
        r["id"] for r in records if r["backend"] == "stronger"]

    shot = tmp_path / "view.png"
    _chromium(f"--screenshot={shot}", "--window-size=1100,900", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")


def _chromium(*args: str) -> str:
    binary = next((b for b in ("chromium", "chromium-browser", "google-chrome")
                   if shutil.which(b)), None)
    assert binary is not None, (
        "no Chromium: install it with `sudo apt-get install -y chromium` (scripts/bootstrap.sh "
        "does it when run as root)")
    proc = subprocess.run(
        [binary, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         "--hide-scrollbars", *args], capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@dataclass
class _Mark:
    attrs: dict[str, str]
    text: str = ""

    @property
    def field(self) -> str:
        return self.attrs["data-field"].split("/")[1]


@dataclass
class _Article:
    id: str
    hidden: bool
    marks: list[_Mark] = field(default_factory=list)


class _Dom(HTMLParser):
    """The articles of a dumped page, each mark's text content (nested marks included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.articles: list[_Article] = []
        self.open_marks: list[_Mark] = []
        self.scripts = self.images = 0
        self.shown = ""
        self.in_shown = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "article":
            self.articles.append(_Article(values["data-id"], "hidden" in values))
        elif tag == "mark" and self.articles:
            mark = _Mark(values)
            self.articles[-1].marks.append(mark)
            self.open_marks.append(mark)
        self.scripts += tag == "script"
        self.images += tag == "img"
        self.in_shown = values.get("id") == "shown"

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self.open_marks:
            self.open_marks.pop()
        self.in_shown = False

    def handle_data(self, data: str) -> None:
        for mark in self.open_marks:
            mark.text += data
        if self.in_shown:
            self.shown += data


def _parse(html: str) -> _Dom:
    dom = _Dom()
    dom.feed(html)
    return dom

