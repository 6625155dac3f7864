"""``extractly distill SCHEMA TEXTS --teacher SPEC -o DIR``: a teacher labels, the student tunes.

TEXTS is read as ``extractly run`` reads its input (JSONL, CSV or a folder of .txt); SPEC is any
backend the fallback chain takes (``openai:http://host/v1#model``, a GGUF path). The steps and
the folder's files are ``extractly.teacher.job``'s. Rerun the same command after a kill: no text
is asked about twice and a finished tune is kept. Exit status 0 when the run finished (whether
or not the gate registered the adapter; the report says), 2 on an error, 75 when the teacher
could not be reached (what was answered is kept; run again later).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .cli_tune import add_tune_flags, fail, tune_config_from_args
from .errors import ExtractlyError, TeacherUnavailableError
from .schema_ref import load_schema_ref

EXIT_TEACHER_UNAVAILABLE = 75
"""sysexits' EX_TEMPFAIL, as for a locked ``extractly run`` output: try again later."""


def add_parser(sub: Any) -> None:
    """Register ``distill`` on the ``extractly`` parser's subparsers."""
    from .teacher.job import SELECTIONS, DistillConfig

    defaults = DistillConfig()
    cmd = sub.add_parser(
        "distill",
        help="label texts with a larger model, tune on its labels, register if it is better",
        description="Ask TEACHER to label texts chosen from TEXTS, tune an adapter on the "
        "labels, and register it only if it beats the registered adapter and the base model on "
        "a held-out slice of teacher labels. Safe to kill: run it again to continue.",
    )
    cmd.set_defaults(handler=_run)
    cmd.add_argument("schema", help="module:Class or a JSON Schema file")
    cmd.add_argument("texts", type=Path, help=".jsonl, .csv, or a directory of .txt files")
    cmd.add_argument("--teacher", required=True,
                     help="the larger model: 'openai:http://host/v1#model' or a GGUF path")
    cmd.add_argument("-o", "--out", type=Path, required=True,
                     help="folder for labels, plan, adapters and report.json")
    cmd.add_argument("--labels", type=int, default=defaults.labels,
                     help=f"teacher labels to train on (default {defaults.labels})")
    cmd.add_argument("--held-out", type=int, default=defaults.held_out,
                     help=f"teacher labels kept for the gate (default {defaults.held_out})")
    cmd.add_argument("--selection", choices=SELECTIONS, default=defaults.selection,
                     help="which texts to label: random; diverse (one text per cluster of "
                     "the texts); coverage (the texts that together cover the wording of all "
                     "best, in the texts' mix of lengths). From round 2 the last two choose "
                     "among the texts the student is least sure of (see --candidates). "
                     f"Default {defaults.selection}")
    cmd.add_argument("--rounds", type=_rounds, default=defaults.rounds, metavar="N|SIZES",
                     help="label/tune rounds: N sharing --labels evenly, or the labels after "
                     "each round, e.g. 25,50,100,200,300 (each round's adapter is scored on the "
                     "held-out labels: a learning curve); default 1. Sizes that begin with an "
                     "earlier run's (100,200 after 100) add rounds to it in the same -o folder")
    cmd.add_argument("--candidates", type=int, default=defaults.pool, metavar="N",
                     help="from round 2, diverse and coverage let the last round's adapter score "
                     "N random candidates per label wanted and choose among the less certain "
                     f"half; 0 chooses among all the texts without it (default {defaults.pool})")
    cmd.add_argument("--concurrency", type=int, default=defaults.concurrency,
                     help="teacher requests in flight at once (default 1)")
    cmd.add_argument("--retry-failed", action="store_true",
                     help="ask again about texts whose answers all failed validation")
    cmd.add_argument("--label-only", action="store_true",
                     help="stop after labelling the held-out slice and the first round")
    cmd.add_argument("--strict-gate", action="store_true",
                     help="register only a lead over every rival that is clear of the held-out "
                     "slice's noise (95%% bootstrap interval of the F1 difference above zero)")
    cmd.add_argument("--text-field", default="text")
    cmd.add_argument("--id-field", default="id", help="default: the line or row number")
    cmd.add_argument("--model", help="base GGUF (default: the embedded Gemma 3 270M)")
    add_tune_flags(cmd)


def _run(args: argparse.Namespace) -> int:
    from .teacher.job import DistillConfig, distill

    try:
        sizes = args.rounds if isinstance(args.rounds, tuple) else None
        config = DistillConfig(
            labels=sizes[-1] if sizes else args.labels, held_out=args.held_out,
            selection=args.selection, rounds=len(sizes) if sizes else args.rounds,
            round_sizes=sizes, pool=args.candidates, seed=args.seed, concurrency=args.concurrency,
            retry_failed=args.retry_failed, label_only=args.label_only,
            strict_gate=args.strict_gate,
            text_field=args.text_field, id_field=args.id_field,
            tune=tune_config_from_args(args),
        )
        schema = load_schema_ref(args.schema)
        report = distill(schema, args.texts, args.teacher, args.out, config, model=args.model,
                         say=_say, progress=True)
    except TeacherUnavailableError as exc:
        fail(exc)
        return EXIT_TEACHER_UNAVAILABLE
    except ImportError as exc:
        print(f"extractly: distill tunes, which needs the [tune] extra ({exc}): "
              "pip install 'extractly[tune]'", file=sys.stderr)
        return 2
    except (ExtractlyError, OSError, ValueError) as exc:
        return fail(exc)
    print(report.format(), file=sys.stderr)
    print(json.dumps(report.to_json(), ensure_ascii=False))
    return 0


def _rounds(text: str) -> int | tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of rounds or label counts such as 25,50,100, not {text!r}"
        ) from None
    if any(v < 1 for v in values) or list(values) != sorted(set(values)):
        raise argparse.ArgumentTypeError(f"expected growing positive numbers, not {text!r}")
    return values[0] if len(values) == 1 else values


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
