"""Word lists for synthetic values, and which list a field's name asks for.

Values are drawn by what a field is called (``kind_of("guest_names")`` is ``"person"``), so a
synthetic ``city`` is a city and a ``title`` a title: text rendered from them reads like the
documents the general adapter will meet, and the model cannot learn to guess a value from its
field name alone because each list is large and values are combined (first x last name).
Pure data, one lookup and the value makers; the caller's ``random.Random`` draws.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable

FIRST = (
    "Ada", "Ahmed", "Aiko", "Alejandro", "Amara", "Ana", "Anika", "Arjun", "Astrid", "Bea",
    "Bilal", "Bruno", "Carmen", "Chen", "Chiara", "Dara", "David", "Dmitri", "Elif", "Elena",
    "Emeka", "Erik", "Fatima", "Felix", "Freya", "Goran", "Hana", "Hiro", "Ines", "Ivan",
    "Jamal", "Jana", "Jonas", "Kai", "Kemal", "Lars", "Leila", "Lucia", "Mateo", "Maya",
    "Mei", "Nadia", "Nikos", "Noor", "Olga", "Omar", "Pablo", "Priya", "Rafael", "Rosa",
    "Sana", "Sven", "Tariq", "Teresa", "Tomas", "Uma", "Viktor", "Wen", "Yara", "Zoe",
)
LAST = (
    "Abbott", "Alvarez", "Andersen", "Bauer", "Bianchi", "Brennan", "Castillo", "Chowdhury",
    "Costa", "Dahl", "Dubois", "Eriksen", "Fernandes", "Fischer", "Gallagher", "Garcia",
    "Haddad", "Horvat", "Ibrahim", "Ivanova", "Jansen", "Kaur", "Kim", "Kowalski", "Larsen",
    "Lindqvist", "Mbeki", "Moreau", "Nakamura", "Novak", "Nwosu", "Okafor", "Oliveira",
    "Park", "Petrov", "Quinn", "Rahman", "Rossi", "Santos", "Schmidt", "Silva", "Sato",
    "Tanaka", "Torres", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
)
CITIES = (
    "Aarhus", "Accra", "Austin", "Bergen", "Bilbao", "Bogota", "Brno", "Cork", "Curitiba",
    "Dakar", "Denver", "Gdansk", "Ghent", "Graz", "Halifax", "Hanoi", "Kaunas", "Kyoto",
    "Leeds", "Lyon", "Malmo", "Mombasa", "Nagoya", "Oaxaca", "Osaka", "Perth", "Porto",
    "Pune", "Quito", "Seville", "Split", "Tartu", "Tucson", "Turin", "Utrecht", "Valencia",
)
STATES = ("Alabama", "Arizona", "California", "Colorado", "Florida", "Georgia", "Illinois",
          "Kansas", "Maine", "Michigan", "Minnesota", "Nevada", "Ohio", "Oregon", "Texas",
          "Utah", "Vermont", "Virginia", "Washington", "Wisconsin", "CA", "IL", "NY", "TX",
          "WA", "OH", "MN", "FL")
COUNTRIES = (
    "Argentina", "Australia", "Brazil", "Canada", "Chile", "Croatia", "Denmark", "Estonia",
    "Finland", "Ghana", "India", "Ireland", "Japan", "Kenya", "Mexico", "Morocco", "Nigeria",
    "Norway", "Peru", "Poland", "Portugal", "Senegal", "Spain", "Vietnam",
)
STREETS = ("Oak", "Maple", "Harbor", "Mill", "Station", "Church", "Park", "River", "Hill",
           "Lake", "Cedar", "Market", "Bridge", "Orchard", "Willow", "Union")
STREET_TYPES = ("Street", "Avenue", "Road", "Lane", "Boulevard", "Drive", "Way", "Court")
COMPANY_WORDS = ("Apex", "Blue", "Cobalt", "Delta", "Ember", "Fern", "Granite", "Harbor",
                 "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "North", "Orbit",
                 "Pioneer", "Quartz", "Summit", "Tidal", "Vertex")
COMPANY_ENDINGS = ("Labs", "Systems", "Foods", "Logistics", "Health", "Energy", "Studio",
                   "Partners", "Analytics", "Works", "Group", "Robotics")
ADJECTIVES = ("Quiet", "Bright", "Hidden", "Modern", "Curious", "Open", "Little", "Wild",
              "Daily", "Deep", "Friendly", "Lost", "Practical", "Weekend", "Northern")
NOUNS = ("Garden", "Signal", "Kitchen", "Archive", "Frontier", "Workshop", "Harbor", "Circuit",
         "Library", "Compass", "Canvas", "Market", "Engine", "Atlas", "Orchard", "Studio")
TOPICS = ("stream processing", "composting", "urban cycling", "tax law", "sourdough",
          "machine learning", "bird migration", "jazz history", "remote work", "solar power",
          "chess openings", "data privacy", "marathon training", "film restoration",
          "supply chains", "coral reefs", "public libraries", "electric cars", "beekeeping",
          "family budgets", "space probes", "folk music", "sleep science", "open source")
PRODUCTS = ("desk lamp", "trail shoes", "coffee grinder", "phone case", "wool scarf",
            "bike helmet", "water bottle", "backpack", "keyboard", "tea kettle", "notebook",
            "headphones", "rain jacket", "yoga mat", "camera strap", "garden hose")
JOBS = ("engineer", "nurse", "accountant", "designer", "teacher", "pharmacist", "electrician",
        "editor", "data analyst", "chef", "architect", "lawyer", "product manager")
COLORS = ("red", "blue", "green", "black", "white", "silver", "orange", "purple", "grey")
VENUE_WORDS = ("Inn", "Grill", "Cafe", "Bistro", "Kitchen", "House", "Tavern", "Diner", "Bar")
WORDS = ("alpha", "river", "stone", "maple", "signal", "harvest", "copper", "meadow", "falcon",
         "lantern", "pepper", "tundra", "velvet", "willow", "zenith", "ember", "quartz")

_KINDS: tuple[tuple[str, str], ...] = (
    # (pattern over the field's words, kind); the first match wins
    (r"\be ?mail", "email"),
    (r"\b(url|website|link|homepage|uri)\b", "url"),
    (r"\b(phone|tel|telephone|mobile|fax)\b", "phone"),
    (r"\b(street|address|addr)\b", "street"),
    (r"\b(city|town|place|location|locality|venue)\b", "city"),
    (r"\b(country|nation)\b", "country"),
    (r"\b(zip|postcode|postal)\b", "zip"),
    (r"\b(state|province|region)\b", "state"),
    # a name qualified by what it names ("restaurant name", "movie title"), before the bare
    # "name" below reads it as a person's
    (r"\b(restaurant|hotel|cafe|café|bar|pub|bistro|diner|bakery|eatery|brewery|inn|"
     r"gym|salon|clinic)s? (name|title)\b", "business"),
    (r"\b(movie|film|book|album|song|track|show|series|podcast|episode|event|game|playlist|"
     r"novel|play|course|project|app|article|paper)s? (name|title)\b", "title"),
    (r"\b(company|organi[sz]ation|org|employer|vendor|brand|publisher|manufacturer|"
     r"supplier|merchant|store|shop)\b", "company"),
    (r"\b(name|names|person|people|author|authors|host|hosts|guest|guests|speaker|speakers|"
     r"customer|recipient|sender|contact|owner|manager|user|patient|doctor|artist|driver|"
     r"member|members|attendee|attendees|participant|participants|by)\b", "person"),
    (r"\b(title|headline|show|series|podcast|book|album|song|movie|film|event)\b", "title"),
    (r"\b(topic|topics|subject|subjects|tag|tags|keyword|keywords|category|categories|"
     r"skill|skills|interest|interests|genre)\b", "topic"),
    (r"\b(product|item|items|goods|sku)\b", "product"),
    (r"\b(job|role|position|occupation|profession)\b", "job"),
    (r"\b(colou?r)\b", "color"),
    (r"\b(currency)\b", "currency"),
    (r"\b(id|identifier|code|number|no|ref|reference)\b", "code"),
)


def words_of(name: str) -> list[str]:
    """A property name as lower-case words: ``guestNames``, ``guest_names`` and
    ``guest-names`` all give ``["guest", "names"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[\s_\-./]+", spaced) if w]


def qualified(key: str, what: str) -> str:
    """A bare ``name`` or ``title`` property named by what its object is (``name`` of a
    ``Restaurant`` is a "Restaurant name", of ``customer`` a "customer name"), so that the
    value is drawn for what it names; any other key as it is."""
    if what and words_of(key) in (["name"], ["title"]):
        return f"{what} {key}"
    return key


def kind_of(name: str) -> str:
    """Which word list a string property called ``name`` draws from (``"phrase"``: none
    fits, a short phrase of generic words)."""
    text = " ".join(words_of(name))
    for pattern, kind in _KINDS:
        if re.search(pattern, text):
            return kind
    return "phrase"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _email(rng: random.Random) -> str:
    first, last = _person(rng).lower().split()
    return f"{first}.{last}@{rng.choice(COMPANY_WORDS).lower()}.example"


def _url(rng: random.Random) -> str:
    host = rng.choice(COMPANY_WORDS).lower() + rng.choice(NOUNS).lower()
    return f"https://www.{host}.example/{rng.choice(WORDS)}"


def _phone(rng: random.Random) -> str:
    return f"+1 {rng.randint(200, 989)}-{rng.randint(200, 989)}-{rng.randint(1000, 9999)}"


def _street(rng: random.Random) -> str:
    return f"{rng.randint(1, 2400)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"


def _title(rng: random.Random) -> str:
    return rng.choice((f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                       f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                       f"{rng.choice(NOUNS)} of {rng.choice(CITIES)}"))


def _code(rng: random.Random) -> str:
    letters = rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_uppercase)
    return f"{letters}-{rng.randint(100, 99999)}"


