"""``extractly tune SCHEMA TRAIN.jsonl -o DIR``, and the tune's flags for every command that tunes.

``add_tune_flags`` / ``tune_config_from_args`` are shared with ``extractly distill``
(``cli_distill``), so a setting has one flag, one default and one help text wherever a tune runs.
``fail`` is the commands' one ``extractly: Type: message`` printer (``cli`` imports this module,
so it lives here rather than there).
Not here: the tune itself (``extractly.tune``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Literal

from .errors import ExtractlyError
from .schema_ref import load_schema_ref
from .tune.config import TuneConfig as TuneDefaults
from .tune.plan import DEFAULT_BUDGET, LEARNING_RATE, PATIENCE, parse_budget

if TYPE_CHECKING:
    from .tune import Inspection


def add_parser(sub: Any) -> None:
    """Register ``tune`` on the ``extractly`` parser's subparsers."""
    tun = sub.add_parser("tune", help="fine-tune a LoRA adapter for one schema")
    tun.add_argument("schema", help="module:Class or a JSON Schema file")
    tun.add_argument("train", help='JSONL of {"text", "output"} (or {"text", "gold"}) lines')
    tun.add_argument("-o", "--out", required=True, help="directory for adapter.gguf")
    tun.add_argument("--model", help="base GGUF (default: the embedded Gemma 3 270M)")
    add_tune_flags(tun)
    tun.add_argument("--explain", action="store_true",
                     help="print what was found in the data and why each setting was chosen")
    tun.add_argument("--plan-only", action="store_true",
                     help="stop after printing the plan (with --explain: the reasons); no tune")
    tun.set_defaults(handler=_tune)


def add_tune_flags(parser: argparse.ArgumentParser) -> None:
    """The tune's settings as flags (each defaults to "chosen from the data")."""
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: chosen from the data (about 100 steps, 3-10 epochs)")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help=f"default: {LEARNING_RATE:g}")
    parser.add_argument("--patience", type=int, default=None,
                        help="validation passes without improvement before stopping "
                        f"(default: {PATIENCE})")
    parser.add_argument(
        "--budget",
        default="auto",
        metavar="DURATION",
        help="wall time for the whole tune, e.g. 10m, 90s, 1h30m, or none; the schedule is "
        f"shortened to end within it (default: {DEFAULT_BUDGET / 60:g}m)",
    )
    parser.add_argument("--rank", type=int, default=TuneDefaults.rank)
    parser.add_argument(
        "--synthetic-values",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of pairs (0-1) whose free-text values are replaced by synthetic ones, so "
        "the tune learns to copy names it never saw; default: 0.5 for fields whose data names "
        "few distinct names (or when enums are swapped), else 0",
    )
    swap = parser.add_mutually_exclusive_group()
    swap.add_argument("--swap-enums", dest="swap_enums", action="store_const", const=True,
                      default=None, help="swap every enum's values in the synthetic pairs "
                      "(default: the enums with values rare in the data)")
    swap.add_argument("--no-swap-enums", dest="swap_enums", action="store_const", const=False)
    verbatim = parser.add_mutually_exclusive_group()
    verbatim.add_argument(
        "--verbatim",
        dest="verbatim",
        action="store_const",
        const=True,
        default=None,
        help="tune every top-level free string for verbatim extraction (copied from the text; "
        "extraction with the adapter copies them too); default: the fields whose gold values "
        "are found in their text",
    )
    verbatim.add_argument("--no-verbatim", dest="verbatim", action="store_const", const=False,
                          help="copy no field")
    parser.add_argument(
        "--start-from",
        metavar="ADAPTER",
        default=None,
        help="adapter.gguf to start from instead of a fresh LoRA, or 'general' for the one "
        "shipped in the package (a general adapter: the tune keeps its rank and its prompt, "
        "instructions and field list before the text). Measured: it saved labels on US "
        "addresses, none on SNIPS commands, and its adapters read 1.13x slower",
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default=TuneDefaults.precision,
        help="dtype of the frozen base weights; auto: bf16 where the CPU computes it natively",
    )


def tune_config_from_args(args: argparse.Namespace) -> TuneDefaults:
    """The ``TuneConfig`` the flags of ``add_tune_flags`` ask for; ``ValueError`` for a bad
    ``--budget``."""
    budget: float | Literal["auto"] | None = "auto"
    if args.budget != "auto":
        budget = parse_budget(args.budget)
    return TuneDefaults(
        epochs=args.epochs,
        max_steps=args.max_steps,
        seed=args.seed,
        learning_rate=args.learning_rate,
        patience=args.patience,
        budget=budget,
        rank=args.rank,
        alpha=2 * args.rank,
        precision=args.precision,
        synthetic_values=args.synthetic_values,
        swap_enums=args.swap_enums,
        verbatim=args.verbatim,
        start_from=args.start_from,
    )


def fail(exc: BaseException) -> int:
    """Report ``exc`` on stderr as ``extractly: Type: message``; the exit status for it (2)."""
    print(f"extractly: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 2


def _tune(args: argparse.Namespace) -> int:
    try:
        config = tune_config_from_args(args)
    except ValueError as exc:
        print(f"extractly: {exc}", file=sys.stderr)
        return 2
    schema = None
    found: Inspection | None = None
    try:
        schema = load_schema_ref(args.schema)
        if args.explain or args.plan_only:
            from .tune import inspect_data

            found = inspect_data(schema, args.train, config)
            print(found.plan.explain(found.profile) if args.explain
                  else "\n".join(found.plan.summary()), file=sys.stderr, flush=True)
            if args.plan_only:
                return 0
    except ExtractlyError as exc:
        return fail(exc)
    try:
        from .tune import tune
    except ImportError as exc:
        print(f"extractly: tune needs the [tune] extra ({exc}): pip install 'extractly[tune]'",
              file=sys.stderr)
        return 2
    try:
        result = tune(schema, args.train, out_dir=args.out, model=args.model, config=config,
                      inspection=found)
    except ExtractlyError as exc:
        return fail(exc)
    print(json.dumps({"adapter": str(result.adapter), "registered": str(result.registered),
                      "metrics": result.manifest["metrics"],
                      "held_out": result.manifest.get("held_out")}))
    return 0
