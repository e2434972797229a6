"""The cashier's hosted checkout for one profile: a thin face on ``PaymentService``.

The order never changes (PaymentService does it): record the sale, record the intent with its
idempotency key, call the provider, record the outcome. A success seen by the customer's page
only triggers a lookup; the lookup decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pos_app.journal.store import JournalStore, PaymentRecord, utc_now
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import ProviderError
from pos_app.providers.types import CheckoutMode, CheckoutSession
from pos_app.services.payments import (
    CREATE_CHECKOUT,
    HOSTED_CHECKOUT,
    OperationFailed,
    PaymentService,
)
from pos_app.services.sale import Sale

__all__ = [
    "CREATE_CHECKOUT",
    "HOSTED_CHECKOUT",
    "CheckoutService",
    "CheckoutStartError",
    "HostedCheckout",
]


@dataclass(frozen=True)
class HostedCheckout:
    payment: PaymentRecord
    session: CheckoutSession

    @property
    def url(self) -> str:
        return self.session.hosted_url or ""


class CheckoutStartError(Exception):
    """Opening the checkout failed; the sale is in the journal in ``payment.state``."""

    def __init__(self, payment: PaymentRecord, error: ProviderError) -> None:
        super().__init__(error.message)
        self.payment = payment
        self.error = error


class CheckoutService:
    def __init__(
        self,
        journal: JournalStore,
        provider: PaymentProvider,
        *,
        profile: str,
        clock: Callable[[], datetime] = utc_now,
        payments: PaymentService | None = None,
    ) -> None:
        self.journal = journal
        self.provider = provider
        self.profile = profile
        self.payments = payments or PaymentService(journal, {profile: provider}, clock=clock)

    async def start_hosted(
        self, sale: Sale, *, success_url: str | None, mode: CheckoutMode = CheckoutMode.HOSTED
    ) -> HostedCheckout:
        try:
            opened = await self.payments.open_checkout(
                self.profile, sale, mode=mode, success_url=success_url
            )
        except OperationFailed as failure:
            raise CheckoutStartError(failure.payment, failure.error) from failure.error
        return HostedCheckout(opened.payment, opened.session)

    async def verify(self, reference: str) -> PaymentRecord:
        """Ask the provider what happened and record its answer."""
        return await self.payments.refresh(reference)

    async def cancel(self, reference: str) -> PaymentRecord:
        """The cashier gives up on the checkout. Look first: the customer may just have paid."""
        return await self.payments.cancel_checkout(reference)
