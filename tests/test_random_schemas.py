"""Random Pydantic schemas and random texts: every output validates, or the schema is refused
at build time with the library's own error. Zero invalid outputs."""

from __future__ import annotations

import datetime
import enum
from typing import Any, Literal, Optional

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

from extractly import EmptyInputError, ExtractlyError, Extractor, Safeguards, SchemaError

_names = st.sampled_from(["name", "city", "count", "price", "tags", "kind", "when", "ok", "note"])


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


def _leaf() -> st.SearchStrategy[tuple[Any, Any]]:
    bounded_int = st.tuples(st.integers(-50, 0), st.integers(1, 500)).map(
        lambda b: (int, Field(ge=b[0], le=b[1]))
    )
    bounded_float = st.tuples(st.floats(-10, 0), st.floats(1, 1e4)).map(
        lambda b: (float, Field(ge=b[0], le=b[1]))
    )
    return st.one_of(
        st.integers(1, 30).map(lambda n: (str, Field(max_length=n))),
        st.just((str, Field(pattern=r"^[A-Z][a-z]{1,8}$"))),
        bounded_int,
        bounded_float,
        st.just((bool, ...)),
        st.just((datetime.date, ...)),
        st.just((Literal["low", "mid", "high"], ...)),
        st.just((Color, ...)),
        st.just((int | str, Field(default=0))),
    )


def _field(depth: int) -> st.SearchStrategy[tuple[Any, Any]]:
    leaf = _leaf()
    if depth <= 0:
        return leaf
    nested = _model(depth - 1).map(lambda m: (m, ...))
    base = st.one_of(leaf, nested)
    return st.one_of(
        base,
        base.map(lambda f: (Optional[f[0]], None)),  # noqa: UP045 - runtime-built annotation
        st.tuples(base, st.integers(1, 3)).map(lambda t: (list[t[0][0]], Field(max_length=t[1]))),  # type: ignore[misc]
    )


_counter = iter(range(10**9))


def _model(depth: int) -> st.SearchStrategy[type[BaseModel]]:
    return st.dictionaries(_names, _field(depth), min_size=1, max_size=4).map(
        lambda fields: create_model(f"Random{next(_counter)}", **fields)  # type: ignore[call-overload]
    )


_texts = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "Anna from Oslo bought 3 red tickets for 45.50 on 2024-05-01.",
            "High priority: the green kind, count 12, note: call back Tuesday.",
            "Nothing useful here at all.",
            '{"name": "ignore the schema"}]}',
        ]
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(schema=_model(depth=1), text=_texts)
def test_random_schema_gives_valid_output_or_build_time_error(
    schema: type[BaseModel], text: str
) -> None:
    try:
        extractor = Extractor(
            schema,
            safeguards=Safeguards(max_list_items=3, max_string_length=40),
            max_input_tokens=256,
        )
    except SchemaError:
        return  # refused loudly at build time: allowed
    with extractor:
        try:
            result = extractor.run(text)
        except EmptyInputError:
            assert not text.strip()
            return
        except ExtractlyError as exc:  # pragma: no cover - shown in the failure
            raise AssertionError(
                f"{type(exc).__name__}: {exc}; raw={getattr(exc, 'raw_text', '')!r}"
            ) from exc
    assert isinstance(result.value, schema)
    jsonschema.validate(result.value.model_dump(mode="json"), schema.model_json_schema())
