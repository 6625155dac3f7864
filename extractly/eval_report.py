"""Render an evaluation report (``EvalReport.to_json()``) for people. Pure.

Two views of the same JSON data: ``format_table`` (plain text with aligned columns for the
terminal: the numbers, then the wrong fields counted per field and kind with the first few
examples of each) and ``render_html`` (one self-contained HTML page: the summary numbers, an
inline SVG horizontal bar chart of per-field precision, recall and F1, the per-field table, the
failed documents, and the documents it got wrong grouped by field and kind: text, gold and
predicted value side by side, the gold value's span and the predicted one highlighted; no
scripts, no external stylesheets or fonts, so it can be attached to a CI run and opened
anywhere). Every string taken from the data (field names, schema, error messages) is
HTML-escaped. Working from the JSON rather than the report object means a saved ``--json`` file
can be rendered again later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .eval_mistakes import INVENTED, KINDS, MISSED, WRONG_VALUE
from .highlight import Mark, highlight

# (key in the report, label, colour)
_METRICS = (("precision", "precision", "#4e79a7"), ("recall", "recall", "#f28e2b"),
            ("f1", "F1", "#59a14f"))


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The headline numbers, one line each."""
    micro = report["micro"]
    return [
        f"{report['schema']}: {report['n']} documents, valid {_pct(report['valid_rate'])}, "
        f"exact match {_pct(report['exact_match'])}",
        f"micro precision {_num(micro['precision'])}  recall {_num(micro['recall'])}  "
        f"F1 {_num(micro['f1'])}  accuracy {_num(micro['accuracy'])}",
        f"{report['seconds']:.2f} s, {report['docs_per_second']:.2f} docs/s, latency ms mean "
        f"{_num(report['latency_ms_mean'], 0)} p50 {_num(report['latency_ms_p50'], 0)} "
        f"p95 {_num(report['latency_ms_p95'], 0)}, prompt tokens/doc "
        f"{_num(report['prompt_tokens_mean'], 1)}",
        f"model {report['model']}, adapter {report['adapter'] or '-'}",
    ]


def format_table(report: Mapping[str, Any]) -> str:
    """The summary, then one row per field and a micro row, columns aligned."""
    header = ("field", "support", "precision", "recall", "f1", "accuracy")
    micro = report["micro"]
    support = sum(f["support"] for f in report["fields"].values())
    rows = [
        (name, str(f["support"]), _num(f["precision"]), _num(f["recall"]), _num(f["f1"]),
         _num(f["accuracy"]))
        for name, f in report["fields"].items()
    ]
    rows.append(("(micro)", str(support), _num(micro["precision"]), _num(micro["recall"]),
                 _num(micro["f1"]), _num(micro["accuracy"])))
    width = max(len(header[0]), *(len(r[0]) for r in rows))
    cols = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(1, len(header))]

    def line(cells: tuple[str, ...]) -> str:
        rest = "  ".join(c.rjust(w) for c, w in zip(cells[1:], cols, strict=True))
        return f"{cells[0].ljust(width)}  {rest}".rstrip()

    out = [*summary_lines(report), "", line(header), line(tuple("-" * len(h) for h in header))]
    out.extend(line(r) for r in rows)
    if report["errors"]:
        out.append("")
        out.append(f"{len(report['errors'])} failed documents (scored as invalid, no fields):")
        out.extend(f"  {e['where']}: {e['error']}: {_first_line(e['message'])}"
                   for e in report["errors"][:20])
        if len(report["errors"]) > 20:
            out.append(f"  ... and {len(report['errors']) - 20} more (see the JSON report)")
    out.extend(mistake_lines(report))
    return "\n".join(out)


KIND_LABELS = {WRONG_VALUE: "wrong value", MISSED: "missed", INVENTED: "invented"}
TERMINAL_EXAMPLES = 3
"""Examples per field and kind in the terminal (all of them are in the JSON and HTML)."""


