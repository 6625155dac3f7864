"""Group records: a few sentences about one gathering (a panel, a meeting, a match, an issue of
a journal, a lecture, a concert) that state who leads it and who else takes part, beside its
series name, its number, a date, a length and its subjects.

The span records (``spans``) teach one value or one relation a line; what they never hold is
a *list of people told apart from one other person by the verbs and role words around them*
("Ines Park chairs a discussion with engineer Omar Haddad and Lucia Weber": the lead is one
string, the others a list, and "engineer" is not part of a name), inside a text that also
states a date in words, a length in hours and minutes and the subjects. That is the shape of
most "who was there" fields (attendees, players, contributors, speakers), and the sixth and
seventh general adapters, trained without it, left such lists empty.

The verbs, role words and field names avoid the demo's (``host``, ``guests``, "interviews",
"welcomes", "talk about", "episode", "released", "published"), so the demo stays a held-out
test of the relation; ``tests/test_general_mix.py`` checks that no training text is a near
copy of a show note.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import vocab
from .measures import MEASURES
from .spans import NULLABLE_COUNT, field_name, work_name

NULLABLE_DATE: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date"},
                                           {"type": "null"}]}
NULLABLE_STRING: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


@dataclass(frozen=True)
class Gathering:
    """One kind of gathering: the words a schema and its text use for it."""
    lead_names: tuple[str, ...]
    """Field names, as words, for the one person who leads."""
    lead_roles: tuple[str, ...]
    """Role words a text may put before the lead's name ("moderator Ada Park")."""
    member_names: tuple[str, ...]
    """Field names, as words, for the list of the others."""
    member_roles: tuple[str, ...]
    """Role words before a member's name; the output holds the name alone."""
    unit: tuple[str, ...]
    """What a number counts ("session 12", "issue 12")."""
    series_suffixes: tuple[str, ...]
    relations: tuple[str, ...]
    """Sentences over ``{lead}`` and ``{members}`` (one or more names)."""
    alone: tuple[str, ...]
    """Sentences over ``{lead}`` when nobody else takes part."""
    without_lead: tuple[str, ...]
    """Sentences over ``{members}`` when no lead is named."""
    about: tuple[str, ...]
    """Clauses over ``{subjects}``."""


