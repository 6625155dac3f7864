"""Measure records: an integer field in one unit (``duration_minutes``, ``weight_grams``) and a
short line that states the quantity in others ("1 hour 5 minutes", "1 h 20 min", "2.5 kg",
"3:45"), so the output is a conversion, not a copy.

The JSONSchemaBench-derived pairs (``pairs``) almost never hold one: their integer fields
rarely name a unit, and the renderer writes minutes as hours and minutes only for a field
named in minutes with a value of 60 or more, which none of the 2,808 pairs of the recipe has.
A schema here holds one or two measures (nullable integers, all required) beside a named
thing and a few never-stated fields; a line states the thing and one or both measures.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .spans import NUMBER_WORDS, field_name, flat_schema, lowered, work_name


@dataclass(frozen=True)
class Measure:
    names: tuple[str, ...]
    """Field names, as words, that say the unit (``"duration minutes"``)."""
    value: Callable[[random.Random], int]
    say: Callable[[int, random.Random], str]
    """How a line states the value (in this or other units)."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _say_minutes(m: int, rng: random.Random) -> str:
    hours, rest = divmod(m, 60)
    forms = [f"{m} minutes", f"{m} min", f"{m} mins"]
    if m <= 10:
        forms.append(f"{NUMBER_WORDS[m]} minutes")
    if hours:
        hour = _plural(hours, "hour")
        if rest:
            forms += [f"{hour} {rest} minutes", f"{hour} and {_plural(rest, 'minute')}",
                      f"{hours} h {rest} min", f"{hours} hr {rest} min",
                      f"{hours}h{rest:02d}"]
            if rest == 30:
                forms += [f"{hours}.5 hours", f"{hours} and a half hours"]
        else:
            forms += [hour, f"{hours} h", f"{hours} hrs" if hours > 1 else "an hour"]
        if rng.random() < 0.8:  # mostly stated in hours: the conversion is the point
            forms = forms[3:]
    elif m == 30:
        forms.append("half an hour")
    return rng.choice(forms)


def _say_seconds(s: int, rng: random.Random) -> str:
    minutes, rest = divmod(s, 60)
    forms = [f"{s} seconds", f"{s} s", f"{s} sec"]
    if minutes and rng.random() < 0.8:
        forms = [f"{minutes}:{rest:02d}", f"{_plural(minutes, 'minute')} {rest} seconds",
                 f"{minutes} min {rest} s"]
        if not rest:
            forms.append(_plural(minutes, "minute"))
    return rng.choice(forms)


def _say_metric(small: str, large: str) -> Callable[[int, random.Random], str]:
    """Grams as kilograms, metres as kilometres: a thousand of the small unit is the large."""

    def say(n: int, rng: random.Random) -> str:
        whole, rest = divmod(n, 1000)
        if not whole:
            return rng.choice((f"{n} {small}", f"{n}{small}"))
        if rest == 0:
            return rng.choice((f"{whole} {large}", f"{whole}{large}"))
        if rest % 100 == 0:
            return rng.choice((f"{whole}.{rest // 100} {large}", f"{whole}.{rest // 100}{large}",
                               f"{whole} {large} {rest} {small}"))
        return f"{whole} {large} {rest} {small}"

    return say


def _say_cents(c: int, rng: random.Random) -> str:
    dollars, cents = divmod(c, 100)
    return rng.choice((f"${dollars}.{cents:02d}", f"{dollars}.{cents:02d} dollars",
                       f"{_plural(dollars, 'dollar')} {cents} cents" if cents
                       else _plural(dollars, "dollar")))