def _business(rng: random.Random) -> str:
    return rng.choice((f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                       f"{rng.choice(COLORS).title()} {rng.choice(NOUNS)}",
                       f"{rng.choice(LAST)}'s",
                       f"The {rng.choice(NOUNS)} {rng.choice(VENUE_WORDS)}",
                       f"{rng.choice(STREETS)} {rng.choice(VENUE_WORDS)}"))


def _phrase(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(1, 3)))


MAKERS: dict[str, Callable[[random.Random], str]] = {
    "person": _person,
    "email": _email,
    "url": _url,
    "phone": _phone,
    "street": _street,
    "city": lambda rng: rng.choice(CITIES),
    "country": lambda rng: rng.choice(COUNTRIES),
    "state": lambda rng: rng.choice(STATES),
    "zip": lambda rng: str(rng.randint(10000, 99950)),
    "business": _business,
    "company": lambda rng: f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_ENDINGS)}",
    "title": _title,
    "topic": lambda rng: rng.choice(TOPICS),
    "product": lambda rng: rng.choice(PRODUCTS),
    "job": lambda rng: rng.choice(JOBS),
    "color": lambda rng: rng.choice(COLORS),
    "currency": lambda rng: rng.choice(("USD", "EUR", "GBP", "JPY", "CAD")),
    "code": _code,
    "phrase": _phrase,
}


def value_for(kind: str, rng: random.Random) -> str:
    """A value of the word list ``kind`` (``kind_of``'s answer)."""
    return MAKERS[kind](rng)
