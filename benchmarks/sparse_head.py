"""The sparse head (issue 14) against the full head, in one process, with the ``sparse_head``
switch giving the "before".

1. steps: ms per lockstep decode step (one token in each of B sequences) with the full head
   (without and with the ``cb_eval`` callback installed) and body-only (the graph stopped at
   ``result_norm``, plus 16 allowed rows scored per sequence), for each B of
   ``--step-batches``; then, for the passes of ``--pass-shapes`` (S sequences x T tokens,
   the last token of each an output), ms per pass and per token with the full head and body
   only: what a token costs depends on the pass it shares.
2. tuned: for each set, the registered adapter of every schema (``benchmarks/accuracy.py
   --tune-only`` registers them; verbatim fields as the adapter's manifest says), over the test
   documents: ``run()`` one by one with the full head, ``run()`` one by one with the sparse
   head, and ``run_many`` at the default batch size with the sparse head (with ``--drafts``,
   also both with copy speculation). Reported: docs/s and the ratios, the share of sampled
   tokens the sparse head served, outputs identical to the full head's, slot F1, passes and
   tokens a document, and the share of the time spent inside ``llama_decode``; and what 2x on
   ``run()`` would need against the time sparse ``run()`` spent in ``llama_decode`` alone.
3. base: the few-shot base path (3 worked examples, no adapter) on ``--base-docs`` SNIPS
   documents, ``run()`` full against sparse.

    python benchmarks/sparse_head.py [--sets snips,e2e] [--snips 700] [--e2e 1000]
        [--base-docs 140] [--step-batches 1,4,7,16] [--pass-shapes 1x1,4x16,...]
        [--drafts] [--lone-alone]
        [--blocks 4] [--out FILE.json]

Run it alone on the machine: it is a timing benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.datasets import (
    Record,
    SlotCounts,
    is_valid,
    load_schemas,
    load_split,
    pick_examples,
    score_slots,
    stratified,
)
from extractly import Extraction, ExtractlyError, Extractor
from extractly.adapter_registry import lookup
from extractly.engine.llama import ContextConfig, LlamaContext, load_model
from extractly.engine.sparse_head import HeadRows, HiddenTap, TapMode
from extractly.model_files import resolve_model_path
from extractly.schema import load_schema
from extractly.settings import Safeguards

JSON = dict[str, Any]


@dataclass
class Row:
    """One way of extracting one set's documents."""

    label: str
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    sampled: int = 0
    sparse: int = 0
    drafted: int = 0
    accepted: int = 0
    tokens: int = 0
    passes: int = 0
    decode_seconds: float = 0.0
    slots: SlotCounts = field(default_factory=SlotCounts)
    valid: int = 0

    def as_json(self, reference: Row | None) -> JSON:
        docs = len(self.outputs)
        same = None
        if reference is not None:
            same = sum(a == b for a, b in zip(self.outputs, reference.outputs, strict=True))
        return {
            "row": self.label, "docs": docs, "seconds": round(self.seconds, 1),
            "docs_per_s": round(docs / self.seconds, 3) if self.seconds else None,
            "sparse_share": round(self.sparse / max(1, self.sampled), 4),
            "accepted_draft_share": round(self.accepted / max(1, self.sampled), 4),
            "drafted": self.drafted, "accepted": self.accepted,
            "passes_per_doc": round(self.passes / max(1, docs), 1),
            "tokens_per_doc": round(self.tokens / max(1, docs), 1),
            "decode_share": round(self.decode_seconds / self.seconds, 3) if self.seconds else None,
            "valid": self.valid, "slot_f1": round(self.slots.f1, 4),
            "same_as_full_run": same,
        }


