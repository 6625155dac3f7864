"""Ray Data: extract over a distributed dataset with ``ds.map_batches``.

    import ray
    from extractly.integrations.ray import ExtractlyUDF

    ds = ray.data.read_json("rows.jsonl")
    out = ds.map_batches(
        ExtractlyUDF,
        fn_constructor_kwargs={"schema": "schemas.podcast:PodcastEpisode"},
        concurrency=2,          # actors on this node
        num_cpus=1,             # cores reserved per actor: llama.cpp gets this many threads
        batch_size=32,
        batch_format="pandas",
    )

Each actor builds one ``Extractor`` (the model loads once per actor) with ``n_threads`` equal
to the CPUs Ray reserved for it (unless ``n_threads`` or ``$EXTRACTLY_THREADS`` says otherwise),
so actors never oversubscribe a node's cores. A batch gains the
columns ``output`` (the object as JSON text, or None), ``error`` (None or ``Type: message``) and
``confidence``; a failed row never fails the batch. Not here: reading or writing datasets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ..errors import ExtractlyError
from ..extractor import Extractor
from ..schema_ref import load_schema_ref
from ..settings import thread_count


class ExtractlyUDF:
    """A callable class for ``Dataset.map_batches`` (pandas or numpy batch format)."""

    def __init__(
        self,
        schema: str | type[BaseModel] | Mapping[str, Any],
        *,
        text_column: str = "text",
        n_threads: int | None = None,
        **options: Any,
    ) -> None:
        if isinstance(schema, str):
            schema = load_schema_ref(schema)
        self.text_column = text_column
        threads = thread_count(n_threads or None, fallback=_reserved_cpus())
        self.extractor: Extractor[Any] = Extractor(schema, n_threads=threads, **options)

    def __call__(self, batch: Any) -> Any:
        texts = list(batch[self.text_column])
        outputs: list[str | None] = []
        errors: list[str | None] = []
        confidence: list[float | None] = []
        for result in self.extractor.run_many(texts, return_exceptions=True):
            if isinstance(result, ExtractlyError):
                outputs.append(None)
                errors.append(f"{type(result).__name__}: {result}")
                confidence.append(None)
                continue
            outputs.append(json.dumps(result.data, ensure_ascii=False, separators=(",", ":")))
            errors.append(None)
            confidence.append(result.confidence)
        batch["output"] = outputs
        batch["error"] = errors
        batch["confidence"] = confidence
        return batch


def _reserved_cpus() -> int:
    """CPUs Ray assigned to this actor (1 outside Ray, to be safe)."""
    try:
        import ray

        resources = ray.get_runtime_context().get_assigned_resources()
        cpus = resources.get("CPU", 1)
    except Exception:
        return 1
    return max(1, int(cpus))
