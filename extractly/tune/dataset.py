"""Training pairs for a schema-specific fine-tune, and the exact token sequences trained on.

Input: JSONL, one object a line, either ``{"text", "output"}`` (what ``extractly.distill``
writes) or ``{"text", "gold"}`` (the shared evaluation data). Every object is checked against
the schema the decoder enforces; a bad line raises ``TuneDataError`` naming file and line.

The training target is exactly what the constrained decoder writes for the gold object:
compact JSON (``prompt.compact_json``), keys in schema order, absent optional keys as the
decoder writes them (``schema.decoded_form`` on the decode schema). The prompt is the
instruction-free template of ``prompt.build_prompt(..., instruction_free=True)``: BOS, then
``"Text: <text>\\nJSON:\\n"``. Both are tokenized by llama.cpp's own tokenizer, in the same
pieces as at extraction time, so training ids equal inference ids. This module does not train;
``train.py`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import llguidance

from ..constraint import CompiledConstraint
from ..engine.sampling import AllowedMask
from ..errors import TuneDataError as TuneDataError
from ..labelled_rows import read_labelled_rows
from ..prompt import Prompt, build_prompt, compact_json
from ..schema import SchemaSpec, decoded_form


@dataclass(frozen=True)
class Pair:
    text: str
    target: str
    """The compact JSON the decoder should write for ``text``."""
    where: str = field(default="", compare=False)
    """Where the pair came from (``file:line``), for messages."""


@dataclass(frozen=True)
class Encoded:
    prompt: tuple[int, ...]
    target: tuple[int, ...]
    free: tuple[bool, ...] = ()
    """Per target token: True where the decoder chooses it, False where the constraint forces
    it. Loss is taken only on chosen tokens (empty: on every target token)."""
    allowed: tuple[tuple[int, ...] | None, ...] = ()
    """Per target token: the tokens the constraint allowed there when they are few (at most
    ``SMALL_CHOICE``), else ``None``. The decoder picks the best allowed token, so where the
    choice is small the loss is taken over those tokens only (``train.py``)."""


SMALL_CHOICE = 2048
"""Largest allowed set kept per position: a restricted softmax over it costs a tiny fraction of
the 262k-token head (enum values, null-or-value, words to copy under verbatim fields)."""


def read_pairs(path: str | os.PathLike[str], spec: SchemaSpec) -> list[Pair]:
    """Read and validate every line of ``path``; raise ``TuneDataError`` on the first bad one."""
    rows = list(read_labelled_rows(path, error=TuneDataError, keys=("output", "gold")))
    if not rows:
        raise TuneDataError(f"{path}: no training pairs (the file is empty)")
    return [make_pair(row.text, row.output, spec, where=row.where) for row in rows]


def make_pair(text: str, output: Any, spec: SchemaSpec, *, where: str = "pair") -> Pair:
    """The training pair for ``(text, output)``; ``output`` is checked against the schema."""
    value = decoded_form(output, spec.decode_schema)
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
    return Pair(text=text, target=compact_json(value), where=where)


def encode(
    pairs: Iterable[Pair],
    spec: SchemaSpec,
    tokenize: Any,
    bos: int | None,
    constraint: CompiledConstraint | None = None,
    tokenizer: llguidance.LLTokenizer | None = None,
    prompt: Prompt | None = None,
) -> list[Encoded]:
    """Token ids with llama.cpp's tokenizer (``tokenize(str) -> list[int]``), piece by piece as
    the Extractor tokenizes them. A constraint with verbatim fields is built per pair's text.
    ``prompt``: default the instruction-free one of a schema-specific tune.

    With ``constraint`` and ``tokenizer`` the target is the exact token sequence the
    constrained decoder produces when the model chooses the gold bytes: forced runs as the
    constraint forces them, each choice as the canonical token there (``align``). Without them
    the target is the canonical tokenization of the whole JSON, with loss on every token.
    """
    prompt = prompt or build_prompt(spec, instruction_free=True)
    out = []
    for pair in pairs:
        ids: list[int] = [] if bos is None else [bos]
        for piece in prompt.prefix + prompt.document(pair.text):
            ids.extend(tokenize(piece))
        if constraint is None or tokenizer is None:
            out.append(Encoded(prompt=tuple(ids), target=tuple(tokenize(pair.target))))
            continue
        try:
            target, free, allowed = align(
                pair.target.encode(), constraint.new_matcher(pair.text), tokenizer
            )
        except TuneDataError:
            if not constraint.verbatim:
                raise
            # A verbatim field whose gold value is not in the text (rare labels such as
            # "RIVER LIBERTY GROVE" for "RIVER RD LIBERTY GROVE RD"): learn the pair as is.
            target, free, allowed = align(
                pair.target.encode(), constraint.template.deep_copy(), tokenizer
            )
        out.append(
            Encoded(prompt=tuple(ids), target=tuple(target), free=tuple(free), allowed=allowed)
        )
    return out


def align(
    target: bytes, matcher: llguidance.LLMatcher, tokenizer: llguidance.LLTokenizer
) -> tuple[list[int], list[bool], tuple[tuple[int, ...] | None, ...]]:
    """Replay the constrained decoder over ``target``: the tokens it would produce, for each
    whether it was chosen (True) or forced by the constraint (False), and for chosen ones the
    allowed tokens when there are at most ``SMALL_CHOICE`` of them.

    A choice is the canonical first token of the remaining bytes when the constraint allows it,
    else the longest allowed token that is a prefix of them.
    """
    ids: list[int] = []
    free: list[bool] = []
    allowed: list[tuple[int, ...] | None] = []
    mask = AllowedMask(tokenizer.vocab_size)
    pos = 0
    while True:
        forced = matcher.compute_ff_tokens()
        if forced:
            for tok in forced:
                piece = tokenizer.decode_bytes([tok])
                if target[pos : pos + len(piece)] != piece:
                    raise TuneDataError(
                        f"the constraint forces {piece!r} where the target has "
                        f"{target[pos : pos + len(piece)]!r}: the output does not fit the "
                        "decoder's grammar"
                    )
                pos += len(piece)
            matcher.consume_tokens(forced)
            ids.extend(forced)
            free.extend([False] * len(forced))
            allowed.extend([None] * len(forced))
        if matcher.is_stopped() or pos >= len(target):
            break
        choices = mask.small_choice(matcher, SMALL_CHOICE)
        tok = _choice(target[pos:], matcher, tokenizer)
        if not matcher.consume_token(tok):
            raise TuneDataError(f"the constraint rejects the target at byte {pos}")
        ids.append(tok)
        free.append(True)
        allowed.append(choices)
        pos += len(tokenizer.decode_bytes([tok]))
    if pos != len(target):
        raise TuneDataError(f"the constraint ends the output at byte {pos} of {len(target)}")
    return ids, free, tuple(allowed)


_WINDOW = 64


def _choice(rest: bytes, matcher: llguidance.LLMatcher, tokenizer: llguidance.LLTokenizer) -> int:
    window = rest[:_WINDOW]  # a token is far shorter; tokenizing all of the rest is quadratic
    canonical = tokenizer.tokenize_bytes(window)
    if canonical and matcher.validate_tokens(canonical[:1]) == 1:
        return int(canonical[0])
    for end in range(len(window), 0, -1):
        toks = tokenizer.tokenize_bytes(rest[:end])
        if len(toks) == 1 and matcher.validate_tokens(toks) == 1:
            return int(toks[0])
    raise TuneDataError(f"no token the constraint allows starts {rest[:20]!r}")


def data_hash(pairs: Sequence[Pair]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.text, p.target], ensure_ascii=False).encode())
    return h.hexdigest()
