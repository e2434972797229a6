"""The card-reader port: what the till needs from a reader, and the sandbox's simulated one.

No provider we use offers card-present payments yet ("not yet available"), so a real profile
gets an ``UnavailableReader`` that says so. Sandbox profiles get a ``SimulatedReader`` a cashier
can practise with: the customer's gestures (present / tap / insert, a declining card, removing
the card early, walking away) are buttons, and an approved read becomes a card token charged
like any other sale (``PaymentService.take``), so it ends in a journaled sandbox payment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pos_app.domain.money import Money
    from pos_app.providers.spec import Tokenizer
    from pos_app.providers.types import PaymentSource

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 90.0


class ReaderState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    READY = "ready"
    WAITING_FOR_CARD = "waiting_for_card"
    PROCESSING = "processing"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True)
class ReaderStatus:
    state: ReaderState
    message: str  # what the cashier's screen says
    amount: Money | None = None  # what the customer's display shows


class ReaderError(Exception):
    """The read ended without a card: ``code`` is stable, the message is for the cashier."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Gesture(StrEnum):
    """What the simulated customer does at the reader."""

    TAP = "tap"
    INSERT = "insert"
    SWIPE = "swipe"
    DECLINING_CARD = "declining_card"
    REMOVE_EARLY = "remove_early"


# Cards the simulated reader "reads" (the sandbox's documented test cards).
APPROVED_CARD = "4242424242424242"
DECLINING_CARD = "4000000000000002"

StatusListener = Callable[[ReaderStatus], None]


class _StatusMixin:
    def __init__(self) -> None:
        self._status = ReaderStatus(ReaderState.DISCONNECTED, "No card reader connected")
        self._listeners: list[StatusListener] = []

    @property
    def status(self) -> ReaderStatus:
        return self._status

    def on_status(self, listener: StatusListener) -> None:
        self._listeners.append(listener)

    def _set(self, state: ReaderState, message: str, amount: Money | None = None) -> None:
        self._status = ReaderStatus(state, message, amount)
        for listener in list(self._listeners):
            listener(self._status)


class UnavailableReader(_StatusMixin):
    """What a live profile gets: card-present payments are not offered by its provider yet."""

    available = False

    def __init__(self, provider_name: str) -> None:
        super().__init__()
        self.name = f"{provider_name} card reader"
        self.provider_name = provider_name

    def readers(self) -> list[str]:
        return []

    async def connect(self) -> None:
        message = f"Card reader payments are not yet available for {self.provider_name}."
        self._set(ReaderState.ERROR, message)
        raise ReaderError("not_available", message)

    async def read_card(self, amount: Money, timeout_s: float = READ_TIMEOUT_S) -> PaymentSource:
        await self.connect()
        raise AssertionError("unreachable")

    def cancel(self) -> None:
        return None


class SimulatedReader(_StatusMixin):
    """A practice reader for sandbox profiles, driven by ``gesture()``."""

    available = True

    def __init__(
        self,
        tokenize: Tokenizer,
        *,
        name: str = "Sandbox reader",
        declining_card: str = DECLINING_CARD,
        pays_open_checkout: bool = False,
    ) -> None:
        super().__init__()
        self.name = name
        self.declining_card = declining_card  # the provider's own test card for a decline
        # The provider charges a token only against an open checkout (ReCharge).
        self.pays_open_checkout = pays_open_checkout
        self._tokenize = tokenize
        self._gesture: asyncio.Future[Gesture] | None = None

    def readers(self) -> list[str]:
        return [self.name]

    async def connect(self) -> None:
        if self._status.state not in (ReaderState.DISCONNECTED, ReaderState.ERROR):
            return
        self._set(ReaderState.CONNECTING, f"Connecting to {self.name}…")
        self._set(ReaderState.READY, f"{self.name} is ready")

    def gesture(self, gesture: Gesture) -> None:
        """The simulated customer acts; ignored unless the reader is waiting for a card."""
        if self._gesture is not None and not self._gesture.done():
            self._gesture.set_result(gesture)

    def cancel(self) -> None:
        """The cashier gives up waiting."""
        if self._gesture is not None and not self._gesture.done():
            self._gesture.cancel()

    async def read_card(self, amount: Money, timeout_s: float = READ_TIMEOUT_S) -> PaymentSource:
        """Wait for the customer's card (at most ``timeout_s``); a token for it, or ReaderError."""
        await self.connect()
        self._gesture = asyncio.get_running_loop().create_future()
        self._set(ReaderState.WAITING_FOR_CARD, "Present, tap or insert the card", amount)
        try:
            gesture = await asyncio.wait_for(self._gesture, timeout_s)
        except TimeoutError:
            raise self._fail("timeout", "No card was presented in time.", amount) from None
        except asyncio.CancelledError:
            self._set(ReaderState.READY, "Cancelled by the cashier", amount)
            raise ReaderError("cancelled", "The cashier cancelled the card read.") from None
        finally:
            self._gesture = None
        if gesture is Gesture.REMOVE_EARLY:
            raise self._fail(
                "removed_early", "The card was removed too soon. Insert it again.", amount
            )
        self._set(ReaderState.PROCESSING, "Reading card… do not remove it", amount)
        card = self.declining_card if gesture is Gesture.DECLINING_CARD else APPROVED_CARD
        try:
            return await self._tokenize(card)
        except Exception as error:
            log.exception("Simulated reader could not tokenize")
            raise self._fail(
                "read_failed", f"The card could not be read: {error}", amount
            ) from error

    def finish(self, message: str, amount: Money | None = None) -> None:
        """The payment service has the outcome; show it, then be ready for the next."""
        self._set(ReaderState.DONE, message, amount)

    def _fail(self, code: str, message: str, amount: Money) -> ReaderError:
        self._set(ReaderState.ERROR, message, amount)
        return ReaderError(code, message)
