"""``extractly adapters``: the command line of the adapter registry (thin over the library).

    extractly adapters list [--json]           every registered adapter: id, schema, fingerprint,
                                               base model, date, data size, metrics, in use
    extractly adapters show REF                its manifest (JSON)
    extractly adapters remove REF              delete it
    extractly adapters pin REF | unpin REF     make it the one ``adapter="auto"`` loads, and keep
                                               it there against later tunes / release that
    extractly adapters export REF -o FILE      one file: adapter + manifest + schema
    extractly adapters import FILE [--model GGUF] [--schema SCHEMA]
                                               check it fits the base model and schema, register

REF is an adapter id (or a unique prefix), or a schema name or fingerprint that names one
adapter. ``$EXTRACTLY_ADAPTERS`` selects the registry folder. Errors print as
``extractly: Type: message`` with exit status 2, like the other commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import adapter_store
from .adapter_bundle import export_adapter, import_adapter
from .errors import ExtractlyError
from .schema_ref import load_schema_ref


def add_parser(sub: Any) -> None:
    """Register ``adapters`` and its subcommands on the ``extractly`` parser's subparsers."""
    ad = sub.add_parser(
        "adapters",
        help="list, show, remove, pin, export and import tuned adapters",
        description="List, show, remove, pin, export and import the tuned adapters. REF is an "
        "adapter id (or a unique prefix), or a schema name or fingerprint naming one adapter. "
        "The registry folder is $EXTRACTLY_ADAPTERS (default: <cache dir>/adapters).",
    )
    ad.set_defaults(handler=_run)
    cmds = ad.add_subparsers(dest="adapters_command", required=True)
    ls = cmds.add_parser("list", help="every registered adapter")
    ls.add_argument("--json", action="store_true", help="one JSON object per adapter")
    for name, text in (("show", "print an adapter's manifest"), ("remove", "delete an adapter"),
                       ("pin", "make it the adapter in use for its schema, and hold it there"),
                       ("unpin", "let a later tune or import replace it")):
        cmd = cmds.add_parser(name, help=text)
        cmd.add_argument("ref", help="adapter id (or prefix), schema name or fingerprint")
    ex = cmds.add_parser("export", help="write an adapter, its manifest and schema to one file")
    ex.add_argument("ref", help="adapter id (or prefix), schema name or fingerprint")
    ex.add_argument("-o", "--out", required=True, help="the file (or a directory for it)")
    im = cmds.add_parser("import", help="register an adapter file from `adapters export`")
    im.add_argument("file", help="the exported file")
    im.add_argument("--model", help="the base GGUF it must fit (default: the embedded model)")
    im.add_argument("--schema", help="module:Class or JSON Schema file it must be for")


def _run(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args)
    except (ExtractlyError, OSError) as exc:
        print(f"extractly: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    command = args.adapters_command
    if command == "list":
        adapters = adapter_store.stored_adapters()
        if args.json:
            for a in adapters:
                print(json.dumps(a.summary(), ensure_ascii=False))
        else:
            print(adapter_store.format_list(adapters))
    elif command == "show":
        stored = adapter_store.find(args.ref)
        print(json.dumps({"id": stored.id, "path": str(stored.path), "in_use": stored.in_use,
                          "pinned": stored.pinned, "manifest": stored.manifest},
                         indent=2, ensure_ascii=False))
    elif command == "remove":
        gone, left = adapter_store.remove(args.ref)
        print(f"removed {gone.id} ({gone.schema_name})")
        if gone.in_use:
            rest = ", ".join(a.id for a in left)
            print(f"{gone.schema_name} has no adapter in use now"
                  + (f"; kept: {rest} (extractly adapters pin ID)" if rest else ""))
    elif command in ("pin", "unpin"):
        stored = getattr(adapter_store, command)(args.ref)
        state = "pinned: in use" if stored.pinned else "in use until a new tune or import"
        print(f"{stored.id} ({stored.schema_name}): {state}")
    elif command == "export":
        print(export_adapter(args.ref, args.out))
    else:
        schema = load_schema_ref(args.schema) if args.schema else None
        done = import_adapter(args.file, model=args.model, schema=schema)
        state = "in use" if done.in_use else "kept (another adapter is pinned for this schema)"
        print(f"imported {done.id} ({done.schema_name}): {state}; {done.path}")
    return 0