GATHERINGS: dict[str, Gathering] = {
    "panel": Gathering(
        ("moderator", "chair", "facilitator", "panel chair"), ("moderator", "chair"),
        ("panelists", "speakers", "participants", "featured speakers"),
        ("panelist", "speaker", "researcher", "author", "economist"),
        ("session", "panel", "part"), ("Forum", "Talks", "Sessions", "Roundtable", ""),
        ("{lead} moderates a panel with {members}", "{lead} is joined by {members}",
         "{members} join {lead}", "{lead} brings together {members}",
         "{lead} chairs a discussion with {members}", "{lead} leads a conversation with {members}",
         "{lead} puts questions to {members}", "{lead} sits down with {members}",
         "{members} speak, moderated by {lead}", "{lead} hands the floor to {members}"),
        ("{lead} speaks alone", "a solo session with {lead}", "{lead} takes questions alone"),
        ("{members} debate", "panel: {members}", "{members} share the stage"),
        ("to discuss {subjects}", "on {subjects}", "covering {subjects}",
         "with a focus on {subjects}")),
    "meeting": Gathering(
        ("organizer", "chairperson", "convener", "meeting lead"), ("organizer", "chair"),
        ("attendees", "invitees", "participants", "people present"),
        ("analyst", "designer", "engineer", "manager", "intern"),
        ("meeting", "sync", "review"), ("Committee", "Board", "Working Group", "Team", ""),
        ("{lead} meets with {members}", "{lead} called a meeting with {members}",
         "{members} met {lead}", "chaired by {lead}, with {members} present",
         "{lead} reviewed the plan with {members}", "{members} sat in with {lead}",
         "{lead} gathered {members}"),
        ("{lead} ran it alone", "only {lead} attended"),
        ("attendees were {members}", "{members} attended"),
        ("agenda: {subjects}", "on {subjects}", "to settle {subjects}", "about {subjects}")),
    "team": Gathering(
        ("captain", "coach", "team lead", "skipper"), ("captain", "coach"),
        ("players", "teammates", "squad", "roster", "lineup"),
        ("striker", "goalkeeper", "forward", "rookie", "defender"),
        ("match", "round", "game"), ("League", "Cup", "Derby", "Open", ""),
        ("{lead} leads {members}", "{lead} coaches {members}", "{members} play under {lead}",
         "{lead} fields {members}", "{lead} picks {members}", "{members} line up for {lead}"),
        ("{lead} plays the singles final alone",),
        ("{members} start", "lineup: {members}"),
        ("with drills on {subjects}", "working on {subjects}")),
    "publication": Gathering(
        ("editor", "lead author", "curator", "editor in chief"), ("editor", "curator"),
        ("contributors", "co authors", "writers", "essayists"),
        ("historian", "poet", "journalist", "critic", "scientist"),
        ("issue", "volume"), ("Review", "Quarterly", "Journal", "Letters", ""),
        ("edited by {lead}, with pieces from {members}", "{lead} collects essays by {members}",
         "{members} write for {lead}", "{lead} commissions {members}",
         "{lead} presents new work by {members}", "{members} contribute; {lead} edits"),
        ("{lead} wrote every piece", "a single-author issue by {lead}"),
        ("essays by {members}", "{members} contribute"),
        ("on {subjects}", "devoted to {subjects}", "exploring {subjects}")),
    "course": Gathering(
        ("instructor", "teacher", "lecturer", "course lead"), ("instructor", "professor"),
        ("visiting speakers", "mentors", "teaching assistants", "presenters"),
        ("engineer", "nurse", "architect", "lawyer", "designer"),
        ("lecture", "week", "class", "module"), ("Academy", "Course", "Seminar", "School", ""),
        ("{lead} teaches with {members}", "{lead} invites {members}",
         "{lead} brings in {members}", "{members} visit {lead}'s class",
         "{lead} co-teaches with {members}", "{members} present, introduced by {lead}"),
        ("{lead} teaches alone", "{lead} lectures solo"),
        ("{members} present", "presented by {members}"),
        ("on {subjects}", "introducing {subjects}", "a primer on {subjects}")),
    "concert": Gathering(
        ("bandleader", "conductor", "headliner", "music director"), ("conductor", "bandleader"),
        ("featured artists", "musicians", "performers", "soloists", "supporting acts"),
        ("pianist", "violinist", "drummer", "singer", "cellist"),
        ("show", "night", "concert"), ("Live", "Festival", "Nights", "Ensemble", ""),
        ("{lead} performs with {members}", "{lead} conducts {members}",
         "{members} play alongside {lead}", "{lead} shares the bill with {members}",
         "{lead} is backed by {members}", "{members} open for {lead}"),
        ("{lead} plays a solo set", "{lead} alone at the piano"),
        ("{members} perform", "with {members} on stage"),
        ("playing {subjects}", "a night of {subjects}", "featuring {subjects}")),
}
SUBJECTS = (*vocab.TOPICS, "folk songs", "late Beethoven", "budget cuts", "hiring",
            "the new stadium", "penalty kicks", "soil health", "river cleanups", "pricing",
            "road safety", "poetry in translation", "old maps")
NAMED = ("name", "series", "series name", "event name", "title of series", "programme")
NUMBERED = ("number", "no", "sequence number")
DATED = ("date", "held on", "on date", "event date", "day")
DATED_PHRASES = ("Held {}", "On {}", "Recorded {}", "Dated {}", "It took place {}",
                 "Scheduled for {}", "Posted {}", "{}")
LENGTH_PHRASES = ("Runs {}", "{} long", "Duration: {}", "Running time {}", "It lasts {}",
                  "Time: {}", "({})", "Total time {}")
MINUTES_NAMES = tuple(n for n in MEASURES["minutes"].names if n != "duration minutes")
"""The measures' names for a length in minutes but the demo's."""
SUBJECT_NAMES = ("subjects", "themes", "discussion points", "keywords", "agenda items")


