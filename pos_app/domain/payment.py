"""One payment state machine for every provider, and the ledger that guards its amounts.

Each provider's ``mapping.py`` maps every provider status to a ``PaymentState``. ``TRANSITIONS``
below is the whole machine; ``PaymentLedger`` adds the money rules on top of it
(0 <= refunded <= captured <= authorized, void only before capture and inside the window,
nothing after a final state).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from pos_app.domain.money import Money, MoneyError, known_currencies

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "IllegalTransition",
    "PaymentLedger",
    "PaymentRuleError",
    "PaymentState",
    "allowed_transitions",
    "can_transition",
    "is_final",
    "require_transition",
]


class PaymentState(StrEnum):
    CREATED = "created"  # we know of it; nothing sent or nothing answered yet
    PENDING = "pending"  # the provider is working on it
    REQUIRES_ACTION = "requires_action"  # waiting for the customer (3-D Secure, bank app...)
    AUTHORIZED = "authorized"  # funds held, nothing captured
    CAPTURED = "captured"  # money taken (in full, or a final partial capture)
    PARTIALLY_CAPTURED = "partially_captured"  # part taken, more may follow in one final capture
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"  # everything captured went back
    VOIDED = "voided"  # authorization cancelled before capture
    DECLINED = "declined"  # the issuer or provider said no
    FAILED = "failed"  # technical failure, no money moved
    EXPIRED = "expired"  # the customer or the authorization ran out of time
    IN_DOUBT = "in_doubt"  # we sent a request and do not know what happened


_S = PaymentState

FINAL_STATES: Final = frozenset({_S.REFUNDED, _S.VOIDED, _S.DECLINED, _S.FAILED, _S.EXPIRED})

# Every legal move. A state maps to the states it may become; a state not listed as its own
# successor cannot "move" to itself. Any state that is not final may become IN_DOUBT (a request
# whose outcome we lost); a lookup then resolves IN_DOUBT to whatever the provider reports.
_TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    _S.CREATED: frozenset(
        {_S.PENDING, _S.REQUIRES_ACTION, _S.AUTHORIZED, _S.CAPTURED}
        | {_S.DECLINED, _S.FAILED, _S.EXPIRED, _S.IN_DOUBT}
    ),
    _S.PENDING: frozenset(
        {_S.REQUIRES_ACTION, _S.AUTHORIZED, _S.CAPTURED}
        | {_S.DECLINED, _S.FAILED, _S.EXPIRED, _S.VOIDED, _S.IN_DOUBT}
    ),
    _S.REQUIRES_ACTION: frozenset(
        {_S.PENDING, _S.AUTHORIZED, _S.CAPTURED} | {_S.DECLINED, _S.FAILED, _S.EXPIRED, _S.IN_DOUBT}
    ),
    _S.AUTHORIZED: frozenset(
        {_S.CAPTURED, _S.PARTIALLY_CAPTURED, _S.VOIDED, _S.EXPIRED, _S.IN_DOUBT}
    ),
    # The one further capture allowed after a partial one is the final capture.
    _S.PARTIALLY_CAPTURED: frozenset(
        {_S.CAPTURED, _S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.IN_DOUBT}
    ),
    _S.CAPTURED: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.IN_DOUBT}),
    _S.PARTIALLY_REFUNDED: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.IN_DOUBT}),
    # Resolving doubt never goes back to CREATED (something was sent) nor stays IN_DOUBT.
    _S.IN_DOUBT: frozenset(set(PaymentState) - {_S.CREATED, _S.IN_DOUBT}),
    _S.REFUNDED: frozenset(),
    _S.VOIDED: frozenset(),
    _S.DECLINED: frozenset(),
    _S.FAILED: frozenset(),
    _S.EXPIRED: frozenset(),
}
TRANSITIONS: Final = MappingProxyType(_TRANSITIONS)

# How a state reads in a sentence: "This payment is <label>".
_LABELS: Final[dict[PaymentState, str]] = {
    _S.CREATED: "new",
    _S.PENDING: "pending",
    _S.REQUIRES_ACTION: "waiting for the customer",
    _S.AUTHORIZED: "authorized",
    _S.CAPTURED: "captured",
    _S.PARTIALLY_CAPTURED: "partly captured",
    _S.PARTIALLY_REFUNDED: "partly refunded",
    _S.REFUNDED: "refunded",
    _S.VOIDED: "voided",
    _S.DECLINED: "declined",
    _S.FAILED: "failed",
    _S.EXPIRED: "expired",
    _S.IN_DOUBT: "in doubt",
}


def _label(state: PaymentState) -> str:
    return _LABELS[state]


def is_final(state: PaymentState | str) -> bool:
    return PaymentState(state) in FINAL_STATES


def allowed_transitions(src: PaymentState | str) -> frozenset[PaymentState]:
    return TRANSITIONS[PaymentState(src)]


def can_transition(src: PaymentState | str, dst: PaymentState | str) -> bool:
    return PaymentState(dst) in allowed_transitions(src)


class PaymentRuleError(ValueError):
    """A payment operation broke a rule. ``code`` is stable; ``str(exc)`` is for people.

    Codes: final_state, over_capture, over_refund, void_after_capture, void_window_closed,
    currency_mismatch, not_positive, illegal_transition.
    """

    code: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class IllegalTransition(PaymentRuleError):
    """``src`` may not become ``dst``. A ``PaymentRuleError`` with code ``illegal_transition``."""

    src: PaymentState
    dst: PaymentState

    def __init__(self, src: PaymentState, dst: PaymentState, message: str | None = None) -> None:
        if message is None:
            message = f"This payment is {_label(src)}, so it cannot become {_label(dst)}."
        super().__init__("illegal_transition", message)
        self.src = src
        self.dst = dst


def require_transition(src: PaymentState | str, dst: PaymentState | str) -> None:
    """Raise ``IllegalTransition`` unless the table allows ``src`` → ``dst``."""
    if not can_transition(src, dst):
        raise IllegalTransition(PaymentState(src), PaymentState(dst))


def _check_amount_field(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of minor units, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class PaymentLedger:
    """Amounts and state of one payment; every method returns a new ledger or raises.

    Invariant: 0 <= refunded <= captured <= authorized (minor units of ``currency``).
    Operations are allowed from any state whose table row permits the resulting state, so an
    IN_DOUBT payment is resolved by recording what the provider reports (``charge``,
    ``capture``, ``refund`` or ``move_to``).
    """

    currency: str
    state: PaymentState = PaymentState.CREATED
    authorized: int = 0
    captured: int = 0
    refunded: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or self.currency.upper() not in known_currencies():
            raise MoneyError("unknown_currency", f"“{self.currency}” is not a known currency.")
        object.__setattr__(self, "currency", self.currency.upper())
        object.__setattr__(self, "state", PaymentState(self.state))
        for name in ("authorized", "captured", "refunded"):
            if _check_amount_field(name, getattr(self, name)) < 0:
                raise PaymentRuleError("not_positive", "Payment amounts cannot be negative.")
        if self.captured > self.authorized:
            raise PaymentRuleError("over_capture", "More is captured than was authorized.")
        if self.refunded > self.captured:
            raise PaymentRuleError("over_refund", "More is refunded than was captured.")

    # --- what is left ---

    @property
    def capturable(self) -> Money:
        """What a capture could still take now (zero where no capture is allowed)."""
        open_auth = can_transition(self.state, _S.CAPTURED) and self.refunded == 0
        return self._money(self.authorized - self.captured if open_auth else 0)

    @property
    def refundable(self) -> Money:
        """What a refund could still return now (zero where no refund is allowed)."""
        can_refund = can_transition(self.state, _S.REFUNDED)
        return self._money(self.captured - self.refunded if can_refund else 0)

    # --- operations ---

    def authorize(self, amount: Money) -> PaymentLedger:
        """Funds held for ``amount`` → AUTHORIZED. Only once per payment."""
        self._require_not_final()
        minor = self._positive(amount)
        self._require_transition(_S.AUTHORIZED, "authorized", allowed=not self.authorized)
        return self._become(_S.AUTHORIZED, authorized=minor)

    def capture(self, amount: Money, *, final: bool = True) -> PaymentLedger:
        """Take ``amount`` (at most ``capturable``). CAPTURED when ``final`` or nothing is left,
        otherwise PARTIALLY_CAPTURED; after that, one more (final) capture is allowed."""
        self._require_not_final()
        minor = self._positive(amount)
        captured = self.captured + minor
        target = _S.CAPTURED if final or captured >= self.authorized else _S.PARTIALLY_CAPTURED
        if self.state is _S.PARTIALLY_CAPTURED is target:
            raise IllegalTransition(
                self.state, target, "After a partial capture, the next capture must be final."
            )
        self._require_transition(target, "captured")
        limit = self.capturable
        if minor > limit.minor:
            raise PaymentRuleError("over_capture", _limit_sentence(limit, "captured"))
        return self._become(target, captured=captured)

    def charge(self, amount: Money) -> PaymentLedger:
        """A sale: authorize and capture ``amount`` at once → CAPTURED."""
        self._require_not_final()
        minor = self._positive(amount)
        self._require_transition(_S.CAPTURED, "charged", allowed=not self.authorized)
        return self._become(_S.CAPTURED, authorized=minor, captured=minor)

    def refund(self, amount: Money) -> PaymentLedger:
        """Return ``amount`` (at most ``refundable``) → PARTIALLY_REFUNDED or REFUNDED."""
        self._require_not_final()
        minor = self._positive(amount)
        refunded = self.refunded + minor
        target = _S.REFUNDED if refunded >= self.captured else _S.PARTIALLY_REFUNDED
        self._require_transition(target, "refunded")
        limit = self.refundable
        if minor > limit.minor:
            raise PaymentRuleError("over_refund", _limit_sentence(limit, "refunded"))
        return self._become(target, refunded=refunded)

    def void(self, *, now: datetime, window_ends_at: datetime | None) -> PaymentLedger:
        """Cancel an AUTHORIZED (nothing captured) or PENDING payment → VOIDED.

        ``window_ends_at`` is the provider's last moment for a void; ``now`` must be before it.
        Both must then be timezone-aware. To record a void the provider reports, use ``move_to``.
        """
        self._require_not_final()
        if self.captured:
            raise PaymentRuleError(
                "void_after_capture",
                "Money has already been captured, so this payment cannot be voided; refund it.",
            )
        allowed = self.state in (_S.AUTHORIZED, _S.PENDING)
        self._require_transition(_S.VOIDED, "voided", allowed=allowed)
        if window_ends_at is not None:
            if now.tzinfo is None or window_ends_at.tzinfo is None:
                raise ValueError("now and window_ends_at must be timezone-aware")
            if not now < window_ends_at:
                raise PaymentRuleError(
                    "void_window_closed", "The time to void this payment has passed."
                )
        return self._become(_S.VOIDED)

    def move_to(self, state: PaymentState) -> PaymentLedger:
        """Record a status the provider reports, amounts unchanged: declined, expired, in_doubt,
        or in_doubt resolved to the state the amounts already describe. Moves that need an
        amount (a capture, a refund) go through their own methods."""
        target = PaymentState(state)
        self._require_not_final()
        self._require_transition(target, None)
        return self._become(target)

    # --- helpers ---

    def _money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    def _positive(self, amount: Money) -> int:
        if not isinstance(amount, Money):
            raise TypeError(f"amount must be Money, not {type(amount).__name__}")
        if amount.currency != self.currency:
            raise PaymentRuleError(
                "currency_mismatch",
                f"This payment is in {self.currency}, not {amount.currency}.",
            )
        if amount.minor <= 0:
            raise PaymentRuleError("not_positive", "The amount must be more than zero.")
        return amount.minor

    def _require_not_final(self) -> None:
        if is_final(self.state):
            raise PaymentRuleError(
                "final_state",
                f"This payment is already {_label(self.state)} and cannot change any more.",
            )

    def _require_transition(
        self, target: PaymentState, verb: str | None, *, allowed: bool = True
    ) -> None:
        """Table check plus the operation's own precondition, with a sentence naming the verb."""
        if allowed and can_transition(self.state, target):
            return
        if verb is None:
            raise IllegalTransition(self.state, target)
        raise IllegalTransition(
            self.state, target, f"This payment is {_label(self.state)}, so it cannot be {verb}."
        )

    def _become(
        self,
        target: PaymentState,
        *,
        authorized: int | None = None,
        captured: int | None = None,
        refunded: int | None = None,
    ) -> PaymentLedger:
        new = replace(
            self,
            state=target,
            authorized=self.authorized if authorized is None else authorized,
            captured=self.captured if captured is None else captured,
            refunded=self.refunded if refunded is None else refunded,
        )
        if not _amounts_fit(new):
            raise IllegalTransition(
                self.state,
                target,
                f"The recorded amounts do not fit a {_label(target)} payment; "
                "record the capture or refund with its amount.",
            )
        return new


def _limit_sentence(limit: Money, verb: str) -> str:
    if limit.is_zero:
        return f"Nothing more can be {verb} on this payment."
    return f"At most {limit.plain()} {limit.currency} can be {verb}."


def _amounts_fit(ledger: PaymentLedger) -> bool:
    """Whether the amounts can describe a payment in ``ledger.state``."""
    a, c, r = ledger.authorized, ledger.captured, ledger.refunded
    match ledger.state:
        case _S.CREATED:
            return a == c == r == 0
        case _S.AUTHORIZED:
            return a > 0 and c == 0
        case _S.PARTIALLY_CAPTURED:
            return 0 < c < a and r == 0
        case _S.CAPTURED:
            return c > 0 and r == 0
        case _S.PARTIALLY_REFUNDED:
            return 0 < r < c
        case _S.REFUNDED:
            return 0 < r == c
        case _S.IN_DOUBT:
            return True
        case _:  # pending, waiting, voided, declined, failed, expired: nothing was taken
            return c == 0
