"""The ``extractly`` command line: a thin layer over the library.

    extractly extract SCHEMA [TEXT|-]     print the extracted object as JSON
    extractly tune SCHEMA TRAIN.jsonl -o DIR   LoRA adapter for SCHEMA (needs extractly[tune])
    extractly run SCHEMA INPUT -o OUTPUT  extract from every row of a file (see extractly.etl)
    extractly eval SCHEMA GOLD.jsonl      precision / recall / F1 per field, exact match, valid
                                          rate and speed against gold objects (--json, --html)
    extractly adapters list|show|remove|pin|unpin|export|import   the tuned adapters
    extractly view OUTPUT.jsonl --input INPUT -o view.html    extractions highlighted in the text

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

from . import cli_adapters, cli_view
from .errors import ExtractlyError, OutputLockedError
from .extractor import Extractor
from .schema_ref import load_schema_ref
from .tune.config import TuneConfig as TuneDefaults

EXIT_LOCKED = 75
"""``extractly run``: another job holds the output's lock; nothing was written. 75 is sysexits'
EX_TEMPFAIL (a temporary failure: try again later)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="extractly", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="extract one object from a text")
    ext.add_argument("schema", help="module:Class or a JSON Schema file")
    ext.add_argument("text", nargs="?", default="-", help="the text, or - for stdin (default)")
    ext.add_argument("--model", help="path to a GGUF (default: the embedded Gemma 3 270M)")
    ext.add_argument("--max-tokens", type=int, default=None)
    ext.add_argument("--adapter", default="auto", help=_ADAPTER_HELP)
    tun = sub.add_parser("tune", help="fine-tune a LoRA adapter for one schema")
    tun.add_argument("schema", help="module:Class or a JSON Schema file")
    tun.add_argument("train", help='JSONL of {"text", "output"} (or {"text", "gold"}) lines')
    tun.add_argument("-o", "--out", required=True, help="directory for adapter.gguf")
    tun.add_argument("--model", help="base GGUF (default: the embedded Gemma 3 270M)")
    tun.add_argument("--epochs", type=int, default=3)
    tun.add_argument("--max-steps", type=int, default=None)
    tun.add_argument("--seed", type=int, default=0)
    tun.add_argument("--learning-rate", type=float, default=TuneDefaults.learning_rate)
    tun.add_argument("--rank", type=int, default=TuneDefaults.rank)
    tun.add_argument(
        "--synthetic-values",
        type=float,
        default=TuneDefaults.synthetic_values,
        metavar="SHARE",
        help="share of pairs (0-1) whose free-text values are replaced by synthetic ones, so "
        "the tune learns to copy names it never saw (for data naming few distinct entities)",
    )
    tun.add_argument(
        "--verbatim",
        action="store_true",
        help="tune for verbatim extraction: every top-level free-string value is copied from "
        "the text (faster tune; extraction with the adapter copies them too)",
    )
    tun.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default=TuneDefaults.precision,
        help="dtype of the frozen base weights; auto: bf16 where the CPU computes it natively",
    )
    _add_run_parser(sub)
    _add_eval_parser(sub)
    cli_adapters.add_parser(sub)
    cli_view.add_parser(sub)
    args = parser.parse_args(argv)
    if hasattr(args, "handler"):  # subcommands defined in their own modules
        return int(args.handler(args))
    if args.command == "tune":
        return _tune(args)
    if args.command == "eval":
        return _eval(args)
    if args.command == "run":
        return _run(args)

    try:
        schema = load_schema_ref(args.schema)
        text = sys.stdin.buffer.read() if args.text == "-" else args.text
        extractor: Extractor[Any] = Extractor(
            schema, model=args.model, max_tokens=args.max_tokens, adapter=_adapter_arg(args.adapter)
        )
        data = extractor.run(text).data
    except ExtractlyError as exc:
        return _fail(exc)
    print(json.dumps(data, ensure_ascii=False))
    return 0


def _fail(exc: BaseException) -> int:
    """Report ``exc`` on stderr as ``extractly: Type: message``; the exit status for it (2)."""
    print(f"extractly: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 2


_ADAPTER_HELP = (
    "LoRA adapter GGUF from `extractly tune`; 'auto' (default): the one registered for the "
    "schema, if any; 'none': the base model's prompt"
)


def _adapter_arg(value: str) -> str | None:
    return None if value.lower() == "none" else value


def _tune(args: argparse.Namespace) -> int:
    try:
        from .tune import TuneConfig, tune
    except ImportError as exc:
        print(f"extractly: tune needs the [tune] extra ({exc}): pip install 'extractly[tune]'",
              file=sys.stderr)
        return 2
    try:
        config = TuneConfig(
            epochs=args.epochs,
            max_steps=args.max_steps,
            seed=args.seed,
            learning_rate=args.learning_rate,
            rank=args.rank,
            alpha=2 * args.rank,
            precision=args.precision,
            synthetic_values=args.synthetic_values,
            verbatim=args.verbatim,
        )
        result = tune(load_schema_ref(args.schema), args.train, out_dir=args.out,
                      model=args.model, config=config)
    except ExtractlyError as exc:
        return _fail(exc)
    print(json.dumps({"adapter": str(result.adapter), "registered": str(result.registered),
                      "metrics": result.manifest["metrics"]}))
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
    run.add_argument("--batch-size", type=int, default=None)
    run.add_argument("--max-row-bytes", type=int, default=None)
    run.add_argument("--model", help="path to a GGUF (default: the embedded Gemma 3 270M)")
    run.add_argument("--max-tokens", type=int, default=None)


def _run(args: argparse.Namespace) -> int:
    from .etl import JobConfig, run_job  # the batch machinery is only needed here

    try:
        schema = load_schema_ref(args.schema)
        options: dict[str, Any] = {}
        if args.model:
            options["model"] = args.model
        if args.max_tokens:
            options["max_tokens"] = args.max_tokens
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
        if args.batch_size:
            config.batch_size = args.batch_size
        if args.max_row_bytes:
            config.max_row_bytes = args.max_row_bytes
        summary = run_job(config)
    except OutputLockedError as exc:
        _fail(exc)
        return EXIT_LOCKED
    except (ExtractlyError, OSError, ValueError) as exc:
        return _fail(exc)
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
    ev.add_argument("--adapter", default="auto", help=_ADAPTER_HELP)
    ev.add_argument("--model", help="path to a GGUF (default: the embedded Gemma 3 270M)")
    ev.add_argument("--limit", type=int, default=None, help="only the first N rows")
    ev.add_argument("--batch-size", type=int, default=None)
    ev.add_argument("--json", type=Path, help="write the report as JSON here")
    ev.add_argument("--html", type=Path, help="write a self-contained HTML report here")


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
        extractor: Extractor[Any] = Extractor(
            schema, model=args.model, adapter=_adapter_arg(args.adapter)
        )
        report = evaluate(extractor, rows, batch_size=args.batch_size)
    except (ExtractlyError, OSError, ValueError) as exc:
        return _fail(exc)
    print(report.format_table(), flush=True)  # shown even if a report file cannot be written
    try:
        if args.json:
            text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
            args.json.write_text(text, encoding="utf-8")
        if args.html:
            report.write_html(args.html)
    except OSError as exc:
        return _fail(exc)
    return 0

if __name__ == "__main__":
    sys.exit(main())
