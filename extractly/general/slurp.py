"""SLURP's spoken commands as training pairs for the general adapter: real slot filling on
schemas the evaluation sets do not have.

SLURP (Bastianelli et al., 2020; https://github.com/pswietojanski/slurp, text under CC BY 4.0)
holds commands to a home assistant over 18 scenarios, each annotated with its intent and its
slots inline, as in ``"wake me up at [time : six thirty] [date : tomorrow]"``. Its
``dataset/slurp/devel.jsonl`` and ``test.jsonl`` (5,007 commands, 81 intents) are plain files in
the repository (``train.jsonl`` is stored outside git); they are read here. SLURP is not one of
the evaluation sets, so its own test split is training data like any other; what must stay out
are the evaluation sets' texts, which ``exclude`` drops (normalised exact matches: one SLURP
command is, word for word, a SNIPS text).

One schema per intent, as SNIPS has: every slot type the intent's commands use, as a nullable
string, all required (the shape of the evaluation sets' schemas); a command's output names the
words of each slot it fills, as its annotation writes them, and null for the rest. Commands
without a slot teach nothing a schema needs, and a command that fills one slot type twice ("how
many [currency_name : euros] to the [currency_name : pound]") has no single right string for
the field: both are left out and counted in ``Mix.skipped``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .leakage import words
from .mix import Mix, Source

ORIGIN = "pswietojanski/slurp@8eb1654: dataset/slurp/{devel,test}.jsonl"
LICENSE = "CC-BY-4.0 (text)"
SPLITS = ("devel.jsonl", "test.jsonl")
_SLOT = re.compile(r"\[\s*([\w-]+)\s*:\s*([^\]]*?)\s*\]")


@dataclass(frozen=True)
class Command:
    intent: str
    text: str
    slots: dict[str, str]


def normalise(text: str) -> str:
    """Lower case, words only (``leakage.words``): how ``exclude`` compares texts."""
    return " ".join(words(text))


def parse(annotation: str) -> tuple[str, list[tuple[str, str]]]:
    """The plain text of an annotated command and its (slot type, words) in order."""
    slots = [(m.group(1), m.group(2)) for m in _SLOT.finditer(annotation)]
    return _SLOT.sub(lambda m: m.group(2), annotation), slots


def split_files(folder: Path) -> list[Path]:
    """The annotated splits under ``folder``: a clone of the repository, its
    ``dataset/slurp`` folder, or any folder holding ``devel.jsonl`` / ``test.jsonl``."""
    for where in (folder / "dataset" / "slurp", folder):
        found = [where / name for name in SPLITS if (where / name).is_file()]
        if found:
            return found
    raise FileNotFoundError(
        f"{folder}: no SLURP split found (looked for {', '.join(SPLITS)} in {folder} and "
        f"{folder / 'dataset' / 'slurp'}); clone https://github.com/pswietojanski/slurp and "
        "give the clone's folder")


def read_commands(folder: Path, skipped: list[tuple[str, str]]) -> list[Command]:
    commands: list[Command] = []
    for path in split_files(folder):
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                where = f"slurp/{path.name}:{n}"
                text, slots = parse(str(row["sentence_annotation"]))
                types = [kind for kind, _ in slots]
                if not slots:
                    skipped.append((where, "no slot"))
                elif len(set(types)) < len(types):
                    skipped.append((where, "a slot type filled twice"))
                elif any(not said for _, said in slots):
                    skipped.append((where, "a slot with no words"))
                else:
                    commands.append(Command(str(row["intent"]), text, dict(slots)))
    return commands


def intent_schema(intent: str, fields: Iterable[str]) -> dict[str, Any]:
    names = sorted(set(fields))
    return {
        "title": intent,
        "type": "object",
        "properties": {name: {"anyOf": [{"type": "string"}, {"type": "null"}]}
                       for name in names},
        "required": names,
        "additionalProperties": False,
    }


def slurp_set(folder: Path, *, per_set: int | None = None, seed: int = 0,
              exclude: Iterable[str] = (), origin: str = ORIGIN,
              license_: str = LICENSE) -> Mix:
    """SLURP's annotated commands under ``folder`` as one source per intent: at most
    ``per_set`` commands (a seeded sample over all intents), none whose text matches an
    ``exclude`` text (normalised)."""
    mix = Mix()
    commands = read_commands(folder, mix.skipped)
    banned = {normalise(t) for t in exclude}
    kept: list[Command] = []
    seen: set[str] = set()
    for c in commands:
        key = normalise(c.text)
        if key in banned:
            mix.skipped.append((f"slurp/{c.intent}", f"an evaluation text: {c.text!r}"))
        elif key not in seen:
            seen.add(key)
            kept.append(c)
    fields: dict[str, set[str]] = {}
    for c in kept:
        fields.setdefault(c.intent, set()).update(c.slots)
    schemas = {intent: intent_schema(intent, names) for intent, names in fields.items()}
    if per_set is not None and len(kept) > per_set:
        kept = random.Random(f"{seed}:slurp").sample(kept, per_set)
    by_intent: dict[str, list[tuple[str, Any]]] = {}
    for c in kept:
        output = {name: c.slots.get(name) for name in schemas[c.intent]["required"]}
        by_intent.setdefault(c.intent, []).append((c.text, output))
    for intent in sorted(by_intent):
        mix.sources.append(Source(f"slurp/{intent}", schemas[intent], tuple(by_intent[intent]),
                                  origin, license_))
    return mix


def evaluation_texts(root: Path) -> list[str]:
    """Every text of every split (train and test) of the labelled sets under ``root`` (the
    shared evaluation layout): what ``slurp_set`` must not train on. A folder holding no set
    is refused, since excluding nothing would go unnoticed."""
    paths = sorted(root.glob("*/*.jsonl"))
    if not paths:
        raise FileNotFoundError(
            f"{root}: no labelled set here (no SET/*.jsonl), so no evaluation text could be "
            "kept out of training; give the folder of the sets you will score "
            "(e.g. ../shared/data)")
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    if isinstance(row, dict) and isinstance(row.get("text"), str):
                        texts.append(row["text"])
    return texts
