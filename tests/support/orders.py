"""A small made-up training set built so that every detector of ``extractly.tune.profile``
fires (``test_tune_plan.py``, ``test_tune.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ORDER_SCHEMA: dict[str, Any] = {
    "title": "Order",
    "type": "object",
    "properties": {
        "customer": {"type": ["string", "null"]},
        "city": {"type": ["string", "null"]},
        "date": {"type": ["string", "null"]},
        "size": {"enum": ["small", "medium", "large", None]},
        "gift_note": {"type": ["string", "null"]},
    },
}
NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra")
MONTHS = ("March", "April", "May")


def order_rows(n: int = 60) -> list[dict[str, Any]]:
    """``n`` orders: four customers over and over (few distinct names), a new town each time
    (copied, all distinct), dates written as words but labelled ISO (not in the text), one
    large order among small and medium ones (a rare enum value), one gift note (almost always
    null); then a repeat of the first pair and the second text labelled another way."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        size = "large" if i == 7 else ("small", "medium")[i % 2]
        month = i % 3
        note = "happy birthday" if i == 11 else None
        text = (f"{NAMES[i % 4]} from Town{i} ordered a {size} box on {MONTHS[month]} "
                f"{i % 28 + 1}." + (f" Card: {note}." if note else ""))
        gold = {"customer": NAMES[i % 4], "city": f"Town{i}",
                "date": f"2025-{month + 3:02d}-{i % 28 + 1:02d}", "size": size,
                "gift_note": note}
        rows.append({"text": text, "output": gold})
    rows.append(dict(rows[0]))  # a duplicate
    rows.append({"text": rows[1]["text"], "output": {**rows[1]["output"], "size": "large"}})
    return rows


def write_orders(path: Path, n: int = 60) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in order_rows(n)))
    return path
