"""Training pairs for a schema-specific fine-tune, and the exact token sequences trained on.

Input: JSONL, one object a line, either ``{"text", "output"}`` (what ``extractly.distill``
writes) or ``{"text", "gold"}`` (the shared evaluation data). Every object is checked against
the schema the decoder enforces; a bad line raises ``TuneDataError`` naming file and line.

The training target is exactly what the constrained decoder writes for the gold object:
compact JSON (``prompt.compact_json``), keys in schema order, absent optional keys as null
(``prompt.ordered_like`` on the decode schema). The prompt is the instruction-free template of
``prompt.build_prompt(..., instruction_free=True)``: BOS, then ``"Text: <text>\\nJSON:\\n"``.
Both are tokenized by llama.cpp's own tokenizer, in the same pieces as at extraction time, so
training ids equal inference ids. This module does not train; ``train.py`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from ..errors import ExtractlyError
from ..prompt import build_prompt, compact_json, ordered_like
from ..schema import SchemaSpec


class TuneDataError(ExtractlyError, ValueError):
    """A training file line is unreadable or its object does not fit the schema."""


@dataclass(frozen=True)
class Pair:
    text: str
    target: str
    """The compact JSON the decoder should write for ``text``."""


@dataclass(frozen=True)
class Encoded:
    prompt: tuple[int, ...]
    target: tuple[int, ...]


def read_pairs(path: str | os.PathLike[str], spec: SchemaSpec) -> list[Pair]:
    """Read and validate every line of ``path``; raise ``TuneDataError`` on the first bad one."""
    rows: list[tuple[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TuneDataError(f"{where}: not JSON ({exc.msg})") from None
            output = row.get("output", row.get("gold")) if isinstance(row, dict) else None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or output is None:
                raise TuneDataError(
                    f"{where}: expected an object with a string 'text' and an object 'output' "
                    "(or 'gold')"
                )
            rows.append((where, (row["text"], output)))
    if not rows:
        raise TuneDataError(f"{path}: no training pairs (the file is empty)")
    return [make_pair(text, output, spec, where=where) for where, (text, output) in rows]


def make_pair(text: str, output: Any, spec: SchemaSpec, *, where: str = "pair") -> Pair:
    """The training pair for ``(text, output)``; ``output`` is checked against the schema."""
    value = ordered_like(output, spec.decode_schema)
    errors = sorted(
        jsonschema.Draft202012Validator(spec.decode_schema).iter_errors(value), key=str
    )
    if errors:
        err = errors[0]
        at = "/" + "/".join(str(p) for p in err.absolute_path)
        raise TuneDataError(
            f"{where}: the output does not fit the schema at {at}: {err.message}. Fix or drop "
            "this line."
        )
    return Pair(text=text, target=compact_json(value))


def encode(pairs: Iterable[Pair], spec: SchemaSpec, tokenize: Any, bos: int | None) -> list[
    Encoded
]:
    """Token ids with llama.cpp's tokenizer (``tokenize(str) -> list[int]``), piece by piece as
    the Extractor tokenizes them."""
    prompt = build_prompt(spec, instruction_free=True)
    out = []
    for pair in pairs:
        ids: list[int] = [] if bos is None else [bos]
        for piece in prompt.prefix + prompt.document(pair.text):
            ids.extend(tokenize(piece))
        out.append(Encoded(prompt=tuple(ids), target=tuple(tokenize(pair.target))))
    return out


def data_hash(pairs: Sequence[Pair]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.text, p.target], ensure_ascii=False).encode())
    return h.hexdigest()


def as_mapping(pair: Pair) -> Mapping[str, Any]:
    value: Mapping[str, Any] = json.loads(pair.target)
    return value
