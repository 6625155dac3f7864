"""The ``extractly`` command line: a thin layer over the library.

    extractly extract SCHEMA [TEXT|-]     print the extracted object as JSON
    extractly tune SCHEMA TRAIN.jsonl -o DIR   LoRA adapter for SCHEMA (needs extractly[tune])
    extractly run SCHEMA INPUT -o OUTPUT  extract from every row of a file (see extractly.etl)
    extractly eval SCHEMA GOLD.jsonl      precision / recall / F1 per field, exact match, valid
                                          rate and speed against gold objects (--json, --html)
    extractly distill SCHEMA TEXTS --teacher SPEC -o DIR   a larger model labels TEXTS, an
                                          adapter is tuned on them and registered if better
    extractly adapters list|show|remove|pin|unpin|export|import   the tuned adapters
    extractly view OUTPUT.jsonl --input INPUT -o view.html    extractions highlighted in the text
    extractly doctor                      what to paste into a bug report (``extractly.doctor``)
    extractly --version

``extract``, ``run`` and ``eval`` take every ``Extractor`` option as a flag (``--fallback``,
``--min-confidence``, ``--verbatim``, ...), from the one map in ``extractly.cli_options``.
Long commands show progress on stderr (``extractly.progress``); stdout carries only results.

SCHEMA is ``module:Class`` (a Pydantic model) or a path to a JSON Schema file
(``extractly.schema_ref``). Errors print as ``extractly: Type: message`` and exit with status 2;
``extractly run`` exits with 75 (``EXIT_LOCKED``) when another job is writing the same output,
and with 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import cli_adapters, cli_distill, cli_tune, cli_view
from .cli_options import add_option_flags, options_from_args
from .doctor import package_version, report
from .errors import ExtractlyError, OutputLockedError
from .extractor import Extractor
from .schema_ref import load_schema_ref

EXIT_LOCKED = 75
"""``extractly run``: another job holds the output's lock; nothing was written. 75 is sysexits'
EX_TEMPFAIL (a temporary failure: try again later)."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "handler"):  # subcommands defined in their own modules
        return int(args.handler(args))
    if args.command == "eval":
        return _eval(args)
    if args.command == "run":
        return _run(args)
    if args.command == "doctor":
        return _doctor(args)

    try:
        schema = load_schema_ref(args.schema)
        text = sys.stdin.buffer.read() if args.text == "-" else args.text
        extractor: Extractor[Any] = Extractor(schema, **options_from_args(args))
        data = extractor.run(text).data
    except (ExtractlyError, OSError, ValueError) as exc:
        return cli_tune.fail(exc)
    print(json.dumps(data, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``extractly`` argument parser with every command."""
    parser = argparse.ArgumentParser(prog="extractly", description=__doc__.split("\n\n")[0])
    version = f"extractly {package_version('extractly')}"
    parser.add_argument("--version", action="version", version=version)
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="extract one object from a text")
    ext.add_argument("schema", help="module:Class or a JSON Schema file")
    ext.add_argument("text", nargs="?", default="-", help="the text, or - for stdin (default)")
    add_option_flags(ext)
    cli_tune.add_parser(sub)
    _add_run_parser(sub)
    _add_eval_parser(sub)
    sub.add_parser(
        "doctor",
        help="what to paste into a bug report: versions, llama.cpp build, model, caches",
        description="Print the extractly and llama.cpp versions and build flags, whether the "
        "build passed the crash probe, the model file and its sha256, the cache folders and "
        "the registered adapters. Loads no model.",
    )
    cli_adapters.add_parser(sub)
    cli_view.add_parser(sub)
    cli_distill.add_parser(sub)
    return parser


def _doctor(args: argparse.Namespace) -> int:
    print(report())
    return 0


def _add_run_parser(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="extract from every row of a JSONL/CSV file or a directory of .txt files",
        description="Append one JSON line per input row to OUTPUT; failed rows go to the "
        "dead-letter file. Safe to kill: --resume continues without losing or repeating rows. "
        f"One job per output: while one runs, another on the same output (or dead-letter) file "
        f"exits at once with status {EXIT_LOCKED}, writing nothing.",
    )
    run.add_argument("schema", help="module:Class or a JSON Schema file")
    run.add_argument("input", type=Path, help=".jsonl, .csv, or a directory of .txt files")
    run.add_argument("-o", "--output", type=Path, required=True, help="output .jsonl")
    run.add_argument("--text-field", default="text")
    run.add_argument("--id-field", default="id", help="default: the line or row number")
    run.add_argument("--dead-letter", type=Path, help="default: OUTPUT.failed.jsonl")
    run.add_argument("--resume", action="store_true", help="continue a stopped run")
    run.add_argument("--retry-failed", action="store_true", help="re-run the dead letters")
    run.add_argument("--workers", type=int, default=1, help="processes (threads split cores)")
    run.add_argument("--max-row-bytes", type=int, default=None)
    add_option_flags(run)


def _run(args: argparse.Namespace) -> int:
    from .etl import JobConfig, run_job  # the batch machinery is only needed here

    try:
        schema = load_schema_ref(args.schema)
        options = options_from_args(args)
        batch_size = options.pop("batch_size", None)  # the job's chunk size, given to the Extractor
        config = JobConfig(
            schema=schema,
            input=args.input,
            output=args.output,
            dead_letter=args.dead_letter,
            text_field=args.text_field,
            id_field=args.id_field,
            resume=args.resume,
            retry_failed=args.retry_failed,
            workers=args.workers,
            options=options,
        )
        if batch_size:
            config.batch_size = batch_size
        if args.max_row_bytes:
            config.max_row_bytes = args.max_row_bytes
        summary = run_job(config)
    except OutputLockedError as exc:
        cli_tune.fail(exc)
        return EXIT_LOCKED
    except (ExtractlyError, OSError, ValueError) as exc:
        return cli_tune.fail(exc)
    return 130 if summary.interrupted else 0


def _add_eval_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="score extraction against gold objects",
        description="Extract every GOLD row's text and compare with its gold object: per-field "
        "precision / recall / F1 (null counts as absent), exact match, valid rate and speed. "
        "Prints a table; --json and --html write reports.",
    )
    ev.add_argument("schema", help="module:Class, a JSON Schema file, or a file of named "
                    "schemas (with --schema-name)")
    ev.add_argument("gold", type=Path, help='JSONL of {"text", "gold"} (or "output") lines')
    ev.add_argument("--schema-name", help="pick this schema from SCHEMA and keep only GOLD "
                    'rows whose "schema" is this name (or absent)')
    ev.add_argument("--limit", type=int, default=None, help="only the first N rows")
    ev.add_argument("--json", type=Path, help="write the report as JSON here")
    ev.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    add_option_flags(ev)


def _eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, read_gold, select_schema

    try:
        for out in (args.json, args.html):  # fail before the run, not after it
            if out is not None and not out.parent.is_dir():
                raise ValueError(f"cannot write {out}: {out.parent} is not a directory")
        schema = load_schema_ref(args.schema)
        if isinstance(schema, Mapping):
            schema = select_schema(schema, args.schema_name, args.schema)
        rows = read_gold(args.gold, args.schema_name)
        if args.limit is not None:
            if args.limit < 1:
                raise ValueError(f"--limit must be at least 1, not {args.limit}")
            rows = rows[: args.limit]
        extractor: Extractor[Any] = Extractor(schema, **options_from_args(args))
        report = evaluate(extractor, rows, progress=True)
    except (ExtractlyError, OSError, ValueError) as exc:
        return cli_tune.fail(exc)
    print(report.format_table(), flush=True)  # shown even if a report file cannot be written
    try:
        if args.json:
            text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
            args.json.write_text(text, encoding="utf-8")
        if args.html:
            report.write_html(args.html)
    except OSError as exc:
        return cli_tune.fail(exc)
    return 0

if __name__ == "__main__":
    sys.exit(main())
