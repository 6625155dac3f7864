"""Score an Extractor against gold objects: ``evaluate(extractor, rows) -> EvalReport``.

A gold row is ``{"text", "gold"}`` (``"output"`` is accepted for ``"gold"``: the format
``extractly tune`` and the distillation log use; the shared data's ``{"id", "schema", "text",
"gold"}`` lines work as they are). Every gold object is checked against the Extractor's schema
*before* the model runs (null counts as absent, as in extraction results), so a bad file fails
in a second with ``EvalDataError`` naming the line rather than after the whole run.

The documents are extracted with ``Extractor.run_many`` (batched, input order kept). A document
whose extraction fails is recorded in ``EvalReport.errors`` (row, message) and scored as
invalid with every field predicted absent; it never stops the evaluation. Scoring is
``extractly.scoring`` (per-field TP/FP/FN, null as absent, normalized whole-value equality).

Timing: ``seconds`` is the wall time of the whole ``run_many`` call and ``docs_per_second``
follows from it. Per-document latency is each result's ``Usage.seconds``: from the moment the
document entered the decoder's batch to its last token, so it includes sharing the batch with
others (what a caller of ``run_many`` waits for one document), not the queueing before it.

Every document with a wrong field is kept in ``EvalReport.wrong`` (text, gold, prediction,
spans, each wrong field's kind: ``extractly.eval_mistakes``), so a report can show why a field
scores what it does. Not here: reading command-line arguments (``extractly.cli``), rendering
(``extractly.eval_report``), the predictions of documents it got right (``extractly run``).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EvalDataError, ExtractionError, ExtractlyError, SchemaError
from .eval_mistakes import WrongDocument, mistakes_json, wrong_document
from .extractor import Extractor
from .labelled_rows import LabelledRow, labelled_row, read_labelled_rows
from .progress import tracked
from .result import Extraction
from .schema import SchemaSpec, prune_absent_nulls
from .scoring import FieldCounts, Normalizer, normalize, score_fields, total
from .validate import OutputValidator

# Keys that only a JSON Schema (not a file of named schemas) has at its top level.
_SCHEMA_KEYS = frozenset(
    {"type", "properties", "$schema", "$ref", "$defs", "anyOf", "oneOf", "allOf", "enum", "const"}
)


@dataclass(frozen=True)
class GoldRow:
    """One document and the object that should be extracted from it."""

    text: str
    gold: Mapping[str, Any]
    id: str | None = None
    where: str = ""
    """Where the row came from, for messages: ``file:line`` or ``row N``."""
    schema: str | None = None
    """The schema name the row is labelled with (the shared data's ``"schema"``), if any."""


@dataclass(frozen=True)
class RowError:
    row: int
    """0-based index of the row among the evaluated rows."""
    where: str
    id: str | None
    error: str
    """The exception's class name (``TruncatedOutputError``...)."""
    message: str


@dataclass
class EvalReport:
    """Accuracy, validity and speed of one Extractor on gold rows."""

    schema: str
    model: str
    adapter: str | None
    n: int
    valid: int
    exact: int
    fields: dict[str, FieldCounts]
    seconds: float
    latencies: list[float] = field(default_factory=list)
    """Per scored document with a usage record: seconds (see the module docstring)."""
    prompt_tokens: list[int] = field(default_factory=list)
    """Per document with a usage record: prompt tokens (shared prefix + document part)."""
    errors: list[RowError] = field(default_factory=list)
    wrong: list[WrongDocument] = field(default_factory=list)
    """Every document with at least one wrong field, in row order."""
    documents: list[FieldCounts] = field(default_factory=list)
    """Per document, in row order: its fields' counts added up. Two reports on the same rows
    compare document by document (the promotion gate's paired bootstrap)."""

    @property
    def micro(self) -> FieldCounts:
        return total(self.fields.values())

    @property
    def valid_rate(self) -> float:
        return self.valid / self.n if self.n else 0.0

    @property
    def exact_match(self) -> float:
        return self.exact / self.n if self.n else 0.0

    @property
    def docs_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data with stable keys (for CI)."""
        micro = self.micro
        return {
            "schema": self.schema,
            "model": self.model,
            "adapter": self.adapter,
            "n": self.n,
            "valid_rate": self.valid_rate,
            "exact_match": self.exact_match,
            "micro": {
                "precision": micro.precision,
                "recall": micro.recall,
                "f1": micro.f1,
                "accuracy": micro.accuracy,
            },
            "fields": {name: _field_json(c) for name, c in self.fields.items()},
            "seconds": self.seconds,
            "docs_per_second": self.docs_per_second,
            "latency_ms_mean": _ms(_mean(self.latencies)),
            "latency_ms_p50": _ms(percentile(self.latencies, 50)),
            "latency_ms_p95": _ms(percentile(self.latencies, 95)),
            "prompt_tokens_mean": _mean([float(t) for t in self.prompt_tokens]),
            "errors": [
                {"row": e.row, "where": e.where, "id": e.id, "error": e.error,
                 "message": e.message}
                for e in self.errors
            ],
            "mistakes": mistakes_json(self.wrong, list(self.fields)),
        }

    def format_table(self) -> str:
        """A plain-text summary and per-field table for the terminal."""
        from .eval_report import format_table

        return format_table(self.to_json())

    def write_html(self, path: str | os.PathLike[str]) -> Path:
        """Write a self-contained HTML report (no external files) to ``path``."""
        from .eval_report import render_html

        out = Path(path)
        out.write_text(render_html(self.to_json()), encoding="utf-8")
        return out


def evaluate(
    extractor: Extractor[Any],
    rows: Iterable[GoldRow | Mapping[str, Any]],
    *,
    batch_size: int | None = None,
    normalizer: Normalizer = normalize,
    progress: bool = False,
) -> EvalReport:
    """Extract every row's text with ``extractor`` and score the results against the gold.

    ``progress``: show a bar of documents done on stderr (``extractly.progress``).

    ``rows`` are ``GoldRow``s or mappings with ``"text"`` and ``"gold"`` (or ``"output"``).
    Raises ``EvalDataError`` before running the model if a row is malformed or its gold object
    does not fit the schema; per-document extraction failures are recorded, not raised.
    """
    gold_rows = [r if isinstance(r, GoldRow) else gold_row(r, f"row {i}") for i, r in
                 enumerate(rows)]
    if not gold_rows:
        raise EvalDataError("no gold rows to evaluate; give at least one {'text', 'gold'} row")
    validator = OutputValidator(extractor.spec)
    for row in gold_rows:
        check_gold(row, extractor.spec, validator)
    names = field_names(extractor.spec, gold_rows)
    report = EvalReport(
        schema=extractor.spec.name,
        model=str(extractor.model_path.name),
        adapter=None if extractor.adapter_path is None else str(extractor.adapter_path),
        n=len(gold_rows),
        valid=0,
        exact=0,
        fields={name: FieldCounts() for name in names},
        seconds=0.0,
    )
    start = time.perf_counter()
    outcomes = extractor.run_many([r.text for r in gold_rows], batch_size=batch_size,
                                  return_exceptions=True)
    if progress:
        outcomes = tracked(outcomes, len(gold_rows), unit="docs", desc="extractly eval")
    results = list(outcomes)
    report.seconds = time.perf_counter() - start
    for index, (row, result) in enumerate(zip(gold_rows, results, strict=True)):
        predicted: Mapping[str, Any] | None = None
        spans: Mapping[str, tuple[int, int]] = {}
        error: str | None = None
        if isinstance(result, ExtractlyError):
            report.errors.append(
                RowError(index, row.where, row.id, type(result).__name__, str(result))
            )
            _usage_of_failure(result, report)
            error = f"{type(result).__name__}: {result}"
        else:
            predicted = predicted_object(result)
            spans = result.spans
            report.valid += 1
            report.latencies.append(result.usage.seconds)
            report.prompt_tokens.append(
                result.usage.prompt_tokens + result.usage.cached_prompt_tokens
            )
        counts = score_fields(predicted, row.gold, names, normalizer)
        for name, c in counts.items():
            report.fields[name] = report.fields[name] + c
        report.documents.append(total(counts.values()))
        wrong = wrong_document(index, row.where, row.id, row.text, row.gold, predicted, counts,
                               predicted_spans=spans, error=error)
        if wrong is not None:
            report.wrong.append(wrong)
        report.exact += predicted is not None and all(c.tp + c.tn for c in counts.values())
    return report


def predicted_object(result: Extraction[Any]) -> Mapping[str, Any]:
    """What is scored for a successful extraction: ``result.data`` (a Pydantic value dumped by
    alias, so its keys are the schema's property names, like the gold's and like what
    ``extractly run`` writes), or ``{}`` when the value is not an object."""
    data = result.data
    return data if isinstance(data, Mapping) else {}


def _usage_of_failure(error: ExtractlyError, report: EvalReport) -> None:
    """A failed document's time and tokens count too when the error carries its attempts."""
    attempts = error.attempts if isinstance(error, ExtractionError) else []
    usages = [a.usage for a in attempts if getattr(a, "usage", None) is not None]
    if usages:
        report.latencies.append(sum(u.seconds for u in usages))
        report.prompt_tokens.append(usages[0].prompt_tokens + usages[0].cached_prompt_tokens)


# -- gold rows ---------------------------------------------------------------------------------


GOLD_KEYS = ("gold", "output")
"""Label keys of a gold row, in order of preference."""


def gold_row(raw: Any, where: str) -> GoldRow:
    """A ``GoldRow`` from a parsed row; ``EvalDataError`` naming ``where`` if it is malformed."""
    return _gold_row(labelled_row(raw, where, error=EvalDataError, keys=GOLD_KEYS))


def _gold_row(row: LabelledRow) -> GoldRow:
    ident = row.extra.get("id")
    name = row.extra.get("schema")
    return GoldRow(
        text=row.text,
        gold=dict(row.output),
        id=None if ident is None else str(ident),
        where=row.where,
        schema=name if isinstance(name, str) else None,
    )


def read_gold(path: str | os.PathLike[str], schema_name: str | None = None) -> list[GoldRow]:
    """Every gold row of a JSONL file, in file order.

    With ``schema_name``, rows labelled with another schema (a ``"schema"`` key, as in the
    shared data) are skipped; unlabelled rows are kept. A malformed line raises
    ``EvalDataError`` naming ``file:line``.
    """
    rows: list[GoldRow] = []
    seen: set[str] = set()
    for labelled in read_labelled_rows(path, error=EvalDataError, keys=GOLD_KEYS):
        row = _gold_row(labelled)
        if row.schema is not None:
            seen.add(row.schema)
        if schema_name is None or row.schema in (None, schema_name):
            rows.append(row)
    if not rows:
        labels = f" (its rows are labelled {sorted(seen)})" if seen else ""
        wanted = f" for schema {schema_name!r}" if schema_name else ""
        raise EvalDataError(f"{path}: no gold rows{wanted}{labels}")
    return rows


def check_gold(row: GoldRow, spec: SchemaSpec, validator: OutputValidator) -> None:
    """Raise ``EvalDataError`` if ``row.gold`` does not fit the schema (null = absent)."""
    value = prune_absent_nulls(copy.deepcopy(dict(row.gold)), spec.user_schema, spec.user_schema)
    errors = validator.schema_errors(value)
    if not errors:
        return
    err = errors[0]
    at = "/" + "/".join(str(p) for p in err.absolute_path)
    hint = ""
    if row.schema is not None and row.schema != spec.name:
        hint = (
            f" This row is labelled for schema {row.schema!r}, not {spec.name!r}: pass "
            "--schema-name (schema_name= in read_gold) to keep one schema's rows."
        )
    raise EvalDataError(
        f"{row.where}: the gold object does not fit the schema at {at}: {err.message}. "
        f"Fix or drop this line.{hint}"
    )


def field_names(spec: SchemaSpec, rows: Sequence[GoldRow]) -> list[str]:
    """The fields scored: the schema's top-level properties (else every gold key), in order."""
    props = spec.user_schema.get("properties")
    if isinstance(props, Mapping) and props:
        return [str(k) for k in props]
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.gold))
    return list(names)


def select_schema(loaded: Mapping[str, Any], name: str | None, source: str) -> Mapping[str, Any]:
    """The JSON Schema to use from a file that holds one schema or a map of named schemas
    (like the shared data's ``schemas.json``); ``name`` picks one of a map."""
    single = bool(_SCHEMA_KEYS & set(loaded))
    named = not single and bool(loaded) and all(isinstance(v, Mapping) for v in loaded.values())
    if name is None:
        if named:
            raise SchemaError(
                f"{source} holds {len(loaded)} schemas ({', '.join(list(loaded)[:8])}); "
                "choose one with --schema-name NAME"
            )
        return loaded
    if named:
        chosen = loaded.get(name)
        if not isinstance(chosen, Mapping):
            raise SchemaError(
                f"{source} has no schema named {name!r}; it has: {', '.join(loaded)}"
            )
        return chosen
    return loaded  # a single schema: the name only selects gold rows


# -- helpers -----------------------------------------------------------------------------------


def _field_json(c: FieldCounts) -> dict[str, Any]:
    return {
        "precision": c.precision,
        "recall": c.recall,
        "f1": c.f1,
        "accuracy": c.accuracy,
        "support": c.support,
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile with linear interpolation between ranks (``None`` if empty)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
