"""What the till knows about one provider, in one value: ``ProviderSpec``.

Each provider's package exports its spec (``providers/<name>/__init__.py``) and
``providers/registry.py`` lists the four. Settings, the Settings form, messages, the webhook
receiver, the card reader's set-up and the composition root read a provider from there and
nowhere else. A spec imports only light modules (limits, webhook schemes): the adapter and
its HTTP stack load on the first ``build``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pos_app.providers.types import AmountLimits, PaymentSource
from pos_app.providers.webhooks import VerifiedEvent

if TYPE_CHECKING:
    from pos_app.providers.base import PaymentProvider

# body, headers, signing secret, our clock's now, the oldest a timestamped delivery may be.
WebhookVerifier = Callable[[bytes, Mapping[str, str], str, datetime, timedelta], VerifiedEvent]
# A verified event → (the object to look up, our reference when the event carries it).
WebhookParser = Callable[[VerifiedEvent], tuple[str, str | None]]
# The simulated reader's "read": a test card number → what the provider charges.
Tokenizer = Callable[[str], Awaitable[PaymentSource]]


@dataclass(frozen=True)
class ProviderSetup:
    """A profile resolved for its adapter: where, with which secret, and the provider's own
    fields (``ProviderSpec.fields``; "" when unset, the sandbox's published values filled in
    for a sandbox profile)."""

    api_base_url: str
    hosted_base_url: str | None
    secret: str
    currency: str
    options: Mapping[str, str]
    sandbox: bool

    def option(self, name: str) -> str:
        return self.options.get(name, "")


@dataclass(frozen=True)
class SandboxReader:
    """How the sandbox's simulated card reader pays through this provider: the test card is
    tokenized the way the provider's own card fields do it (``tokenizer(api base URL,
    values)``, values being the profile's fields over the sandbox's published credentials)."""

    tokenizer: Callable[[str, Mapping[str, str]], Tokenizer]
    declining_card: str | None = None  # None: the reader's generic declining test card
    pays_open_checkout: bool = False


@dataclass(frozen=True)
class ProviderSpec:
    """One provider: its profile fields, hosts, money rules, adapter, webhooks and reader.

    ``fields`` are the non-secret profile fields the Settings form shows for this provider
    (besides name, environment, currency and the URLs); ``choices`` the allowed values of
    those that are a choice. ``currencies`` None: any currency with ``exponent`` decimal
    places (or any known currency when ``exponent`` is None too).
    """

    key: str
    display_name: str
    credential_label: str
    credential_field: str
    live_api: str
    live_hosted: str | None
    sandbox_prefix: str
    amount_limits: Callable[[str], AmountLimits]
    build: Callable[[ProviderSetup], PaymentProvider]
    verify_webhook: WebhookVerifier
    parse_webhook: WebhookParser
    default_currency: str = "USD"
    fields: tuple[str, ...] = ()
    live_required: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    currencies: tuple[str, ...] | None = None
    exponent: int | None = None
    # What the Settings form offers first (it takes any other the rules above allow).
    offered_currencies: tuple[str, ...] = ("USD",)
    # The hosts a live profile may talk to (its secret goes there): the provider's published
    # ones; "*.x" allows any subdomain of x (Checkout.com's merchant-specific API hosts).
    live_hosts: tuple[str, ...] = ()
    # Where the simulator serves this provider's hosted pages, under its API prefix.
    sandbox_hosted_path: str = ""
    # A currency the provider counts differently from ISO 4217: the reason, else None.
    currency_problem: Callable[[str], str | None] = lambda _currency: None
    # The provider's own checks of its fields' values: (field, message) for each problem.
    field_problems: Callable[[Mapping[str, str]], list[tuple[str, str]]] = lambda _values: []
    sandbox_reader: SandboxReader | None = None
    # How long after the payment the provider still accepts a void (None: no window of
    # its own; the money rules and the provider's answer decide).
    void_window: timedelta | None = None

    def publishes(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
            for allowed in self.live_hosts
        )

    @property
    def has_hosted_url(self) -> bool:
        return self.live_hosted is not None
