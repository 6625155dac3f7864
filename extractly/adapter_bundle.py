"""One file per adapter: ``export_adapter`` writes it, ``import_adapter`` checks and registers it.

The file is a zip archive of four members: ``extractly-adapter.json`` (a small header: format,
version, adapter id and sha256, schema name and fingerprint, base model sha256), the adapter
GGUF, its ``manifest.json`` and ``schema.json`` (the user's schema as JSON Schema). Import
refuses, with what to do, a file that is not such an archive or is damaged (the adapter's
sha256 differs from the header's), an adapter tuned on another base model than the one here
(an adapter only fits the weights it was tuned on), and one whose schema does not give the
recorded fingerprint here (another schema was named, or this extractly derives another decode
schema from it: an Extractor would never look that adapter up). An accepted adapter goes into
the registry like a new tune (``adapter_registry.install``).

Not here: listing, pinning or removing (``extractly.adapter_store``), loading the adapter.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .adapter_registry import (
    ADAPTER_FILE,
    MANIFEST_FILE,
    adapter_id,
    install,
    registry_dir,
)
from .adapter_store import find
from .errors import AdapterError
from .model_files import file_sha256, resolve_model_path
from .schema import load_schema, schema_fingerprint
from .settings import Safeguards

HEADER_FILE = "extractly-adapter.json"
SCHEMA_FILE = "schema.json"
FORMAT = "extractly-adapter"
VERSION = 1


@dataclass(frozen=True)
class Imported:
    path: Path
    """Where the adapter now is in the registry."""
    id: str
    schema_name: str
    in_use: bool
    """False when another adapter is pinned for the schema (the import was kept aside)."""


def export_adapter(ref: str, out: str | os.PathLike[str]) -> Path:
    """Write the registered adapter ``ref`` names (``adapter_store.find``) to one file."""
    stored = find(ref)
    data = stored.path.read_bytes()
    manifest = stored.manifest
    if not manifest.get("schema_fingerprint") or not manifest.get("base_model_sha256"):
        raise AdapterError(
            f"adapter {stored.id} has no usable manifest ({stored.entry / MANIFEST_FILE}); "
            "tune it again, or remove it"
        )
    header = {
        "format": FORMAT,
        "version": VERSION,
        "adapter_id": stored.id,
        "adapter_sha256": hashlib.sha256(data).hexdigest(),
        "schema_name": stored.schema_name,
        "schema_fingerprint": stored.fingerprint,
        "base_model_sha256": stored.base_sha256,
    }
    target = Path(out)
    if target.is_dir():
        target = target / f"{stored.schema_name}-{stored.id}.extractly-adapter.zip"
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(HEADER_FILE, json.dumps(header, indent=2, ensure_ascii=False))
        archive.writestr(MANIFEST_FILE, json.dumps(manifest, indent=2, ensure_ascii=False))
        archive.writestr(SCHEMA_FILE, json.dumps(manifest.get("schema", {}), indent=2,
                                                 ensure_ascii=False))
        archive.writestr(ADAPTER_FILE, data)
    tmp.replace(target)
    return target


def import_adapter(
    path: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    schema: type[BaseModel] | Mapping[str, Any] | None = None,
) -> Imported:
    """Check the file ``export_adapter`` wrote and register its adapter for the base model
    here (``model``, default the embedded one). With ``schema``, it must be the adapter's."""
    source = Path(path)
    header, manifest, data = _read_bundle(source)
    base_path = resolve_model_path(model)
    here = file_sha256(base_path)
    wanted = str(header["base_model_sha256"])
    if here != wanted:
        raise AdapterError(
            f"{source} was tuned on a base model with sha256 {wanted[:16]}..., but the base "
            f"model here ({base_path}) has {here[:16]}...: an adapter only fits the weights it "
            "was tuned on. Import it with --model pointing at that GGUF (or $EXTRACTLY_MODEL), "
            "or tune a new adapter on this model: extractly tune SCHEMA TRAIN.jsonl -o DIR"
        )
    fingerprint = str(header["schema_fingerprint"])
    _check_schema(source, manifest, fingerprint, schema)
    entry = registry_dir() / f"{fingerprint}-{here[:16]}"
    registered = install(entry, data, manifest)
    return Imported(path=registered, id=adapter_id(data), schema_name=str(header["schema_name"]),
                    in_use=registered.parent == entry)


def _read_bundle(source: Path) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    what = f"{source} is not an adapter file from `extractly adapters export`"
    try:
        with zipfile.ZipFile(source) as archive:
            header = json.loads(archive.read(HEADER_FILE))
            manifest = json.loads(archive.read(MANIFEST_FILE))
            data = archive.read(ADAPTER_FILE)
    except FileNotFoundError:
        raise AdapterError(f"no file {source}") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise AdapterError(f"{what} ({exc}); export it again") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise AdapterError(f"{what} (no {FORMAT!r} header); export it again")
    if header.get("version") != VERSION:
        raise AdapterError(
            f"{source} is format version {header.get('version')}; this extractly reads "
            f"version {VERSION}: upgrade extractly, or export it again with this version"
        )
    if hashlib.sha256(data).hexdigest() != header.get("adapter_sha256"):
        raise AdapterError(f"{source} is damaged: its adapter does not match the sha256 in its "
                           "header; copy or export it again")
    if not isinstance(manifest, dict):
        raise AdapterError(f"{what} (its manifest is not an object); export it again")
    for key in ("schema_fingerprint", "base_model_sha256"):
        if manifest.get(key) != header.get(key):
            raise AdapterError(f"{source} is inconsistent: header and manifest disagree on "
                               f"{key}; export it again")
    return header, manifest, data


def _check_schema(
    source: Path,
    manifest: Mapping[str, Any],
    fingerprint: str,
    schema: type[BaseModel] | Mapping[str, Any] | None,
) -> None:
    """The adapter must be found by an Extractor for its schema here: the fingerprint this
    extractly derives (from ``schema`` when given, else the bundled one) must be the adapter's."""
    name = manifest.get("schema_name", "?")
    if schema is not None:
        given = load_schema(schema, Safeguards())
        if given.fingerprint != fingerprint:
            raise AdapterError(
                f"{source} is an adapter for schema {name!r} (fingerprint {fingerprint}), but "
                f"the schema given, {given.name!r}, has fingerprint {given.fingerprint}: its "
                "fields, their order or its constraints differ. Import it for the schema it "
                "was tuned on, or tune a new adapter for this schema"
            )
        return
    decode = manifest.get("decode_schema")
    if not isinstance(decode, Mapping) or schema_fingerprint(decode) != fingerprint:
        raise AdapterError(f"{source}: its decode schema does not give its fingerprint "
                           f"{fingerprint}; export it again")
    bundled = manifest.get("schema")
    rebuilt = load_schema(bundled, Safeguards()) if isinstance(bundled, Mapping) else None
    if rebuilt is None or rebuilt.fingerprint != fingerprint:
        got = "none" if rebuilt is None else rebuilt.fingerprint
        raise AdapterError(
            f"{source}: schema {name!r} gives fingerprint {got} with this extractly, but the "
            f"adapter was tuned for {fingerprint} (another extractly version, or safeguards "
            "other than the defaults): an Extractor here would never use it. Use the extractly "
            "version that exported it, or tune a new adapter here"
        )

