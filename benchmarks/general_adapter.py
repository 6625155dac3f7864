"""The general adapter zero-shot against today's untuned path, on data sets it never saw.

For every schema of the chosen sets, over the same test records, one path after the other in
this process (``run_many`` at the default batch size, scored as ``accuracy.py`` scores):

    base     ``Extractor(schema, examples=3 train records)``: the few-shot prompt a schema with
             no tune gets today (``accuracy.py``'s base path);
    general  ``Extractor(schema, adapter=GENERAL)``: the schema's instructions and field list,
             no examples (the adapter's manifest says ``"prompt": "zero-shot"``).

The adapter must have been trained without the set (``python -m extractly.general.train
--leave-out SET``); the benchmark refuses an adapter whose manifest does not list the set as
left out, so a score can never come from training data. Prompt tokens per document (document
+ cached prefix) and seconds per document are reported beside the scores (acceptance 4 of
issue 21: the general prompt may cost no more than the few-shot one).

    python benchmarks/general_adapter.py --adapter DIR/adapter.gguf --sets e2e \\
        [--test e2e=500] [--source usaddress=usaddress-test] [--out FILE.json]

``--source SET=FILE`` keeps only the set's test records from that source file (the US-address
test split joins two files labelled two ways; ``usaddress-test`` is the 146 addresses of
``labeled.xml``, labelled like the train split).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.accuracy import DEFAULT_TEST, N_SHOTS, parse_counts, score, spread
from benchmarks.datasets import Record, load_schemas, load_split, pick_examples
from extractly import Extractor


def left_out_sets(ap: argparse.ArgumentParser, manifest: dict[str, Any],
                  sets: str) -> list[str]:
    """The comma-separated ``sets``; ``ap.error`` when the adapter's ``manifest`` does not list
    each as left out of its training (a score there could come from training data)."""
    left_out = set(manifest.get("mix", {}).get("left_out", []))
    chosen = [s for s in sets.split(",") if s]
    seen = [s for s in chosen if s not in left_out]
    if seen:
        ap.error(f"the adapter was trained on {', '.join(seen)} (left out: "
                 f"{sorted(left_out) or 'nothing'}); a zero-shot score needs a left-out set")
    return chosen


def parse_sources(text: str) -> dict[str, str]:
    """``--source`` (``SET=FILE,...``) as set -> source file."""
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


def scored_records(ap: argparse.ArgumentParser, dataset: str,
                   only: dict[str, str]) -> list[Record]:
    """``dataset``'s test split, only the records of its ``only`` source file if one is
    given; ``ap.error`` when that leaves none."""
    test = load_split("test", dataset)
    if dataset in only:
        test = [r for r in test if r.source == only[dataset]]
        if not test:
            ap.error(f"{dataset} has no test records from {only[dataset]!r}")
    return test


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--sets", default="e2e")
    ap.add_argument("--test", default="", help="test records per set, e.g. e2e=500")
    ap.add_argument("--source", default="",
                    help="score only this source file of a set, e.g. usaddress=usaddress-test")
    ap.add_argument("--out", default="benchmarks/results/general_adapter.json")
    args = ap.parse_args(argv)
    manifest = json.loads(args.adapter.with_name("manifest.json").read_text())
    sets = left_out_sets(ap, manifest, args.sets)
    counts = parse_counts(args.test, DEFAULT_TEST)
    only = parse_sources(args.source)
    rows: list[dict[str, Any]] = []
    for dataset in sets:
        train = load_split("train", dataset)
        test = scored_records(ap, dataset, only)
        for name, schema in load_schemas(dataset).items():
            records = spread([r for r in test if r.schema == name], counts[dataset])
            shots = pick_examples([r for r in train if r.schema == name], name, N_SHOTS)
            with Extractor(schema, examples=[{"text": s.text, "output": s.gold}
                                             for s in shots], adapter=None) as ex:
                base, _ = score(ex, records, schema)
            with Extractor(schema, adapter=args.adapter) as ex:
                general, _ = score(ex, records, schema)
            row: dict[str, Any] = {
                "set": dataset, "schema": name, "test": len(records),
                "source": only.get(dataset, "all"),
                "base_few_shot": base.summary(), "general_zero_shot": general.summary()}
            rows.append(row)
            b, g = row["base_few_shot"], row["general_zero_shot"]
            print(f"{dataset}/{name:<24} F1 base {b['slot_f1']:.3f}  general {g['slot_f1']:.3f}"
                  f"  field acc {b['field_accuracy']:.3f} / {g['field_accuracy']:.3f}"
                  f"  prompt tokens {b['prompt_tokens_per_doc']:.0f} / "
                  f"{g['prompt_tokens_per_doc']:.0f}  s/doc {b['s_per_doc']:.2f} / "
                  f"{g['s_per_doc']:.2f}", flush=True)
            worst = list(g["field_mistakes"].items())[:6]
            print("  general's commonest mistakes: "
                  + ", ".join(f"{what} {n}" for what, n in worst), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "general_adapter", "adapter": str(args.adapter),
                               "mix": manifest.get("mix"), "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
