"""A long synthetic company report with a few facts planted at known places, for long-document
tests. The filler is built from varied hand-written sentences with varied slots (departments,
figures, months, staff) under a seeded random generator, so no two paragraphs are alike and the
same seed always gives the same text. The planted facts each occur exactly once."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, JsonValue


def _example(text: str, **found: JsonValue) -> JsonValue:
    output: dict[str, JsonValue] = {
        "company_name": None,
        "ceo": None,
        "headquarters_city": None,
        "products": [],
    }
    output.update(found)
    return {"text": text, "output": output}


# Examples in the genre of the documents (short stretches of a report, most of them without
# any of the facts), so that the base model learns to answer null for filler.
EXAMPLES: list[JsonValue] = [
    _example(
        "The procurement office renegotiated two freight contracts in April. Support tickets "
        "fell by 9 percent. The minutes were approved without changes."
    ),
    _example(
        "Welcome to the yearly report of Harbor Peak Logistics. The dispatch team cut waiting "
        "times at the docks by 12 percent.",
        company_name="Harbor Peak Logistics",
    ),
    _example(
        "Overtime in the workshop stayed below target. Sales of the TrackBox scanner doubled "
        "after the spring fair. The cafeteria menu was updated.",
        products=["TrackBox"],
    ),
    _example(
        "The audit committee met twice. Chief Executive Officer Daniel Osei thanked the staff "
        "for a calm year. Parking permits will be renewed in June.",
        ceo="Daniel Osei",
    ),
    _example(
        "Energy costs rose by 4 percent. Our offices stay headquartered in Rotterdam, and the "
        "FleetPilot app reached 3,000 users. Two interns joined the legal office.",
        headquarters_city="Rotterdam",
        products=["FleetPilot"],
    ),
]


class CompanyProfile(BaseModel):
    """The main facts a company report states about the company."""

    model_config = ConfigDict(json_schema_extra={"x-extractly-examples": EXAMPLES})

    company_name: str | None = Field(default=None, description="The company's name")
    ceo: str | None = Field(default=None, description="Chief executive officer")
    headquarters_city: str | None = Field(default=None, description="City of the headquarters")
    products: list[str] = Field(default_factory=list, description="Names of its products")


@dataclass(frozen=True)
class Fact:
    field: str
    value: str
    sentence: str
    """Where the value is stated; contains ``value`` exactly once."""
    where: float
    """Relative position in the report, 0 (start) to 1 (end)."""


FACTS = (
    Fact(
        "company_name",
        "Veltrani Instruments",
        "This is the annual operations report of Veltrani Instruments for the past fiscal year.",
        0.0,
    ),
    Fact("products", "SonoGauge", "Our flagship product, the SonoGauge meter, sold well.", 0.02),
    Fact(
        "ceo",
        "Marisol Achterberg",
        "Chief Executive Officer Marisol Achterberg presented the strategy for the coming year.",
        0.5,
    ),
    Fact("products", "TideLink", "The TideLink sensor hub entered production in May.", 0.52),
    Fact(
        "headquarters_city",
        "Ljubljana",
        "The company remains headquartered in Ljubljana, where the new lab opened.",
        0.97,
    ),
    Fact("products", "BrineWatch", "Field trials of the BrineWatch probe ended well.", 0.98),
)

_TEAMS = [
    "the finance team",
    "the support desk",
    "the procurement group",
    "the facilities crew",
    "the legal office",
    "the quality team",
    "the data platform group",
    "the sales operations team",
    "the warehouse staff",
    "the recruiting team",
    "the internal audit group",
    "the training unit",
]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_STAFF = [
    "a team lead",
    "the deputy controller",
    "an operations analyst",
    "the shift supervisor",
    "the regional coordinator",
    "a senior engineer",
    "the office manager",
]
_TOPICS = [
    "supplier lead times",
    "the travel policy",
    "the ticket backlog",
    "energy use in the plant",
    "overtime hours",
    "the onboarding checklist",
    "invoice disputes",
    "spare part inventory",
    "the backup schedule",
    "customer churn in the north region",
    "packaging waste",
    "the parking arrangements",
    "meeting room bookings",
    "the expense approval flow",
]
_SENTENCES = [
    "{Team} reported that {topic} improved by {n} percent compared with {month}.",
    "In {month}, {team} reviewed {topic} and proposed two small changes.",
    "{Staff} noted that {topic} still needs attention before the next review.",
    "Costs related to {topic} were {n} percent below the budget agreed in {month}.",
    "{Team} hired {k} new colleagues and finished their induction by {month}.",
    "A short survey on {topic} received {m} responses, most of them positive.",
    "The committee asked {team} to present an update on {topic} in {month}.",
    "{Staff} explained that delays in {topic} were caused by a vendor change.",
    "No incidents were recorded by {team} during the reporting period.",
    "{Team} moved its weekly meeting to Thursday mornings to reduce conflicts.",
    "Training hours per employee rose to {k} over the year, led by {team}.",
    "The review of {topic} found {k} open items, of which {j} were closed by {month}.",
    "{Staff} thanked {team} for the extra effort during the busy weeks of {month}.",
    "A pilot on {topic} will run for {k} weeks before any decision is made.",
    "Spending on {topic} stayed flat, and {team} expects the same next quarter.",
    "The minutes of the previous meeting were approved without changes.",
    "{Team} documented the process for {topic} in the shared handbook.",
    "Questions about {topic} were collected and answered by {staff}.",
    "After the audit in {month}, {team} updated its checklists.",
    "Attendance at the monthly town hall averaged {m} people.",
]


def _filler_sentence(rng: random.Random) -> str:
    team = rng.choice(_TEAMS)
    staff = rng.choice(_STAFF)
    return rng.choice(_SENTENCES).format(
        team=team,
        Team=team[0].upper() + team[1:],
        staff=staff,
        Staff=staff[0].upper() + staff[1:],
        topic=rng.choice(_TOPICS),
        month=rng.choice(_MONTHS),
        n=rng.randint(2, 19),
        k=rng.randint(2, 12),
        j=rng.randint(1, 2),
        m=rng.randint(40, 400),
    )


def build_report(n_chars: int = 40_000, seed: int = 7) -> str:
    """A report of about ``n_chars`` characters (paragraphs of 4-7 sentences) with ``FACTS``
    inserted at their relative positions."""
    rng = random.Random(seed)
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < n_chars:
        sentences.append(_filler_sentence(rng))
    # Facts go in at their relative positions (the first one opens the report).
    for fact in sorted(FACTS, key=lambda f: f.where, reverse=True):
        sentences.insert(round(fact.where * len(sentences)), fact.sentence)
    paragraphs: list[str] = []
    i = 0
    while i < len(sentences):
        size = rng.randint(4, 7)
        paragraphs.append(" ".join(sentences[i : i + size]))
        i += size
    return "\n\n".join(paragraphs)
