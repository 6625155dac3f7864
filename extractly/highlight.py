"""A text as HTML with ``<mark>`` elements at character spans. Pure.

``highlight(text, marks)`` escapes the text and wraps each mark's ``text[start:end]`` (Python
character offsets, as ``extractly.spans`` gives them) in one ``<mark>`` carrying the mark's
class and ``data-`` attributes, so a mark's text content is exactly its slice of the text. Marks
may nest (a span inside another, or two fields on the same words); a mark that crosses another
(starts inside it and ends after it) cannot be one element, so it is left out and returned, for
the caller to list apart. Empty or out-of-range spans are returned the same way.

Shared by the extraction view (``extractly.html_view``) and the evaluation report
(``extractly.eval_report``). Not here: colours, page layout, scripts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    css_class: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    """``data-*`` (or ``title``) attributes; names are the caller's constants, values are
    escaped here."""

    def open_tag(self) -> str:
        attrs = "".join(f' {name}="{escape(value)}"' for name, value in self.attrs.items())
        return f'<mark class="{escape(self.css_class)}"{attrs}>'


def highlight(text: str, marks: Iterable[Mark]) -> tuple[str, list[Mark]]:
    """``text`` as escaped HTML with the marks that nest; and the marks left out."""
    ordered = sorted(marks, key=lambda m: (m.start, -m.end))
    kept: list[Mark] = []
    left_out: list[Mark] = []
    open_ends: list[int] = []
    for mark in ordered:
        if not 0 <= mark.start < mark.end <= len(text):
            left_out.append(mark)
            continue
        while open_ends and open_ends[-1] <= mark.start:
            open_ends.pop()
        if open_ends and mark.end > open_ends[-1]:
            left_out.append(mark)  # crosses the enclosing mark
            continue
        open_ends.append(mark.end)
        kept.append(mark)
    out: list[str] = []
    pos = 0
    stack: list[Mark] = []
    for mark in kept:
        while stack and stack[-1].end <= mark.start:
            pos = _close(text, pos, stack.pop(), out)
        out.append(escape(text[pos : mark.start]))
        pos = mark.start
        out.append(mark.open_tag())
        stack.append(mark)
    while stack:
        pos = _close(text, pos, stack.pop(), out)
    out.append(escape(text[pos:]))
    return "".join(out), left_out


def _close(text: str, pos: int, mark: Mark, out: list[str]) -> int:
    out.append(escape(text[pos : mark.end]))
    out.append("</mark>")
    return mark.end
