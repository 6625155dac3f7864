"""One self-contained HTML page of extractions highlighted in their documents. Pure.

``render_view(documents)`` takes the lines ``extractly run`` writes (``id``, ``output``,
``backend``, ``confidence``, ``field_confidence``, ``spans``) joined with each document's text,
and returns a page that shows, per document: the text with every value that has a span
highlighted there (one colour per top-level field, the JSON Pointer and confidence in the
mark's ``data-`` attributes and tooltip), the values without a span listed apart (paraphrased,
invented, or numbers and booleans, which spans do not locate), a table of every value with its
confidence and span, and the backend that answered. A small inline script filters the page to
documents under a confidence threshold and to escalated ones, and marks the fields under the
threshold; the filter state lives in the URL fragment (``#low=0.5&escalated=1``), so a view can
be linked to. Everything taken from the data is escaped; the data never reaches a script, so a
document cannot inject markup or code. No network, no external files.

A document is *escalated* when its line says so (``"escalated": true``) or, without that key,
when another backend than the first one answered it; the first backend is ``first_backend``, by
default the most common ``llama.cpp:`` backend of the page (an Extractor's first backend is
always the local one).

Not here: reading files (``extractly.cli_view``), computing spans (``extractly.spans``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from .highlight import Mark, highlight
from .json_schema import escape as escape_pointer

PALETTE = ("#ffd166", "#8ecae6", "#b5e48c", "#f4a6c1", "#cdb4db", "#ffb4a2", "#a0e7e5",
           "#e9c46a", "#bde0fe", "#d8f3dc", "#fcd5ce", "#caffbf")
"""Background colours of the fields' marks, in order of first appearance (then cycling)."""

DEFAULT_LOW = 0.5


@dataclass(frozen=True)
class ViewDocument:
    record: Mapping[str, Any]
    """One line of ``extractly run``'s output."""
    text: str | None
    """The document's text, ``None`` when the input has no row with this id."""