def mistake_lines(report: Mapping[str, Any], examples: int = TERMINAL_EXAMPLES) -> list[str]:
    """The wrong fields per field and kind, counted, with the first ``examples`` of each."""
    mistakes = report.get("mistakes") or {}
    docs = mistakes.get("documents") or []
    groups = [(name, kind, indexes) for name, kinds in (mistakes.get("by_field") or {}).items()
              for kind, indexes in kinds.items() if indexes]
    if not groups:
        return []
    out = ["", f"{len(docs)} documents with wrong fields (first {examples} per field and kind; "
           "all of them in --json and --html):"]
    for name, kind, indexes in groups:
        out.append(f"  {name}: {KIND_LABELS.get(kind, kind)} x{len(indexes)}")
        for i in indexes[:examples]:
            doc = docs[i]
            out.append(f"    {doc['where']}: gold {_value(_field(doc['gold'], name))}, predicted "
                       f"{_value(_field(doc['predicted'], name))}  | {_clip(doc['text'], 60)}")
    return out


def _field(obj: Mapping[str, Any] | None, name: str) -> Any:
    return None if obj is None else obj.get(name)


def _value(value: Any, limit: int = 40) -> str:
    """A field value as JSON (``null`` for none), cut to ``limit`` characters."""
    return _clip(json.dumps(value, ensure_ascii=False), limit)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(message: str, limit: int = 160) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