def step_times(batches: Sequence[int], steps: int) -> list[JSON]:
    """ms per lockstep step per batch size: the full head on a context without the callback,
    the full head with the callback installed (its cost on every full-head pass: one Python
    call per graph node), and body-only."""
    path = resolve_model_path(None)
    model = load_model(path)
    head = HeadRows.of(path)
    ids = np.arange(1000, 1016)
    prompt = model.tokenize("Text: Book a table for four at Lyon tonight.\nJSON:\n", add_bos=True)
    rows = []
    for b in batches:
        config = ContextConfig(n_ctx=512 * b, n_batch=512, n_seq_max=b)
        contexts = {"plain": LlamaContext(model, config), "tap": LlamaContext(model, config,
                                                                           tap=HiddenTap())}
        for ctx in contexts.values():
            for seq in range(b):
                ctx.decode([(t, i, seq, False) for i, t in enumerate(prompt)])
        pos = {name: len(prompt) for name in contexts}
        timing: dict[str, float] = {}
        runs: list[tuple[str, TapMode]] = [("plain", "off"), ("tap", "off"), ("tap", "stop")]
        for name, mode in runs + runs[::-1]:  # twice each, alternated, the best kept
            ctx = contexts[name]
            start = time.perf_counter()
            for _ in range(steps):
                p = pos[name]
                ctx.decode([(1000 + p % 50, p, seq, True) for seq in range(b)], tap=mode)
                if mode == "stop":
                    assert ctx.tap is not None
                    for hidden in ctx.tap.hidden():
                        head.logits(hidden, ids)
                pos[name] = p + 1
            ms = (time.perf_counter() - start) / steps * 1e3
            key = f"{name}-{mode}"
            timing[key] = min(ms, timing.get(key, ms))
        for ctx in contexts.values():
            ctx.close()
        row = {"batch": b, "ms_full": round(timing["plain-off"], 2),
               "ms_full_with_callback": round(timing["tap-off"], 2),
               "ms_body_only": round(timing["tap-stop"], 2),
               "ratio": round(timing["plain-off"] / timing["tap-stop"], 2)}
        print(f"step  batch {b:>2}: full {row['ms_full']:7.2f} ms, with the callback "
              f"{row['ms_full_with_callback']:7.2f} ms, body only {row['ms_body_only']:7.2f} ms "
              f"({row['ratio']:.2f}x)", flush=True)
        rows.append(row)
    return rows


def pass_shapes(shapes: Sequence[tuple[int, int]], repeats: int) -> list[JSON]:
    """ms per pass and per token, full head and body-only, for passes of ``tokens`` new tokens
    in each of ``seqs`` sequences, the last token of each sequence an output (a prompt chunk,
    a forced run closed by a sampled token, a lockstep step). The cost of a token depends on
    the pass it is in, which bounds what any scheduling of the same tokens can reach. Each pass
    is undone (``seq_rm``) outside the timed call, so every pass sees the same cache."""
    path = resolve_model_path(None)
    model = load_model(path)
    prompt = model.tokenize("Text: Book a table for four at Lyon tonight.\nJSON:\n", add_bos=True)
    rows = []
    for seqs, tokens in shapes:
        config = ContextConfig(n_ctx=(len(prompt) + tokens + 16) * seqs,
                               n_batch=max(512, seqs * tokens), n_seq_max=seqs)
        ctx = LlamaContext(model, config, tap=HiddenTap())
        for seq in range(seqs):
            ctx.decode([(t, i, seq, False) for i, t in enumerate(prompt)])
        p0 = len(prompt)
        entries = [(1000 + (p0 + i) % 50, p0 + i, seq, i == tokens - 1)
                   for seq in range(seqs) for i in range(tokens)]
        best: dict[str, float] = {}
        modes: tuple[TapMode, ...] = ("off", "stop", "stop", "off")
        for mode in modes:  # twice each, alternated, the best kept
            spent = 0.0
            for _ in range(repeats):
                start = time.perf_counter()
                ctx.decode(entries, tap=mode)
                spent += time.perf_counter() - start
                for seq in range(seqs):
                    ctx.seq_rm(seq, p0)
            best[mode] = min(spent / repeats * 1e3, best.get(mode, float("inf")))
        ctx.close()
        n = seqs * tokens
        row = {"seqs": seqs, "tokens": tokens,
               "ms_full": round(best["off"], 2), "ms_body_only": round(best["stop"], 2),
               "ms_per_token_full": round(best["off"] / n, 2),
               "ms_per_token_body_only": round(best["stop"] / n, 2)}
        print(f"pass  {seqs:>2} x {tokens:>3} tokens: full {row['ms_full']:7.2f} ms "
              f"({row['ms_per_token_full']:5.2f} a token), body only {row['ms_body_only']:7.2f} ms "
              f"({row['ms_per_token_body_only']:5.2f} a token)", flush=True)
        rows.append(row)
    return rows


