"""Taking the money: one entry point, ``take(profile, sale, method)``, for every way to pay.

The method decides what happens: a provider page or a link (``open_checkout``), the card
form (a checkout plus its token), a card token charged directly (``charge``, 3-D Secure where
the bank asks), a card read on the reader and charged. Which provider checkout a method opens
is decided here (``_checkout_mode``), not by a screen. A page's "paid" only triggers a lookup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_app.domain.payment import PaymentState, can_transition
from pos_app.domain.vocabulary import Operation, PaymentMethod
from pos_app.providers.errors import ProviderError
from pos_app.providers.types import (
    Capability,
    ChargeRequest,
    CheckoutMode,
    CheckoutRequest,
    CheckoutSession,
    EmbeddedCheckout,
    PaymentSource,
    ProviderPayment,
)
from pos_app.services.outcomes import apply_payment, apply_session
from pos_app.services.payments.core import OperationFailed, PaymentRefused
from pos_app.services.payments.lookups import Lookups
from pos_app.services.reader import READ_TIMEOUT_S, SimulatedReader, UnavailableReader

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from datetime import datetime

    from pos_app.journal.store import PaymentRecord
    from pos_app.providers.base import PaymentProvider
    from pos_app.services.sale import Sale

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaleStarted:
    """A sale the provider has. Either it is decided already (a charge, a card read), or
    the customer finishes it on a provider page: a hosted checkout or link (``session``),
    the card form (``card_form`` too), or a bank's 3-D Secure check (``payment.action_url``).
    """

    payment: PaymentRecord
    session: CheckoutSession | None = None
    card_form: EmbeddedCheckout | None = None

    @property
    def url(self) -> str:
        """The page the customer pays on; empty when there is none."""
        if self.session is not None:
            return self.session.hosted_url or ""
        return self.payment.action_url or ""

    @property
    def expires_at(self) -> datetime | None:
        return self.session.expires_at if self.session is not None else None


class Sales(Lookups):
    async def take(
        self,
        profile: str,
        sale: Sale,
        method: PaymentMethod,
        *,
        source: PaymentSource | None = None,
        reader: SimulatedReader | UnavailableReader | None = None,
        success_url: str | None = None,
        failure_url: str | None = None,
        origin_url: str | None = None,
        in_browser: bool = False,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> SaleStarted:
        """Take ``sale`` on ``profile`` the way the customer pays (``method``).

        - hosted checkout, pay by link: ``success_url`` is where the till's own view catches
          the customer's return (None for a phone or the system browser: ``in_browser``);
        - embedded checkout: ``origin_url`` is the page the card form is rendered from;
        - direct charge: ``source`` is the card token, the two URLs take 3-D Secure back;
        - card reader: ``reader`` reads the card first (nothing is recorded until it has).

        Raises ``PaymentRefused`` before anything is sent, ``OperationFailed`` after.
        """
        match method:
            case PaymentMethod.HOSTED_CHECKOUT | PaymentMethod.PAY_BY_LINK:
                return await self.open_checkout(
                    profile,
                    sale,
                    method=method,
                    success_url=success_url,
                    origin_url=origin_url,
                    in_browser=in_browser,
                )
            case PaymentMethod.EMBEDDED_CHECKOUT:
                return await self._open_card_form(profile, sale, origin_url)
            case PaymentMethod.DIRECT_CHARGE if source is not None:
                payment = await self.charge(
                    profile, sale, source, success_url=success_url, failure_url=failure_url
                )
                return SaleStarted(payment)
            case PaymentMethod.CARD_READER if reader is not None:
                return SaleStarted(
                    await self._read_and_charge(profile, sale, reader, read_timeout_s)
                )
        raise ValueError(f"cannot take a sale as {method} with what was given")

    async def open_checkout(
        self,
        profile: str,
        sale: Sale,
        *,
        method: PaymentMethod = PaymentMethod.HOSTED_CHECKOUT,
        success_url: str | None = None,
        origin_url: str | None = None,
        in_browser: bool = False,
    ) -> SaleStarted:
        """Open a provider checkout for the sale, paid as ``method`` (the journal's name for
        it): the customer pays on the provider's page, a link, the card form or a reader.
        ``in_browser``: the page opens in the system browser, not the till's own view."""
        provider = self.provider_for(profile)
        mode = _checkout_mode(method, provider, in_browser=in_browser)
        needed = (
            Capability.HOSTED_CHECKOUT if mode is CheckoutMode.HOSTED else Capability.PAY_BY_LINK
        )
        self._require(provider, needed)
        self._require_amount(provider, sale.amount)
        payment = self._new_payment(profile, provider, method, sale)

        def call(key: str) -> Awaitable[CheckoutSession]:
            return provider.create_checkout(
                CheckoutRequest(
                    reference=payment.reference,
                    amount=sale.amount,
                    description=sale.description,
                    idempotency_key=key,
                    success_url=success_url,
                    origin_url=origin_url,
                    mode=mode,
                )
            )

        intent, session = await self._send(payment, Operation.CREATE_CHECKOUT, sale.amount, call)
        self._finish(intent, session.provider_ref)
        payment = self.journal.update_payment(
            payment.reference,
            now=self._clock(),
            state=PaymentState.PENDING,
            provider_ref=session.provider_ref,
            note=f"Checkout {session.provider_ref} opened at {provider.display_name}",
        )
        payment = apply_session(self.journal, payment, session, self._clock())
        self._publish(payment, Operation.CREATE_CHECKOUT)
        return SaleStarted(payment, session)

    async def charge(
        self,
        profile: str,
        sale: Sale,
        source: PaymentSource,
        *,
        capture: bool = True,
        success_url: str | None = None,
        failure_url: str | None = None,
        method: PaymentMethod = PaymentMethod.DIRECT_CHARGE,
    ) -> PaymentRecord:
        """Charge (or, with ``capture=False``, only authorize) a token, source or customer;
        ``method`` says where the card came from (``PaymentMethod.CARD_READER`` for a reader)."""
        provider = self.provider_for(profile)
        self._require(provider, Capability.DIRECT_CHARGE)
        if not capture:
            self._require(provider, Capability.AUTHORIZE_CAPTURE)
        self._require_amount(provider, sale.amount)
        payment = self._new_payment(profile, provider, method, sale)
        return await self._charge(
            payment, provider, source, capture, None, success_url, failure_url
        )

    async def complete_checkout(
        self, reference: str, source: PaymentSource, *, capture: bool = True
    ) -> PaymentRecord:
        """Pay an open checkout through the API with a token (no hosted page)."""
        payment = self._get(reference)
        provider = self.provider_for(payment.profile)
        self._require(provider, Capability.DIRECT_CHARGE)
        if payment.state is not PaymentState.PENDING or payment.provider_ref is None:
            raise PaymentRefused(
                f"Only an open checkout can be paid; this one is {payment.state.value}."
            )
        return await self._charge(payment, provider, source, capture, payment.provider_ref)

    async def _charge(
        self,
        payment: PaymentRecord,
        provider: PaymentProvider,
        source: PaymentSource,
        capture: bool,
        checkout_ref: str | None,
        success_url: str | None = None,
        failure_url: str | None = None,
    ) -> PaymentRecord:
        def call(key: str) -> Awaitable[ProviderPayment]:
            return provider.charge(
                ChargeRequest(
                    reference=payment.reference,
                    amount=payment.amount,
                    description=payment.description,
                    idempotency_key=key,
                    source=source,
                    capture=capture,
                    checkout_ref=checkout_ref,
                    success_url=success_url,
                    failure_url=failure_url,
                )
            )

        intent, reported = await self._send(payment, Operation.CHARGE, payment.amount, call)
        self._finish(intent, reported.provider_ref)
        payment = apply_payment(self.journal, payment, reported, self._clock())
        self._publish(payment, Operation.CHARGE)
        return payment

    async def cancel_checkout(self, reference: str) -> PaymentRecord:
        """The cashier gives up on a checkout. Look first: the customer may just have paid."""
        try:
            payment = await self.refresh(reference)
        except ProviderError as error:
            log.warning("Lookup before cancel of %s failed: %s", reference, error)
            payment = self._get(reference)
            if not can_transition(payment.state, PaymentState.IN_DOUBT):
                return payment
            payment = self.journal.update_payment(
                reference,
                now=self._clock(),
                state=PaymentState.IN_DOUBT,
                attention="Cancelled while the provider could not be reached; check this payment.",
                note=f"Cancelled by the cashier; lookup failed: {error.message}",
            )
            self._publish(payment, Operation.CANCEL)
            return payment
        if payment.state in (PaymentState.CREATED, PaymentState.PENDING):
            # No provider we use can close an open checkout; it lapses on its own.
            after_decline = " after a declined card" if payment.decline_code else ""
            payment = self.journal.update_payment(
                reference,
                now=self._clock(),
                state=PaymentState.FAILED,
                note=f"Cancelled by the cashier{after_decline} before the customer paid",
            )
            self._publish(payment, Operation.CANCEL)
        elif payment.state is PaymentState.REQUIRES_ACTION:
            # A bank check (3-D Secure) cannot be called off: unfinished, it lapses at the
            # provider. It stays open here so later lookups record how it ended.
            payment = self.journal.add_note(
                reference,
                now=self._clock(),
                note="Abandoned by the cashier during the bank check; it lapses at the provider",
            )
            self._publish(payment, Operation.CANCEL)
        return payment

    async def _open_card_form(
        self, profile: str, sale: Sale, origin_url: str | None
    ) -> SaleStarted:
        """Open a checkout (for the page the card form is rendered from) and mint the card
        form's narrowly scoped token for it."""
        opened = await self.open_checkout(
            profile, sale, method=PaymentMethod.EMBEDDED_CHECKOUT, origin_url=origin_url
        )
        assert opened.session is not None
        provider = self.provider_for(profile)
        try:
            card_form = await provider.embedded_checkout(opened.session.provider_ref)
        except ProviderError as error:
            # No card form can pay it now: close it at our end (after a look) and say why.
            payment = await self.cancel_checkout(opened.payment.reference)
            raise OperationFailed(payment, error) from error
        return SaleStarted(opened.payment, opened.session, card_form)

    async def _read_and_charge(
        self,
        profile: str,
        sale: Sale,
        reader: SimulatedReader | UnavailableReader,
        timeout_s: float,
    ) -> PaymentRecord:
        """Read a card, then charge it (intent → call → outcome).

        Nothing is recorded until a card was read: a cancelled, timed-out or early-removed
        read leaves no payment anywhere.
        """
        method = PaymentMethod.CARD_READER
        source = await reader.read_card(sale.amount, timeout_s)
        try:
            if isinstance(reader, SimulatedReader) and reader.pays_open_checkout:
                opened = await self.open_checkout(profile, sale, method=method)
                payment = await self.complete_checkout(opened.payment.reference, source)
            else:
                payment = await self.charge(profile, sale, source, method=method)
        except Exception:
            if isinstance(reader, SimulatedReader):
                reader.finish("Payment not completed", sale.amount)
            raise
        if isinstance(reader, SimulatedReader):
            reader.finish(f"Payment {payment.state.value}", sale.amount)
        return payment


def _checkout_mode(
    method: PaymentMethod, provider: PaymentProvider, *, in_browser: bool
) -> CheckoutMode:
    """The provider checkout a method opens: the one place a payment method becomes one.

    Pay-by-link opens a link. A hosted checkout for the system browser opens the provider's
    link page where it has one: that needs no return URL, and a hosted page may insist on
    one only the till's own view can catch (its journal method stays hosted checkout). The
    card form and a card reader pay a hosted checkout.
    """
    if method == PaymentMethod.PAY_BY_LINK:
        return CheckoutMode.LINK
    can_link = Capability.PAY_BY_LINK in provider.capabilities
    if method == PaymentMethod.HOSTED_CHECKOUT and in_browser and can_link:
        return CheckoutMode.LINK
    return CheckoutMode.HOSTED
