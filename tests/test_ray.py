"""The Ray Data integration on a local Ray cluster: the same objects as a plain run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from extractly import Extractor
from extractly.integrations.ray import ExtractlyUDF
from tests.support.etl_input import SCHEMA, input_lines

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed (make test installs it)")
# Ray Data warns about its own deprecated options (use_push_based_shuffle, use_polars) while
# planning a dataset; not ours to fix, and not hidden elsewhere.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_map_batches_on_a_local_cluster_matches_a_plain_run(local_cluster: None) -> None:
    lines = input_lines(50)
    rows: list[dict[str, Any]] = [json.loads(ln) for ln in lines if ln.startswith(b'{"id": "r')]
    assert len(rows) == 50
    with Extractor(SCHEMA) as plain:
        expected = {
            r["id"]: json.dumps(res.value, separators=(",", ":"))
            for r, res in zip(rows, plain.run_many([r["text"] for r in rows]), strict=True)
        }
    ds = ray.data.from_items(rows)
    out = ds.map_batches(
        ExtractlyUDF,
        fn_constructor_kwargs={"schema": SCHEMA},
        concurrency=2,
        num_cpus=1,
        batch_size=25,
        batch_format="pandas",
    ).take_all()
    assert len(out) == 50
    assert all(row["error"] is None for row in out)
    assert {row["id"]: row["output"] for row in out} == expected
