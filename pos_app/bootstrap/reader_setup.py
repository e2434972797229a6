"""Which card reader a profile gets.

None of our providers offers card-present payments yet, so every profile gets an
``UnavailableReader`` except one on the built-in sandbox whose provider takes direct
charges and says how its card fields tokenize (``ProviderSpec.sandbox_reader``): that gets
a ``SimulatedReader`` whose "read" tokenizes the sandbox test card the way the provider's
own card fields do. Like the registry this is composition, used by app.py only: the
simulator's published public key comes in with its credentials (only bootstrap/sandbox.py
and the CLI import the sandbox).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.config.registry import (
    SandboxCredentials,
    endpoints,
    provider_options,
    uses_builtin_sandbox,
)
from pos_app.providers.types import Capability
from pos_app.services.reader import DECLINING_CARD, SimulatedReader, UnavailableReader

if TYPE_CHECKING:
    from pos_app.config.settings import ProviderProfile
    from pos_app.providers.base import PaymentProvider

Reader = SimulatedReader | UnavailableReader


def build_reader(
    profile: ProviderProfile,
    provider: PaymentProvider,
    *,
    sandbox_url: str | None,
    credentials: SandboxCredentials | None,
) -> Reader:
    """The reader the cashier's F8 screen uses for ``profile`` (with its adapter)."""
    kind = profile.kind
    simulated = kind.sandbox_reader if kind is not None else None
    if (
        kind is None
        or simulated is None
        or not uses_builtin_sandbox(profile)
        or sandbox_url is None
        or credentials is None
        or Capability.DIRECT_CHARGE not in provider.capabilities
    ):
        return UnavailableReader(profile.provider_name)
    published = credentials.of(kind.key)
    values = {**published, **provider_options(profile, published)}
    return SimulatedReader(
        simulated.tokenizer(endpoints(profile, sandbox_url).api, values),
        declining_card=simulated.declining_card or DECLINING_CARD,
        pays_open_checkout=simulated.pays_open_checkout,
    )
