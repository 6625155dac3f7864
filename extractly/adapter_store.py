"""What ``extractly adapters`` does on the registry: list, show, remove, pin and unpin adapters.

Works on the layout ``extractly.adapter_registry`` defines: one entry per (schema fingerprint,
base model sha256), the adapter in use in its slot and earlier ones under ``kept/<id>/``. An
adapter is named by its id (the file's sha256[:12]; any unique prefix), or by its schema's name
or fingerprint when that picks one adapter. Pinning puts an adapter in its entry's slot, so it
is the one ``Extractor(schema, adapter="auto")`` loads, and holds the slot against later tunes
and imports until ``unpin``. Removing the adapter in use leaves the schema without one (``auto``
then decodes with the base model's prompt) until another is pinned: nothing is picked silently.

Not here: export and import (``extractly.adapter_bundle``), training, loading an adapter.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapter_registry import (
    ADAPTER_FILE,
    KEPT_DIR,
    MANIFEST_FILE,
    PIN_FILE,
    adapter_id,
    keep_slot,
    registry_dir,
)
from .errors import AdapterError

_ENTRY_NAME = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{16}$")


@dataclass(frozen=True)
class StoredAdapter:
    """One adapter file in the registry and what its manifest says."""

    id: str
    path: Path
    """The adapter GGUF."""
    entry: Path
    """Its registry entry (``<fingerprint>-<base sha256[:16]>``)."""
    manifest: dict[str, Any]
    in_use: bool
    """In the entry's slot: the one ``adapter="auto"`` loads for this schema and base model."""
    pinned: bool

    @property
    def schema_name(self) -> str:
        return str(self.manifest.get("schema_name", "?"))

    @property
    def fingerprint(self) -> str:
        return str(self.manifest.get("schema_fingerprint", self.entry.name.split("-")[0]))

    @property
    def base_sha256(self) -> str:
        return str(self.manifest.get("base_model_sha256", self.entry.name.split("-")[-1]))

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def summary(self) -> dict[str, Any]:
        """The row ``extractly adapters list`` prints (and ``--json`` writes)."""
        metrics = self.manifest.get("metrics") or {}
        return {
            "id": self.id,
            "schema": self.schema_name,
            "fingerprint": self.fingerprint,
            "base_model_sha256": self.base_sha256,
            "created": self.manifest.get("created"),
            "pairs": self.manifest.get("pairs"),
            "data_sha256": self.manifest.get("data_sha256"),
            "metrics": {k: metrics[k] for k in _METRIC_KEYS if metrics.get(k) is not None},
            "in_use": self.in_use,
            "pinned": self.pinned,
            "path": str(self.path),
        }


_METRIC_KEYS = ("steps", "final_train_loss", "best_validation_loss", "wall_seconds")


def stored_adapters(root: Path | None = None) -> list[StoredAdapter]:
    """Every adapter in the registry (``root``, default ``registry_dir()``): per entry the one
    in use first, then the kept ones, newest first."""
    root = registry_dir() if root is None else root
    found: list[StoredAdapter] = []
    if not root.is_dir():
        return found
    for entry in sorted(p for p in root.iterdir() if p.is_dir() and _ENTRY_NAME.match(p.name)):
        pinned = (entry / PIN_FILE).is_file()
        slot = _read(entry, entry, in_use=True, pinned=pinned)
        if slot is not None:
            found.append(slot)
        kept = [
            _read(d, entry, in_use=False, pinned=False)
            for d in sorted((entry / KEPT_DIR).glob("*"))
            if d.is_dir()
        ]
        found.extend(sorted((k for k in kept if k is not None),
                            key=lambda a: str(a.manifest.get("created", "")), reverse=True))
    return found


def _read(folder: Path, entry: Path, *, in_use: bool, pinned: bool) -> StoredAdapter | None:
    adapter = folder / ADAPTER_FILE
    if not adapter.is_file():
        return None
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if not isinstance(manifest, dict):
        manifest = {}
    return StoredAdapter(
        id=adapter_id(adapter.read_bytes()),
        path=adapter,
        entry=entry,
        manifest=manifest,
        in_use=in_use,
        pinned=pinned and in_use,
    )


