"""JustiFi payment methods (cards and ACH bank accounts) and the payments charged to them.

A raw card is checked and stored as a payment method (``pm_…``); what it will do when charged
(the test card's outcome) is kept beside it, never in an answer. ``build_payment`` writes the
Payment object every way of charging shares (checkout, payment, payment intent).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .. import cards
from ..state import Sandbox, iso, new_id
from . import cards as justifi_cards
from .balance import collected_balance, payment_fees
from .errors import ApiError, invalid, missing, optional_object


def _card_text(card: dict[str, Any], name: str) -> str | None:
    value = card.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(name)
    return str(value)


def tokenize_card(sandbox: Sandbox, *, account_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """Validate a raw card and store it as a payment method; returns the PM data object.

    Format problems are 422; a card that cannot be tokenized (Luhn, expiry, CVC) is 402,
    as JustiFi documents for tokenization errors.
    """
    raw_number = _card_text(card, "number")
    if raw_number is None:
        raise missing("card_number", "card_number_required")
    name = _card_text(card, "name")
    if name is None or not name.strip():
        raise missing("card_name", "card_name_required")
    month_text, year_text = _card_text(card, "month"), _card_text(card, "year")
    if month_text is None:
        raise missing("month")
    if year_text is None:
        raise missing("year")
    postal = _card_text(card, "address_postal_code")
    if postal is None:
        raise missing("address_postal_code")
    if not (3 <= len(postal.strip()) <= 10 and all(c.isalnum() or c in " -" for c in postal)):
        raise invalid("postal_code")
    cvc = _card_text(card, "verification")
    if cvc is not None and not cvc.isdigit():
        raise invalid("verification")
    metadata = optional_object(card, "metadata")
    month_digits = month_text.strip()
    if not month_digits.isdigit() or not 1 <= int(month_digits) <= 12:
        raise invalid("month")
    expiry = cards.parse_expiry(month_digits, year_text)
    if expiry is None:
        raise invalid("year")
    month, year = expiry

    number = cards.normalize_number(raw_number)
    if not cards.luhn_valid(number):
        raise ApiError(402, "card_number_invalid", "The card number is invalid.")
    brand = cards.detect_brand(number)
    if brand is None:
        raise ApiError(
            402,
            "invalid_card_brand",
            "The card's brand is not supported. Please use Visa, Mastercard, American Express, "
            "or Discover, or try a different payment method.",
        )
    if cards.is_expired(month, year, sandbox.now()):
        raise ApiError(
            402,
            "expired_card",
            "The card has expired. Please check the expiration date or try a different card "
            "or payment method.",
        )
    if cvc is not None and len(cvc) != cards.cvc_length(brand):
        raise ApiError(
            402,
            "invalid_cvc",
            "The card's security code is incorrect. Please check the security code or try a "
            "different card or payment method.",
        )

    now = iso(sandbox.now())
    token = new_id("pm_")
    line1_given = bool(_card_text(card, "address_line1"))
    payment_method = {
        "id": token,
        "signature": _card_signature(number),
        "customer_id": None,
        "account_id": account_id,
        "status": "valid",
        "invalid_reason": None,
        "created_at": now,
        "updated_at": now,
        "card": {
            "id": token,
            "name": name.strip(),
            "acct_last_four": number[-4:],
            "brand": brand,
            "digital_wallet": None,
            "token": token,
            "month": str(month),
            "year": str(year),
            "metadata": metadata,
            "address_line1_check": "pass" if line1_given else "unchecked",
            "address_postal_code_check": "pass",
            "bin_details": justifi_cards.bin_details(number, brand),
            "created_at": now,
            "updated_at": now,
        },
    }
    sandbox.store.put("payment_method", token, payment_method)
    # What the card will do when charged; kept apart so it never shows in a response.
    sandbox.store.put(
        "card_rule",
        token,
        {"number": number if number in cards.TEST_CARDS else None, "cvc_given": cvc is not None},
    )
    return payment_method


def tokenize_bank_account(
    sandbox: Sandbox, *, account_id: str, bank: dict[str, Any]
) -> dict[str, Any]:
    """Validate a bank account and store it as a payment method (ACH)."""
    owner = _card_text(bank, "account_owner_name")
    if owner is None or not owner.strip():
        raise missing("account_owner_name", "account_owner_name_required")
    routing = _card_text(bank, "routing_number")
    if routing is None:
        raise missing("routing_number", "routing_number_required")
    number = _card_text(bank, "account_number")
    if number is None:
        raise missing("account_number", "account_number_required")
    account_type = bank.get("account_type") or "checking"
    if account_type not in ("checking", "savings"):
        raise invalid("account_type")
    owner_type = bank.get("account_owner_type") or "individual"
    if owner_type not in ("individual", "company"):
        raise invalid("account_owner_type")
    if not cards.routing_number_valid(routing.strip()):
        raise ApiError(402, "routing_number_invalid", "The routing number is invalid.")
    number = number.strip()
    if not (number.isdigit() and 4 <= len(number) <= 17):
        raise ApiError(402, "account_number_invalid", "The account number is invalid.")
    now = iso(sandbox.now())
    token = new_id("pm_")
    payment_method = {
        "id": token,
        "signature": _card_signature("bank:" + routing.strip() + ":" + number),
        "customer_id": None,
        "account_id": account_id,
        "status": "valid",
        "invalid_reason": None,
        "created_at": now,
        "updated_at": now,
        "bank_account": {
            "id": token,
            "token": token,
            "acct_last_four": number[-4:],
            "name": owner.strip(),
            "account_owner_name": owner.strip(),
            "account_owner_type": owner_type,
            "account_type": account_type,
            "routing_number": routing.strip(),
            "bank_name": "STRIPE TEST BANK"
            if routing.strip() == justifi_cards.ACH_TEST_ROUTING
            else None,
            "country": bank.get("country") or "US",
            "currency": bank.get("currency") or "usd",
            "metadata": optional_object(bank, "metadata"),
            "created_at": now,
            "updated_at": now,
        },
    }
    sandbox.store.put("payment_method", token, payment_method)
    sandbox.store.put("bank_rule", token, {"account_number": number})
    return payment_method


def charge_decline(sandbox: Sandbox, payment_token: str) -> cards.Decline | None:
    """How charging this stored payment method fails (None: it is approved)."""
    bank = sandbox.store.get("bank_rule", payment_token)
    if bank is not None:
        return justifi_cards.ach_decline(bank["account_number"])
    rule = sandbox.store.get("card_rule", payment_token) or {"number": None, "cvc_given": False}
    if not rule["number"]:
        return None
    return cards.payment_decline(rule["number"], cvc_given=rule["cvc_given"])


def decline_error(decline: cards.Decline, payment_method: dict[str, Any]) -> dict[str, Any]:
    return {
        "error": {
            "code": decline.code,
            "decline_code": decline.decline_code,
            "message": decline.message,
            "network": (
                justifi_cards.NETWORKS.get(payment_method["card"]["brand"])
                if "card" in payment_method
                else None
            ),
            "network_error_category": None,
            "network_error_code": decline.network_error_code,
        }
    }


def _card_signature(number: str) -> str:
    """Stable per card number across payment methods, like JustiFi's ``signature``."""
    digest = hashlib.sha256(b"pos-sandbox-card:" + number.encode()).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()[:22]


