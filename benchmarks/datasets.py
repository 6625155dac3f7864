"""Load the SNIPS-style evaluation sets and score slot extraction. No model, no timing.

The data lives outside the repository in ``../shared/data`` (``$EXTRACTLY_DATA`` overrides it).
SNIPS, E2E and US addresses share one layout: ``<name>/schemas.json`` maps a schema name to a
JSON Schema, and ``<name>/{train,test}.jsonl`` hold ``{"id", "schema", "text", "gold"}`` lines
where ``gold`` has every property of the schema, ``null`` when the text does not mention it.

Scoring follows ``data/README.md``: per field, exact match after trimming; ``null`` (or an
empty string) means absent. A predicted value for an absent field is a false positive; a
missing or wrong value for a present field is a false negative, and a wrong value is also a
false positive. Micro precision / recall / F1 sum the counts over every field of every document.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from extractly.scoring import FieldCounts, score_fields, total

DATA_ENV = "EXTRACTLY_DATA"
JSON = dict[str, Any]


def data_dir() -> Path:
    """The shared evaluation data directory: ``$EXTRACTLY_DATA``, else ``../shared/data`` beside
    the repository, else beside the local repository this one was cloned from (a clone in a
    temporary directory still finds the data of the checkout it came from)."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override).expanduser()
    root = Path(__file__).resolve().parents[1]
    beside = root.parent / "shared" / "data"
    origin = _local_origin(root)
    if not beside.is_dir() and origin is not None:
        cloned_from = origin.parent / "shared" / "data"
        if cloned_from.is_dir():
            return cloned_from
    return beside


def _local_origin(root: Path) -> Path | None:
    """The directory ``root`` was git-cloned from, when that is a local path."""
    try:
        url = subprocess.run(
            ["git", "-C", str(root), "config", "--get", "remote.origin.url"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    url = url.removeprefix("file://")
    if not url or "://" in url or (":" in url and not url.startswith("/")):
        return None  # a remote (https://, ssh://, host:path): no shared data beside it
    return (root / url).resolve()


@dataclass(frozen=True)
class Record:
    """One labelled document."""

    id: str
    schema: str
    text: str
    gold: JSON

    @property
    def source(self) -> str:
        """The source file the record came from, by its id ("usaddress-us50-12" ->
        "usaddress-us50"): the US-address test split joins two files labelled differently."""
        return self.id.rsplit("-", 1)[0]

    def filled(self) -> frozenset[str]:
        """Fields the gold object gives a value for."""
        return frozenset(k for k, v in self.gold.items() if normalize(v) is not None)


def load_schemas(dataset: str = "snips") -> dict[str, JSON]:
    """Schema name -> JSON Schema, in file order."""
    with (data_dir() / dataset / "schemas.json").open(encoding="utf-8") as f:
        schemas: dict[str, JSON] = json.load(f)
    return schemas


def load_split(split: str, dataset: str = "snips") -> list[Record]:
    """All records of ``split`` (``train`` or ``test``), in file order."""
    records = []
    with (data_dir() / dataset / f"{split}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                records.append(Record(row["id"], row["schema"], row["text"], row["gold"]))
    return records


def stratified(records: Sequence[Record], n: int, schemas: Sequence[str]) -> list[Record]:
    """The first records of each schema in file order, ``n`` in all, spread evenly.

    With 7 schemas and ``n=100`` the first two schemas get 15 records and the others 14.
    """
    quota = {name: n // len(schemas) + (i < n % len(schemas)) for i, name in enumerate(schemas)}
    picked: list[Record] = []
    for name in schemas:
        picked.extend([r for r in records if r.schema == name][: quota[name]])
    return picked


def pick_examples(records: Iterable[Record], schema: str, k: int = 3) -> list[Record]:
    """``k`` worked examples for ``schema``, deterministic.

    Greedy: each pick covers the most fields not yet shown, then has the most filled fields,
    then comes first in file order.
    """
    pool = [r for r in records if r.schema == schema]
    chosen: list[Record] = []
    covered: set[str] = set()
    for _ in range(min(k, len(pool))):
        rest = [(i, r) for i, r in enumerate(pool) if r not in chosen]
        _, best = max(rest, key=lambda p: (len(p[1].filled() - covered), len(p[1].filled()), -p[0]))
        chosen.append(best)
        covered |= best.filled()
    return chosen


def normalize(value: Any) -> str | None:
    """A field value as compared: trimmed text, ``None`` when absent."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.strip() or None


SlotCounts = FieldCounts
"""Micro counts over slots (``extractly.scoring.FieldCounts``); add them up across documents."""


def score_slots(predicted: Mapping[str, Any] | None, gold: Mapping[str, Any]) -> SlotCounts:
    """Counts for one document; ``predicted=None`` (no usable output) predicts nothing.

    Only the gold object's fields are scored (it has every property of the schema). The
    counting is the library's (``extractly.scoring``); the comparison is this module's
    ``normalize`` (trimmed, case kept), as ``data/README.md`` suggests, so the published
    benchmark figures stay comparable.
    """
    return total(score_fields(predicted, gold, normalizer=normalize).values())


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def is_valid(value: Any, schema: Mapping[str, Any]) -> bool:
    """True if ``value`` is valid under ``schema`` (formats checked)."""
    return bool(_validator(json.dumps(schema, sort_keys=True)).is_valid(value))