def find(ref: str, root: Path | None = None) -> StoredAdapter:
    """The one adapter ``ref`` names: an id prefix, or a schema name or fingerprint that
    matches a single adapter. ``AdapterError`` naming the candidates otherwise."""
    adapters = stored_adapters(root)
    if not ref:
        raise AdapterError("name an adapter: its id (see `extractly adapters list`)")
    by_id = [a for a in adapters if a.id.startswith(ref.lower())]
    matches = by_id or [a for a in adapters if ref in (a.schema_name, a.fingerprint)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        where = root or registry_dir()
        known = ", ".join(f"{a.id} ({a.schema_name})" for a in adapters) or "none"
        raise AdapterError(
            f"no adapter {ref!r} in {where}; registered: {known}. "
            "`extractly adapters list` shows them (EXTRACTLY_ADAPTERS selects the folder)"
        )
    listed = ", ".join(f"{a.id} ({a.schema_name}{', in use' if a.in_use else ''})"
                       for a in matches)
    raise AdapterError(f"{ref!r} names {len(matches)} adapters: {listed}; give an id instead")


def remove(ref: str, root: Path | None = None) -> tuple[StoredAdapter, list[StoredAdapter]]:
    """Delete the adapter ``ref`` names; return it and the adapters left for its entry."""
    target = find(ref, root)
    if target.in_use:
        for name in (ADAPTER_FILE, MANIFEST_FILE, PIN_FILE):
            (target.entry / name).unlink(missing_ok=True)
    else:
        shutil.rmtree(target.path.parent)
    kept = target.entry / KEPT_DIR
    if kept.is_dir() and not any(kept.iterdir()):
        kept.rmdir()
    if not any(target.entry.iterdir()):
        target.entry.rmdir()
    left = [a for a in stored_adapters(root) if a.entry == target.entry]
    return target, left


def pin(ref: str, root: Path | None = None) -> StoredAdapter:
    """Make the adapter ``ref`` names the one in use for its schema and base model, and hold
    it there: later tunes and imports for the same schema go to ``kept/`` until ``unpin``."""
    target = find(ref, root)
    entry = target.entry
    if not target.in_use:
        keep_slot(entry)
        for name in (ADAPTER_FILE, MANIFEST_FILE):
            if (target.path.parent / name).is_file():
                (target.path.parent / name).replace(entry / name)
        target.path.parent.rmdir()
    (entry / PIN_FILE).write_text(target.id + "\n", encoding="utf-8")
    return find(target.id, root)


def unpin(ref: str, root: Path | None = None) -> StoredAdapter:
    """Release the slot of the adapter ``ref`` names: it stays in use until a new adapter for
    the same schema is tuned or imported."""
    target = find(ref, root)
    if not target.pinned:
        raise AdapterError(f"adapter {target.id} ({target.schema_name}) is not pinned")
    (target.entry / PIN_FILE).unlink()
    return find(target.id, root)


def format_list(adapters: list[StoredAdapter]) -> str:
    """The table ``extractly adapters list`` prints."""
    if not adapters:
        return f"no adapters in {registry_dir()} (`extractly tune` or `adapters import` add one)"
    header = ("id", "schema", "fingerprint", "base", "created", "pairs", "size", "metrics", "use")
    rows = [header]
    for a in adapters:
        s = a.summary()
        metrics = " ".join(f"{_short_metric(k)}={_fmt(v)}" for k, v in s["metrics"].items())
        use = "pinned" if a.pinned else "in use" if a.in_use else "kept"
        rows.append((a.id, a.schema_name, a.fingerprint, a.base_sha256[:8],
                     str(s["created"] or "-")[:16], str(s["pairs"] or "-"), _size(a.size),
                     metrics or "-", use))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def _short_metric(key: str) -> str:
    return {"final_train_loss": "loss", "best_validation_loss": "val_loss",
            "wall_seconds": "tune_s"}.get(key, key)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
