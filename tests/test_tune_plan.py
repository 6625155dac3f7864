"""``extractly.tune.profile`` and ``extractly.tune.plan``: each detector fires on a small made-up
data set built to trip it, and a flag always wins over the data. Pure (no model); the manifest
written by a real tune on the same data is checked in ``test_tune.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from extractly.options import Safeguards
from extractly.schema import load_schema
from extractly.tune.config import TuneConfig
from extractly.tune.dataset import Pair, make_pair
from extractly.tune.plan import DEFAULT_BUDGET, parse_budget, plan_tune
from extractly.tune.profile import drop_duplicates, profile_pairs
from extractly.tune.train import Steps
from extractly.verbatim import free_string_properties
from tests.support.orders import ORDER_SCHEMA, order_rows, write_orders

ROOT = Path(__file__).resolve().parents[1]

def _pairs() -> tuple[list[Pair], Any]:
    spec = load_schema(ORDER_SCHEMA, Safeguards())
    rows = order_rows()
    pairs = [make_pair(r["text"], r["output"], spec, where=f"orders.jsonl:{i + 1}")
             for i, r in enumerate(rows)]
    return pairs, spec


def test_each_detector_fires_on_the_data_built_to_trip_it() -> None:
    pairs, spec = _pairs()
    found = profile_pairs(pairs, spec.decode_schema)
    f = found.fields
    assert f["customer"].verbatim_share == 1.0 and f["customer"].distinct == 4
    assert f["customer"].unseen_share == 0.0 and f["customer"].capitalized_share == 1.0
    assert f["city"].verbatim_share == 1.0 and f["city"].unseen_share == pytest.approx(58 / 62)
    assert f["date"].verbatim_share == 0.0  # ISO in the gold, words in the text
    assert f["size"].kind == "enum" and f["size"].value_counts["large"] == 2
    assert f["size"].said_share == pytest.approx(61 / 62)  # the contradiction says "medium"
    assert f["gift_note"].null_share == pytest.approx(61 / 62)
    assert found.duplicates == [["orders.jsonl:1", "orders.jsonl:61"]]
    assert found.contradictions == [["orders.jsonl:2", "orders.jsonl:62"]]
    assert len(drop_duplicates(pairs)) == 61

    plan = plan_tune(found, TuneConfig(), copyable=free_string_properties(spec.decode_schema),
                     train_pairs=55)
    assert plan.verbatim == ("customer", "city", "gift_note")  # not the ISO dates
    assert plan.synthetic_fields == ("customer",)  # few distinct names; towns never repeat
    assert plan.synthetic_share == 0.5
    assert plan.swap_enums == ("size",)  # "large" is rare and the text says the size
    by = {c.setting: c for c in plan.choices}
    assert {c.source for c in plan.choices} <= {"data", "default"}
    assert "date 0%" in by["verbatim"].reason
    assert "'large'" in by["swap_enums"].reason
    assert plan.schedule.epochs == 10  # 7 steps an epoch: the most epochs allowed
    assert plan.schedule.budget_seconds == DEFAULT_BUDGET
    warned = "\n".join(plan.warnings)
    assert "gift_note is null in 98%" in warned
    assert "1 duplicate pair(s) dropped: orders.jsonl:1 = orders.jsonl:61" in warned
    assert "orders.jsonl:2 vs orders.jsonl:62" in warned
    explained = plan.explain(found)
    assert "customer: free, null 0%, 4 distinct, in text 100%, seen once 0%" in explained
    assert "size: enum" in explained and "large 2" in explained


def test_a_flag_wins_over_the_data() -> None:
    pairs, spec = _pairs()
    found = profile_pairs(pairs, spec.decode_schema)
    given = TuneConfig(epochs=2, learning_rate=1e-3, patience=1, budget=None, verbatim=False,
                       synthetic_values=0.0, swap_enums=False)
    plan = plan_tune(found, given, copyable=free_string_properties(spec.decode_schema),
                     train_pairs=55)
    assert plan.verbatim == () and plan.synthetic_share == 0.0 and plan.swap_enums == ()
    assert plan.schedule.epochs == 2 and plan.schedule.learning_rate == 1e-3
    assert plan.schedule.patience == 1 and plan.schedule.budget_seconds is None
    assert {c.source for c in plan.choices} == {"flag"}
    # --synthetic-values alone keeps its old meaning: every free field, every enum
    old = plan_tune(found, TuneConfig(synthetic_values=0.5, verbatim=True),
                    copyable=free_string_properties(spec.decode_schema), train_pairs=55)
    assert old.synthetic_fields == ("customer", "city", "date", "gift_note")
    assert old.swap_enums == ("size",)


def test_a_large_data_set_gets_fewer_epochs() -> None:
    pairs, spec = _pairs()
    found = profile_pairs(pairs, spec.decode_schema)
    copyable = free_string_properties(spec.decode_schema)
    epochs = [plan_tune(found, TuneConfig(), copyable=copyable, train_pairs=n).schedule.epochs
              for n in (100, 270, 540, 1400)]
    assert epochs == [8, 3, 3, 3]


def test_budget_durations() -> None:
    assert parse_budget("10m") == 600
    assert parse_budget("90s") == 90 and parse_budget("90") == 90
    assert parse_budget("1h30m") == 5400
    assert parse_budget("none") is None
    with pytest.raises(ValueError, match="--budget takes a duration such as 10m"):
        parse_budget("ten minutes")


def test_the_schedule_fits_the_deadline() -> None:
    steps = Steps(200)
    assert steps.fit(step=10, elapsed=30.0, left=1000.0) is None  # 3 s a step: 333 fit
    assert steps.total == 200
    message = steps.fit(step=20, elapsed=100.0, left=300.0)  # 5 s a step: 60 more fit
    assert steps.total == 80 and message is not None and "allows 80 of 200 steps" in message
    assert steps.fit(step=30, elapsed=150.0, left=100.0) is None  # told once; still shrinks
    assert steps.total == 50
    steps.fit(step=40, elapsed=160.0, left=400.0)  # faster now (4 s): 100 more, up to the plan
    assert steps.total == 140
    steps.fit(step=45, elapsed=225.0, left=-5.0)
    assert steps.total == 45  # past the deadline: stop at the current step


def test_explain_and_plan_only_on_the_command_line(tmp_path: Path) -> None:
    """``--explain --plan-only`` prints the findings and the reasons, and loads neither torch
    nor the model."""
    schema = tmp_path / "order.json"
    schema.write_text(json.dumps(ORDER_SCHEMA))
    train = write_orders(tmp_path / "orders.jsonl")
    code = (
        "import sys, runpy; sys.argv = ['extractly'] + sys.argv[1:]; "
        "from extractly.cli import main; rc = main(); "
        "print(sorted(m for m in ('torch', 'llama_cpp') if m in sys.modules)); sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "tune", str(schema), str(train), "-o",
         str(tmp_path / "out"), "--explain", "--plan-only", "--epochs", "4"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "verbatim = [\"customer\", \"city\", \"gift_note\"] [data]" in done.stderr
    assert "epochs = 4 [flag]: given" in done.stderr
    assert "synthetic_values = 0.5 [data]: copied fields naming few distinct values" in (
        done.stderr)
    assert not (tmp_path / "out").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "extractly.cli", "tune", str(schema), str(train), "-o",
         str(tmp_path / "out"), "--budget", "soon"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert bad.returncode == 2 and "--budget takes a duration" in bad.stderr


def test_a_small_held_out_slice_does_not_stop_the_run() -> None:
    """Early stopping on fewer than MIN_VALIDATION held-out pairs stopped tunes on noise
    (plan.MIN_VALIDATION); the plan turns it off and says why, unless --patience is given."""
    from extractly.tune.plan import MIN_VALIDATION, PATIENCE

    spec = load_schema(ORDER_SCHEMA, Safeguards())
    pairs = [make_pair(r["text"], r["output"], spec) for r in order_rows()]
    found = profile_pairs(pairs, spec.decode_schema)
    copyable = free_string_properties(spec.decode_schema)
    small = plan_tune(found, TuneConfig(), copyable=copyable, train_pairs=90,
                      validation_pairs=MIN_VALIDATION - 1)
    assert small.schedule.patience is None
    assert any(c.setting == "early_stopping" and c.value == "off" and c.source == "data"
               for c in small.choices)
    enough = plan_tune(found, TuneConfig(), copyable=copyable, train_pairs=270,
                       validation_pairs=MIN_VALIDATION)
    assert enough.schedule.patience == PATIENCE
    given = plan_tune(found, TuneConfig(patience=2), copyable=copyable, train_pairs=90,
                      validation_pairs=5)
    assert given.schedule.patience == 2