def _people(count: int, roles: tuple[str, ...], taken: set[str], rng: random.Random
            ) -> tuple[list[str], list[str]]:
    """``count`` new people: their names (the output) and how the text writes each (some
    with a role word before the name)."""
    names: list[str] = []
    written: list[str] = []
    while len(names) < count:
        name = vocab.value_for("person", rng)
        if name in taken or name.split()[0] in {t.split()[0] for t in taken}:
            continue  # a shared first name would make a back-reference ambiguous
        taken.add(name)
        names.append(name)
        written.append(f"{rng.choice(roles)} {name}" if rng.random() < 0.3 else name)
    return names, written


def joined(items: list[str], rng: random.Random) -> str:
    """``a``, ``a and b``, ``a, b and c`` (or with a serial comma)."""
    if len(items) <= 1:
        return "".join(items)
    comma = "," if len(items) > 2 and rng.random() < 0.4 else ""
    return f"{', '.join(items[:-1])}{comma} and {items[-1]}"


def _date(rng: random.Random) -> tuple[str, str]:
    """A date (ISO, the output) and how the text writes it."""
    day = datetime.date(2012, 1, 1) + datetime.timedelta(days=rng.randrange(5000))
    return day.isoformat(), rng.choice((
        f"{day:%B} {day.day}, {day.year}", f"{day.day} {day:%B} {day.year}",
        day.isoformat(), f"{day:%b} {day.day}, {day.year}", f"{day:%A}, {day:%B} {day.day}, "
        f"{day.year}", f"{day:%B} {day.day} {day.year}"))


@dataclass(frozen=True)
class _Fields:
    lead: str
    members: str
    name: str | None
    number: str | None
    date: str | None
    minutes: str | None
    subjects: str | None
    unit: str
    """What the number counts, in the field's name and the text."""


def _schema(kind: str, gathering: Gathering, rng: random.Random) -> tuple[dict[str, Any],
                                                                          _Fields]:
    case = rng.choice(("snake", "snake", "camel", "pascal"))

    def maybe(names: tuple[str, ...], share: float = 0.7) -> str | None:
        return field_name(rng.choice(names), case) if rng.random() < share else None

    unit = rng.choice(gathering.unit)
    fields = _Fields(
        lead=field_name(rng.choice(gathering.lead_names), case),
        members=field_name(rng.choice(gathering.member_names), case),
        name=maybe(NAMED), number=maybe(tuple(f"{unit} {n}" for n in NUMBERED)),
        date=maybe(DATED), minutes=maybe(MINUTES_NAMES),
        subjects=maybe(SUBJECT_NAMES), unit=unit)
    nodes: dict[str | None, dict[str, Any]] = {
        fields.name: dict(NULLABLE_STRING), fields.number: dict(NULLABLE_COUNT),
        fields.lead: dict(NULLABLE_STRING), fields.members: dict(STRINGS),
        fields.date: dict(NULLABLE_DATE), fields.minutes: dict(NULLABLE_COUNT),
        fields.subjects: dict(STRINGS)}
    nodes.pop(None, None)
    if rng.random() < 0.5:  # as a schema written by hand says what its fields hold
        nodes[fields.lead]["description"] = f"Who leads the {kind}"
        nodes[fields.members]["description"] = f"Everyone else taking part in the {kind}"
    names = [n for n in nodes if n is not None]
    if len(set(names)) < len(names):
        raise ValueError("two fields share a name")
    if rng.random() < 0.3:
        rng.shuffle(names)
    schema = {"title": field_name(f"{kind} record", "pascal"), "type": "object",
              "properties": {n: nodes[n] for n in names}, "required": names,
              "additionalProperties": False}
    return schema, fields


def _put(output: dict[str, Any], field: str | None, value: Any) -> None:
    """Record ``value`` for ``field`` when the schema has it."""
    if field is not None:
        output[field] = value


def _opening(fields: _Fields, gathering: Gathering, output: dict[str, Any],
             rng: random.Random) -> list[str]:
    """The sentence naming the series and its number (either, both or none)."""
    unit = fields.unit
    series = work_name(rng)
    suffix = rng.choice(gathering.series_suffixes)
    series = f"{series} {suffix}" if suffix else series
    number = rng.choice((rng.randint(1, 40), rng.randint(1, 400)))
    says_name = (fields.name is not None and rng.random() < 0.85) or rng.random() < 0.3
    says_number = rng.random() < 0.7
    _put(output, fields.name, series if says_name else None)
    _put(output, fields.number, number if says_number else None)
    if says_name and says_number:
        return [rng.choice((f"{unit.title()} {number} of {series}", f"{series}, {unit} {number}",
                            f"{series} #{number}", f"{series} ({unit} {number})",
                            f"{series} {unit} {number}"))]
    if says_name:
        return [rng.choice((series, f"New from {series}", f"This {unit} of {series}"))]
    if says_number:
        return [rng.choice((f"{unit.title()} {number}", f"{unit.title()} #{number}"))]
    return []


