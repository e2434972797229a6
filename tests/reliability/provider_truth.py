"""What the provider (the sandbox) really holds for one of our references.

The sandbox's state file says which objects exist; the adapter's own lookups say what they
hold. Together they are the truth the journal is checked against.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_app.domain.payment import PaymentState
from pos_sandbox.state import DB_FILENAME

if TYPE_CHECKING:
    from pathlib import Path

    from pos_app.providers.base import PaymentProvider

# Object kinds that stand for one sale at the provider: two of them for one reference is a
# duplicate (a second charge, a second checkout).
SALE_KINDS = (
    "payment",
    "checkout",
    "cko_payment",
    "cko_hpp",
    "recharge_checkout",
    "payfect_checkout",
)
PAYMENT_KINDS = frozenset({"payment", "cko_payment"})
# States in which the provider holds (or took) the customer's money.
MONEY_STATES = frozenset(
    {
        PaymentState.AUTHORIZED,
        PaymentState.CAPTURED,
        PaymentState.PARTIALLY_CAPTURED,
        PaymentState.PARTIALLY_REFUNDED,
        PaymentState.REFUNDED,
    }
)


@dataclass(frozen=True)
class Held:
    """One sale object at the provider and the money in it (minor units)."""

    kind: str
    object_id: str
    state: PaymentState
    captured: int
    refunded: int

    @property
    def takes_money(self) -> bool:
        return self.state in MONEY_STATES


def sale_objects(state_dir: Path, reference: str) -> list[tuple[str, str]]:
    """(kind, id) of every sale object whose stored JSON names ``reference`` exactly."""
    marks = ",".join("?" for _ in SALE_KINDS)
    with sqlite3.connect(f"file:{state_dir / DB_FILENAME}?mode=ro", uri=True) as db:
        rows = db.execute(
            f"SELECT kind, id FROM objects WHERE kind IN ({marks}) AND json LIKE ? ORDER BY seq",
            (*SALE_KINDS, f'%"{reference}"%'),
        ).fetchall()
    return [(str(kind), str(object_id)) for kind, object_id in rows]


def fingerprint(state_dir: Path, reference: str) -> str:
    """Everything the sandbox stores about the reference's sale objects, to notice a change."""
    marks = ",".join("?" for _ in SALE_KINDS)
    with sqlite3.connect(f"file:{state_dir / DB_FILENAME}?mode=ro", uri=True) as db:
        rows = db.execute(
            f"SELECT json FROM objects WHERE kind IN ({marks}) AND json LIKE ? ORDER BY seq",
            (*SALE_KINDS, f'%"{reference}"%'),
        ).fetchall()
    return "\n".join(str(row[0]) for row in rows)


async def held_for(provider: PaymentProvider, state_dir: Path, reference: str) -> list[Held]:
    """Each sale object for ``reference``, looked up through the adapter."""
    found: list[Held] = []
    for kind, object_id in sale_objects(state_dir, reference):
        if kind in PAYMENT_KINDS:
            payment = await provider.get_payment(object_id)
            found.append(
                Held(
                    kind,
                    object_id,
                    payment.state,
                    payment.captured.minor,
                    payment.refunded.minor,
                )
            )
            continue
        session = await provider.get_checkout(object_id)
        if session.payment_ref and kind == "checkout":
            continue  # a JustiFi checkout's payment is a "payment" object of its own
        captured = session.amount.minor if session.state is PaymentState.CAPTURED else 0
        found.append(Held(kind, object_id, session.state, captured, 0))
    return found
