"""The one interface every payment provider adapter implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pos_app.providers.types import AmountLimits, Capability, CheckoutRequest, CheckoutSession


@runtime_checkable
class PaymentProvider(Protocol):
    """A provider account as the services see it.

    The GUI offers only what ``capabilities`` lists; nothing is probed by trying.
    """

    key: str
    display_name: str
    capabilities: frozenset[Capability]
    limits: AmountLimits

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a checkout the customer pays on the provider's page."""
        ...

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        """Look a checkout up: the provider's word on what happened."""
        ...

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        """Find a checkout by our own reference (after a crash left us without its id)."""
        ...

    async def aclose(self) -> None: ...
