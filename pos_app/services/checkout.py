"""The cashier's hosted checkout for one profile: a thin face on ``PaymentService``.

The order never changes (PaymentService does it): record the sale, record the intent with its
idempotency key, call the provider, record the outcome. A success seen by the customer's page
only triggers a lookup; the lookup decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import Environment, JournalStore, PaymentRecord, utc_now
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import ProviderError
from pos_app.providers.types import CheckoutSession, EmbeddedCheckout, PaymentSource
from pos_app.services.payments import OperationFailed, PaymentService
from pos_app.services.sale import Sale

__all__ = [
    "CheckoutService",
    "CheckoutStartError",
    "HostedCheckout",
]


@dataclass(frozen=True)
class HostedCheckout:
    """A payment the customer finishes on a provider page: a hosted checkout or link
    (``session`` set), or a direct charge waiting on 3-D Secure (``session`` None, the
    challenge in ``payment.action_url``)."""

    payment: PaymentRecord
    session: CheckoutSession | None

    @property
    def url(self) -> str:
        if self.session is not None:
            return self.session.hosted_url or ""
        return self.payment.action_url or ""

    @property
    def expires_at(self) -> datetime | None:
        return self.session.expires_at if self.session is not None else None


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
        environment: Environment | None = None,
    ) -> None:
        """``environment``: the profile's, for the payments service made here when
        ``payments`` is None (one given knows every profile's itself)."""
        self.journal = journal
        self.provider = provider
        self.profile = profile
        self.payments = payments or PaymentService(
            journal,
            {profile: provider},
            clock=clock,
            environments=lambda name: environment if name == profile else None,
        )

    async def start_hosted(
        self,
        sale: Sale,
        *,
        success_url: str | None,
        method: PaymentMethod = PaymentMethod.HOSTED_CHECKOUT,
        origin_url: str | None = None,
        in_browser: bool = False,
    ) -> HostedCheckout:
        """Open a checkout paid as ``method``; which provider checkout that is (a page or a
        link) the payments service decides (``in_browser``: the system browser shows it)."""
        try:
            opened = await self.payments.open_checkout(
                self.profile,
                sale,
                method=method,
                success_url=success_url,
                origin_url=origin_url,
                in_browser=in_browser,
            )
        except OperationFailed as failure:
            raise CheckoutStartError(failure.payment, failure.error) from failure.error
        return HostedCheckout(opened.payment, opened.session)

    async def start_embedded(
        self, sale: Sale, *, origin_url: str | None = None
    ) -> tuple[HostedCheckout, EmbeddedCheckout]:
        """Open a checkout (for the page the card form is rendered from, ``origin_url``) and
        mint the card form's narrowly scoped token for it."""
        opened = await self.start_hosted(
            sale,
            success_url=None,
            origin_url=origin_url,
            method=PaymentMethod.EMBEDDED_CHECKOUT,
        )
        assert opened.session is not None
        try:
            embedded = await self.provider.embedded_checkout(opened.session.provider_ref)
        except ProviderError as error:
            # No card form can pay it now: close it at our end (after a look) and say why.
            payment = await self.cancel(opened.payment.reference)
            raise CheckoutStartError(payment, error) from error
        return opened, embedded

    async def charge(
        self, sale: Sale, source: PaymentSource, *, success_url: str, failure_url: str
    ) -> HostedCheckout:
        """Charge a card token; the return URLs ask for 3-D Secure where the provider has it.
        A payment answering REQUIRES_ACTION carries the challenge in ``action_url``."""
        try:
            payment = await self.payments.charge(
                self.profile, sale, source, success_url=success_url, failure_url=failure_url
            )
        except OperationFailed as failure:
            raise CheckoutStartError(failure.payment, failure.error) from failure.error
        return HostedCheckout(payment, None)

    async def verify(self, reference: str) -> PaymentRecord:
        """Ask the provider what happened and record its answer."""
        return await self.payments.refresh(reference)

    async def cancel(self, reference: str) -> PaymentRecord:
        """The cashier gives up on the checkout. Look first: the customer may just have paid."""
        return await self.payments.cancel_checkout(reference)
