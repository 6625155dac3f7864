"""The one reader of ``{"text", "output"|"gold"}`` JSONL files and its three users. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractly import EvalDataError, read_distill_log, read_gold
from extractly.errors import DataFileError, ExtractlyError
from extractly.labelled_rows import LabelledRow, labelled_row, read_labelled_rows
from extractly.schema import load_schema
from extractly.settings import Safeguards
from extractly.tune import TuneDataError
from extractly.tune.dataset import read_pairs

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 30}},
    "required": ["city"],
}


def _file(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "rows.jsonl"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_data_errors_share_one_base() -> None:
    assert issubclass(EvalDataError, DataFileError) and issubclass(TuneDataError, DataFileError)
    assert issubclass(DataFileError, ExtractlyError) and issubclass(DataFileError, ValueError)


def test_rows_keep_order_label_preference_and_the_other_keys(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        '{"text": "a", "output": {"x": 1}, "backend": "b"}\n\n'
        '{"id": 7, "text": "b", "gold": {"x": 2}, "output": {"x": 3}}\r\n',
    )
    rows = list(read_labelled_rows(path))
    assert rows == [
        LabelledRow("a", {"x": 1}, f"{path}:1", {"backend": "b"}),
        LabelledRow("b", {"x": 3}, f"{path}:3", {"id": 7}),
    ]
    assert [r.output for r in read_labelled_rows(path, keys=("gold", "output"))] == [
        {"x": 1},
        {"x": 2},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text": "caf\xe9", "output": {}}\n', r"rows\.jsonl:1: not UTF-8 \(byte 13\); re-"),
        (b'{"text": "a", "output": {}}\nnope\n', r"rows\.jsonl:2: not JSON \(.*\); each line"),
        (b"[1, 2]\n", r"rows\.jsonl:1: expected an object .*; the row is an array\. Fix or drop"),
        (b'{"output": {}}\n', r"rows\.jsonl:1: .*; 'text' is missing"),
        (b'{"text": 3, "output": {}}\n', r"rows\.jsonl:1: .*; 'text' is a number"),
        (b'{"text": "a"}\n', r"rows\.jsonl:1: .* an object 'output' \(or 'gold'\).*; it has no "
         r"'output' or 'gold'"),
        (b'{"text": "a", "output": null, "gold": {}}\n', r"rows\.jsonl:1: .*'output' is null"),
        (b'{"text": "a", "gold": "x"}\n', r"rows\.jsonl:1: .*'gold' is a string"),
    ],
)
def test_a_bad_line_raises_the_given_error_naming_file_and_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = _file(tmp_path, content)
    with pytest.raises(DataFileError, match=message):
        list(read_labelled_rows(path))
    with pytest.raises(TuneDataError, match=message):
        list(read_labelled_rows(path, error=TuneDataError))


def test_labelled_row_checks_one_parsed_row() -> None:
    assert labelled_row({"text": "t", "gold": {}}, "row 0", keys=("gold",)).output == {}
    with pytest.raises(EvalDataError, match=r"^row 3: .*object 'gold' \(or 'output'\)"):
        labelled_row({"text": "t"}, "row 3", error=EvalDataError, keys=("gold", "output"))


def test_the_three_readers_use_it_with_their_own_error_and_keys(tmp_path: Path) -> None:
    gold_only = _file(tmp_path, '{"text": "a", "gold": {"city": "Oslo"}}\n')
    assert [r.gold for r in read_gold(gold_only)] == [{"city": "Oslo"}]
    with pytest.raises(DataFileError, match=r"rows\.jsonl:1: .*no 'output'") as caught:
        list(read_distill_log(gold_only))  # the distillation log is written with "output" only
    assert type(caught.value) is DataFileError
    spec = load_schema(CITY, Safeguards())
    assert [p.target for p in read_pairs(gold_only, spec)] == ['{"city":"Oslo"}']
    bad = _file(tmp_path, '{"text": "a", "output": {"city": "Oslo"}}\n{"text": "b"}\n')
    with pytest.raises(TuneDataError, match=r"rows\.jsonl:2: expected an object"):
        read_pairs(bad, spec)
    with pytest.raises(EvalDataError, match=r"rows\.jsonl:2: expected an object"):
        read_gold(bad)
    with pytest.raises(TuneDataError, match=r"rows\.jsonl: no training pairs"):
        read_pairs(_file(tmp_path, "\n"), spec)
