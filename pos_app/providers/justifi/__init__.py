"""JustiFi: hosted checkout (today's, and the legacy payment intent + checkout session),
the embedded ``<justifi-checkout>`` card form, direct charges, refunds, voids and lookups.

``SPEC`` is everything the till knows about JustiFi; the adapter loads on its first build.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pos_app.providers.justifi import webhooks
from pos_app.providers.justifi.limits import amount_limits
from pos_app.providers.spec import ProviderSetup, ProviderSpec, SandboxReader, Tokenizer

if TYPE_CHECKING:
    from pos_app.providers.base import PaymentProvider

# Today's hosted checkout, or the legacy payment intent + checkout session page some
# accounts still use (PROVIDERS.md §1).
HOSTED_FLOWS = ("checkout", "checkout_session")


def build(setup: ProviderSetup) -> PaymentProvider:
    from pos_app.providers.justifi.adapter import JustifiConfig, JustifiProvider

    flow: dict[str, Any] = {}
    if setup.option("hosted_flow") == "checkout_session":
        flow["hosted_flow"] = "checkout_session"
        if setup.sandbox:  # the simulator's legacy pages, under the same prefix
            flow["legacy_session_base_url"] = f"{setup.api_base_url}/r"
    return JustifiProvider(
        JustifiConfig(
            api_base_url=setup.api_base_url,
            hosted_checkout_base_url=setup.hosted_base_url or "",
            client_id=setup.option("client_id"),
            client_secret=setup.secret,
            sub_account=setup.option("sub_account"),
            currency=setup.currency,
            **flow,
        )
    )


def _reader_tokenizer(api: str, values: Any) -> Tokenizer:
    from pos_app.providers.justifi.card_fields import tokenizer

    return tokenizer(api, values)


SPEC = ProviderSpec(
    key="justifi",
    display_name="JustiFi",
    credential_label="Client secret",
    credential_field="client_secret",
    live_api="https://api.justifi.ai",
    live_hosted="https://components.justifi.ai/hosted-checkout",
    sandbox_prefix="justifi",
    sandbox_hosted_path="hosted-checkout",
    amount_limits=amount_limits,
    build=build,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    fields=("client_id", "sub_account", "hosted_flow"),
    live_required=("client_id", "sub_account"),
    choices={"hosted_flow": HOSTED_FLOWS},
    currencies=("USD", "CAD"),
    offered_currencies=("USD", "CAD"),  # a sub-account is scoped to one of these (PROVIDERS §1.3)
    live_hosts=("api.justifi.ai", "components.justifi.ai"),
    sandbox_reader=SandboxReader(_reader_tokenizer),
    void_window=timedelta(minutes=25),  # then payment_outside_void_window (PROVIDERS.md §1)
)
