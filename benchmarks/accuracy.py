"""Accuracy benchmark: the base model with a 3-shot prompt against a schema-specific LoRA tune.

For every schema of the chosen sets (SNIPS: one per intent, E2E ``Restaurant``, ``USAddress``):

    1. tune   ``extractly tune`` as a child process on N train records of the schema, evenly
              spaced over its train split (``--train snips=300``; all of them when N covers the
              split); its wall time and peak RSS (``wait4``) are recorded. ``--reuse`` takes the
              adapter in the registry for the same schema if it was tuned on the same records
              (whatever its settings: its manifest has them).
    2. tuned  ``Extractor(schema, adapter=...)``: the prompt is only the text.
    3. base   ``Extractor(schema, examples=3 train records)`` (``pick_examples``, as in core.py).

Both extraction paths run ``run_many`` at the default batch size over the same test records,
one after the other in this process. Scored per ``datasets.py``: slot micro P/R/F1 (null or ''
absent; a wrong value is a false positive and a false negative), field accuracy (share of all
fields, nulls included, equal after trimming) and whole-object exact match; plus prompt tokens
per document (document tokens + cached prefix tokens) and seconds per document.

    python benchmarks/accuracy.py [--sets snips,e2e,usaddress] [--train snips=300,...]
        [--test snips=700,...] [--base-docs N] [--plain [--plain-with FLAGS] | --epochs 3
        --learning-rate 2e-3 --patience 2 --synthetic-values SHARE --tune-verbatim] [--verbatim]
        [--reuse]
        [--out FILE.json]

``--plain`` runs ``extractly tune`` with no flags: every setting chosen from the data. Without
it every setting is spelled out, and the defaults are the tune's settings before they were
chosen from the data (3 epochs, 2e-3, patience 2, no synthetic values, no verbatim, no budget),
so one process can compare the plain command of today with the old one.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.datasets import (
    Record,
    SlotCounts,
    is_valid,
    load_schemas,
    load_split,
    normalize,
    pick_examples,
)
from extractly import Extractor
from extractly.adapter_registry import lookup
from extractly.eval_mistakes import kind_of
from extractly.model_files import resolve_model_path
from extractly.options import Safeguards
from extractly.schema import load_schema
from extractly.scoring import score_fields, total
from extractly.tune.dataset import data_hash, make_pair

DEFAULT_TRAIN = {"snips": 300, "e2e": 1000, "usaddress": 1000}
DEFAULT_TEST = {"snips": 700, "e2e": 1000, "usaddress": 833}
N_SHOTS = 3


@dataclass
class PathScore:
    """One extraction path over one schema's test records."""

    docs: int = 0
    valid: int = 0
    exact: int = 0
    fields: int = 0
    fields_right: int = 0
    slots: SlotCounts = field(default_factory=SlotCounts)
    seconds: float = 0.0
    prompt_tokens: int = 0
    # (field, eval_mistakes.kind_of: missed, wrong_value, invented) -> documents
    mistakes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: PathScore) -> PathScore:
        return PathScore(
            self.docs + other.docs,
            self.valid + other.valid,
            self.exact + other.exact,
            self.fields + other.fields,
            self.fields_right + other.fields_right,
            self.slots + other.slots,
            self.seconds + other.seconds,
            self.prompt_tokens + other.prompt_tokens,
            self.mistakes + other.mistakes,
        )

    def summary(self) -> dict[str, Any]:
        n = max(1, self.docs)
        return {
            "docs": self.docs,
            "valid_rate": round(self.valid / n, 4),
            "exact_match": round(self.exact / n, 4),
            "field_accuracy": round(self.fields_right / max(1, self.fields), 4),
            "slot_precision": round(self.slots.precision, 4),
            "slot_recall": round(self.slots.recall, 4),
            "slot_f1": round(self.slots.f1, 4),
            "s_per_doc": round(self.seconds / n, 4),
            "prompt_tokens_per_doc": round(self.prompt_tokens / n, 1),
            "field_mistakes": {f"{name} {kind}": count
                               for (name, kind), count in self.mistakes.most_common()},
        }