def _relation(fields: _Fields, gathering: Gathering, opening: list[str],
              output: dict[str, Any], rng: random.Random) -> str:
    """The sentence saying who leads and who else takes part, and on what subjects; the lead
    may be named with its role in ``opening`` (changed in place) and then by first name."""
    taken: set[str] = set()
    has_lead = rng.random() < 0.9
    count = rng.choice((0, 1, 1, 1, 2, 2, 3)) if has_lead else rng.choice((1, 2, 3))
    lead, lead_written = _people(1, gathering.lead_roles, taken, rng) if has_lead else ([], [])
    members, members_written = _people(count, gathering.member_roles, taken, rng)
    output[fields.lead] = lead[0] if lead else None
    output[fields.members] = members
    lead_again = lead_written[0] if lead_written else ""
    if lead and rng.random() < 0.4 and opening:
        opening[-1] += rng.choice((f" with {rng.choice(gathering.lead_roles)} {lead[0]}",
                                   f", led by {lead[0]}"))
        lead_again = lead[0].split()[0]
    templates = (gathering.relations if lead and members else gathering.alone if lead
                 else gathering.without_lead)
    relation = rng.choice(templates).format(lead=lead_again,
                                            members=joined(members_written, rng))
    if fields.subjects is not None or rng.random() < 0.3:
        picked = rng.sample(SUBJECTS, rng.choice((0, 1, 2, 2, 3)))
        if picked:
            relation += " " + rng.choice(gathering.about).format(subjects=joined(picked, rng))
        _put(output, fields.subjects, picked)
    return relation


def _tail(fields: _Fields, output: dict[str, Any], rng: random.Random) -> list[str]:
    """Phrases stating the date and the length, each or neither, in either order."""
    tail: list[str] = []
    iso: str | None = None
    if rng.random() < 0.65:
        iso, written = _date(rng)
        tail.append(rng.choice(DATED_PHRASES).format(written))
    _put(output, fields.date, iso)
    minutes: int | None = None
    if rng.random() < 0.8:
        minutes = MEASURES["minutes"].value(rng)
        tail.append(rng.choice(LENGTH_PHRASES).format(MEASURES["minutes"].say(minutes, rng)))
    _put(output, fields.minutes, minutes)
    rng.shuffle(tail)
    return tail


def _record(fields: _Fields, gathering: Gathering, rng: random.Random
            ) -> tuple[str, dict[str, Any]]:
    output: dict[str, Any] = {}
    opening = _opening(fields, gathering, output, rng)
    relation = _relation(fields, gathering, opening, output, rng)
    sentences = [*opening, relation]
    if rng.random() < 0.3 and len(sentences) > 1:
        sentences = [f"{sentences[0]}: {sentences[1]}"]  # a name keeps its capital
    tail = _tail(fields, output, rng)
    text = ". ".join(s[0].upper() + s[1:] for s in sentences) + "."
    if tail:
        text += " " + (". ".join(tail) if rng.random() < 0.6 else ", ".join(tail)) + "."
    return text, output


def group_pairs(schemas: int, per_schema: int, *, seed: int = 0
                ) -> Iterator[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """``schemas`` gathering schemas (``GATHERINGS``) with ``per_schema`` (text, output) pairs
    each; every output holds every field of its schema."""
    rng = random.Random(f"{seed}:groups")
    made = 0
    while made < schemas:
        kind = rng.choice(sorted(GATHERINGS))
        gathering = GATHERINGS[kind]
        try:
            schema, fields = _schema(kind, gathering, rng)
        except ValueError:
            continue  # a draw that cannot make a schema is drawn again
        pairs = [_record(fields, gathering, rng) for _ in range(per_schema)]
        made += 1
        yield schema, [(text, {n: out[n] for n in schema["properties"]}) for text, out in pairs]
