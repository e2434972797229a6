"""Payfect: crypto (USDT on Tron) hosted checkout. ``adapter.py`` is the provider the
services see, ``client.py`` its API key header and error mapping, ``checkouts.py`` and
``payments.py`` the I/O of each flow, ``mapping/`` the pure payload half, ``webhooks.py`` its
signed callbacks.

``SPEC`` is everything the till knows about Payfect; the adapter loads on its first build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.providers.payfect import webhooks
from pos_app.providers.payfect.limits import amount_limits
from pos_app.providers.spec import ProviderSetup, ProviderSpec

if TYPE_CHECKING:
    from pos_app.providers.base import PaymentProvider


def build(setup: ProviderSetup) -> PaymentProvider:
    from pos_app.providers.payfect.adapter import PayfectConfig, PayfectProvider

    return PayfectProvider(
        PayfectConfig(
            api_base_url=setup.api_base_url, api_key=setup.secret, sale_currency=setup.currency
        )
    )


SPEC = ProviderSpec(
    key="payfect",
    display_name="Payfect",
    credential_label="API key",
    credential_field="api_key",
    live_api="https://api.payfect.finance",
    live_hosted=None,
    sandbox_prefix="payfect",
    amount_limits=amount_limits,
    build=build,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    currencies=("USD",),  # USD sales invoiced 1:1 in USDT (providers/payfect/mapping/__init__.py)
    live_hosts=("api.payfect.finance",),
)
