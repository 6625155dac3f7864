"""``merge``: merging the objects found in a document's chunks (plain values, no model)."""

from __future__ import annotations

from extractly.merge import ChunkValue, merge_chunks, trim_list


def chunk(value: object, confidence: dict[str, float] | None = None, text: str = "") -> ChunkValue:
    return ChunkValue(value, confidence or {}, text)


def test_lists_concatenate_and_drop_normalized_duplicates() -> None:
    merged = merge_chunks(
        [
            chunk({"p": ["SonoGauge", "Tide  Link"]}, text="SonoGauge Tide Link"),
            chunk({"p": ["sonogauge", "BrineWatch"]}, text="BrineWatch"),
            chunk({"p": []}),
        ]
    )
    assert merged.value == {"p": ["SonoGauge", "Tide  Link", "BrineWatch"]}
    assert merged.origin == {"/p/0": 0, "/p/1": 0, "/p/2": 1}


def test_scalars_non_null_then_copied_then_confident_then_earliest() -> None:
    texts = ["Ana Ruiz", "Ben Stone", "Kim Lee"]
    merged = merge_chunks(
        [
            chunk({"a": None, "b": "Ana Ruiz", "c": "Invented", "d": 3},
                  {"/b": 0.5, "/c": 0.99, "/d": 0.5}, texts[0]),
            chunk({"a": "Ben Stone", "b": "Ben Stone", "c": "Ben Stone", "d": 4},
                  {"/a": 0.2, "/b": 0.9, "/c": 0.1, "/d": 0.9}, texts[1]),
            chunk({"a": None, "b": "Kim Lee", "c": None, "d": 5}, {"/b": 0.4, "/d": 0.9},
                  texts[2]),
        ]
    )  # fmt: skip
    # a: the only non-null. b: most confident. c: copied beats invented, whatever the
    # confidence. d: tie between chunks 1 and 2 -> the earlier.
    assert merged.value == {"a": "Ben Stone", "b": "Ben Stone", "c": "Ben Stone", "d": 4}
    assert merged.origin == {"/a": 1, "/b": 1, "/c": 1, "/d": 1}
    assert merged.confidence == {"/a": 0.2, "/b": 0.9, "/c": 0.1, "/d": 0.9}


def test_nested_objects_merge_field_by_field_and_null_objects_do_not_hide_found_ones() -> None:
    merged = merge_chunks(
        [
            chunk({"addr": {"city": "Ljubljana", "street": None}}, text="Ljubljana"),
            chunk({"addr": None}),
            chunk({"addr": {"city": None, "street": "Main St 4"}}, text="Main St 4"),
        ]
    )
    assert merged.value == {"addr": {"city": "Ljubljana", "street": "Main St 4"}}
    assert merged.origin == {"/addr/city": 0, "/addr/street": 2}


def test_all_null_stays_null() -> None:
    assert merge_chunks([chunk({"a": None}), chunk({"a": None})]).value == {"a": None}


def test_trim_keeps_the_most_confident_items_in_order_and_renumbers() -> None:
    merged = merge_chunks(
        [
            chunk({"p": ["a", "b"]}, {"/p/0": 0.3, "/p/1": 0.9}),
            chunk({"p": ["c", "d"]}, {"/p/0": 0.8, "/p/1": 0.3}),
        ]
    )
    assert trim_list(merged, ["p"], 2) == 2
    assert merged.value == {"p": ["b", "c"]}
    assert merged.origin == {"/p/0": 0, "/p/1": 1}
    assert merged.confidence == {"/p/0": 0.9, "/p/1": 0.8}
    assert trim_list(merged, ["p"], 5) == 0