MEASURES: dict[str, Measure] = {
    "minutes": Measure(("duration minutes", "length minutes", "runtime minutes", "minutes",
                        "total minutes", "duration min", "time minutes", "running time mins"),
                       lambda rng: rng.choice((rng.randint(1, 59), rng.randint(60, 240),
                                               rng.randint(60, 180), 30 * rng.randint(1, 8),
                                               rng.randint(61, 119),
                                               60 * rng.randint(1, 3) + rng.randint(1, 9))),
                       _say_minutes),
    "seconds": Measure(("duration seconds", "length seconds", "seconds", "length sec",
                        "time seconds", "duration s"),
                       lambda rng: rng.choice((rng.randint(5, 59), rng.randint(60, 600))),
                       _say_seconds),
    "grams": Measure(("weight grams", "weight g", "mass grams", "grams", "net weight grams"),
                     lambda rng: rng.choice((rng.randint(1, 999), 100 * rng.randint(10, 90),
                                             1000 * rng.randint(1, 20), rng.randint(1001, 9999))),
                     _say_metric("g", "kg")),
    "metres": Measure(("distance meters", "length meters", "distance m", "meters",
                       "route length metres"),
                      lambda rng: rng.choice((rng.randint(50, 999), 100 * rng.randint(10, 400),
                                              1000 * rng.randint(1, 42))),
                      _say_metric("m", "km")),
    "cents": Measure(("price cents", "amount cents", "cost cents", "total cents"),
                     lambda rng: rng.choice((rng.randint(1, 9999), 100 * rng.randint(1, 99),
                                             rng.randint(100, 50000))),
                     _say_cents),
}
THINGS = ("title", "name", "item", "track", "route", "product", "episode title", "label")
SETTINGS = ("{thing}, {measure}", "{thing} ({measure})", "{thing}: {measure}",
            "{measure} for {thing}", "{thing} - {measure}", "{thing} is {measure}",
            "Total {measure}", "{thing}, about {measure}", "{measure}")
DURATION_SETTINGS = ("{thing} runs {measure}", "{thing} takes {measure}",
                     "{thing} lasts {measure}", "Runtime: {measure}")
"""More settings for a line whose measures are all durations."""
EXTRAS = ("notes", "category", "source", "owner", "status", "language")


def measure_pairs(schemas: int, per_schema: int, *, seed: int = 0
                  ) -> Iterator[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """``schemas`` schemas of one or two measures (``MEASURES``), a thing's name and null
    extras, with ``per_schema`` (line, output) pairs each; a line states the thing or not and
    one of the measures, or both joined by "and"."""
    rng = random.Random(f"{seed}:measures")
    made = 0
    while made < schemas:  # a draw that cannot make a schema is drawn again
        case = rng.choice(("snake", "snake", "camel", "pascal"))
        kinds = rng.sample(sorted(MEASURES), rng.choice((1, 1, 2)))
        if {"minutes", "seconds"} <= set(kinds):  # two durations: which is which is a guess
            kinds.remove("seconds")
        measure_fields = {k: field_name(rng.choice(MEASURES[k].names), case) for k in kinds}
        thing = field_name(rng.choice(THINGS), case)
        extras = [field_name(e, case) for e in rng.sample(EXTRAS, rng.randint(0, 3))]
        fields = [thing, *measure_fields.values(), *extras]
        if len(set(fields)) < len(fields):
            continue
        rng.shuffle(fields)
        schema = flat_schema("Measured", fields, counts=measure_fields.values())
        pairs = []
        for _ in range(per_schema):
            output: dict[str, Any] = dict.fromkeys(fields)
            stated = rng.sample(kinds, rng.randint(1, len(kinds)))
            said = []
            for kind in stated:
                value = MEASURES[kind].value(rng)
                said.append(MEASURES[kind].say(value, rng))
                output[measure_fields[kind]] = value
            durations = all(k in ("minutes", "seconds") for k in stated)
            template = rng.choice(SETTINGS + DURATION_SETTINGS if durations else SETTINGS)
            name = work_name(rng)
            if "{thing}" in template:
                output[thing] = name
            text = template.format(thing=name, measure=" and ".join(said))
            pairs.append(lowered(text, output, rng))
        made += 1
        yield schema, pairs
