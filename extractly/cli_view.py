"""``extractly view OUTPUT.jsonl --input INPUT -o view.html``: the extraction view of a run.

Reads the lines ``extractly run`` wrote and the input it read (the same ``--text-field`` and
``--id-field``, so each line's id finds its row the way ``run`` numbered it), and writes the
self-contained page of ``extractly.html_view``. A malformed output line is an error naming
``file:line``; an output id the input lacks is shown without its text, never dropped.

Not here: the page itself (``extractly.html_view``), extraction.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .etl.rows import read_rows
from .html_view import DEFAULT_LOW, ViewDocument, render_view


def add_parser(sub: Any) -> None:
    """Register ``view`` on the ``extractly`` parser's subparsers."""
    view = sub.add_parser(
        "view",
        help="an HTML page of extractions highlighted in their texts",
        description="Write one self-contained HTML page: each document's text with its "
        "extracted values highlighted at their spans, values without a span apart, backend "
        "and confidence per field, filters for low confidence and escalated documents.",
    )
    view.set_defaults(handler=_run)
    view.add_argument("output", type=Path, help="the .jsonl `extractly run` wrote")
    view.add_argument("--input", type=Path, required=True,
                      help="the input `extractly run` read (.jsonl, .csv or a .txt folder)")
    view.add_argument("-o", "--out", type=Path, required=True, help="the .html to write")
    view.add_argument("--text-field", default="text")
    view.add_argument("--id-field", default="id")
    view.add_argument("--low", type=float, default=DEFAULT_LOW,
                      help=f"the page's confidence threshold (default {DEFAULT_LOW})")
    view.add_argument("--first-backend", default=None,
                      help="documents another backend answered count as escalated (default: "
                      "the most common llama.cpp backend)")


def _run(args: argparse.Namespace) -> int:
    try:
        if not args.out.parent.is_dir():
            raise ValueError(f"cannot write {args.out}: {args.out.parent} is not a directory")
        records = read_output(args.output)
        texts = {row.id: row.text for row in read_rows(
            args.input, text_field=args.text_field, id_field=args.id_field) if row.text}
        documents = [ViewDocument(r, texts.get(str(r.get("id")))) for r in records]
        page = render_view(documents, title=f"extractly view: {args.output.name}",
                           first=args.first_backend, low=args.low)
        args.out.write_text(page, encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"extractly: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    missing = sum(d.text is None for d in documents)
    note = f" ({missing} ids not found in {args.input})" if missing else ""
    print(f"{args.out}: {len(documents)} documents{note}")
    return 0


def read_output(path: Path) -> list[dict[str, Any]]:
    """The records of an ``extractly run`` output (blank lines skipped)."""
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not a JSON line ({exc}); is this the output "
                                 "of `extractly run`?") from None
            if not isinstance(record, dict) or "output" not in record:
                raise ValueError(f"{path}:{number}: no \"output\" key; is this the output of "
                                 "`extractly run` (not its dead-letter file)?")
            records.append(record)
    return records
