"""How a backend's transient transport failures are retried: ``RetryPolicy`` and the tenacity
strategies it becomes.

Only ``BackendRequestError``s marked ``retryable`` (refused connection, timeout, 429, 5xx) are
retried, never a validation failure. Waits grow exponentially with jitter and never run past
the document's deadline, and no try starts after it. Not here: what happens after the last try
(the chain moves to the next backend, ``chain.py``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential, wait_random

from .errors import BackendRequestError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How transient transport failures of one backend are retried (never validation errors).

    ``attempts`` counts tries per backend and request (1 = no retry). Waits grow as
    ``initial * 2**n`` up to ``max_wait``, plus up to ``jitter`` seconds at random, and never
    run past the document's deadline.
    """

    attempts: int = 3
    initial: float = 0.5
    max_wait: float = 8.0
    jitter: float = 0.5

    def call(self, attempt: Callable[[], T], deadline: float | None, *, failed: int = 0) -> T:
        """``attempt()`` under this policy; the last failure is re-raised. ``failed`` counts
        tries already made and failed transiently elsewhere (a batched first call): they use
        up attempts, and the first try here waits as a retry would."""
        if failed:
            wait = self.initial * 2 ** (failed - 1) + random.uniform(0, self.jitter)
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            time.sleep(min(wait, self.max_wait))
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.attempts - failed)) | _stop_at(deadline),
            wait=_capped_wait(self, deadline),
            retry=retry_if_exception(is_transient),
            reraise=True,
        )
        return retrying(attempt)


def is_transient(exc: BaseException) -> bool:
    """A failure worth trying again: a retryable transport error."""
    return isinstance(exc, BackendRequestError) and exc.retryable


class _stop_at(stop_base):
    """Stop retrying once the document's deadline has passed."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def _capped_wait(policy: RetryPolicy, deadline: float | None) -> Callable[[RetryCallState], float]:
    base = wait_exponential(multiplier=policy.initial, max=policy.max_wait) + wait_random(
        0, policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        seconds = float(base(state))
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline - time.monotonic()))
        return seconds

    return wait
