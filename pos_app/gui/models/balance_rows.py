"""The provider's ledger of one payment (JustiFi's balance transactions) as history rows,
and the totals it adds to the amounts: fees and what the merchant keeps.

Each ledger row arrives as a PaymentAction of kind ``balance_<type>`` with a signed amount
(money out is negative). They are not steps that can be approved or declined, so they get
their own wording rather than the "… approved" of the payment's steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_app.domain.money import Money
from pos_app.gui.models.payment_history_model import HistoryRow

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pos_app.providers.types import PaymentAction

PREFIX = "balance_"
_NAMES = {
    "payment": "payment credited",
    "payment_fee": "fee charged",
    "refund": "refund debited",
    "fee_refund": "fee returned",
    "payout": "paid out to the bank",
    "dispute": "dispute debited",
    "dispute_fee": "dispute fee charged",
    "dispute_fee_refund": "dispute fee returned",
    "dispute_refund": "dispute reversed",
}
_FEES = frozenset({"payment_fee", "fee_refund", "dispute_fee", "dispute_fee_refund"})


@dataclass(frozen=True)
class BalanceTotals:
    fees: Money  # fees charged less fees returned (positive: the merchant paid them)
    net: Money  # what the merchant keeps from the payment now


def balance_rows(provider: str, actions: Iterable[PaymentAction]) -> list[HistoryRow]:
    rows = []
    for action in actions:
        kind = action.kind.removeprefix(PREFIX)
        name = _NAMES.get(kind, kind.replace("_", " "))
        note = f" · {action.note}" if action.note else ""
        # The row's own id (pbt_…) means nothing to staff; its source and balance do.
        rows.append(HistoryRow(action.at, provider, f"Ledger: {name}{note}", action.amount))
    return rows


def balance_totals(actions: Iterable[PaymentAction], currency: str) -> BalanceTotals | None:
    """None when there is no ledger row yet (nothing collected)."""
    rows = [a for a in actions if a.kind.startswith(PREFIX)]
    if not rows:
        return None
    zero = Money(0, currency)
    fees = sum((a.amount for a in rows if a.kind.removeprefix(PREFIX) in _FEES), zero)
    net = sum((a.amount for a in rows), zero)
    return BalanceTotals(fees=-fees, net=net)
