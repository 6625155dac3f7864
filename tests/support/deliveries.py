"""A made-up schema no adapter was ever tuned for, and texts for it with their true objects:
the unlabelled input of ``extractly distill`` in tests, answered by an ``AnswerKeyServer``.

Eight phrasings, names and towns drawn from lists, item counts sometimes in words, three
delivery speeds named several ways: enough variety that the base model's two worked examples do
not cover it, and a tune on a few dozen labels does.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

EXAMPLES = [
    {"text": "Please send 2 parcels to Mia Chen in Leeds, express.",
     "output": {"recipient": "Mia Chen", "city": "Leeds", "items": 2, "speed": "express"}},
    {"text": "Standard shipping: one box for Omar Haddad, Porto.",
     "output": {"recipient": "Omar Haddad", "city": "Porto", "items": 1, "speed": "standard"}},
]
DELIVERY_SCHEMA: dict[str, Any] = {
    "title": "Delivery",
    "type": "object",
    "properties": {
        "recipient": {"type": "string"},
        "city": {"type": "string"},
        "items": {"type": "integer", "minimum": 1, "maximum": 99},
        "speed": {"enum": ["standard", "express", "overnight"]},
    },
    "required": ["recipient", "city", "items", "speed"],
    "x-extractly-examples": EXAMPLES,
}
FIRST = ("Ana", "Bruno", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jonas",
         "Kemal", "Lucia", "Marek", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tomas")
LAST = ("Alves", "Berg", "Costa", "Dvorak", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova",
        "Jansen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi")
CITIES = ("Ghent", "Bergen", "Split", "Tartu", "Lyon", "Graz", "Cork", "Turin", "Malmo",
          "Brno", "Gdansk", "Aarhus", "Kaunas", "Bilbao", "Utrecht", "Basel")
WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
SPEED_WORDS = {
    "standard": ("standard", "regular post", "the normal service"),
    "express": ("express", "fast delivery", "priority"),
    "overnight": ("overnight", "next-morning delivery", "by tomorrow 9am"),
}
TEMPLATES = (
    "Ship {n} boxes to {who} in {city} using {speed}.",
    "{who} ({city}) ordered {n} items, {speed} please.",
    "Order for {who}: {n} packages to {city}, {speed}.",
    "Deliver {n} parcels via {speed} to {who}, {city}.",
    "Customer {who} from {city} wants {n} crates sent {speed}.",
    "{city} address, recipient {who}; quantity {n}; service: {speed}.",
    "Can you get {n} boxes to {who} at the {city} depot? Use {speed}.",
    "Dispatch note - {n} units - {who} - {city} - {speed}.",
)


def delivery_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` rows ``{"id", "text", "gold"}``, all texts distinct."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(rows) < n:
        who = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        city = rng.choice(CITIES)
        items = rng.randint(1, 10)
        speed = rng.choice(list(SPEED_WORDS))
        count = WORDS[items - 1] if rng.random() < 0.4 else str(items)
        text = rng.choice(TEMPLATES).format(n=count, who=who, city=city,
                                            speed=rng.choice(SPEED_WORDS[speed]))
        if text in seen:
            continue
        seen.add(text)
        gold = {"recipient": who, "city": city, "items": items, "speed": speed}
        rows.append({"id": f"d{len(rows)}", "text": text, "gold": gold})
    return rows


def write_texts(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The unlabelled input: ``{"id", "text"}`` lines."""
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
    return path


def write_schema(path: Path) -> Path:
    path.write_text(json.dumps(DELIVERY_SCHEMA))
    return path
