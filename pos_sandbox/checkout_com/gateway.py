"""Checkout.com's objects and rules in the sandbox (PROVIDERS.md §2, NAS spec 2023-10-16).

``Gateway`` keeps the tokens, customers, stored instruments, payments and their actions,
hosted payment pages and payment links. Captures, refunds and voids are queued when requested
and applied later: on the payment's next read (default) or by ``POST
/_sandbox/checkout-com/settle`` when auto-settling is switched off — never by a timer, so
tests stay deterministic. Every change records its signed webhook. The REST API (``api``) and
the customer pages (``pages``) share these operations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from .. import cards, credentials
from ..state import Sandbox, Store, iso, parse_iso
from ..webhooks.outbox import record_webhook, webhook_secret
from . import cards as cko_cards
from . import views
from .errors import CkoError, invalid
from .ids import PREFIX, cko_id
from .validation import int_like

TOKEN_LIFETIME = timedelta(minutes=15)  # spec: "Tokens are single use and expire after 15 minutes"
AUTHORIZATION_LIFETIME = timedelta(days=7)


class Gateway:
    """Checkout.com's objects and rules; call the mutating methods inside a transaction."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def store(self) -> Store:
        return self.sandbox.store

    def now(self) -> datetime:
        return self.sandbox.now()

    # -- settings --------------------------------------------------------------------------

    @property
    def auto_settle(self) -> bool:
        return self.store.get_meta("checkout_com:auto_settle") != "0"

    def set_auto_settle(self, enabled: bool) -> None:
        self.store.set_meta("checkout_com:auto_settle", "1" if enabled else "0")

    # -- cards and tokens ------------------------------------------------------------------

    def validate_card(self, card: dict[str, Any]) -> dict[str, Any]:
        """A card as ``POST /tokens`` takes it, checked (422 with the spec's codes)."""
        codes: list[str] = []
        raw_number = card.get("number")
        number = ""
        if raw_number is None or raw_number == "":
            codes.append("card_number_required")
        elif not isinstance(raw_number, str):
            codes.append("card_number_invalid")
        else:
            number = cards.normalize_number(raw_number)
            if not cko_cards.card_number_valid(number):
                codes.append("card_number_invalid")
        month = int_like(card.get("expiry_month"))
        year = int_like(card.get("expiry_year"))
        if card.get("expiry_month") is None:
            codes.append("card_expiry_month_required")
        elif month is None or not 1 <= month <= 12:
            codes.append("card_expiry_month_invalid")
        if card.get("expiry_year") is None:
            codes.append("card_expiry_year_required")
        elif year is None or not 1000 <= year <= 9999:
            codes.append("card_expiry_year_invalid")
        cvv = card.get("cvv")
        scheme = cko_cards.detect_scheme(number) if number else None
        cvv_ok = isinstance(cvv, str) and cvv.isdigit() and 3 <= len(cvv) <= 4
        if cvv not in (None, "") and (
            not cvv_ok or (scheme is not None and len(cvv) != cko_cards.cvv_length(scheme))
        ):
            codes.append("cvv_invalid")
        name = card.get("name")
        if name is not None and not isinstance(name, str):
            codes.append("card_holder_invalid")
        if not codes and month is not None and year is not None:
            now = self.now()
            if (year, month) < (now.year, now.month):
                codes.append("card_expired")
        if codes:
            raise invalid(*codes)
        assert month is not None
        assert year is not None
        return {
            "number": number,
            "expiry_month": month,
            "expiry_year": year,
            "name": name,
            "cvv_given": bool(cvv),
            "billing_address": card.get("billing_address")
            if isinstance(card.get("billing_address"), dict)
            else None,
            "phone": card.get("phone") if isinstance(card.get("phone"), dict) else None,
        }

    def create_token(self, card: dict[str, Any]) -> dict[str, Any]:
        token = cko_id("tok_")
        expires_on = iso(self.now() + TOKEN_LIFETIME)
        self.store.put(
            "cko_token", token, {"token": token, "card": card, "expires_on": expires_on, "used": 0}
        )
        info = cko_cards.describe(card["number"])
        body: dict[str, Any] = {
            "type": "card",
            "token": token,
            "expires_on": expires_on,
            "expiry_month": card["expiry_month"],
            "expiry_year": card["expiry_year"],
            **views.card_facts(card["number"], info),
        }
        for field in ("name", "billing_address", "phone"):
            if card.get(field):
                body[field] = card[field]
        return body

    # -- customers -------------------------------------------------------------------------

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next(
            (c for _, c in self.store.newest_first("cko_customer") if c["email"] == wanted),
            None,
        )

    def resolve_customer(self, request_customer: dict[str, Any] | None) -> dict[str, Any] | None:
        if not request_customer:
            return None
        if request_customer.get("id"):
            customer = self.store.get("cko_customer", request_customer["id"])
            if customer is None:
                raise invalid("customer_not_found")
            return dict(customer)
        email = request_customer.get("email")
        if not email:
            return None
        customer = self.customer_by_email(email)
        if customer is None:
            customer = {
                "id": cko_id("cus_"),
                "email": email.strip().lower(),
                "name": request_customer.get("name"),
                "default_instrument": None,
            }
            self.store.put("cko_customer", customer["id"], customer)
        return dict(customer)

    # -- sources ---------------------------------------------------------------------------

    def resolve_source(self, source: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The card behind a payment source, and the stored instrument id if it is one."""
        kind = source["type"]
        now = self.now()
        if kind == "token":
            record = self.store.get("cko_token", source["token"])
            if record is None:
                raise invalid("token_invalid")
            if record["used"]:
                raise invalid("token_used")
            if parse_iso(record["expires_on"]) <= now:
                raise invalid("token_expired")
            record["used"] = 1
            self.store.put("cko_token", record["token"], record)
            card = dict(record["card"])
            for field in ("billing_address", "phone"):
                if isinstance(source.get(field), dict):
                    card[field] = source[field]
            return card, None
        if kind == "id":
            instrument = self.store.get("cko_instrument", source["id"])
            if instrument is None:
                raise invalid("source_id_unknown")
            return dict(instrument["card"]), instrument["id"]
        # customer: the customer's default instrument
        customer = (
            self.store.get("cko_customer", source["id"])
            if source.get("id")
            else self.customer_by_email(str(source.get("email", "")))
        )
        if customer is None:
            raise invalid("customer_not_found")
        instrument = (
            self.store.get("cko_instrument", customer["default_instrument"])
            if customer.get("default_instrument")
            else None
        )
        if instrument is None:
            raise invalid("source_invalid")
        return dict(instrument["card"]), instrument["id"]

    # -- payments --------------------------------------------------------------------------

    def create_payment(
        self,
        fields: dict[str, Any],
        *,
        base_url: str,
        origin: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Request a payment: 201 PaymentResponse, or 202 Pending with a 3DS redirect."""
        customer = self.resolve_customer(fields.get("customer"))
        card, instrument_id = self.resolve_source(fields["source"])
        source_request = fields["source"]
        store_card = source_request.get("store_for_future_use", True) is not False
        core = cko_id("")
        now = iso(self.now())
        threeds: dict[str, Any] = fields["3ds"] if isinstance(fields.get("3ds"), dict) else {}
        payment: dict[str, Any] = {
            "id": "pay_" + core,
            "action_id": "act_" + core,
            "requested_on": now,
            "amount": fields.get("amount") or 0,
            "currency": fields["currency"],
            "payment_type": fields.get("payment_type") or "Regular",
            "reference": fields.get("reference"),
            "description": fields.get("description"),
            "metadata": fields.get("metadata"),
            "capture": fields.get("capture", True) is not False or bool(fields.get("capture_on")),
            "status": "Pending",
            "approved": False,
            "customer": views.customer_view(customer),
            "success_url": fields.get("success_url"),
            "failure_url": fields.get("failure_url"),
            "processing_channel_id": fields.get("processing_channel_id")
            or credentials.CHECKOUT_COM_PROCESSING_CHANNEL,
            "session_id": None,
            "threeds": None,
            "actions": [],
            "pending": [],
            "totals": {"authorized": 0, "captured": 0, "refunded": 0, "voided": 0},
            "capture_closed": False,
            "origin": origin or {},
            "base_url": base_url,
            "_card": card,
            "_instrument_id": instrument_id,
            "_store_card": store_card,
            "_customer_id": customer["id"] if customer else None,
        }
        if threeds.get("enabled") is True:
            session_id = cko_id("sid_")
            payment["session_id"] = session_id
            payment["threeds"] = {"downgraded": False, "enrolled": "Y", "version": "2.2.0"}
            self._save(payment)
            self.store.put("cko_session", session_id, {"payment_id": payment["id"]})
            self._webhook(payment, "payment_pending", views.event_data(payment, None))
            return 202, views.accepted_view(payment)
        self._authorize(payment, authenticated=None)
        return 201, views.response_view(payment)

    def complete_3ds(self, payment: dict[str, Any], *, authenticated: bool) -> dict[str, Any]:
        """The challenge page's answer: authorize (or decline) a Pending 3DS payment."""
        if payment["status"] != "Pending":
            return payment
        self._authorize(payment, authenticated=authenticated)
        return payment

    def _authorize(self, payment: dict[str, Any], *, authenticated: bool | None) -> None:
        card = payment["_card"]
        info = cko_cards.describe(card["number"])
        now = self.now()
        code = info.response_code
        if (card["expiry_year"], card["expiry_month"]) < (now.year, now.month):
            code = "20054"
        if authenticated is False:
            code = cko_cards.THREEDS_FAILED
        approved = code == cko_cards.APPROVED
        verification = payment["amount"] == 0
        stamp = iso(now)
        if payment["threeds"] is not None:
            payment["threeds"].update(
                {
                    "challenged": True,
                    "authentication_response": "Y" if authenticated else "N",
                }
            )
        payment.update(
            {
                "approved": approved,
                "response_code": code,
                "response_summary": cko_cards.response_summary(code),
                "processed_on": stamp,
                "auth_code": f"{secrets.randbelow(1_000_000):06d}" if approved else None,
                "scheme_id": "".join(str(secrets.randbelow(10)) for _ in range(15)),
                "eci": "05" if payment["threeds"] is not None else "06",
                "processing": {
                    "retrieval_reference_number": "".join(
                        str(secrets.randbelow(10)) for _ in range(12)
                    ),
                    "acquirer_transaction_id": "".join(
                        str(secrets.randbelow(10)) for _ in range(21)
                    ),
                },
            }
        )
        if verification:
            payment["status"] = "Card Verified" if approved else "Declined"
        else:
            payment["status"] = "Authorized" if approved else "Declined"
        if approved:
            payment["expires_on"] = iso(now + AUTHORIZATION_LIFETIME)
            payment["totals"]["authorized"] = payment["amount"]
            self._store_instrument(payment)
        payment["actions"].append(
            {
                "id": payment["action_id"],
                "type": "Card Verification" if verification else "Authorization",
                "processed_on": stamp,
                "amount": payment["amount"],
                "approved": approved,
                **({"auth_code": payment["auth_code"]} if approved else {}),
                "response_code": code,
                "response_summary": payment["response_summary"],
                "authorization_type": "Final",
                **({"reference": payment["reference"]} if payment["reference"] else {}),
                "processing": {
                    "retrieval_reference_number": payment["processing"][
                        "retrieval_reference_number"
                    ]
                },
                **({"metadata": payment["metadata"]} if payment["metadata"] else {}),
            }
        )
        # A flagged payment must be captured or voided by hand ("Flagged payments"); unattended
        # it expires with its authorization.
        payment["risk_flagged"] = approved and info.flagged
        if approved and not verification and payment["capture"] and not info.flagged:
            payment["pending"].append(
                {
                    "id": cko_id("act_"),
                    "type": "Capture",
                    "amount": payment["amount"],
                    "final": True,
                    "reference": payment["reference"],
                    "metadata": None,
                }
            )
        self._save(payment)
        if verification:
            event = "card_verified" if approved else "card_verification_declined"
        else:
            event = "payment_approved" if approved else "payment_declined"
        self._webhook(payment, event, views.event_data(payment, payment["actions"][-1]))

    def _store_instrument(self, payment: dict[str, Any]) -> None:
        instrument_id = payment["_instrument_id"]
        if instrument_id is None and payment["_store_card"]:
            instrument_id = cko_id("src_")
            card = {k: v for k, v in payment["_card"].items() if k != "cvv_given"}
            self.store.put(
                "cko_instrument",
                instrument_id,
                {
                    "id": instrument_id,
                    "card": card,
                    "customer_id": payment["_customer_id"],
                    "created_on": iso(self.now()),
                },
            )
            payment["_instrument_id"] = instrument_id
        customer_id = payment["_customer_id"]
        if customer_id and instrument_id:
            customer = self.store.get("cko_customer", customer_id)
            if customer is not None and not customer.get("default_instrument"):
                customer["default_instrument"] = instrument_id
                self.store.put("cko_customer", customer_id, customer)

    def _save(self, payment: dict[str, Any]) -> None:
        self.store.put("cko_payment", payment["id"], payment)

    def payment(self, payment_id: str, *, settle: bool = True) -> dict[str, Any] | None:
        """A payment by ``pay_`` or ``sid_`` id; applies due actions first when auto-settling."""
        if payment_id.startswith("sid_"):
            session = self.store.get("cko_session", payment_id)
            if session is None:
                return None
            payment_id = session["payment_id"]
        payment = self.store.get("cko_payment", payment_id)
        if payment is not None and settle and payment["pending"] and self.auto_settle:
            self.settle(payment)
        return payment

    # -- captures, refunds, voids ------------------------------------------------------------

    def _pending_sum(self, payment: dict[str, Any], kind: str) -> int:
        return sum(a["amount"] for a in payment["pending"] if a["type"] == kind)

    def request_action(
        self, payment: dict[str, Any], kind: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Queue a Capture/Refund/Void after checking it against the balances; 403/422 if not."""
        balances = views.balances(payment)
        pending_types = {a["type"] for a in payment["pending"]}
        amount = body.get("amount")
        if kind == "Capture":
            room = balances["available_to_capture"] - self._pending_sum(payment, "Capture")
            if "Void" in pending_types or room <= 0:
                raise CkoError(403)
            if amount is None:
                amount = room
            elif amount > room:
                raise invalid(
                    "capture_value_greater_than_authorized"
                    if amount > balances["total_authorized"]
                    else "capture_value_greater_than_remaining_authorized"
                )
        elif kind == "Refund":
            room = balances["available_to_refund"] - self._pending_sum(payment, "Refund")
            if room <= 0:
                raise CkoError(403)
            if amount is None:
                amount = room
            elif amount > room:
                raise invalid("amount_exceeds_balance")
        else:
            if (
                balances["available_to_void"] <= 0
                or pending_types & {"Capture", "Void"}
                or payment["totals"]["captured"]
            ):
                raise CkoError(403)
            amount = balances["available_to_void"]
        action = {
            "id": cko_id("act_"),
            "type": kind,
            "amount": amount,
            "final": body.get("capture_type", "Final") != "NonFinal",
            "reference": body.get("reference"),
            "metadata": body.get("metadata"),
        }
        payment["pending"].append(action)
        self._save(payment)
        return action

    def settle(self, payment: dict[str, Any]) -> int:
        """Apply the payment's queued actions, in order, with their webhooks."""
        applied = 0
        while payment["pending"]:
            action = payment["pending"].pop(0)
            totals = payment["totals"]
            stamp = iso(self.now())
            if action["type"] == "Capture":
                totals["captured"] += action["amount"]
                if action["final"]:
                    payment["capture_closed"] = True
                event = "payment_captured"
            elif action["type"] == "Refund":
                totals["refunded"] += action["amount"]
                event = "payment_refunded"
            else:
                totals["voided"] += action["amount"]
                payment["capture_closed"] = True
                event = "payment_voided"
            record = {
                "id": action["id"],
                "type": action["type"],
                "processed_on": stamp,
                "amount": action["amount"],
                "approved": True,
                "response_code": cko_cards.APPROVED,
                "response_summary": "Approved",
                **({"reference": action["reference"]} if action.get("reference") else {}),
                "processing": {
                    "acquirer_reference_number": "".join(
                        str(secrets.randbelow(10)) for _ in range(23)
                    )
                },
                **({"metadata": action["metadata"]} if action.get("metadata") else {}),
            }
            payment["actions"].append(record)
            payment["status"] = self._status_after(payment)
            applied += 1
            self._webhook(payment, event, views.event_data(payment, record))
        self._save(payment)
        return applied

    @staticmethod
    def _status_after(payment: dict[str, Any]) -> str:
        totals = payment["totals"]
        if totals["voided"] and not totals["captured"]:
            return "Voided"
        if totals["refunded"]:
            return "Refunded" if totals["refunded"] >= totals["captured"] else "Partially Refunded"
        if totals["captured"]:
            return (
                "Captured" if totals["captured"] >= totals["authorized"] else "Partially Captured"
            )
        return "Authorized"

    def settle_all(self) -> int:
        return sum(
            self.settle(payment)
            for _, payment in reversed(self.store.newest_first("cko_payment"))
            if payment["pending"]
        )

    # -- webhooks --------------------------------------------------------------------------

    def _webhook(self, payment: dict[str, Any], event_type: str, data: dict[str, Any]) -> None:
        event_id = cko_id("evt_")
        body = {
            "id": event_id,
            "type": event_type,
            "version": "1.0.33",
            "created_on": iso(self.now()),
            "data": data,
            "_links": {
                "self": {"href": f"{payment['base_url']}{PREFIX}/workflows/events/{event_id}"},
                "subject": views.href(payment, f"/workflows/events/subject/{payment['id']}"),
                "payment": views.href(payment, f"/payments/{payment['id']}"),
                "payment_actions": views.href(payment, f"/payments/{payment['id']}/actions"),
            },
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        key = webhook_secret(self.sandbox, "checkout_com").encode()
        signature = hmac.new(key, raw, hashlib.sha256).hexdigest()
        record_webhook(
            self.sandbox,
            provider="checkout_com",
            event_id=event_id,
            event_type=event_type,
            body=raw,
            headers={"Content-Type": "application/json", "Cko-Signature": signature},
        )

    # -- hosted payments and payment links -------------------------------------------------

    def hosted_view(self, hpp: dict[str, Any]) -> dict[str, Any]:
        status = hpp["status"]
        if status == "Payment Pending" and parse_iso(hpp["expires_on"]) <= self.now():
            status = "Expired"
        return self._hosted_common(hpp, status, "/hosted-payments", "/page") | {
            "success_url": hpp["success_url"],
            "cancel_url": hpp["cancel_url"],
            "failure_url": hpp["failure_url"],
        }

    def link_view(self, link: dict[str, Any]) -> dict[str, Any]:
        status = link["status"]
        if status == "Active" and parse_iso(link["expires_on"]) <= self.now():
            status = "Expired"
        body = self._hosted_common(link, status, "/payment-links", "/link")
        body["created_on"] = link["created_on"]
        body["expires_on"] = link["expires_on"]
        body["processing_channel_id"] = link["processing_channel_id"]
        if link.get("return_url"):
            body["return_url"] = link["return_url"]
        return body

    def _hosted_common(
        self, obj: dict[str, Any], status: str, api_path: str, page_path: str
    ) -> dict[str, Any]:
        base = f"{obj['base_url']}{PREFIX}"
        links: dict[str, Any] = {
            "self": {"href": f"{base}{api_path}/{obj['id']}"},
            "redirect": {"href": f"{base}{page_path}/{obj['id']}"},
        }
        if obj.get("payment_id"):
            links["payment"] = {"href": f"{base}/payments/{obj['payment_id']}"}
            links["payment_actions"] = {"href": f"{base}/payments/{obj['payment_id']}/actions"}
        request = obj["request"]
        body: dict[str, Any] = {
            "id": obj["id"],
            "status": status,
            **({"payment_id": obj["payment_id"]} if obj.get("payment_id") else {}),
            "amount": request["amount"],
            "currency": request["currency"],
            **({"reference": request["reference"]} if request.get("reference") else {}),
            **({"description": request["description"]} if request.get("description") else {}),
            **({"customer": request["customer"]} if request.get("customer") else {}),
            "billing": request["billing"],
            **({"products": request["products"]} if request.get("products") else {}),
            **({"metadata": request["metadata"]} if request.get("metadata") else {}),
            "_links": links,
        }
        return body

    def pay_hosted(
        self, kind: str, obj: dict[str, Any], card: dict[str, Any], *, page_url: str
    ) -> tuple[int, dict[str, Any]]:
        """A customer pays a Hosted Payments Page or Payment Link with a card."""
        request = obj["request"]
        token = self.create_token(card)["token"]
        fields: dict[str, Any] = {
            "source": {"type": "token", "token": token},
            "amount": request["amount"],
            "currency": request["currency"],
            "reference": request.get("reference"),
            "description": request.get("description"),
            "metadata": request.get("metadata"),
            "capture": request.get("capture", True),
            "customer": request.get("customer"),
            "payment_type": request.get("payment_type"),
            "3ds": request.get("3ds"),
            "processing_channel_id": request.get("processing_channel_id"),
            "success_url": obj.get("success_url") or page_url,
            "failure_url": obj.get("failure_url") or page_url,
        }
        status, answer = self.create_payment(
            fields, base_url=obj["base_url"], origin={"kind": kind, "id": obj["id"]}
        )
        payment = self.store.get("cko_payment", answer["id"])
        assert payment is not None
        self.after_payment(payment)
        return status, payment

    def after_payment(self, payment: dict[str, Any]) -> None:
        """Mark the page or link paid once its payment is approved."""
        origin = payment.get("origin") or {}
        if not origin or not payment["approved"]:
            return
        kind = "cko_hpp" if origin["kind"] == "hpp" else "cko_link"
        obj = self.store.get(kind, origin["id"])
        if obj is None or obj.get("payment_id"):
            return
        obj["payment_id"] = payment["id"]
        obj["status"] = "Payment Received"
        self.store.put(kind, obj["id"], obj)
