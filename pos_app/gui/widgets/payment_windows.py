"""The time windows that matter for one payment, counting down.

Only windows the till can actually know are shown: the authorization's expiry (7 days from
the authorization), a provider's void window (JustiFi's 25 minutes), which needs the moment
the provider created the payment (a direct charge's sale time, or its history), and an open
checkout's or payment link's expiry, as the provider's checkout lookup reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.providers.registry import display_name
from pos_app.services.payments import can_void_now, void_deadline

if TYPE_CHECKING:
    from pos_app.services.records import PaymentRecord

AUTHORIZATION_LIFETIME: Final = timedelta(days=7)
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
    window, deadline = void_deadline(payment, authorized_at)
    # Nothing is held while the customer has yet to pay: no void window to speak of.
    voidable = not awaits_checkout(payment) and can_void_now(payment, now, None)
    if window is not None and voidable:
        if deadline is None:
            found.append(
                Window(
                    f"{display_name(payment.provider)} voids only within "
                    f"{countdown_words(window)} of the payment. "
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


def countdown_words(span: timedelta) -> str:
    """A provider's window in words ("25 minutes", "2 hours")."""
    minutes = int(span.total_seconds()) // 60
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
