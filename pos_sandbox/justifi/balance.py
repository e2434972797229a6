"""JustiFi payment fees and payment balance transactions (spec FeeResponse,
ReturnedFeeResponse, PaymentBalanceTransaction; "Enhanced Fee Management").

A payment's ``balance`` is what the merchant keeps from it; every change to it is written as
a balance transaction row whose ``balance`` is the running total after it: ``payment`` (+amount)
then one ``payment_fee`` (-fee) per fee when the money is collected, ``refund`` (-amount) and
``fee_refund`` (+fee returned) later. A void returns every fee (the spec's fee lifecycle).
Callers validate requests; nothing here raises.
"""

from __future__ import annotations

from typing import Any

from ..state import Sandbox, iso, new_id

FEE_TYPES = ("processing_fee", "platform_fee")
_SOURCE_TYPES = {
    "payment": "Payment",
    "payment_fee": "PaymentFee",
    "refund": "Refund",
    "fee_refund": "ReturnedFee",
}


def payment_fees(requested: list[dict[str, Any]] | None, currency: str) -> list[dict[str, Any]]:
    """The stored fee objects for validated ``fees`` of a payment request."""
    return [
        {
            "id": new_id("pyfee_"),
            "type": fee["type"],
            "amount": fee["amount"],
            "currency": currency,
            "remaining_amount": fee["amount"],
            "source_configuration_id": None,
            "source_fee_type": None,
        }
        for fee in requested or []
    ]


def record(
    sandbox: Sandbox,
    payment: dict[str, Any],
    kind: str,
    amount: int,
    source_id: str,
    balance: int,
) -> None:
    """One row; ``balance`` is the payment's running balance after it."""
    stamp = iso(sandbox.now())
    txn = {
        "id": new_id("pbt_"),
        "amount": amount,
        "balance": balance,
        "currency": payment["currency"],
        "financial_transaction_id": new_id("ft_"),
        "payment_id": payment["id"],
        "payment_balance_txn_type": kind,
        "source_id": source_id,
        "source_type": _SOURCE_TYPES.get(kind, kind.title()),
        "created_at": stamp,
        "updated_at": stamp,
    }
    sandbox.store.put("payment_balance_transaction", txn["id"], txn)


def collected_balance(payment: dict[str, Any]) -> int:
    """What the merchant keeps once the payment is collected: the amount less its fees."""
    return int(payment["amount"]) - sum(int(fee["amount"]) for fee in payment["fees"])


def record_collected(sandbox: Sandbox, payment: dict[str, Any]) -> None:
    """The money arrived: credit the payment, then debit each of its fees."""
    balance = payment["amount"]
    record(sandbox, payment, "payment", payment["amount"], payment["id"], balance)
    for fee in payment["fees"]:
        balance -= fee["amount"]
        record(sandbox, payment, "payment_fee", -fee["amount"], fee["id"], balance)


def return_fees(
    sandbox: Sandbox,
    payment: dict[str, Any],
    returned: dict[str, int],
    balance: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Give back ``returned`` (fee type -> amount, already validated against what remains).

    Returns the payment's updated fees, the refund's ``returned_fees`` and the new balance.
    """
    fees, given_back = [], []
    for fee in payment["fees"]:
        amount = returned.get(fee["type"], 0)
        if amount <= 0:
            fees.append(fee)
            continue
        remaining = fee["remaining_amount"] - amount
        fees.append({**fee, "remaining_amount": remaining})
        returned_fee = {
            "id": new_id("rtfee_"),
            "payment_fee_id": fee["id"],
            "type": fee["type"],
            "returned_amount": amount,
            "original_amount": fee["amount"],
            "currency": fee["currency"],
            "remaining_amount": remaining,
        }
        given_back.append(returned_fee)
        balance += amount
        record(sandbox, payment, "fee_refund", amount, returned_fee["id"], balance)
    return fees, given_back, balance
