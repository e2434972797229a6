"""The time windows that matter for one payment, counting down.

Only windows the till can actually know are shown: the authorization's expiry (7 days from
the authorization) and JustiFi's 25-minute void window, which needs the moment JustiFi
created the payment (a direct charge's sale time, or the provider's history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pos_app.domain.payment import PaymentRuleError
from pos_app.journal.store import PaymentRecord

AUTHORIZATION_LIFETIME: Final = timedelta(days=7)
JUSTIFI_VOID_WINDOW: Final = timedelta(minutes=25)
_SOON: Final = timedelta(days=1)
_DIRECT_CHARGE: Final = "direct_charge"


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
    start = authorized_at or (payment.created_at if payment.method == _DIRECT_CHARGE else None)
    return True, (start + JUSTIFI_VOID_WINDOW) if start else None


def can_void_now(payment: PaymentRecord, now: datetime, deadline: datetime | None) -> bool:
    """The money rules and the known window allow a void (the provider has the last word)."""
    try:
        payment.ledger.void(now=now, window_ends_at=deadline)
    except PaymentRuleError:
        return False
    return True


def windows(payment: PaymentRecord, now: datetime, authorized_at: datetime | None) -> list[Window]:
    found: list[Window] = []
    has_window, deadline = void_deadline(payment, authorized_at)
    voidable = can_void_now(payment, now, None)
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