def leaves(value: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """``(JSON Pointer, value)`` for every non-null scalar of a JSON value, in document order."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from leaves(child, f"{pointer}/{escape_pointer(str(key))}")
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from leaves(child, f"{pointer}/{index}")
    elif value is not None:
        yield pointer, value


def top_field(pointer: str) -> str:
    """The top-level field a JSON Pointer is under (``/guests/1`` -> ``guests``)."""
    return pointer.split("/")[1] if pointer.count("/") else pointer


def first_backend(records: Sequence[Mapping[str, Any]]) -> str | None:
    """The most common ``llama.cpp:`` backend among ``records`` (else the most common one)."""
    counts = Counter(str(r.get("backend", "")) for r in records)
    local = [(n, b) for b, n in counts.items() if b.startswith("llama.cpp:")]
    ranked = sorted(local or [(n, b) for b, n in counts.items()], reverse=True)
    return ranked[0][1] if ranked else None


def is_escalated(record: Mapping[str, Any], first: str | None) -> bool:
    flag = record.get("escalated")
    if isinstance(flag, bool):
        return flag
    return first is not None and str(record.get("backend", "")) != first


def render_view(
    documents: Sequence[ViewDocument],
    *,
    title: str = "extractly view",
    first: str | None = None,
    low: float = DEFAULT_LOW,
) -> str:
    """The whole page for ``documents`` (in the order given)."""
    first = first or first_backend([d.record for d in documents])
    colours: dict[str, int] = {}
    for doc in documents:
        for pointer, _ in leaves(doc.record.get("output")):
            colours.setdefault(top_field(pointer), len(colours))
    articles = [_article(i, doc, colours, first) for i, doc in enumerate(documents)]
    escalated = sum(is_escalated(d.record, first) for d in documents)
    legend = "".join(
        f'<span class="chip c{i % len(PALETTE)}">{escape(name)}</span>'
        for name, i in colours.items()
    )
    css = _STYLE + "".join(
        f".c{i} {{ background: {colour}; }}\n" for i, colour in enumerate(PALETTE)
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{css}</style></head><body>\n'
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="meta">{len(documents)} documents, {escalated} escalated (first backend: '
        f"{escape(first or '-')})</p>\n"
        f'<form id="filters" class="filters" onsubmit="return false">'
        f'<label><input type="checkbox" id="f-low"> confidence below </label>'
        f'<input type="number" id="f-threshold" min="0" max="1" step="0.05" value="{low:g}">'
        f'<label><input type="checkbox" id="f-escalated"> escalated only</label>'
        f'<span id="shown" class="meta"></span></form>\n'
        f'<p class="legend">{legend}</p>\n<main>\n{"".join(articles)}</main>\n'
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def _article(index: int, doc: ViewDocument, colours: Mapping[str, int], first: str | None) -> str:
    record = doc.record
    output = record.get("output")
    spans = record.get("spans") or {}
    confidences = record.get("field_confidence") or {}
    marks: list[Mark] = []
    rows: list[str] = []
    apart: list[str] = []
    values = dict(leaves(output))
    for pointer, value in values.items():
        colour = f"c{colours[top_field(pointer)] % len(PALETTE)}"
        conf = confidences.get(pointer)
        conf_text = "-" if conf is None else f"{float(conf):.2f}"
        span = spans.get(pointer)
        where = "no span"
        if doc.text is not None and isinstance(span, list | tuple) and len(span) == 2:
            start, end = int(span[0]), int(span[1])
            where = f"{start}-{end}"
            marks.append(Mark(start, end, colour, {
                "data-field": pointer,
                "data-start": str(start),
                "data-end": str(end),
                "data-confidence": "" if conf is None else f"{float(conf):.6f}",
                "title": f"{pointer} = {value} (confidence {conf_text})",
            }))
        else:
            apart.append(_chip(pointer, value, colour, f"confidence {conf_text}", conf))
        rows.append(
            f'<tr><td><span class="chip {colour}">{escape(pointer)}</span></td>'
            f"<td>{escape(_show(value))}</td><td>{conf_text}</td><td>{where}</td></tr>"
        )
    if doc.text is None:
        body = '<p class="missing">the input has no row with this id: the text is not shown</p>'
    else:
        html, left_out = highlight(doc.text, marks)
        body = f'<p class="text">{html}</p>'
        for mark in left_out:  # crossing another value's span: listed apart, with its span
            pointer = mark.attrs["data-field"]
            apart.append(_chip(pointer, values[pointer], mark.css_class,
                               f"at {mark.start}-{mark.end}, crosses another value"))
    confidence = record.get("confidence")
    conf_attr = "" if confidence is None else f"{float(confidence):.6f}"
    escalated = is_escalated(record, first)
    badge = ' <span class="badge">escalated</span>' if escalated else ""
    apart_html = (f'<div class="apart">not located in the text: {"".join(apart)}</div>'
                  if apart else "")
    table = ("<table><thead><tr><th>value at</th><th>value</th><th>confidence</th>"
             f"<th>span</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return (
        f'<article class="doc" id="doc-{index}" data-id="{escape(str(record.get("id", "")))}" '
        f'data-confidence="{conf_attr}" data-escalated="{int(escalated)}">'
        f'<header><b>{escape(str(record.get("id", index)))}</b> · '
        f'{escape(str(record.get("backend", "?")))} · confidence '
        f"{'-' if confidence is None else f'{float(confidence):.2f}'}{badge}</header>\n"
        f"{body}\n{apart_html}\n{table}</article>\n"
    )


def _chip(pointer: str, value: Any, colour: str, note: str, conf: Any = None) -> str:
    """A value listed apart from the text: its pointer (coloured), value and a note."""
    conf_attr = "" if conf is None else f' data-confidence="{float(conf):.6f}"'
    return (f'<span class="chip {colour}" data-field="{escape(pointer)}"{conf_attr}>'
            f"{escape(pointer)}</span> {escape(_show(value))} ({escape(note)}) ")


def _show(value: Any) -> str:
    """A value as JSON would write it, strings without quotes."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


_STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 70em; }
h1 { font-size: 1.3em; margin: 0 0 .3em; } .meta { color: #666; }
.filters { position: sticky; top: 0; background: #fff; padding: .5em 0; z-index: 1;
           border-bottom: 1px solid #ddd; display: flex; gap: 1em; align-items: center; }
.filters input[type=number] { width: 4.5em; }
.legend { margin: .6em 0; }
article.doc { border: 1px solid #ddd; border-radius: 6px; padding: .6em .9em; margin: .8em 0; }
article.doc header { color: #555; font-size: .9em; }
.text { white-space: pre-wrap; font-size: 1.05em; margin: .4em 0; }
mark { border-radius: 3px; padding: 0 1px; color: inherit; }
mark.low, .chip.low { outline: 2px dashed #d62828; }
.chip { border-radius: 3px; padding: 0 4px; font-family: ui-monospace, monospace;
        font-size: .85em; }
.apart { font-size: .9em; color: #555; margin: .3em 0; }
.badge { background: #d62828; color: #fff; border-radius: 3px; padding: 0 5px; font-size: .85em; }
.missing { color: #a00; }
table { border-collapse: collapse; font-size: .85em; margin-top: .3em; }
th, td { padding: .1em .7em; border-bottom: 1px solid #eee; text-align: left; }
"""

_SCRIPT = """
(function () {
  var docs = document.querySelectorAll('article.doc');
  var marks = document.querySelectorAll('mark[data-confidence], .apart .chip[data-confidence]');
  var low = document.getElementById('f-low');
  var threshold = document.getElementById('f-threshold');
  var escalated = document.getElementById('f-escalated');
  var shown = document.getElementById('shown');
  var state = new URLSearchParams(location.hash.slice(1));
  if (state.has('low')) { low.checked = true; threshold.value = state.get('low'); }
  if (state.get('escalated') === '1') { escalated.checked = true; }
  function below(value, limit) {
    return value !== '' && parseFloat(value) < limit;
  }
  function apply() {
    var limit = parseFloat(threshold.value);
    var count = 0;
    for (var i = 0; i < docs.length; i++) {
      var d = docs[i];
      var ok = (!low.checked || below(d.dataset.confidence, limit)) &&
               (!escalated.checked || d.dataset.escalated === '1');
      d.hidden = !ok;
      if (ok) { count++; }
    }
    for (var j = 0; j < marks.length; j++) {
      marks[j].classList.toggle('low', below(marks[j].dataset.confidence, limit));
    }
    shown.textContent = count + ' of ' + docs.length + ' documents shown';
    var parts = [];
    if (low.checked) { parts.push('low=' + encodeURIComponent(threshold.value)); }
    if (escalated.checked) { parts.push('escalated=1'); }
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname);
  }
  low.addEventListener('change', apply);
  threshold.addEventListener('input', apply);
  escalated.addEventListener('change', apply);
  apply();
})();
"""
