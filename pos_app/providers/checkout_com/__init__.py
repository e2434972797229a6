"""Checkout.com: payment links and hosted payment pages, direct charges with 3-D Secure,
captures, refunds, voids and lookups (NAS "default" accounts, and ABC/"Previous" keys via
raw auth).

``SPEC`` is everything the till knows about Checkout.com; the adapter loads on its first
build.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pos_app.domain.money import MoneyError, currency_exponent
from pos_app.providers.checkout_com import webhooks
from pos_app.providers.checkout_com.limits import amount_limits, documented_exponent
from pos_app.providers.spec import ProviderSetup, ProviderSpec, SandboxReader, Tokenizer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.base import PaymentProvider

AUTH_STYLES = ("bearer", "raw")
# Checkout.com's test card for a decline (response code 20051, insufficient funds).
DECLINING_TEST_CARD = "4544249167673670"


def build(setup: ProviderSetup) -> PaymentProvider:
    from pos_app.providers.checkout_com.adapter import CheckoutComConfig, CheckoutComProvider

    config = CheckoutComConfig(
        api_base_url=setup.api_base_url,
        secret_key=setup.secret,
        processing_channel_id=setup.option("processing_channel_id"),
        currency=setup.currency,
        auth_style="raw" if setup.option("auth_style") == "raw" else "bearer",
    )
    if setup.option("billing_country"):  # else the adapter's default
        config = replace(config, billing_country=setup.option("billing_country"))
    return CheckoutComProvider(config)


def currency_problem(currency: str) -> str | None:
    try:
        exponent = currency_exponent(currency)
    except MoneyError:
        return None  # settings says so in its own words
    counted = documented_exponent(currency)
    if counted == exponent:
        return None
    return (
        f"Checkout.com counts {currency} in {counted} decimal places, not ISO's "
        f"{exponent}: this till cannot take {currency} through Checkout.com."
    )


def field_problems(values: Mapping[str, str]) -> list[tuple[str, str]]:
    country = values.get("billing_country", "")
    if country and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        return [
            (
                "billing_country",
                f"Billing country must be a two-letter code such as US or GB, not “{country}”.",
            )
        ]
    return []


def _reader_tokenizer(api: str, values: Mapping[str, str]) -> Tokenizer:
    from pos_app.providers.checkout_com.card_fields import tokenizer

    return tokenizer(api, values)


SPEC = ProviderSpec(
    key="checkout_com",
    display_name="Checkout.com",
    credential_label="Secret key",
    credential_field="secret_key",
    live_api="https://api.checkout.com",
    live_hosted=None,
    sandbox_prefix="checkout-com",
    amount_limits=amount_limits,
    build=build,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    fields=("processing_channel_id", "billing_country", "auth_style"),
    live_required=("processing_channel_id",),
    choices={"auth_style": AUTH_STYLES},
    offered_currencies=("USD", "GBP", "EUR", "CAD", "AUD", "JPY"),
    # NAS accounts may use their merchant-specific {prefix}.api.checkout.com.
    live_hosts=("api.checkout.com", "*.api.checkout.com"),
    currency_problem=currency_problem,
    field_problems=field_problems,
    sandbox_reader=SandboxReader(_reader_tokenizer, declining_card=DECLINING_TEST_CARD),
)