def score(
    extractor: Extractor[Any], records: Sequence[Record], schema: dict[str, Any]
) -> tuple[PathScore, dict[str, PathScore]]:
    """The path's score over ``records``, and per source file of the set (``Record.source``)."""
    start = time.perf_counter()
    results = list(extractor.run_many([r.text for r in records], return_exceptions=True))
    out = PathScore(seconds=time.perf_counter() - start)
    sources: dict[str, PathScore] = {}
    for record, result in zip(records, results, strict=True):
        one = PathScore(docs=1)
        value = None if isinstance(result, BaseException) else result.value
        if not isinstance(result, BaseException):
            usage = result.usage
            one.prompt_tokens = usage.prompt_tokens + usage.cached_prompt_tokens
        ok = value is not None and is_valid(value, schema)
        pred = value if ok and isinstance(value, dict) else {}
        one.valid = int(ok)
        per_field = score_fields(pred, record.gold, normalizer=normalize)
        one.slots = total(per_field.values())
        wrong = {name: kind for name, counts in per_field.items()
                 if (kind := kind_of(counts)) is not None}
        one.mistakes = Counter(wrong.items())
        one.fields = len(per_field)
        one.fields_right = len(per_field) - len(wrong)
        one.exact = int(not wrong)
        out = out.add(one)
        sources[record.source] = sources.get(record.source, PathScore()).add(one)
    return out, sources