# -- HTML --------------------------------------------------------------------------------------

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 60em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: .2em 1.5em; }
dl.summary dt { color: #666; } dl.summary dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.micro td { font-weight: bold; }
svg text { font: 12px system-ui, sans-serif; }
table.wrong th, table.wrong td { text-align: left; vertical-align: top; }
table.wrong td.text { max-width: 30em; white-space: pre-wrap; }
mark.gold { background: #b5e48c; } mark.pred { background: #ffd166; }
mark.gold mark.pred, mark.pred mark.gold { outline: 2px solid #d62828; }
details { margin: .3em 0 .6em; } summary { cursor: pointer; }
"""

HTML_EXAMPLES = 200
"""Documents shown per field and kind on the page (the JSON has all of them)."""

_LABEL_W, _BAR_W, _BAR_H, _GAP, _TOP = 200, 420, 11, 10, 28


def bar_chart(fields: Mapping[str, Mapping[str, Any]]) -> str:
    """An inline SVG: for each field three horizontal bars (precision, recall, F1) on 0..1."""
    group = len(_METRICS) * _BAR_H + _GAP
    height = _TOP + group * len(fields) + 20
    width = _LABEL_W + _BAR_W + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="per-field precision, recall '
        'and F1">'
    ]
    for i, (_, label, color) in enumerate(_METRICS):  # legend
        x = _LABEL_W + i * 110
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="14">{label}</text>')
    for tick in (0.0, 0.5, 1.0):  # scale lines
        tx = _LABEL_W + tick * _BAR_W
        parts.append(f'<line x1="{tx:.1f}" y1="{_TOP - 4}" x2="{tx:.1f}" y2="{height - 16}" '
                     'stroke="#ccc"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 4}" text-anchor="middle">{tick:g}</text>')
    for row, (name, scores) in enumerate(fields.items()):
        y = _TOP + row * group
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 1.5 * _BAR_H + 4:.1f}" '
                     f'text-anchor="end">{escape(name)}</text>')
        for i, (metric, label, color) in enumerate(_METRICS):
            value = float(scores[metric])
            top = y + i * _BAR_H
            parts.append(
                f'<rect x="{_LABEL_W}" y="{top}" width="{value * _BAR_W:.1f}" '
                f'height="{_BAR_H - 1}" fill="{color}"><title>{escape(name)} {label} '
                f"{value:.3f}</title></rect>"
            )
            parts.append(f'<text x="{_LABEL_W + value * _BAR_W + 4:.1f}" y="{top + _BAR_H - 2}" '
                         f'font-size="10">{value:.2f}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _field_table(report: Mapping[str, Any]) -> str:
    micro = report["micro"]
    head = "".join(f"<th>{h}</th>" for h in
                   ("field", "support", "precision", "recall", "F1", "accuracy"))
    rows = [
        f"<tr><td>{escape(name)}</td><td>{f['support']}</td><td>{_num(f['precision'])}</td>"
        f"<td>{_num(f['recall'])}</td><td>{_num(f['f1'])}</td><td>{_num(f['accuracy'])}</td></tr>"
        for name, f in report["fields"].items()
    ]
    support = sum(f["support"] for f in report["fields"].values())
    rows.append(
        f'<tr class="micro"><td>micro</td><td>{support}</td><td>{_num(micro["precision"])}</td>'
        f'<td>{_num(micro["recall"])}</td><td>{_num(micro["f1"])}</td>'
        f'<td>{_num(micro["accuracy"])}</td></tr>'
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained HTML page for the report."""
    micro = report["micro"]
    summary = [
        ("documents", str(report["n"])),
        ("valid", _pct(report["valid_rate"])),
        ("exact match", _pct(report["exact_match"])),
        ("micro P / R / F1",
         f"{_num(micro['precision'])} / {_num(micro['recall'])} / {_num(micro['f1'])}"),
        ("time", f"{report['seconds']:.2f} s ({report['docs_per_second']:.2f} docs/s)"),
        ("latency ms mean / p50 / p95",
         f"{_num(report['latency_ms_mean'], 0)} / {_num(report['latency_ms_p50'], 0)} / "
         f"{_num(report['latency_ms_p95'], 0)}"),
        ("prompt tokens / document", _num(report["prompt_tokens_mean"], 1)),
        ("model", str(report["model"])),
        ("adapter", str(report["adapter"] or "-")),
    ]
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in summary)
    errors = ""
    if report["errors"]:
        items = "".join(
            f"<li><code>{escape(str(e['where']))}</code> {escape(e['error'])}: "
            f"{escape(_first_line(e['message'], 400))}</li>"
            for e in report["errors"]
        )
        errors = f"<h2>Failed documents ({len(report['errors'])})</h2><ul>{items}</ul>"
    errors += _mistakes_html(report)
    title = f"extractly eval: {escape(str(report['schema']))}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n"
        f"<h1>{title}</h1>\n<dl class=\"summary\">{dl}</dl>\n"
        f"<h2>Per field</h2>\n{bar_chart(report['fields'])}\n{_field_table(report)}\n"
        f"{errors}\n</body></html>\n"
    )


def _mistakes_html(report: Mapping[str, Any]) -> str:
    """The documents it got wrong, per field and kind: text (gold span green, predicted span
    yellow), gold and predicted value side by side."""
    mistakes = report.get("mistakes") or {}
    docs: Sequence[Mapping[str, Any]] = mistakes.get("documents") or []
    if not docs:
        return ""
    parts = [f"<h2>Documents it got wrong ({len(docs)})</h2>",
             '<p>Per field and kind of mistake. In the text, <mark class="gold">gold</mark> and '
             '<mark class="pred">predicted</mark> values where they occur; a value without a '
             "mark is not in the text.</p>"]
    for name, kinds in (mistakes.get("by_field") or {}).items():
        counts = ", ".join(f"{len(kinds.get(k, []))} {KIND_LABELS[k]}" for k in KINDS)
        if not any(kinds.get(k) for k in KINDS):
            continue
        parts.append(f"<h3>{escape(name)}: {counts}</h3>")
        for kind in KINDS:
            indexes = kinds.get(kind) or []
            if not indexes:
                continue
            rows = "".join(_wrong_row(docs[i], name) for i in indexes[:HTML_EXAMPLES])
            more = (f"<p>... and {len(indexes) - HTML_EXAMPLES} more in the JSON report</p>"
                    if len(indexes) > HTML_EXAMPLES else "")
            parts.append(
                f'<details open data-field="{escape(name)}" data-kind="{kind}"><summary>'
                f"{KIND_LABELS[kind]} ({len(indexes)})</summary>"
                '<table class="wrong"><thead><tr><th>row</th><th>text</th><th>gold</th>'
                f"<th>predicted</th></tr></thead><tbody>{rows}</tbody></table>{more}</details>"
            )
    return "\n".join(parts)


def _wrong_row(doc: Mapping[str, Any], name: str) -> str:
    text = str(doc["text"])
    marks = [
        Mark(int(span[0]), int(span[1]), css, {"data-field": pointer})
        for spans, css in ((doc.get("gold_spans") or {}, "gold"),
                           (doc.get("predicted_spans") or {}, "pred"))
        for pointer, span in spans.items()
        if pointer == f"/{name}" or pointer.startswith(f"/{name}/")
    ]
    html, _ = highlight(text, marks)
    predicted = (f"<em>failed: {escape(_first_line(str(doc['error']), 200))}</em>"
                 if doc.get("predicted") is None else
                 f"<code>{escape(_value(_field(doc['predicted'], name), 400))}</code>")
    return (f"<tr><td><code>{escape(str(doc['where']))}</code></td>"
            f'<td class="text">{html}</td>'
            f"<td><code>{escape(_value(_field(doc['gold'], name), 400))}</code></td>"
            f"<td>{predicted}</td></tr>")