def run_row(row: Row, groups: Sequence[tuple[Extractor[Any], list[Record], JSON]],
            many: bool) -> None:
    """Extract every group's records (``run()`` one by one, or ``run_many``), adding to
    ``row``."""
    sessions = [extractor.session for extractor, _, _ in groups]
    passes = sum(s.passes for s in sessions)
    decode_seconds = sum(s.decode_seconds for s in sessions)
    start = time.perf_counter()
    for extractor, records, schema in groups:
        texts = [r.text for r in records]
        items: Iterable[Extraction[Any] | BaseException]
        if many:
            items = extractor.run_many(texts, return_exceptions=True)
        else:
            items = (_run(extractor, t) for t in texts)
        for record, item in zip(records, items, strict=True):
            if isinstance(item, BaseException):
                row.outputs.append(f"<{type(item).__name__}>")
                row.slots += score_slots(None, record.gold)
                continue
            row.outputs.append(item.raw_text)
            row.sampled += item.usage.sampled_tokens
            row.sparse += item.usage.sparse_tokens
            row.drafted += item.usage.drafted_tokens
            row.accepted += item.usage.accepted_draft_tokens
            row.tokens += item.usage.prompt_tokens + item.usage.output_tokens
            ok = is_valid(item.value, schema)
            row.valid += ok
            row.slots += score_slots(item.value if ok else None, record.gold)
    row.seconds += time.perf_counter() - start
    row.passes += sum(s.passes for s in sessions) - passes
    row.decode_seconds += sum(s.decode_seconds for s in sessions) - decode_seconds


def _run(extractor: Extractor[Any], text: str) -> Extraction[Any] | BaseException:
    try:
        return extractor.run(text)
    except ExtractlyError as exc:
        return exc


Groups = list[tuple[Extractor[Any], list[Record], JSON]]
Make = Callable[[bool, bool], Groups]


Plan = list[tuple[str, str, bool]]
"""Rows: (label, setup, run_many)."""


def _setups(make: Make, with_many: bool, drafts: bool,
            lone_alone: bool) -> tuple[dict[str, Groups], Plan]:
    """The extractors of each setup, and the rows to run on them."""
    setups = {"full": make(False, False), "sparse": make(True, False)}
    plan = [("full run()", "full", False), ("sparse run()", "sparse", False)]
    if with_many:
        plan.append(("sparse run_many", "sparse", True))
    if drafts:
        setups["drafts"] = make(True, True)
        plan += [("sparse+drafts run()", "drafts", False)]
        plan += [("sparse+drafts run_many", "drafts", True)] if with_many else []
    if lone_alone:
        setups["full alone"], setups["sparse alone"] = make(False, False), make(True, False)
        for key in ("full alone", "sparse alone"):
            for extractor, _, _ in setups[key]:
                for decoder in extractor.session._decoders():
                    decoder.pad_lone = False
        plan += [("full run(), lone alone", "full alone", False),
                 ("sparse run(), lone alone", "sparse alone", False)]
    return setups, plan


