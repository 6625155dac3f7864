"""Render an evaluation report (``EvalReport.to_json()``) for people. Pure.

Two views of the same JSON data: ``format_table`` (plain text with aligned columns for the
terminal) and ``render_html`` (one self-contained HTML page: the summary numbers, an inline SVG
horizontal bar chart of per-field precision, recall and F1, the per-field table and the errors;
no scripts, no external stylesheets or fonts, so it can be attached to a CI run and opened
anywhere). Every string taken from the data (field names, schema, error messages) is
HTML-escaped. Working from the JSON rather than the report object means a saved ``--json`` file
can be rendered again later.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

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
    return "\n".join(out)


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
"""

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
    title = f"extractly eval: {escape(str(report['schema']))}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n"
        f"<h1>{title}</h1>\n<dl class=\"summary\">{dl}</dl>\n"
        f"<h2>Per field</h2>\n{bar_chart(report['fields'])}\n{_field_table(report)}\n"
        f"{errors}\n</body></html>\n"
    )
