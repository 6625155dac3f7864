"""A routing step in a multi-model pipeline: the small model labels, unsure cases go on.

    python examples/router_step.py [--min-confidence 0.6] [--strong openai:http://host/v1#model]

1. ``Route`` is a ``Literal``-labelled schema: the constraint lets the model write only one of
   the queue names, and the label's confidence is the probability the model gave it.
2. The router (Gemma 3 270M, 8 worked examples) labels every ticket. A ticket whose label is
   under ``--min-confidence``, or that fails outright, is *sent on* rather than guessed.
3. Sent-on tickets go to the next model: with ``--strong`` (a GGUF path or an
   OpenAI-compatible server) through the fallback chain, whose trace shows who answered;
   without it (no larger model ships with extractly) they go to a human review list.
4. Each confidently routed billing ticket is extracted with the billing schema by a third
   Extractor.

The 270M base model is a weak classifier: expect most tickets to be sent on, which is the
point of the step (it does not guess). Runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractly import Extraction, ExtractlyError, Extractor

Queue = Literal["billing", "shipping", "technical"]


class Route(BaseModel):
    """Which team handles a support ticket. billing: charges, invoices, refunds, payments.
    shipping: parcels, couriers, delivery. technical: the app or website is broken."""

    queue: Queue


class BillingIssue(BaseModel):
    invoice_number: str | None = Field(None, description="as written, e.g. INV-2041")
    amount: float | None = Field(None, description="the disputed amount")


ROUTER_EXAMPLES = [
    ("I was charged twice for invoice INV-1182, please refund 30 EUR.", {"queue": "billing"}),
    ("My parcel has been stuck in transit for two weeks.", {"queue": "shipping"}),
    ("The app crashes every time I open the settings page.", {"queue": "technical"}),
]
MORE_EXAMPLES = [
    *ROUTER_EXAMPLES,
    ("Why does my receipt show a different price than the shop?", {"queue": "billing"}),
    ("The courier left the box at the wrong address.", {"queue": "shipping"}),
    ("I cannot log in after the last update, it says error 500.", {"queue": "technical"}),
    ("Please cancel my subscription and stop the monthly payment.", {"queue": "billing"}),
    ("Can you send the replacement by express delivery?", {"queue": "shipping"}),
]
BILLING_EXAMPLES = [
    ("I was charged twice for invoice INV-1182, please refund 30 EUR.",
     {"invoice_number": "INV-1182", "amount": 30}),
]  # fmt: skip
TICKETS = [
    "Invoice INV-2041 lists 120 EUR but my plan costs 100 EUR.",
    "The tracking number you sent me does not work and nothing arrived.",
    "Since yesterday the export button does nothing in Firefox.",
    "Hello, I have a question about my account.",
    "You billed my card for an order that never shipped.",
]


def route_step(
    router: Extractor[Route], tickets: list[str], min_confidence: float
) -> tuple[dict[str, Queue], list[str]]:
    """Label each ticket; return (confident labels, tickets sent on)."""
    routed: dict[str, Queue] = {}
    sent_on: list[str] = []
    results = router.run_many(tickets, return_exceptions=True)
    for ticket, result in zip(tickets, results, strict=True):
        if isinstance(result, ExtractlyError):
            print(f"  send on (failed: {type(result).__name__})  {ticket}")
            sent_on.append(ticket)
        elif result.confidence < min_confidence:
            label = result.value.queue
            print(f"  send on ({label}? {result.confidence:.2f})  {ticket}")
            sent_on.append(ticket)
        else:
            print(f"  {result.value.queue:<9} {result.confidence:.2f}  {ticket}")
            routed[ticket] = result.value.queue
    return routed, sent_on


def describe(result: Extraction[Route]) -> str:
    steps = " -> ".join(f"{a.backend} [{a.step}{'' if a.error is None else ' x'}]"
                        for a in result.attempts)  # fmt: skip
    return f"{result.value.queue} (by {result.backend}; {steps})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-confidence", type=float, default=0.6)
    parser.add_argument("--strong", help="a GGUF path or openai:http://host/v1#model")
    args = parser.parse_args()
    started = time.perf_counter()

    print("step 1: route with the small model")
    with Extractor(Route, examples=MORE_EXAMPLES) as router:
        routed, sent_on = route_step(router, TICKETS, args.min_confidence)

    review: list[str] = []
    if sent_on and args.strong:
        print(f"step 2: {len(sent_on)} ticket(s) sent on to {args.strong}")
        # The chain: the small model first again (cheap), then the strong one when the small
        # model's label is under min_confidence or fails validation.
        with Extractor(
            Route,
            examples=MORE_EXAMPLES,
            min_confidence=args.min_confidence,
            fallback=[args.strong],
        ) as chained:
            results = chained.run_many(sent_on, return_exceptions=True)
            for ticket, result in zip(sent_on, results, strict=True):
                if isinstance(result, ExtractlyError):
                    print(f"  unresolved ({type(result).__name__})  {ticket}")
                    review.append(ticket)
                    continue
                print(f"  {describe(result)}  {ticket}")
                # The chain stops at the first accepted answer, so a last attempt with an
                # error means nobody reached min_confidence (the best guess came back).
                if result.attempts[-1].error is None:
                    routed[ticket] = result.value.queue
                else:
                    review.append(ticket)
    else:
        review = sent_on
    if review:
        print(f"step 2: {len(review)} ticket(s) for human review"
              + ("" if args.strong else " (pass --strong to route them with a second model)"))
        for ticket in review:
            print(f"  review  {ticket}")

    billing = [t for t, q in routed.items() if q == "billing"]
    print(f"step 3: extract {len(billing)} billing ticket(s) with the billing schema")
    if billing:
        with Extractor(BillingIssue, examples=BILLING_EXAMPLES) as extractor:
            for ticket, issue in zip(billing, extractor.run_many(billing), strict=True):
                print(f"  {issue.value.model_dump()}  {ticket}")
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
