"""JustiFi payment balance transactions (GET /v1/payments/{id}/payment_balance_transactions).

Each row (spec PaymentBalanceTransaction) is one credit or debit to what the merchant earns
from the payment: the payment itself, its fees, refunds, fees returned, disputes, the payout.
``amount`` is signed (a refund or a fee is negative) and ``balance`` is the payment's running
balance after the row. They become PaymentActions of kind ``balance_<type>``, never "refund"
or "payment", so nothing counting refunds or captures counts them twice. Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.justifi.mapping import PROVIDER, money_field, text_field, time_field
from pos_app.providers.types import PaymentAction

KIND_PREFIX: Final = "balance_"
# The spec's payment_balance_txn_type enum.
TXN_TYPES: Final = frozenset(
    {
        "payment",
        "payment_fee",
        "payout",
        "refund",
        "fee_refund",
        "dispute",
        "dispute_fee",
        "dispute_fee_refund",
        "dispute_refund",
    }
)
CURRENCIES: Final = frozenset({"usd", "cad"})
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


def parse_balance_transactions(
    items: list[dict[str, Any]], *, payment_id: str, currency: str
) -> tuple[PaymentAction, ...]:
    """The rows of one payment, oldest first; any malformed row rejects the whole answer.

    JustiFi lists newest first, as all its lists: reversed, then sorted by time (stable), so
    rows written in the same instant (a payment and its fees) keep their order.
    """
    actions = [_action(item, payment_id, currency) for item in reversed(items)]
    ids = [a.provider_ref for a in actions]
    if len(set(ids)) != len(ids):
        raise ResponseInvalidError("JustiFi listed a balance transaction twice", provider=PROVIDER)
    return tuple(sorted(actions, key=lambda a: a.at or _EARLIEST))


def _action(item: dict[str, Any], payment_id: str, currency: str) -> PaymentAction:
    txn_id = text_field(item, "id")
    if item.get("payment_id") != payment_id:
        raise ResponseInvalidError(
            f"JustiFi balance transaction {txn_id} belongs to another payment", provider=PROVIDER
        )
    txn_type = text_field(item, "payment_balance_txn_type")
    if txn_type not in TXN_TYPES:
        raise ResponseInvalidError(
            f"Unknown JustiFi balance transaction type {txn_type!r}", provider=PROVIDER
        )
    row_currency = text_field(item, "currency")
    if row_currency not in CURRENCIES or row_currency.upper() != currency:
        raise ResponseInvalidError(
            f"JustiFi balance transaction {txn_id} is in {row_currency!r}, not {currency}",
            provider=PROVIDER,
        )
    at = time_field(item)
    if at.tzinfo is None:
        raise ResponseInvalidError(
            f"JustiFi balance transaction {txn_id} has a time without a zone", provider=PROVIDER
        )
    amount = money_field(item, "amount", currency)
    balance = money_field(item, "balance", currency)
    # Where the money came from, unless it is the payment itself (its id is on the page).
    source_id = item.get("source_id")
    source = ""
    if isinstance(source_id, str) and source_id and source_id != payment_id:
        source = f"{item.get('source_type') or 'source'} {source_id} · "
    note = f"{source}balance after {balance.plain()} {currency}"
    return PaymentAction(
        KIND_PREFIX + txn_type,
        txn_id,
        amount,
        approved=True,
        at=at,
        note=note,
    )
