"""The ``extractly`` command line: a thin layer over the library.

    extractly extract SCHEMA [TEXT|-]     print the extracted object as JSON
    extractly tune SCHEMA TRAIN.jsonl -o DIR   LoRA adapter for SCHEMA (needs extractly[tune])

SCHEMA is ``module:Class`` (a Pydantic model) or a path to a JSON Schema file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import ExtractlyError, SchemaError
from .extractor import Extractor


def load_schema_ref(ref: str) -> type[BaseModel] | Mapping[str, Any]:
    """Resolve ``module:Class`` or a JSON Schema file path."""
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SchemaError(f"cannot read JSON Schema from {ref}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SchemaError(f"{ref} does not hold a JSON object")
        return loaded
    module_name, sep, attr = ref.partition(":")
    if not sep:
        raise SchemaError(f"SCHEMA must be module:Class or a .json file, not {ref!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SchemaError(f"cannot import {module_name}: {exc}") from exc
    obj = getattr(module, attr, None)
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return obj
    if isinstance(obj, Mapping):
        return obj
    raise SchemaError(f"{ref} is not a Pydantic model class or a JSON Schema dict")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="extractly", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="extract one object from a text")
    ext.add_argument("schema", help="module:Class or a JSON Schema file")
    ext.add_argument("text", nargs="?", default="-", help="the text, or - for stdin (default)")
    ext.add_argument("--model", help="path to a GGUF (default: the embedded Gemma 3 270M)")
    ext.add_argument("--max-tokens", type=int, default=None)
    ext.add_argument("--adapter", help="LoRA adapter GGUF from `extractly tune`, or 'auto'")
    tun = sub.add_parser("tune", help="fine-tune a LoRA adapter for one schema")
    tun.add_argument("schema", help="module:Class or a JSON Schema file")
    tun.add_argument("train", help='JSONL of {"text", "output"} (or {"text", "gold"}) lines')
    tun.add_argument("-o", "--out", required=True, help="directory for adapter.gguf")
    tun.add_argument("--model", help="base GGUF (default: the embedded Gemma 3 270M)")
    tun.add_argument("--epochs", type=int, default=3)
    tun.add_argument("--max-steps", type=int, default=None)
    tun.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "tune":
        return _tune(args)

    try:
        schema = load_schema_ref(args.schema)
        text = sys.stdin.buffer.read() if args.text == "-" else args.text
        extractor: Extractor[Any] = Extractor(
            schema, model=args.model, max_tokens=args.max_tokens, adapter=args.adapter
        )
        value = extractor.run(text).value
    except ExtractlyError as exc:
        print(f"extractly: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if isinstance(value, BaseModel):
        print(value.model_dump_json())
    else:
        print(json.dumps(value, ensure_ascii=False))
    return 0


def _tune(args: argparse.Namespace) -> int:
    try:
        from .tune import TuneConfig, tune
    except ImportError as exc:
        print(f"extractly: tune needs the [tune] extra ({exc}): pip install 'extractly[tune]'",
              file=sys.stderr)
        return 2
    try:
        config = TuneConfig(epochs=args.epochs, max_steps=args.max_steps, seed=args.seed)
        result = tune(load_schema_ref(args.schema), args.train, out_dir=args.out,
                      model=args.model, config=config)
    except ExtractlyError as exc:
        print(f"extractly: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"adapter": str(result.adapter), "registered": str(result.registered),
                      "metrics": result.manifest["metrics"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