def tune_child(
    schema_file: Path, train_file: Path, out_dir: Path, flags: Sequence[str]
) -> dict[str, Any]:
    """Run ``extractly tune`` with ``flags`` as a child; its wall time, peak RSS and reported
    metrics."""
    cmd = [
        sys.executable, "-m", "extractly.cli", "tune", str(schema_file), str(train_file),
        "-o", str(out_dir), *flags,
    ]
    start = time.perf_counter()
    with open(out_dir.with_suffix(".log"), "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"tune failed ({proc.returncode}); see {out_dir.with_suffix('.log')}")
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return {
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(rusage.ru_maxrss / 1024, 1),
        "adapter": report["adapter"],
        "metrics": {k: v for k, v in report["metrics"].items() if k != "history"},
        "held_out": report.get("held_out"),
    }


def tune_flags(args: argparse.Namespace) -> list[str]:
    """The ``extractly tune`` flags of this run: none with ``--plain`` (every setting chosen
    from the data), else each setting spelled out (unset ones as the tune's old defaults)."""
    if args.plain:
        return shlex.split(args.plain_with)
    return [
        "--epochs", str(args.epochs), "--learning-rate", str(args.learning_rate),
        "--synthetic-values", str(args.synthetic_values),
        "--verbatim" if args.tune_verbatim else "--no-verbatim",
        "--patience", str(args.patience), "--budget", "none",
    ]


def spread(records: Sequence[Record], n: int) -> list[Record]:
    """``n`` records evenly spaced over ``records`` (all of them, in order, when ``n`` covers
    them). Train files can be grouped (E2E is sorted by restaurant: its first 300 records name
    two restaurants), so the first ``n`` would not be a sample."""
    if n >= len(records):
        return list(records)
    return [records[i * len(records) // n] for i in range(n)]


def parse_counts(text: str, defaults: dict[str, int]) -> dict[str, int]:
    counts = dict(defaults)
    for part in filter(None, text.split(",")):
        name, _, n = part.partition("=")
        counts[name] = int(n)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sets", default="snips,e2e,usaddress")
    ap.add_argument("--schemas", default="", help="only these schema names (comma-separated)")
    ap.add_argument("--train", default="", help="train records per schema, e.g. snips=300")
    ap.add_argument("--test", default="", help="test records per set, e.g. e2e=1000")
    ap.add_argument("--base-docs", type=int, default=None, help="cap the base path's records")
    ap.add_argument(
        "--plain",
        action="store_true",
        help="run `extractly tune` with no flags (settings chosen from the data); the tune "
        "flags below are then ignored",
    )
    ap.add_argument(
        "--plain-with",
        default="",
        metavar="FLAGS",
        help="with --plain: these `extractly tune` flags only, e.g. --plain-with=--no-verbatim "
        "(one choice of the plan overridden, the rest still chosen from the data; the = keeps "
        "argparse from reading the value as an option)",
    )
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--learning-rate", type=float, default=2e-3)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument(
        "--synthetic-values",
        type=float,
        default=0.0,
        help="share of train pairs given synthetic free-text values (extractly tune option)",
    )
    ap.add_argument(
        "--verbatim",
        action="store_true",
        help="Extractor(verbatim=True) on both paths: top-level free strings copied from the text",
    )
    ap.add_argument(
        "--tune-verbatim",
        action="store_true",
        help="extractly tune --verbatim (tuned extraction then copies the free strings too)",
    )
    ap.add_argument("--reuse", action="store_true", help="use registered adapters if present")
    ap.add_argument("--tune-only", action="store_true", help="tune (and register), no scoring")
    ap.add_argument("--out", default="benchmarks/results/accuracy.json")
    args = ap.parse_args(argv)
    if args.plain_with and not args.plain:
        ap.error("--plain-with only applies with --plain (without it every flag is spelled out)")
    train_n = parse_counts(args.train, DEFAULT_TRAIN)
    test_n = parse_counts(args.test, DEFAULT_TEST)
    only = set(filter(None, args.schemas.split(",")))
    model = resolve_model_path(None)
    work = Path(tempfile.mkdtemp(prefix="extractly-accuracy-"))
    rows: list[dict[str, Any]] = []
    per_set: dict[str, dict[str, PathScore]] = {}
    for dataset in filter(None, args.sets.split(",")):
        schemas = load_schemas(dataset)
        train = load_split("train", dataset)
        test = load_split("test", dataset)[: test_n[dataset]]
        for name, schema in schemas.items():
            if only and name not in only:
                continue
            records = [r for r in test if r.schema == name]
            pool = spread([r for r in train if r.schema == name], train_n[dataset])
            schema_file = work / f"{name}.schema.json"
            schema_file.write_text(json.dumps(schema))
            spec = load_schema(schema, Safeguards())
            registered = lookup(spec, model) if args.reuse else None
            manifest = (
                json.loads((registered.parent / "manifest.json").read_text())
                if registered is not None else {}
            )
            if registered is not None and manifest.get("data_sha256") != data_hash(
                [make_pair(r.text, r.gold, spec) for r in pool]
            ):
                registered = None  # tuned on other records: tune again
            if registered is not None:
                metrics = manifest["metrics"]
                tuning: dict[str, Any] = {
                    "reused": str(registered),
                    "wall_seconds": metrics.get("wall_seconds", 0.0),
                    "peak_rss_mb": metrics.get("peak_rss_mb", 0.0),
                    "train_pairs": manifest.get("pairs"),
                    "metrics": {k: v for k, v in metrics.items() if k != "history"},
                }
                adapter = registered
            else:
                train_file = work / f"{name}.train.jsonl"
                train_file.write_text("".join(
                    json.dumps({"text": r.text, "output": r.gold}) + "\n" for r in pool
                ))
                tuning = tune_child(schema_file, train_file, work / name, tune_flags(args))
                adapter = Path(tuning["adapter"])
            print(f"{dataset}/{name}: tune {tuning}", file=sys.stderr, flush=True)
            if args.tune_only:
                continue
            # verbatim=None: the fields the adapter was tuned to copy (its manifest)
            with Extractor(schema, adapter=adapter, verbatim=True if args.verbatim else None) as ex:
                tuned, tuned_sources = score(ex, records, schema)
            shots = pick_examples(pool, name, N_SHOTS)
            base_records = records[: args.base_docs] if args.base_docs else records
            with Extractor(
                schema,
                examples=[{"text": s.text, "output": s.gold} for s in shots],
                verbatim=args.verbatim,
            ) as ex:
                base, _ = score(ex, base_records, schema)
            set_scores = per_set.setdefault(dataset, {"base": PathScore(), "tuned": PathScore()})
            set_scores["base"] = set_scores["base"].add(base)
            set_scores["tuned"] = set_scores["tuned"].add(tuned)
            rows.append({
                "set": dataset, "schema": name, "train_records": len(pool), "tuning": tuning,
                "base": base.summary(), "tuned": tuned.summary(),
            })
            if len(tuned_sources) > 1:  # US addresses: two files labelled differently
                rows[-1]["tuned_by_source"] = {
                    k: v.summary() | {"s_per_doc": None} for k, v in tuned_sources.items()
                }
            print_row(rows[-1])
    totals = {
        dataset: {path: s.summary() for path, s in scores.items()}
        for dataset, scores in per_set.items()
    }
    print_table(rows, totals)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "accuracy",
        "config": {
            "sets": args.sets, "train_per_schema": train_n, "test_per_set": test_n,
            "base_docs_cap": args.base_docs, "tune_flags": tune_flags(args),
            "epochs": args.epochs,
            "learning_rate": args.learning_rate, "shots": N_SHOTS,
            "synthetic_values": args.synthetic_values, "verbatim": args.verbatim,
            "tune_verbatim": args.tune_verbatim, "model": str(model), "threads": os.cpu_count(),
        },
        "rows": rows,
        "totals": totals,
    }, indent=1))
    print(f"wrote {out}")
    return 0


