"""What Checkout.com answers about a payment: its balances, links, source, and the
PaymentResponse / PaymentAcceptedResponse / PaymentDetails / actions bodies, and the data of
its webhook events. Pure functions of the stored payment (``Gateway`` keeps it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import cards as cko_cards
from .ids import PREFIX


def card_facts(number: str, info: cko_cards.TestCard) -> dict[str, Any]:
    return {
        "scheme": info.scheme,
        "last4": number[-4:],
        "bin": number[:6],
        "card_type": info.card_type,
        "card_category": info.card_category,
        "issuer": "SANDBOX ISSUING BANK",
        "issuer_country": info.issuer_country,
        "product_id": "F",
        "product_type": "CLASSIC",
    }


def fingerprint(number: str) -> str:
    return hashlib.sha256(b"pos-sandbox-cko:" + number.encode()).hexdigest().upper()


def balances(payment: dict[str, Any]) -> dict[str, int]:
    totals = payment["totals"]
    open_auth = (
        payment["status"] in ("Authorized", "Partially Captured") and not payment["capture_closed"]
    )
    to_capture = totals["authorized"] - totals["captured"] if open_auth else 0
    return {
        "total_authorized": totals["authorized"],
        "total_voided": totals["voided"],
        "available_to_void": to_capture if totals["captured"] == 0 else 0,
        "total_captured": totals["captured"],
        "available_to_capture": to_capture,
        "total_refunded": totals["refunded"],
        "available_to_refund": totals["captured"] - totals["refunded"],
    }


def href(payment: dict[str, Any], path: str) -> dict[str, str]:
    return {"href": f"{payment['base_url']}{PREFIX}{path}"}


def links(payment: dict[str, Any]) -> dict[str, Any]:
    pid = payment["id"]
    links: dict[str, Any] = {
        "self": href(payment, f"/payments/{pid}"),
        "actions": href(payment, f"/payments/{pid}/actions"),
    }
    if payment["status"] == "Pending" and payment["session_id"]:
        links["redirect"] = href(payment, f"/3ds/{payment['session_id']}")
        return links
    left = balances(payment)
    pending_types = {a["type"] for a in payment["pending"]}
    if left["available_to_capture"] > 0 and "Void" not in pending_types:
        links["capture"] = href(payment, f"/payments/{pid}/captures")
    if left["available_to_void"] > 0 and not pending_types & {"Capture", "Void"}:
        links["void"] = href(payment, f"/payments/{pid}/voids")
    if left["available_to_refund"] > 0:
        links["refund"] = href(payment, f"/payments/{pid}/refunds")
    return links


def source_view(payment: dict[str, Any]) -> dict[str, Any]:
    card = payment["_card"]
    info = cko_cards.describe(card["number"])
    view: dict[str, Any] = {"type": "card"}
    if payment["approved"] and payment["_instrument_id"]:
        view["id"] = payment["_instrument_id"]
    if card.get("billing_address"):
        view["billing_address"] = card["billing_address"]
    if card.get("phone"):
        view["phone"] = card["phone"]
    view.update(
        {
            "expiry_month": card["expiry_month"],
            "expiry_year": card["expiry_year"],
            **({"name": card["name"]} if card.get("name") else {}),
            **card_facts(card["number"], info),
            "fingerprint": fingerprint(card["number"]),
            "avs_check": "S",
            "cvv_check": "Y" if card.get("cvv_given") else "",
        }
    )
    if not view["cvv_check"]:
        del view["cvv_check"]
    return view


def response_view(payment: dict[str, Any]) -> dict[str, Any]:
    """The 201 PaymentResponse."""
    body: dict[str, Any] = {
        "id": payment["id"],
        "action_id": payment["action_id"],
        "amount": payment["amount"],
        "currency": payment["currency"],
        "approved": payment["approved"],
        "status": payment["status"],
        **({"auth_code": payment["auth_code"]} if payment.get("auth_code") else {}),
        "response_code": payment["response_code"],
        "response_summary": payment["response_summary"],
        **({"expires_on": payment["expires_on"]} if payment.get("expires_on") else {}),
        **({"3ds": threeds_short(payment)} if payment["threeds"] else {}),
        "risk": {"flagged": bool(payment.get("risk_flagged"))},
        "source": source_view(payment),
        **({"customer": payment["customer"]} if payment["customer"] else {}),
        "balances": balances(payment),
        "processed_on": payment["processed_on"],
        **({"reference": payment["reference"]} if payment["reference"] else {}),
        "processing": payment["processing"],
        "eci": payment["eci"],
        "scheme_id": payment["scheme_id"],
        "_links": links(payment),
    }
    return body


def accepted_view(payment: dict[str, Any]) -> dict[str, Any]:
    """The 202 PaymentAcceptedResponse of a payment waiting for 3-D Secure."""
    return {
        "id": payment["id"],
        "status": "Pending",
        **({"reference": payment["reference"]} if payment["reference"] else {}),
        **({"customer": payment["customer"]} if payment["customer"] else {}),
        "3ds": threeds_short(payment),
        "_links": {
            "self": href(payment, f"/payments/{payment['id']}"),
            "redirect": href(payment, f"/3ds/{payment['session_id']}"),
        },
    }


def details_view(payment: dict[str, Any], *, by_session: bool = False) -> dict[str, Any]:
    """GET /payments/{id}: PaymentDetails."""
    body: dict[str, Any] = {
        "id": payment["id"],
        "requested_on": payment["requested_on"],
        "source": source_view(payment),
        "amount": payment["amount"],
        "currency": payment["currency"],
        "payment_type": payment["payment_type"],
        **({"reference": payment["reference"]} if payment["reference"] else {}),
        **({"description": payment["description"]} if payment["description"] else {}),
        "approved": payment["approved"],
        **({"expires_on": payment["expires_on"]} if payment.get("expires_on") else {}),
        "status": payment["status"],
        "balances": balances(payment),
        **({"3ds": dict(payment["threeds"])} if payment["threeds"] else {}),
        "risk": {"flagged": bool(payment.get("risk_flagged"))},
        **({"customer": payment["customer"]} if payment["customer"] else {}),
        **({"metadata": payment["metadata"]} if payment["metadata"] else {}),
        **({"eci": payment["eci"]} if payment.get("eci") else {}),
        **({"scheme_id": payment["scheme_id"]} if payment.get("scheme_id") else {}),
        "_links": links(payment),
    }
    if payment["status"] == "Pending":
        del body["source"]  # nothing was sent to the card scheme yet
    if by_session:
        body["actions"] = [
            {
                "id": a["id"],
                "type": a["type"],
                "response_code": a["response_code"],
                "response_summary": a["response_summary"],
            }
            for a in reversed(payment["actions"])
        ]
    return body


def actions_view(payment: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(a) for a in reversed(payment["actions"])]  # newest first


def customer_view(customer: dict[str, Any] | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    view = {"id": customer["id"], "email": customer["email"]}
    if customer.get("name"):
        view["name"] = customer["name"]
    return view


def threeds_short(payment: dict[str, Any]) -> dict[str, Any]:
    threeds = payment["threeds"] or {}
    return {"downgraded": threeds.get("downgraded", False), "enrolled": threeds.get("enrolled")}


def event_data(payment: dict[str, Any], action: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": payment["id"],
        **({"action_id": action["id"]} if action else {}),
        **({"reference": payment["reference"]} if payment["reference"] else {}),
        "amount": action["amount"] if action else payment["amount"],
        "currency": payment["currency"],
        "payment_type": payment["payment_type"],
        "processing_channel_id": payment["processing_channel_id"],
    }
    if action is not None:
        data.update(
            {
                "response_code": action["response_code"],
                "response_summary": action["response_summary"],
                "processed_on": action["processed_on"],
                **({"auth_code": action["auth_code"]} if action.get("auth_code") else {}),
            }
        )
    card = payment["_card"]
    data["source"] = {
        "type": "card",
        **({"id": payment["_instrument_id"]} if payment["_instrument_id"] else {}),
        "scheme": cko_cards.describe(card["number"]).scheme,
        "last_4": card["number"][-4:],
        "bin": card["number"][:6],
        "expiry_month": card["expiry_month"],
        "expiry_year": card["expiry_year"],
        "fingerprint": fingerprint(card["number"]),
    }
    if payment["customer"]:
        data["customer"] = payment["customer"]
    if payment["metadata"]:
        data["metadata"] = payment["metadata"]
    return data
