"""Finding payments: one filter, turned into one parameterised SQL WHERE clause.

The search box takes what staff actually type: our reference (``S-20261122-7K3M9Q``), a
provider's checkout or payment id, a card's last four digits, or words from the description.
Filters narrow by amount range, date range, provider, status and "needs attention".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from pos_app.domain.ids import REFERENCE_RE
from pos_app.domain.payment import PaymentState
from pos_app.journal.times import to_db

# A provider id: a short lowercase prefix and an underscore (cho_, py_, pay_, hpp_, pl_, sid_…),
# or a long token without spaces (ReCharge checkout tokens, Payfect UUIDs).
_PROVIDER_ID_RE: Final = re.compile(r"[a-z]{1,5}_[A-Za-z0-9]{6,}|[A-Za-z0-9-]{24,}")
_LAST4_RE: Final = re.compile(r"\d{4}")
# Card authorizations lapse after about 7 days; flag them a day before.
AUTHORIZATION_WARNING: Final = timedelta(days=6)


@dataclass(frozen=True)
class PaymentFilter:
    text: str = ""
    amount_min: int | None = None  # minor units, inclusive
    amount_max: int | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    providers: frozenset[str] = field(default_factory=frozenset)
    states: frozenset[PaymentState] = field(default_factory=frozenset)
    needs_attention: bool = False

    @property
    def is_empty(self) -> bool:
        return self == PaymentFilter()


def where_clause(search: PaymentFilter, *, now: datetime) -> tuple[str, list[object]]:
    """``("WHERE …", params)`` for ``search`` ("" when it filters nothing)."""
    parts: list[str] = []
    params: list[object] = []
    text = search.text.strip()
    if text:
        clause, values = _text_clause(text)
        parts.append(clause)
        params.extend(values)
    if search.amount_min is not None:
        parts.append("amount_minor >= ?")
        params.append(search.amount_min)
    if search.amount_max is not None:
        parts.append("amount_minor <= ?")
        params.append(search.amount_max)
    if search.created_from is not None:
        parts.append("created_at >= ?")
        params.append(to_db(search.created_from))
    if search.created_to is not None:
        parts.append("created_at < ?")
        params.append(to_db(search.created_to))
    if search.providers:
        parts.append(f"provider IN ({_marks(search.providers)})")
        params.extend(sorted(search.providers))
    if search.states:
        parts.append(f"state IN ({_marks(search.states)})")
        params.extend(sorted(s.value for s in search.states))
    if search.needs_attention:
        parts.append(
            "(attention IS NOT NULL OR state = 'in_doubt'"
            " OR (state = 'authorized' AND created_at < ?))"
        )
        params.append(to_db(now - AUTHORIZATION_WARNING))
    if not parts:
        return "", []
    return "WHERE " + " AND ".join(parts), params


def _text_clause(text: str) -> tuple[str, list[object]]:
    if REFERENCE_RE.fullmatch(text.upper()):
        return "reference = ?", [text.upper()]
    if _LAST4_RE.fullmatch(text):
        return "(card_last4 = ? OR description LIKE ? ESCAPE '\\')", [text, _like(text)]
    if _PROVIDER_ID_RE.fullmatch(text):
        return "(provider_ref = ? OR provider_payment_ref = ?)", [text, text]
    return "(description LIKE ? ESCAPE '\\' OR reference LIKE ? ESCAPE '\\')", [
        _like(text),
        _like(text.upper()),
    ]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _marks(values: frozenset[object] | frozenset[str] | frozenset[PaymentState]) -> str:
    return ",".join("?" for _ in values)
