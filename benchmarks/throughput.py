"""Throughput of batched constrained decoding, against the engine's raw speed.

For SNIPS (700 test docs, seven intents, 3-shot each) and E2E (first 1,000 test docs), and for
each batch size, this runs ``Extractor.run_many`` and reports docs/s, sampled and output tokens
per second, and whether the outputs equal the batch-size-1 outputs. "raw" rows run the same
documents through the same engine with no constraint: greedy tokens, as many per document as
the constrained run produced, one per step, in the same continuous batches. That is llama.cpp's
own batched decode speed for the same work; constrained / raw is the constraint's cost (forced
tokens are fed in chunks, so the constrained run can be the faster one).

    python benchmarks/throughput.py [--snips 700] [--e2e 1000] [--batch-sizes 1,2,4,8,16]
    python benchmarks/throughput.py --snips 0 --e2e 0 --stream 5000   # memory on a long stream

``--one-by-one`` adds a row that calls ``Extractor.run(text)`` per document (the baseline of the
issue's first acceptance test). ``--stream N`` feeds N SNIPS texts, cycled, through one
``run_many`` call of an intent-routing schema and reports the resident set size after 500
documents and after N: memory must not grow per document.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import Record, load_schemas, load_split, pick_examples
from extractly import Extraction, ExtractlyError, Extractor
from extractly.engine.decoder import DecodeRequest
from extractly.extractor import DEFAULT_BATCH_SIZE

JSON = dict[str, Any]


@dataclass
class Group:
    """Documents of one schema with the Extractor that serves them."""

    extractor: Extractor[JSON]
    docs: list[Record]


@dataclass
class Row:
    dataset: str
    mode: str
    batch_size: int
    docs: int = 0
    seconds: float = 0.0
    sampled: int = 0
    output: int = 0
    errors: int = 0
    outputs: list[str] = field(default_factory=list)

    def as_json(self, reference: list[str] | None) -> JSON:
        same = (
            None
            if reference is None
            else sum(a == b for a, b in zip(self.outputs, reference, strict=True))
        )
        return {
            "dataset": self.dataset,
            "mode": self.mode,
            "batch_size": self.batch_size,
            "docs": self.docs,
            "seconds": round(self.seconds, 3),
            "docs_per_s": round(self.docs / self.seconds, 3) if self.seconds else None,
            "sampled_tok_per_s": round(self.sampled / self.seconds, 1) if self.seconds else None,
            "output_tok_per_s": round(self.output / self.seconds, 1) if self.seconds else None,
            "errors": self.errors,
            "same_as_batch1": same,
        }


def build_groups(dataset: str, limit: int, batch: int) -> list[Group]:
    schemas = load_schemas(dataset)
    train = load_split("train", dataset)
    test = load_split("test", dataset)[:limit]
    groups = []
    for name, schema in schemas.items():
        docs = [r for r in test if r.schema == name]
        if not docs:
            continue
        shots = [(r.text, r.gold) for r in pick_examples(train, name, 3)]
        groups.append(Group(Extractor(schema, examples=shots, batch_size=batch), docs))
    return groups


def run_constrained(dataset: str, groups: Sequence[Group], batch: int) -> Row:
    row = Row(dataset, "constrained", batch)
    start = time.perf_counter()
    for group in groups:
        texts = [d.text for d in group.docs]
        for item in group.extractor.run_many(texts, batch_size=batch, return_exceptions=True):
            row.docs += 1
            if isinstance(item, ExtractlyError):
                row.errors += 1
                row.outputs.append(f"<{type(item).__name__}>")
                continue
            assert isinstance(item, Extraction)
            row.sampled += item.usage.sampled_tokens
            row.output += item.usage.output_tokens
            row.outputs.append(item.raw_text)
    row.seconds = time.perf_counter() - start
    return row


def run_one_by_one(dataset: str, groups: Sequence[Group]) -> Row:
    row = Row(dataset, "run()", 1)
    start = time.perf_counter()
    for group in groups:
        for doc in group.docs:
            row.docs += 1
            try:
                item = group.extractor.run(doc.text)
            except ExtractlyError as exc:
                row.errors += 1
                row.outputs.append(f"<{type(exc).__name__}>")
                continue
            row.sampled += item.usage.sampled_tokens
            row.output += item.usage.output_tokens
            row.outputs.append(item.raw_text)
    row.seconds = time.perf_counter() - start
    return row


def run_raw(dataset: str, groups: Sequence[Group], batch: int, lengths: Sequence[int]) -> Row:
    """The same documents, unconstrained, ``lengths[i]`` greedy tokens each."""
    row = Row(dataset, "raw", batch)
    it = iter(lengths)
    start = time.perf_counter()
    for group in groups:
        ex = group.extractor
        requests: list[DecodeRequest] = []
        for doc in group.docs:
            req = ex.session.request(doc.text)
            requests.append(DecodeRequest(req.tokens, None, max(1, next(it))))
        for result in ex.session.decode(requests, batch):
            assert not isinstance(result, ExtractlyError)
            row.docs += 1
            row.sampled += result.sampled_tokens
            row.output += result.sampled_tokens
    row.seconds = time.perf_counter() - start
    return row


def output_lengths(groups: Sequence[Group], reference: Row) -> list[int]:
    """Output tokens per document of the constrained batch-1 run (same order as run_raw)."""
    lengths: list[int] = []
    for group in groups:
        for _ in group.docs:
            raw = reference.outputs[len(lengths)]
            tokens = group.extractor.session.model.tokenize(raw) if not raw.startswith("<") else [0]
            lengths.append(len(tokens))
    return lengths


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set size now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


INTENTS = [
    "AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic",
    "RateBook", "SearchCreativeWork", "SearchScreeningEvent",
]  # fmt: skip
ROUTER_SCHEMA: JSON = {
    "type": "object",
    "properties": {"intent": {"enum": INTENTS}},
    "required": ["intent"],
    "additionalProperties": False,
}


def bench_stream(total: int, batch: int) -> JSON:
    """RSS after 500 and after ``total`` documents of one endless-style ``run_many`` call."""
    train = load_split("train", "snips")
    test = load_split("test", "snips")
    shots = [
        (r.text, {"intent": r.schema}) for name in INTENTS for r in pick_examples(train, name, 1)
    ]
    extractor: Extractor[JSON] = Extractor(ROUTER_SCHEMA, examples=shots, batch_size=batch)
    texts = (test[i % len(test)].text for i in range(total))
    marks: dict[int, float] = {}
    start = time.perf_counter()
    errors = 0
    items = extractor.run_many(texts, batch_size=batch, return_exceptions=True)
    for done, item in enumerate(items, start=1):
        errors += isinstance(item, ExtractlyError)
        if done in (500, total) or done % 1000 == 0:
            marks[done] = current_rss_mb()
            print(f"stream {done:>6} docs  rss {marks[done]:8.1f} MB", flush=True)
    seconds = time.perf_counter() - start
    extractor.close()
    growth = marks[total] - marks[min(500, total)]
    print(f"stream: {total} docs in {seconds:.0f} s, rss growth 500 -> {total}: {growth:+.1f} MB")
    return {
        "docs": total,
        "batch_size": batch,
        "seconds": round(seconds, 1),
        "errors": errors,
        "rss_mb": {str(k): round(v, 1) for k, v in marks.items()},
        "rss_growth_mb": round(growth, 1),
    }


def bench_dataset(
    dataset: str, limit: int, sizes: Sequence[int], one_by_one: bool = False
) -> list[JSON]:
    groups = build_groups(dataset, limit, max(sizes))
    for g in groups:  # warm-up: prefix evaluation and first-call costs out of the timing
        list(g.extractor.run_many([g.docs[0].text], return_exceptions=True))
    rows: list[JSON] = []
    reference: Row | None = None
    lengths: list[int] = []
    if one_by_one:
        single = run_one_by_one(dataset, groups)
        reference = single
        lengths = output_lengths(groups, single)
        rows.append(single.as_json(None))
        print_row(rows[-1])
    for size in sizes:
        row = run_constrained(dataset, groups, size)
        if reference is None:
            reference, lengths = row, output_lengths(groups, row)
        rows.append(row.as_json(reference.outputs))
        print_row(rows[-1])
        raw = run_raw(dataset, groups, size, lengths)
        rows.append(raw.as_json(None))
        print_row(rows[-1])
    for g in groups:
        g.extractor.close()
    return rows


def print_row(r: JSON) -> None:
    same = "" if r["same_as_batch1"] is None else f"{r['same_as_batch1']}/{r['docs']}"
    print(
        f"{r['dataset']:6} {r['mode']:11} {r['batch_size']:>5} {r['docs']:>5} "
        f"{r['seconds']:>8.1f} {r['docs_per_s']:>8.2f} {r['sampled_tok_per_s']:>9.1f} "
        f"{r['output_tok_per_s']:>9.1f} {r['errors']:>6} {same:>9}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snips", type=int, default=700)
    parser.add_argument("--e2e", type=int, default=1000)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    parser.add_argument("--one-by-one", action="store_true", help="add a run() per doc row")
    parser.add_argument("--stream", type=int, default=0, help="docs for the memory check")
    parser.add_argument("--stream-batch", type=int, default=0, help="default: Extractor's")
    parser.add_argument("--out", default="benchmarks/results/throughput.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    print(
        f"{'data':6} {'mode':11} {'batch':>5} {'docs':>5} {'seconds':>8} {'docs/s':>8} "
        f"{'sampled/s':>9} {'output/s':>9} {'errors':>6} {'same':>9}"
    )
    rows: list[JSON] = []
    if args.snips:
        rows += bench_dataset("snips", args.snips, sizes, args.one_by_one)
    if args.e2e:
        rows += bench_dataset("e2e", args.e2e, sizes, args.one_by_one)
    report: JSON = {"rows": rows, "cores": os.cpu_count()}
    if args.stream:
        report["stream"] = bench_stream(args.stream, args.stream_batch or DEFAULT_BATCH_SIZE)
    report["peak_rss_mb"] = round(rss_mb(), 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
