"""The retry rule (DESIGN §3), checked against the attempts an adapter really made.

* a request that never left this machine may be sent again;
* a keyed (idempotent) request, or one that changes nothing, at most ``max_attempts`` times;
* a mutating request without a key is never sent again after it may have arrived — only
  after a refusal that proves nothing happened (429), and then a bounded number of times.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pos_app.providers.recharge.client import MAX_RATE_LIMIT_WAITS
from tests.reliability.tills import RETRY, Attempt

if TYPE_CHECKING:
    from collections.abc import Sequence

# ReCharge waits out a 429 (refused before anything happened) and calls again, up to
# MAX_RATE_LIMIT_WAITS times, each call with the client's own retries.
MAX_SENDS_WITH_429 = RETRY.max_attempts * (MAX_RATE_LIMIT_WAITS + 1)
_PROVABLY_NOT_APPLIED = ("not_sent", "status:429")


# Answers after which the client does not try again: the next identical request is a new call
# (two lookups in a row, say), not a retry.
_RETRYABLE_ENDS = frozenset(
    {"not_sent", "maybe_sent", "status:409", "status:429"}
    | {f"status:{n}" for n in range(500, 600)}
)


def runs(attempts: Sequence[Attempt]) -> list[list[Attempt]]:
    """Retry chains: consecutive attempts of the same request (method, path, key and body),
    each after one that ended in a way the client may retry."""
    grouped: list[list[Attempt]] = []
    for attempt in attempts:
        last = grouped[-1][-1] if grouped else None
        same = (
            last is not None
            and last.ended in _RETRYABLE_ENDS
            and (last.method, last.path, last.key, last.body_hash)
            == (attempt.method, attempt.path, attempt.key, attempt.body_hash)
        )
        if same:
            grouped[-1].append(attempt)
        else:
            grouped.append([attempt])
    return grouped


def violations(attempts: Sequence[Attempt]) -> list[str]:
    """Each way the attempts break the retry rule, described; empty when they keep it."""
    found: list[str] = []
    for run in runs(attempts):
        first = run[0]
        what = f"{first.method} {first.path}"
        limit = RETRY.max_attempts
        if first.path.startswith("/recharge/") and any(a.ended == "status:429" for a in run):
            limit = MAX_SENDS_WITH_429
        if len(run) > limit:
            found.append(f"{what} sent {len(run)} times in a row (at most {limit})")
        if first.key is not None or not first.mutating:
            continue
        for before, again in itertools.pairwise(run):
            if before.ended not in _PROVABLY_NOT_APPLIED:
                found.append(f"{what} without a key re-sent after {before.ended}: {again.ended}")
    return found


def longest_run(attempts: Sequence[Attempt]) -> int:
    return max((len(run) for run in runs(attempts)), default=0)
