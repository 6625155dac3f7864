"""The invoice-date schema the fallback tests share: a Pydantic validator wants an ISO date, and
worked examples that copy dates as written (so a date in words is rejected) or convert them."""

from __future__ import annotations

import re

from pydantic import BaseModel, field_validator


class Invoice(BaseModel):
    date: str

    @field_validator("date")
    @classmethod
    def iso_date(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")
        return value


COPYING = [
    ("Invoice dated 2023-01-15, total 40 EUR.", {"date": "2023-01-15"}),
    ("Paid on June 2, 2022.", {"date": "June 2, 2022"}),
    ("Receipt from 12 August 2021.", {"date": "12 August 2021"}),
]
"""Examples that copy the date as the text writes it."""

CONVERTING = [
    ("Invoice dated 2023-01-15, total 40 EUR.", {"date": "2023-01-15"}),
    ("Paid on June 2, 2022.", {"date": "2022-06-02"}),
    ("Receipt from 12 August 2021.", {"date": "2021-08-12"}),
    ("Order placed January 9, 2020.", {"date": "2020-01-09"}),
    ("Shipped on 3 October 2019.", {"date": "2019-10-03"}),
]
"""Examples that convert every date to ISO form."""
