"""The one interface every payment provider adapter implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pos_app.providers.types import (
        ActionResult,
        AmountLimits,
        Capability,
        CaptureRequest,
        ChargeRequest,
        CheckoutRequest,
        CheckoutSession,
        EmbeddedCheckout,
        PaymentAction,
        ProviderPayment,
        RefundRequest,
        VoidRequest,
    )


@runtime_checkable
class PaymentProvider(Protocol):
    """A provider account as the services see it.

    The GUI and services offer only what ``capabilities`` lists; nothing is probed by
    trying. An operation outside the capabilities raises ``NotSupportedError`` without
    sending anything.

    Every mutating call carries an idempotency key; an adapter whose provider has no
    idempotency header must never repeat such a call blindly (look up first instead).
    """

    key: str
    display_name: str
    capabilities: frozenset[Capability]
    limits: AmountLimits

    async def check_connection(self) -> None:
        """One cheap authenticated read; raises a ProviderError saying what is wrong.

        Backs the Settings screen's "Check connection": it must prove the credentials and
        base URL work (an auth failure is AuthenticationError), and change nothing.
        """
        ...

    # -- checkouts (the customer pays on the provider's page) -------------------------

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a checkout the customer pays on the provider's page (or by link)."""
        ...

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        """Look a checkout up: the provider's word on what happened."""
        ...

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        """Find a checkout by our own reference (after a crash left us without its id)."""
        ...

    async def embedded_checkout(self, provider_ref: str) -> EmbeddedCheckout:
        """What an embedded checkout component needs for this checkout (EMBEDDED_COMPONENT)."""
        ...

    # -- payments ---------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        """Charge (or only authorize) a token / stored source / customer (DIRECT_CHARGE)."""
        ...

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        """Look a payment up, with its action history where the provider has one (LOOKUP)."""
        ...

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        """Find a payment by our own reference; None when the provider has none (LIST)."""
        ...

    async def capture(self, request: CaptureRequest) -> ActionResult:
        """Capture an authorization, in full or in part (AUTHORIZE_CAPTURE)."""
        ...

    async def refund(self, request: RefundRequest) -> ActionResult:
        """Refund part or all of what was captured (REFUND / PARTIAL_REFUND)."""
        ...

    async def void(self, request: VoidRequest) -> ActionResult:
        """Cancel an authorization before capture (VOID)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BalanceLedger(Protocol):
    """A provider that keeps a money ledger per payment (JustiFi's balance transactions):
    the payment, its fees, refunds and fees returned. Read only for the detail page."""

    async def balance_transactions(self, payment_ref: str) -> tuple[PaymentAction, ...]: ...
