"""``extract()`` and ``extract_many()``: thin wrappers that build or reuse an ``Extractor``.

Extractors are cached per (schema, options) so that calling ``extract`` in a loop loads the
model, compiles the constraint and evaluates the prompt prefix once. The cache holds a few
Extractors; build an ``Extractor`` yourself to control its lifetime.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .extractor import Extractor
from .options import ExtractorOptions
from .schema import schema_fingerprint

M = TypeVar("M", bound=BaseModel)

_CACHE_SIZE = 4
_cache: OrderedDict[str, Extractor[Any]] = OrderedDict()
_lock = threading.Lock()


def _extractor(
    schema: type[BaseModel] | Mapping[str, Any], options: ExtractorOptions
) -> Extractor[Any]:
    if isinstance(schema, Mapping):
        schema_key = schema_fingerprint(schema)
    else:
        schema_key = f"{schema.__module__}.{schema.__qualname__}:{id(schema)}"
    key = f"{schema_key}|{sorted((k, repr(v)) for k, v in options.items())}"
    with _lock:
        ex = _cache.get(key)
        if ex is not None:
            _cache.move_to_end(key)
            return ex
    ex = Extractor(schema, **options)
    with _lock:
        _cache[key] = ex
        while len(_cache) > _CACHE_SIZE:
            # Not closed here: another thread may still hold it; the context is freed with it.
            _cache.popitem(last=False)
    return ex


@overload
def extract(text: str | bytes, schema: type[M], **options: Unpack[ExtractorOptions]) -> M: ...
@overload
def extract(
    text: str | bytes, schema: Mapping[str, Any], **options: Unpack[ExtractorOptions]
) -> dict[str, Any]: ...


def extract(
    text: str | bytes,
    schema: type[BaseModel] | Mapping[str, Any],
    **options: Unpack[ExtractorOptions],
) -> Any:
    """Extract one object of ``schema`` from ``text``. Options are those of ``Extractor``."""
    return _extractor(schema, options).run(text).value


@overload
def extract_many(
    texts: Iterable[str | bytes], schema: type[M], **options: Unpack[ExtractorOptions]
) -> Iterator[M]: ...
@overload
def extract_many(
    texts: Iterable[str | bytes], schema: Mapping[str, Any], **options: Unpack[ExtractorOptions]
) -> Iterator[dict[str, Any]]: ...


def extract_many(
    texts: Iterable[str | bytes],
    schema: type[BaseModel] | Mapping[str, Any],
    **options: Unpack[ExtractorOptions],
) -> Iterator[Any]:
    """Extract from each text, in input order (batched; see ``Extractor.run_many``)."""
    for result in _extractor(schema, options).run_many(texts):
        yield result.value