def payment_method_envelope(payment_method: dict[str, Any]) -> dict[str, Any]:
    data = {key: value for key, value in payment_method.items() if key != "id"}
    return {"id": payment_method["id"], "type": "payment_method", "data": data, "page_info": None}


def payment_method_summary(payment_method: dict[str, Any]) -> dict[str, Any]:
    """The ``payment_method`` object embedded in a payment (card or bank_account)."""
    if "bank_account" in payment_method:
        bank = payment_method["bank_account"]
        kind, detail = (
            "bank_account",
            {
                key: bank[key]
                for key in (
                    "id",
                    "acct_last_four",
                    "name",
                    "account_owner_name",
                    "routing_number",
                    "account_type",
                    "bank_name",
                    "token",
                    "metadata",
                )
            },
        )
    else:
        card = payment_method["card"]
        kind, detail = (
            "card",
            {
                key: card[key]
                for key in (
                    "id",
                    "acct_last_four",
                    "brand",
                    "name",
                    "token",
                    "metadata",
                    "bin_details",
                )
            },
        )
        detail["digital_wallet"] = None
    detail.update(created_at=payment_method["created_at"], updated_at=payment_method["updated_at"])
    return {
        kind: detail,
        "customer_id": None,
        "signature": payment_method["signature"],
        "account_id": payment_method["account_id"],
    }


def build_payment(
    *,
    account_id: str,
    amount: int,
    currency: str,
    payment_method: dict[str, Any],
    capture_strategy: str,
    decline: cards.Decline | None,
    stamp: str,
    checkout_id: str | None,
    description: str | None,
    statement_descriptor: str | None,
    metadata: dict[str, Any] | None,
    payment_mode: str,
    fees: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A new Payment object (spec CardPayment / BankAccountPayment).

    Automatic capture succeeds at once (ACH: ``pending`` until it settles); manual capture
    leaves an ``authorized``, uncaptured payment. A decline is a ``failed`` payment.
    """
    succeeded = decline is None
    captured = succeeded and capture_strategy == "automatic"
    if not succeeded:
        status = "failed"
    elif capture_strategy == "manual":
        status = "authorized"
    else:
        status = "pending" if payment_mode == "ach" else "succeeded"
    fee_objects = payment_fees(fees if succeeded else None, currency)
    payment = {
        "id": new_id("py_"),
        "account_id": account_id,
        "amount": amount,
        "amount_disputed": 0,
        "amount_refunded": 0,
        "amount_refundable": amount if captured else 0,
        "amount_returned": 0,
        "application_fee_rate_id": None,
        "application_fee": None,
        "balance": 0,
        "capture_strategy": capture_strategy,
        "captured": captured,
        "checkout_id": checkout_id,
        "created_at": stamp,
        "currency": currency,
        "description": description,
        "statement_descriptor": statement_descriptor,
        "disputed": False,
        "disputes": [],
        "error_code": decline.code if decline else None,
        "error_description": decline.message if decline else None,
        "expedited": None,
        "fee_amount": sum(fee["amount"] for fee in fee_objects),
        "fees": fee_objects,
        "financial_transaction_id": new_id("ft_") if succeeded else None,
        "is_test": True,
        "metadata": metadata,
        "payment_intent_id": None,
        "payment_method": payment_method_summary(payment_method),
        "payment_mode": payment_mode,
        "refunded": False,
        "refunds": [],
        "returned": False,
        "status": status,
        "terminal_id": None,
        "transaction_hold": None,
        "updated_at": stamp,
    }
    if captured:
        payment["balance"] = collected_balance(payment)
    return payment
