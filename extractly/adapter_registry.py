"""Where tuned adapters live: ``<cache dir>/adapters/<schema fingerprint>-<base sha256[:16]>/``.

Each entry holds the adapter in use, ``adapter.gguf`` and ``manifest.json`` (schema,
fingerprint, base model hash, data hash, training settings, metrics, date), and earlier ones
under ``kept/<adapter id>/`` (the id is the adapter file's sha256[:12]): a new adapter for the
same key (``install``: a tune, an import) takes the slot and the one it replaces is kept, so it
can be pinned back. A ``pinned`` file in the entry holds the slot: while it is there a new
adapter goes to ``kept/`` instead (``extractly.adapter_store`` lists, pins and removes). The key
is the fingerprint of the *decode* schema (after safeguards) and the base model's sha256, so any
change to the schema, its field order or the safeguards, or a different base model, looks up
another key: a stale adapter is never found. The manifest is checked again on lookup;
``tuned_fields`` reads what an adapter was tuned to copy verbatim. It sits below the backends
(the local backend looks adapters up) and beside the schema; ``extractly.tune`` writes entries.
This module does not train or load adapters.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ModelNotFoundError
from .model_files import cache_dir, file_sha256
from .schema import SchemaSpec

ADAPTER_FILE = "adapter.gguf"
MANIFEST_FILE = "manifest.json"
KEPT_DIR = "kept"
PIN_FILE = "pinned"


def registry_dir() -> Path:
    return Path(os.environ.get("EXTRACTLY_ADAPTERS") or cache_dir() / "adapters")


def entry_dir(spec: SchemaSpec, base_sha256: str) -> Path:
    return registry_dir() / f"{spec.fingerprint}-{base_sha256[:16]}"


def lookup(spec: SchemaSpec, base_model: Path) -> Path | None:
    """The registered adapter GGUF for ``spec`` on ``base_model``, or None."""
    base = file_sha256(base_model)
    entry = entry_dir(spec, base)
    try:
        manifest = json.loads((entry / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    if (
        manifest.get("schema_fingerprint") != spec.fingerprint
        or manifest.get("base_model_sha256") != base
        or manifest.get("decode_schema") != spec.decode_schema
    ):
        return None
    adapter = entry / ADAPTER_FILE
    return adapter if adapter.is_file() else None


SHIPPED_GENERAL = Path(__file__).with_name("general_adapter") / "general.gguf"
"""The general adapter shipped in the package (``extractly.general.ship`` puts it there), with
its manifest beside it; its own file name, so a backend's name (``...+general.gguf``) tells it
from a schema's tuned ``adapter.gguf``."""


def shipped_general(base_model: Path) -> Path | None:
    """The shipped general adapter when it was trained on ``base_model`` (its manifest's
    ``base_model_sha256``), else None: an adapter is never applied to another model."""
    base = _manifest_value(SHIPPED_GENERAL, "base_model_sha256")
    if not SHIPPED_GENERAL.is_file() or base is None or base != file_sha256(base_model):
        return None
    return SHIPPED_GENERAL


def register(
    spec: SchemaSpec, base_model: Path, adapter: Path, info: Mapping[str, Any]
) -> Path:
    """Copy ``adapter`` into the registry with its manifest; return the registered path (the
    slot in use, or ``kept/<id>/`` when another adapter is pinned for the key)."""
    base = file_sha256(base_model)
    return install(entry_dir(spec, base), adapter.read_bytes(), make_manifest(spec, base, info))


def adapter_id(data: bytes) -> str:
    """The short id of an adapter: its file's sha256[:12]."""
    return hashlib.sha256(data).hexdigest()[:12]


def install(entry: Path, data: bytes, manifest: Mapping[str, Any]) -> Path:
    """Put an adapter (file bytes and manifest) into ``entry``: in the slot, keeping the one it
    replaces, or under ``kept/`` when the slot is pinned. Returns the adapter's path."""
    entry.mkdir(parents=True, exist_ok=True)
    target = entry
    slot = entry / ADAPTER_FILE
    same = slot.is_file() and adapter_id(slot.read_bytes()) == adapter_id(data)
    if (entry / PIN_FILE).is_file() and slot.is_file() and not same:
        target = entry / KEPT_DIR / adapter_id(data)
    elif not same:
        keep_slot(entry)
    target.mkdir(parents=True, exist_ok=True)
    write_atomic(target / ADAPTER_FILE, data)
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    write_atomic(target / MANIFEST_FILE, text.encode("utf-8"))
    if target == entry:  # a kept copy of the same adapter is now the one in use
        kept = entry / KEPT_DIR / adapter_id(data)
        for name in (ADAPTER_FILE, MANIFEST_FILE):
            (kept / name).unlink(missing_ok=True)
        if kept.is_dir() and not any(kept.iterdir()):
            kept.rmdir()
    return target / ADAPTER_FILE


def keep_slot(entry: Path) -> None:
    """Move the adapter in ``entry``'s slot (if any) to ``kept/<id>/``; the slot is then empty."""
    current = entry / ADAPTER_FILE
    if not current.is_file():
        return
    kept = entry / KEPT_DIR / adapter_id(current.read_bytes())
    kept.mkdir(parents=True, exist_ok=True)
    if (entry / MANIFEST_FILE).is_file():
        (entry / MANIFEST_FILE).replace(kept / MANIFEST_FILE)
    current.replace(kept / ADAPTER_FILE)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def resolve_adapter(path: str | os.PathLike[str]) -> Path:
    """The adapter GGUF at ``path`` (a file, or a directory ``extractly tune`` wrote)."""
    adapter = Path(path).expanduser()
    if adapter.is_dir():
        adapter = adapter / ADAPTER_FILE
    if not adapter.is_file():
        raise ModelNotFoundError(
            f"no adapter GGUF at {adapter}; pass the file `extractly tune` wrote, or 'auto'"
        )
    return adapter


def tuned_fields(adapter: Path | None) -> tuple[str, ...]:
    """The verbatim fields an adapter was tuned with (its manifest's ``verbatim`` list): the
    decoder must copy them too, since the tune only learned to rank the tokens the verbatim
    constraint allows there. Empty without an adapter or a readable manifest."""
    fields = None if adapter is None else _manifest_value(adapter, "verbatim")
    return tuple(str(f) for f in fields) if isinstance(fields, list) else ()


GENERAL_PROMPT = "zero-shot"
"""The manifest's ``prompt`` of a general adapter (``extractly.general.train``): it is used with
the schema's instructions and field list and no examples (``build_prompt(zero_shot=True)``);
a schema-specific adapter has no ``prompt`` key and gets only the text."""


def adapter_prompt(adapter: Path | None) -> str | None:
    """The manifest's ``prompt`` of ``adapter`` (``GENERAL_PROMPT`` for a general adapter),
    ``None`` for a schema-specific one or without a readable manifest."""
    kind = None if adapter is None else _manifest_value(adapter, "prompt")
    return str(kind) if kind else None


def _manifest_value(adapter: Path, key: str) -> Any:
    """``key`` of the manifest beside ``adapter``; None when it is missing or unreadable."""
    try:
        manifest = json.loads(adapter.with_name(MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get(key) if isinstance(manifest, dict) else None


def make_manifest(spec: SchemaSpec, base_sha256: str, info: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "schema_name": spec.name,
        "schema_fingerprint": spec.fingerprint,
        "schema": spec.user_schema,
        "decode_schema": spec.decode_schema,
        "base_model_sha256": base_sha256,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **info,
    }