def print_row(row: dict[str, Any]) -> None:
    b, t = row["base"], row["tuned"]
    print(
        f"{row['set']}/{row['schema']}: base F1 {b['slot_f1']:.3f} acc {b['field_accuracy']:.3f} "
        f"| tuned F1 {t['slot_f1']:.3f} acc {t['field_accuracy']:.3f}",
        file=sys.stderr, flush=True,
    )


def print_table(rows: list[dict[str, Any]], totals: dict[str, dict[str, Any]]) -> None:
    head = (
        f"{'set/schema':34} {'path':6} {'docs':>5} {'slotF1':>7} {'fieldAcc':>8} {'exact':>6} "
        f"{'valid':>6} {'s/doc':>6} {'prompt tok':>10} {'tune s':>7} {'RSS MB':>7}"
    )
    print(head)
    print("-" * len(head))

    def line(label: str, path: str, s: dict[str, Any], tune: dict[str, Any] | None) -> None:
        extra = ""
        if tune is not None and "wall_seconds" in tune:
            extra = f" {tune['wall_seconds']:>7.0f} {tune['peak_rss_mb']:>7.0f}"
        pace = "-" if s["s_per_doc"] is None else f"{s['s_per_doc']:.3f}"
        print(
            f"{label:34} {path:6} {s['docs']:>5} {s['slot_f1']:>7.3f} {s['field_accuracy']:>8.3f} "
            f"{s['exact_match']:>6.3f} {s['valid_rate']:>6.2f} {pace:>6} "
            f"{s['prompt_tokens_per_doc']:>10.1f}{extra}"
        )

    for row in rows:
        label = f"{row['set']}/{row['schema']}"
        line(label, "base", row["base"], None)
        line(label, "tuned", row["tuned"], row["tuning"])
        for source, summary in row.get("tuned_by_source", {}).items():
            line(f"  {source}", "tuned", summary, None)
    for dataset, scores in totals.items():
        for path, s in scores.items():
            line(f"{dataset} (all)", path, s, None)


if __name__ == "__main__":
    raise SystemExit(main())
