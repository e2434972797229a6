"""Finding payments: one filter, turned into one parameterised SQL WHERE clause.

The search box takes what staff actually type: our reference (``S-20261122-7K3M9Q``), a
provider's checkout or payment id, a card's last four digits, or words from the description.
Filters narrow by amount range, date range, provider, status and "needs attention".

Each clause is written so a year of payments stays fast (schema migration 4 has the indexes):
text of three or more characters is found through the trigram index ``payments_text``
(a case-insensitive substring match), shorter text falls back to LIKE over every row.
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
# The full-text index works on three-character pieces; shorter text cannot use it.
TRIGRAM: Final = 3
_MATCHES: Final = "id IN (SELECT rowid FROM payments_text WHERE payments_text MATCH ?)"
# "+id" is not indexable, so SQLite walks another index (time) and probes the matches.
_PROBED_MATCHES: Final = "+id IN (SELECT rowid FROM payments_text WHERE payments_text MATCH ?)"


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


def where_clause(
    search: PaymentFilter, *, now: datetime, many_matches: bool = False
) -> tuple[str, list[object]]:
    """``("WHERE …", params)`` for ``search`` ("" when it filters nothing).

    By default text matches are fetched from the full-text index and then sorted: quick
    while they are few. ``many_matches`` (a caller that knows, e.g. from a capped count, that
    thousands match) instead walks the time index and stops after a page.
    """
    parts: list[str] = []
    params: list[object] = []
    text = search.text.strip()
    if text:
        clause, values = _text_clause(text, many_matches)
        parts.append(clause)
        params.extend(values)
    if search.amount_min is not None and search.amount_min == search.amount_max:
        # One amount: its index yields the matches already in time order.
        parts.append("amount_minor = ?")
        params.append(search.amount_min)
    else:
        # A range usually matches many rows: telling the planner so makes the first page
        # walk the time index (stopping after a page) instead of sorting every match.
        if search.amount_min is not None:
            parts.append("likelihood(amount_minor >= ?, 0.9)")
            params.append(search.amount_min)
        if search.amount_max is not None:
            parts.append("likelihood(amount_minor <= ?, 0.9)")
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
        # Three indexed look-ups, not one OR that SQLite would answer by reading every row.
        parts.append(
            "id IN (SELECT id FROM payments WHERE attention IS NOT NULL"
            " UNION SELECT id FROM payments WHERE state = 'in_doubt'"
            " UNION SELECT id FROM payments WHERE state = 'authorized' AND created_at < ?)"
        )
        params.append(to_db(now - AUTHORIZATION_WARNING))
    if not parts:
        return "", []
    return "WHERE " + " AND ".join(parts), params


def _text_clause(text: str, many: bool) -> tuple[str, list[object]]:
    if REFERENCE_RE.fullmatch(text.upper()):
        return "reference = ?", [text.upper()]
    if _LAST4_RE.fullmatch(text):
        clause, values = _containing(text, ("description",), many)
        return f"(card_last4 = ? OR {clause})", [text, *values]
    if _PROVIDER_ID_RE.fullmatch(text):
        return "(provider_ref = ? OR provider_payment_ref = ?)", [text, text]
    return _containing(text, ("description", "reference"), many)


def _containing(text: str, columns: tuple[str, ...], many: bool) -> tuple[str, list[object]]:
    """Rows whose ``columns`` contain ``text``, ignoring case."""
    if len(text) >= TRIGRAM:
        phrase = '"' + text.replace('"', '""') + '"'
        query = "{" + " ".join(columns) + "} : " + phrase
        return (_PROBED_MATCHES if many else _MATCHES), [query]
    # Too short for a trigram: every row is read, which is quick enough for one or two letters
    # only because so many rows match that the first page fills at once.
    likes = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns)
    return f"({likes})", [_like(text) for _ in columns]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _marks(values: frozenset[object] | frozenset[str] | frozenset[PaymentState]) -> str:
    return ",".join("?" for _ in values)
