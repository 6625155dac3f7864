"""How well can a tagger that learned the US-address train split score on its test split?

The test split joins two files labelled two ways. ``labeled.xml`` (the train split's source and
the test's ``usaddress-test-*`` records) splits a street into its parts: "South Harvard Avenue" is
StreetNamePreDirectional "South", StreetName "Harvard", StreetNamePostType "Avenue".
``us50_test_tagged.xml`` (``usaddress-us50-*``) mostly labels the whole street as StreetName.

This script re-labels every test gold the train split's way and scores that against the gold as
given, with the accuracy benchmark's slot scoring: the ceiling for a tagger that follows the
train split perfectly. A word moves out of StreetName when the train split labels it as the
part more often than as a street name (its first word as a pre-directional, its last as a
post-directional or a post type), and only when the gold leaves that part empty. No model.

    python benchmarks/address_conventions.py [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.datasets import Record, SlotCounts, load_split, score_slots

PARTS = {
    "first": ("StreetNamePreDirectional",),
    "last": ("StreetNamePostDirectional", "StreetNamePostType"),
}
"""Which parts a street's first and last word can be split into, tried in this order."""


def word_labels(train: Sequence[Record]) -> dict[str, Counter[str]]:
    """For each field that a street's words can be labelled with: word -> times so labelled."""
    fields = ("StreetName", *PARTS["first"], *PARTS["last"])
    counts: dict[str, Counter[str]] = {f: Counter() for f in fields}
    for record in train:
        for f in fields:
            for word in str(record.gold.get(f) or "").split():
                counts[f][_key(word)] += 1
    return counts


def train_style(gold: Mapping[str, Any], counts: dict[str, Counter[str]]) -> dict[str, Any]:
    """``gold`` with its StreetName split the way the train split labels the same words."""
    out = dict(gold)
    words = str(gold.get("StreetName") or "").split()

    def moves(word: str, part: str) -> bool:
        return not out.get(part) and counts[part][_key(word)] > counts["StreetName"][_key(word)]

    if len(words) > 1 and moves(words[0], PARTS["first"][0]):
        out[PARTS["first"][0]] = words.pop(0)
    for part in PARTS["last"]:
        if len(words) > 1 and moves(words[-1], part):
            out[part] = words.pop()
    if words:
        out["StreetName"] = " ".join(words)
    return out


def _key(word: str) -> str:
    return word.lower().strip(".,")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="benchmarks/results/address_conventions.json")
    args = ap.parse_args(argv)
    counts = word_labels(load_split("train", "usaddress"))
    scores: dict[str, SlotCounts] = {}
    relabelled: Counter[str] = Counter()
    docs: Counter[str] = Counter()
    for record in load_split("test", "usaddress"):
        styled = train_style(record.gold, counts)
        for source in (record.source, "all"):
            docs[source] += 1
            relabelled[source] += styled != record.gold
            scores[source] = scores.get(source, SlotCounts()) + score_slots(styled, record.gold)
    rows = [
        {
            "source": source,
            "docs": docs[source],
            "relabelled": relabelled[source],
            "slot_precision": round(s.precision, 4),
            "slot_recall": round(s.recall, 4),
            "slot_f1": round(s.f1, 4),
        }
        for source, s in scores.items()
    ]
    print(f"{'test source':18} {'docs':>5} {'relabelled':>10} {'P':>6} {'R':>6} {'F1 ceiling':>10}")
    for r in rows:
        print(
            f"{r['source']:18} {r['docs']:>5} {r['relabelled']:>10} {r['slot_precision']:>6.3f} "
            f"{r['slot_recall']:>6.3f} {r['slot_f1']:>10.3f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "address_conventions", "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
