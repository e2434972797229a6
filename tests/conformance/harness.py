"""One harness per provider: how to build its adapter on the sandbox and act as its customer.

The conformance scenarios are written once against ``PaymentService`` and the real adapter;
only what differs between providers (paths, test cards, what the customer does on the page)
lives here. A provider fact that rules a scenario out is stated here with its reason.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from pos_app.bootstrap.sandbox import sandbox_credentials
from pos_app.config.registry import build_provider
from pos_app.config.settings import sandbox_profile
from pos_app.domain.ids import new_idempotency_key
from pos_app.providers.types import PaymentSource, SourceKind
from pos_sandbox.checkout_com.api import SANDBOX_PUBLIC_KEY
from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)
from pos_sandbox.state import DB_FILENAME

if TYPE_CHECKING:
    from collections.abc import Callable

    from pos_app.providers.base import PaymentProvider

APPROVED_CARD = "4242424242424242"


def control(sandbox: SandboxServer, path: str, body: dict[str, object]) -> httpx.Response:
    return sandbox.control.request("POST", f"{path}", json=body, timeout=30)


def count_objects(sandbox: SandboxServer, kind: str) -> int:
    """How many objects of ``kind`` the sandbox holds (read straight from its state file)."""
    with sqlite3.connect(f"file:{sandbox.state_dir / DB_FILENAME}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM objects WHERE kind = ?", (kind,)).fetchone()[0])


def add_fault(sandbox: SandboxServer, **fault: object) -> None:
    answer = control(sandbox, "faults", dict(fault))
    assert answer.status_code in (200, 201), answer.text


@dataclass(frozen=True)
class Harness:
    name: str
    build: Callable[[str], PaymentProvider]  # sandbox base URL → adapter
    create_checkout_path: str  # for faults (fnmatch pattern)
    lookup_checkout_path: str
    pay: Callable[[SandboxServer, str, str], httpx.Response]  # (sandbox, checkout ref, card)
    declining_card: str | None  # None: the page has no declines (say why in decline_note)
    checkout_lifetime_s: int | None  # None: unpaid pages never expire at this provider
    idempotent_creates: bool  # the provider honours an idempotency key on checkout creates
    checkout_kind: str  # the sandbox's object kind for a checkout, to count them
    waits_out_rate_limits: bool = True  # a 429 to a create is waited out and sent again
    # Direct charges: a token for a card, as the provider's card fields would make it.
    card_source: Callable[[SandboxServer, str], PaymentSource] | None = None
    charge_path: str = ""  # for faults (fnmatch pattern)
    payment_kind: str = ""  # the sandbox's object kind for a payment
    declining_charge_card: str | None = None
    charge_needs_checkout: bool = False  # a charge pays an open checkout (ReCharge)
    reports_card: bool = True  # lookups name the card's brand and last four digits
    note: str = ""

    def __str__(self) -> str:
        return self.name


def justifi_card_token(sandbox: SandboxServer, card: str) -> PaymentSource:
    """Tokenize like JustiFi's card fields do (POST /v1/payment_methods)."""
    api = f"{sandbox.base_url}/justifi"
    auth = httpx.post(
        f"{api}/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    ).json()["access_token"]
    answer = httpx.post(
        f"{api}/v1/payment_methods",
        headers={
            "Authorization": f"Bearer {auth}",
            "Sub-Account": SANDBOX_SUB_ACCOUNT,
            "Idempotency-Key": new_idempotency_key(),
        },
        json={
            "payment_method": {
                "card": {
                    "name": "Sandbox Shopper",
                    "number": card,
                    "verification": "123",
                    "month": "12",
                    "year": "2030",
                    "address_postal_code": "12345",
                }
            }
        },
    )
    assert answer.is_success, answer.text
    return PaymentSource(SourceKind.TOKEN, answer.json()["data"]["card"]["token"])


def checkout_com_card_token(sandbox: SandboxServer, card: str) -> PaymentSource:
    """Tokenize like Checkout.com's Frames do (POST /tokens with the public key)."""
    answer = httpx.post(
        f"{sandbox.base_url}/checkout-com/tokens",
        headers={"Authorization": f"Bearer {SANDBOX_PUBLIC_KEY}"},
        json={
            "type": "card",
            "number": card,
            "expiry_month": 12,
            "expiry_year": 2030,
            "cvv": "100",
        },
    )
    assert answer.is_success, answer.text
    return PaymentSource(SourceKind.TOKEN, answer.json()["token"])


# ReCharge is charged with a token from the shop's card processor (Stripe's test tokens).
_RECHARGE_TOKENS = {APPROVED_CARD: "tok_visa", "4000000000000002": "tok_chargeDeclined"}


def _recharge_token(sandbox: SandboxServer, card: str) -> PaymentSource:
    return PaymentSource(SourceKind.TOKEN, _RECHARGE_TOKENS[card])


def _from_registry(provider: str) -> Callable[[str], PaymentProvider]:
    """The adapter the app itself builds for the provider's default sandbox profile."""

    def build(base: str) -> PaymentProvider:
        return build_provider(
            sandbox_profile(provider),
            secret=None,
            sandbox_url=base,
            sandbox_credentials=sandbox_credentials(),
        )

    return build


_justifi = _from_registry("justifi")
_checkout_com = _from_registry("checkout_com")
_recharge = _from_registry("recharge")
_payfect = _from_registry("payfect")


HARNESSES = (
    Harness(
        name="justifi",
        checkout_kind="checkout",
        build=_justifi,
        create_checkout_path="/justifi/v1/checkouts",
        lookup_checkout_path="/justifi/v1/checkouts/*",
        pay=lambda sb, ref, card: control(sb, "justifi/pay", {"checkout_id": ref, "card": card}),
        declining_card="4000000000000002",
        checkout_lifetime_s=7 * 24 * 3600,
        idempotent_creates=True,
        card_source=justifi_card_token,
        charge_path="/justifi/v1/payments",
        payment_kind="payment",
        declining_charge_card="4000000000000002",
    ),
    Harness(
        name="checkout_com",
        checkout_kind="cko_hpp",
        build=_checkout_com,
        create_checkout_path="/checkout-com/hosted-payments",
        lookup_checkout_path="/checkout-com/hosted-payments/*",
        pay=lambda sb, ref, card: control(sb, "checkout-com/pay", {"hpp_id": ref, "card": card}),
        declining_card="4544249167673670",  # response code 20051, insufficient funds
        checkout_lifetime_s=3 * 3600,
        # Checkout.com honours Cko-Idempotency-Key on /payments only, not on page creates,
        # so a page create carries no key and the retry rule does not repeat it, not even
        # after a 429: the cashier is told to try again.
        idempotent_creates=False,
        waits_out_rate_limits=False,
        card_source=checkout_com_card_token,
        charge_path="/checkout-com/payments",
        payment_kind="cko_payment",
        declining_charge_card="4544249167673670",
    ),
    Harness(
        name="recharge",
        checkout_kind="recharge_checkout",
        build=_recharge,
        create_checkout_path="/recharge/checkouts",
        lookup_checkout_path="/recharge/checkouts/*",
        pay=lambda sb, ref, card: control(sb, "recharge/pay", {"token": ref, "card": card}),
        # A declined card is refused on the page and the checkout stays open for another.
        declining_card=None,
        # ReCharge checkouts have no documented expiry.
        checkout_lifetime_s=None,
        idempotent_creates=False,
        card_source=_recharge_token,
        charge_path="/recharge/checkouts/*/charge",
        payment_kind="recharge_charge",
        declining_charge_card="4000000000000002",
        charge_needs_checkout=True,
        # A charge answer carries no card details.
        reports_card=False,
    ),
    Harness(
        name="payfect",
        checkout_kind="payfect_checkout",
        build=_payfect,
        create_checkout_path="/payfect/api/v1/checkouts/",
        lookup_checkout_path="/payfect/api/v1/checkouts/*",
        pay=lambda sb, ref, card: control(sb, "payfect/pay", {"id": ref}),
        # Crypto: the customer sends coins or does not; nothing declines.
        declining_card=None,
        checkout_lifetime_s=24 * 3600,
        idempotent_creates=False,
        # Payfect documents no rate limit and no idempotency: a 429 is taken as a refusal
        # (nothing was made) and the cashier tries again.
        waits_out_rate_limits=False,
    ),
)