def compare(name: str, make: Make, with_many: bool, drafts: bool, blocks: int,
            lone_alone: bool = False) -> JSON:
    """Full ``run()`` (the "before"), sparse ``run()`` and, with ``with_many``, sparse
    ``run_many`` at the default batch size; with ``drafts`` also copy speculation's rows; with
    ``lone_alone`` also ``run()`` full and sparse with a lone token decoded by itself instead
    of beside a filler token (``Decoder.pad_lone``: faster, but rounds unlike a batch).
    The documents are taken in ``blocks`` slices, the rows alternating their order from one
    slice to the next, so that the host's drift falls on every row alike."""
    setups, plan = _setups(make, with_many, drafts, lone_alone)
    for groups in setups.values():  # warm-up: prefixes, first-call costs
        for extractor, records, _ in groups:
            extractor.run(records[0].text)
    rows = [Row(label) for label, _, _ in plan]
    for b in range(blocks):
        order = list(range(len(plan)))
        for i in order if b % 2 == 0 else order[::-1]:
            _, key, many = plan[i]
            part = [(e, records[b * len(records) // blocks:(b + 1) * len(records) // blocks], s)
                    for e, records, s in setups[key]]
            run_row(rows[i], part, many)
    for groups in setups.values():
        for extractor, _, _ in groups:
            extractor.close()
    return _report(name, rows)


def _report(name: str, rows: list[Row]) -> JSON:
    full, sparse = rows[0], rows[1]
    out = [r.as_json(full) for r in rows]
    for r in out:
        print(f"{name:6} {r['row']:22} {r['docs']:>5} {r['seconds']:>8.1f} s "
              f"{r['docs_per_s']:>7.2f} docs/s  x{r['docs_per_s'] / out[0]['docs_per_s']:.2f}  "
              f"sparse share {r['sparse_share']:.3f} drafts {r['accepted_draft_share']:.3f}  "
              f"same {r['same_as_full_run']}/{r['docs']}  F1 {r['slot_f1']:.4f}  "
              f"{r['passes_per_doc']} passes, {r['tokens_per_doc']} tokens a doc, "
              f"{r['decode_share']:.0%} in llama_decode", flush=True)
    # What 2x on run() would need: half the full run's time, against the time the sparse
    # run spent in llama_decode alone (body-only passes wherever the sparse head served).
    bound = {"half_full_run_s": round(full.seconds / 2, 1),
             "sparse_run_decode_s": round(sparse.decode_seconds, 1),
             "sparse_run_other_s": round(sparse.seconds - sparse.decode_seconds, 1)}
    print(f"{name:6} 2x on run() needs {bound['half_full_run_s']} s; sparse run() spent "
          f"{bound['sparse_run_decode_s']} s in llama_decode and "
          f"{bound['sparse_run_other_s']} s elsewhere", flush=True)
    return {"set": name, "rows": out, "run_2x_bound": bound}


def tuned_groups(dataset: str, limit: int) -> Make:
    schemas = load_schemas(dataset)
    test = load_split("test", dataset)
    records = stratified(test, limit, list(schemas)) if dataset == "snips" else test[:limit]
    model = resolve_model_path(None)

    def make(sparse: bool, drafts: bool) -> list[tuple[Extractor[Any], list[Record], JSON]]:
        groups = []
        for name, schema in schemas.items():
            docs = [r for r in records if r.schema == name]
            if not docs:
                continue
            if lookup(load_schema(schema, Safeguards()), model) is None:
                raise SystemExit(f"no adapter registered for {dataset} {name}; tune it first: "
                                 f"python benchmarks/accuracy.py --sets {dataset} --tune-only")
            groups.append((Extractor(schema, sparse_head=sparse, copy_drafts=drafts), docs,
                           schema))
        return groups

    return make


def base_groups(limit: int) -> Make:
    schemas = load_schemas("snips")
    train, test = load_split("train", "snips"), load_split("test", "snips")
    records = stratified(test, limit, list(schemas))

    def make(sparse: bool, drafts: bool) -> list[tuple[Extractor[Any], list[Record], JSON]]:
        groups = []
        for name, schema in schemas.items():
            shots = [(r.text, r.gold) for r in pick_examples(train, name)]
            docs = [r for r in records if r.schema == name]
            groups.append((Extractor(schema, examples=shots, sparse_head=sparse,
                                     copy_drafts=drafts), docs, schema))
        return groups

    return make


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="snips,e2e")
    ap.add_argument("--snips", type=int, default=700)
    ap.add_argument("--e2e", type=int, default=1000)
    ap.add_argument("--base-docs", type=int, default=140)
    ap.add_argument("--step-batches", default="1,4,7,16")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--pass-shapes", default="1x1,1x2,1x4,1x16,1x256,4x1,4x4,4x16",
                    help="SEQSxTOKENS passes to time (empty: none)")
    ap.add_argument("--blocks", type=int, default=4,
                    help="slices of the documents, the rows' order alternating between them")
    ap.add_argument("--drafts", action="store_true",
                    help="also copy speculation's rows (copy_drafts=True)")
    ap.add_argument("--lone-alone", action="store_true",
                    help="also run() with a lone token decoded without its filler token")
    ap.add_argument("--out", default="benchmarks/results/sparse_head.json")
    args = ap.parse_args(argv)
    result: JSON = {"benchmark": "sparse_head"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        out.write_text(json.dumps(result, indent=1))

    if args.step_batches:
        result["steps"] = step_times([int(b) for b in args.step_batches.split(",")], args.steps)
        save()
    if args.pass_shapes:
        shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.pass_shapes.split(",")]
        result["pass_shapes"] = pass_shapes([(s, t) for s, t in shapes], args.steps)
        save()
    limits = {"snips": args.snips, "e2e": args.e2e}
    result["tuned"] = []
    for dataset in filter(None, args.sets.split(",")):
        result["tuned"].append(compare(dataset, tuned_groups(dataset, limits[dataset]), True,
                                      args.drafts, args.blocks, args.lone_alone))
        save()
    if args.base_docs:
        result["base"] = compare("base", base_groups(args.base_docs), False, args.drafts,
                                 args.blocks)
        save()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
