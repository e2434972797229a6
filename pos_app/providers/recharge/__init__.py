"""ReCharge (Recharge Payments) Checkouts API: hosted checkout, charging a checkout with a
processor token, and lookup. ``adapter.py`` is the provider the services see, ``client.py``
its headers, 429 wait and error mapping, ``checkouts.py`` and ``charges.py`` the I/O of each
flow; ``mapping/`` (checkouts) and ``mapping/charges.py`` (charges and payments) are the pure
payload halves.

``SPEC`` is everything the till knows about ReCharge; the adapter loads on its first build.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pos_app.providers.recharge import webhooks
from pos_app.providers.recharge.limits import amount_limits
from pos_app.providers.recharge.mapping import API_VERSIONS
from pos_app.providers.spec import ProviderSetup, ProviderSpec, SandboxReader, Tokenizer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.base import PaymentProvider

# ReCharge will not charge a checkout without an email; a sandbox till needs none set.
SANDBOX_RECEIPT_EMAIL = "receipts@sandbox.pos-app.invalid"


def build(setup: ProviderSetup) -> PaymentProvider:
    from pos_app.providers.recharge.adapter import RechargeConfig, RechargeProvider

    config = RechargeConfig(
        api_base_url=setup.api_base_url,
        access_token=setup.secret,
        currency=setup.currency,
        hosted_base_url=setup.hosted_base_url or "",
        receipt_email=setup.option("receipt_email")
        or (SANDBOX_RECEIPT_EMAIL if setup.sandbox else None),
    )
    if setup.option("api_version"):  # else the adapter's default
        config = replace(config, api_version=setup.option("api_version"))
    return RechargeProvider(config)


def field_problems(values: Mapping[str, str]) -> list[tuple[str, str]]:
    email = values.get("receipt_email", "")
    if email and ("@" not in email or " " in email):
        return [("receipt_email", f"“{email}” is not an email address.")]
    return []


def _reader_tokenizer(api: str, values: Mapping[str, str]) -> Tokenizer:
    from pos_app.providers.recharge.card_fields import tokenizer

    return tokenizer(api, values)


SPEC = ProviderSpec(
    key="recharge",
    display_name="ReCharge",
    credential_label="Access token",
    credential_field="access_token",
    live_api="https://api.rechargeapps.com",
    live_hosted="https://checkout.rechargeapps.com",
    sandbox_prefix="recharge",
    amount_limits=amount_limits,
    build=build,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    fields=("api_version", "receipt_email"),
    live_required=("receipt_email",),  # ReCharge charges no checkout without an email
    choices={"api_version": API_VERSIONS},
    exponent=2,
    offered_currencies=("USD", "GBP", "EUR", "CAD", "AUD"),  # prices are decimal strings with cents
    live_hosts=("api.rechargeapps.com", "checkout.rechargeapps.com"),
    field_problems=field_problems,
    # A ReCharge charge always pays an open checkout.
    sandbox_reader=SandboxReader(_reader_tokenizer, pays_open_checkout=True),
)
