"""Train the general adapter: one LoRA on many schemas, prompted with each schema's
instructions and field list (``build_prompt(zero_shot=True)``), so a schema nobody tuned for
gets a model that has learned the task (schema + text -> JSON).

    python -m extractly.general.train --data ../shared/data --sets snips,e2e,usaddress \\
        --leave-out e2e --synthetic ../shared/data/jsonschemabench/maskbench_subset.jsonl \\
        -o general-adapter [--per-set 600 --per-schema 2 --spans 1200 --epochs 1 --budget 3h]
        [--slurp path/to/slurp-clone]

Each source's pairs are encoded exactly as a schema-specific tune encodes them (the target is
what the constrained decoder writes; loss only where the decoder chooses), but behind that
schema's zero-shot prompt. Schemas the decoder cannot compile, pairs that do not fit their
schema and pairs longer than ``max_seq_len`` tokens are counted and left out, never trimmed (a
cut prompt would teach answers the text does not support). Training stops before it starts if
any training text copies a protected evaluation text (``--protect``, default the demo's show
notes; ``leakage.near_copies``). The manifest records the mix
(``mix.Mix.record``: sources, commits, licenses, what was left out), the settings and the
metrics, and ``"prompt": "zero-shot"``, which tells an Extractor given this adapter to send the
instructions (``adapter_registry.adapter_prompt``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import resource
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..adapter_registry import GENERAL_PROMPT, MANIFEST_FILE
from ..errors import ExtractlyError
from ..model_files import file_sha256, resolve_model_path
from ..prompt import build_prompt
from ..schema import load_schema
from ..settings import Safeguards
from ..tune.config import Progress, TuneConfig, stderr_progress
from ..tune.dataset import Encoded, encode, make_pair
from ..tune.plan import Schedule
from .leakage import near_copies
from .mix import Mix, combine, labelled_sets, spans, synthetic


@dataclass(frozen=True)
class GeneralConfig:
    epochs: int = 1
    learning_rate: float = 1e-3
    budget_seconds: float | None = None
    validation: int = 60
    """Pairs held out (seeded) for the validation loss."""
    rank: int = 16
    alpha: int = 32
    batch_size: int = 8
    max_seq_len: int = 640
    seed: int = 0
    max_steps: int | None = None


@dataclass(frozen=True)
class Encoding:
    encoded: list[Encoded]
    dropped: dict[str, int]
    """Why pairs or schemas were left out -> how many."""


def encode_mix(mix: Mix, model: Any, max_seq_len: int) -> Encoding:
    """Every usable pair of ``mix`` behind its schema's zero-shot prompt (``model``: a loaded
    ``LlamaModel``)."""
    from ..constraint import compile_constraint
    from ..engine.tokenizer import tokenizer_for

    tokenizer = tokenizer_for(model)
    bos = model.bos if model.add_bos else None
    out: list[Encoded] = []
    dropped: dict[str, int] = {}

    def drop(why: str, n: int = 1) -> None:
        dropped[why] = dropped.get(why, 0) + n

    for source in mix.sources:
        try:
            spec = load_schema(source.schema, Safeguards())
            constraint = compile_constraint(spec.decode_schema, tokenizer,
                                            allow_post_checks=True)
        except (ExtractlyError, ValueError) as exc:
            drop(f"schema not compiled ({type(exc).__name__})", len(source.pairs))
            continue
        prompt = build_prompt(spec, zero_shot=True)
        for text, output in source.pairs:
            try:
                pair = make_pair(text, output, spec, where=source.name)
                (encoded,) = encode([pair], spec, model.tokenize, bos, constraint, tokenizer,
                                    prompt=prompt)
            except (ExtractlyError, ValueError):
                drop("pair does not fit its schema's constraint")
                continue
            if len(encoded.prompt) + len(encoded.target) > max_seq_len:
                drop(f"longer than {max_seq_len} tokens")
                continue
            out.append(encoded)
    return Encoding(out, dropped)


class LeakError(ValueError):
    """The training mix holds a protected (evaluation) text or a near copy of one."""


def train_general(mix: Mix, out_dir: Path, config: GeneralConfig, *,
                  model: str | None = None, protected: Sequence[str] = (),
                  progress: Progress | None = stderr_progress) -> Path:
    """Train on ``mix`` and write ``out_dir/adapter.gguf`` and its manifest; the adapter path.
    ``protected``: evaluation texts (the demo's show notes) that no training text may contain
    or nearly copy (``leakage.near_copies``); the run stops before training if one does."""
    from ..engine.llama import load_model
    from ..tune.export import write_adapter
    from ..tune.train import load_base, load_torch, train_lora

    leaks = near_copies((text for s in mix.sources for text, _ in s.pairs), protected)
    if leaks:
        first = leaks[0]
        raise LeakError(f"{len(leaks)} training text(s) copy a protected text, e.g. "
                        f"{first.candidate[:80]!r} holds {first.containment:.0%} of protected "
                        f"text {first.protected}; drop them from the mix")
    started = time.monotonic()
    load_torch()
    model_path = resolve_model_path(model)
    llama = load_model(model_path)
    encoding = encode_mix(mix, llama, config.max_seq_len)
    data = encoding.encoded
    if len(data) < 2 * config.validation:
        raise ValueError(f"only {len(data)} usable pairs; the general adapter needs far more")
    random.Random(config.seed).shuffle(data)
    val, train = data[: config.validation], data[config.validation:]
    if progress is not None:
        progress(f"general: {len(train)} pairs from {len(mix.sources)} schemas "
                 f"({len(val)} for validation); left out: {encoding.dropped}")
    tune_config = TuneConfig(rank=config.rank, alpha=config.alpha, batch_size=config.batch_size,
                             max_seq_len=config.max_seq_len, seed=config.seed,
                             max_steps=config.max_steps, learning_rate=config.learning_rate)
    steps_per_epoch = max(1, len(train) // config.batch_size)
    schedule = Schedule(epochs=config.epochs, learning_rate=config.learning_rate, patience=None,
                        eval_every=max(25, steps_per_epoch // 10),
                        budget_seconds=config.budget_seconds)
    deadline = None if config.budget_seconds is None else started + config.budget_seconds - 30
    base_sha = file_sha256(model_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        base = load_base(model_path, base_sha)
        outcome = train_lora(base, train, val, tune_config, schedule, deadline=deadline,
                             progress=progress)
    del base
    out_dir.mkdir(parents=True, exist_ok=True)
    adapter = write_adapter(out_dir / "adapter.gguf", outcome.lora, alpha=config.alpha,
                            metadata={"base_model_sha256": base_sha, "prompt": GENERAL_PROMPT})
    manifest = {
        "kind": "general",
        "prompt": GENERAL_PROMPT,
        "base_model_sha256": base_sha,
        "verbatim": [],
        "mix": mix.record(),
        "dropped": encoding.dropped,
        "pairs_trained": len(train),
        "protected_texts": len(protected),
        "config": asdict(config),
        "metrics": outcome.metrics | {
            "wall_seconds": round(time.monotonic() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return adapter


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="folder of labelled sets (train splits are read)")
    ap.add_argument("--sets", default="", help="comma-separated set folders under --data")
    ap.add_argument("--leave-out", default="", help="sets to keep out (scored zero-shot later)")
    ap.add_argument("--per-set", type=int, default=600)
    ap.add_argument("--synthetic", type=Path, help="JSONL of schemas (id, schema)")
    ap.add_argument("--synthetic-origin", default="guidance-ai/jsonschemabench@ba103c7")
    ap.add_argument("--synthetic-license", default="MIT")
    ap.add_argument("--per-schema", type=int, default=3)
    ap.add_argument("--spans", type=int, default=0,
                    help="span records to add (one-line texts over flat nullable-string "
                         "schemas; needs --synthetic for the commands' field names)")
    ap.add_argument("--slurp", type=Path,
                    help="a clone of github.com/pswietojanski/slurp: its annotated commands "
                         "(devel and test splits, CC BY 4.0) as one schema an intent, none "
                         "that is a text of a set under --data")
    ap.add_argument("--slurp-pairs", type=int, default=1000,
                    help="SLURP commands to take (a seeded sample; default %(default)s)")
    ap.add_argument("--epochs", type=int, default=GeneralConfig.epochs)
    ap.add_argument("--learning-rate", type=float, default=GeneralConfig.learning_rate)
    ap.add_argument("--budget", type=_seconds, default=None, help="e.g. 3h, 90m")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--protect", default="examples.podcast:SHOW_NOTES",
                    help="module:NAME of a list of evaluation texts kept out of training "
                         "('' for none)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.slurp and not args.data:
        ap.error("--slurp needs --data: a SLURP command whose words match a text of an "
                 "evaluation set there is left out, and without --data nothing would be; "
                 "give the folder of the sets you will score (e.g. --data ../shared/data)")
    protected: list[str] = []
    if args.protect:
        module, _, name = args.protect.partition(":")
        protected = list(getattr(importlib.import_module(module), name))
    mixes = []
    if args.data and args.sets:
        mixes.append(labelled_sets(args.data, [s for s in args.sets.split(",") if s],
                                   leave_out=[s for s in args.leave_out.split(",") if s],
                                   per_set=args.per_set, seed=args.seed))
    if args.synthetic:
        mixes.append(synthetic(args.synthetic, per_schema=args.per_schema, seed=args.seed,
                               origin=args.synthetic_origin, license_=args.synthetic_license))
        if args.spans:
            mixes.append(spans(args.synthetic, pairs=args.spans, seed=args.seed,
                               origin=args.synthetic_origin, license_=args.synthetic_license))
    elif args.spans:
        ap.error("--spans takes its commands' field names from --synthetic; give it")
    if args.slurp:
        from .slurp import evaluation_texts, slurp_set
        mixes.append(slurp_set(args.slurp, per_set=args.slurp_pairs, seed=args.seed,
                               exclude=evaluation_texts(args.data)))
    if not mixes:
        ap.error("give --data with --sets, or --synthetic, or both")
    config = GeneralConfig(epochs=args.epochs, learning_rate=args.learning_rate,
                           budget_seconds=args.budget, max_steps=args.max_steps, seed=args.seed)
    adapter = train_general(combine(*mixes), args.out, config, protected=protected)
    print(adapter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
