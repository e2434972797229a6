"""The time windows that matter for one payment, counting down.

Only windows the till can actually know are shown: the authorization's expiry (7 days from
the authorization), JustiFi's 25-minute void window, which needs the moment JustiFi
created the payment (a direct charge's sale time, or the provider's history), and an open
checkout's or payment link's expiry, as the provider's checkout lookup reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pos_app.domain.payment import PaymentRuleError, PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import PaymentRecord

AUTHORIZATION_LIFETIME: Final = timedelta(days=7)
JUSTIFI_VOID_WINDOW: Final = timedelta(minutes=25)
_SOON: Final = timedelta(days=1)
LINK_SOON: Final = timedelta(minutes=5)
# What the customer sees of each provider checkout (``PaymentMethod.is_checkout_page``).
_CHECKOUT_NOUNS: Final = {
    PaymentMethod.PAY_BY_LINK: "Link",
    PaymentMethod.HOSTED_CHECKOUT: "Checkout page",
    PaymentMethod.EMBEDDED_CHECKOUT: "Checkout",
}
_OPEN: Final = frozenset({PaymentState.CREATED, PaymentState.PENDING})


@dataclass(frozen=True)
class Window:
    text: str
    tone: str  # "" | "warn" | "bad"


def void_deadline(
    payment: PaymentRecord, authorized_at: datetime | None
) -> tuple[bool, datetime | None]:
    """(the provider has a void window, its end when known)."""
    if payment.provider != "justifi":
        return False, None
    start = authorized_at or (payment.created_at if payment.method.charged_by_us else None)
    return True, (start + JUSTIFI_VOID_WINDOW) if start else None


def can_void_now(payment: PaymentRecord, now: datetime, deadline: datetime | None) -> bool:
    """The money rules and the known window allow a void (the provider has the last word)."""
    try:
        payment.ledger.void(now=now, window_ends_at=deadline)
    except PaymentRuleError:
        return False
    return True


def awaits_checkout(payment: PaymentRecord) -> bool:
    """The customer may still pay on a provider checkout (page, card form or link)."""
    return payment.method.is_checkout_page and payment.state in _OPEN


def link_window(payment: PaymentRecord, now: datetime, expires_at: datetime) -> Window | None:
    if not awaits_checkout(payment):
        return None
    noun = _CHECKOUT_NOUNS[payment.method]
    if now >= expires_at:
        return Window(
            f"{noun} expired at {_clock(expires_at)}: the customer can no longer pay.", "bad"
        )
    left = expires_at - now
    return Window(
        f"{noun} expires in {countdown(left)} ({_clock(expires_at)})",
        "warn" if left < LINK_SOON else "",
    )


def windows(
    payment: PaymentRecord,
    now: datetime,
    authorized_at: datetime | None,
    link_expires_at: datetime | None = None,
) -> list[Window]:
    found: list[Window] = []
    link = link_window(payment, now, link_expires_at) if link_expires_at else None
    if link is not None:
        found.append(link)
    has_window, deadline = void_deadline(payment, authorized_at)
    # Nothing is held while the customer has yet to pay: no void window to speak of.
    voidable = not awaits_checkout(payment) and can_void_now(payment, now, None)
    if has_window and voidable:
        if deadline is None:
            found.append(
                Window(
                    "JustiFi voids only within 25 minutes of the payment. "
                    "Refresh from provider to see the time left.",
                    "",
                )
            )
        elif now < deadline:
            left = deadline - now
            found.append(
                Window(
                    f"Void available until {_clock(deadline)} ({countdown(left)} left)",
                    "warn" if left < timedelta(minutes=5) else "",
                )
            )
        else:
            found.append(
                Window(
                    f"Void window closed at {_clock(deadline)}: capture then refund instead.", "bad"
                )
            )
    if payment.ledger.capturable.minor > 0:
        expires = (authorized_at or payment.created_at) + AUTHORIZATION_LIFETIME
        if now < expires:
            left = expires - now
            found.append(
                Window(
                    f"Authorization expires in {countdown(left)} ({_clock(expires)}); "
                    "capture before then.",
                    "warn" if left < _SOON else "",
                )
            )
        else:
            found.append(
                Window(
                    f"The authorization has probably expired ({_clock(expires)}). "
                    "Refresh from provider before capturing.",
                    "bad",
                )
            )
    return found


def countdown(left: timedelta) -> str:
    seconds = max(int(left.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes}:{seconds:02d}"


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
