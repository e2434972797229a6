"""Finding payments: one filter, turned into one parameterised SQL WHERE clause.

The search box takes what staff actually type: our reference (``S-20261122-7K3M9Q``), a
provider's checkout or payment id, a card's last four digits, or words from the description.
Filters narrow by amount range, date range, provider, status, "needs attention" and
environment: real money only (live, and payments recorded before environments were kept), or
training (sandbox) only.

Each clause is written so a year of payments stays fast (schema migrations 4 and 5 have the
indexes): text of three or more characters is found through the trigram index ``payments_text``
(a case-insensitive substring match), shorter text falls back to LIKE over every row.

The Payments screen asks for a first page and a count capped at about a thousand; ``page_query``
and ``count_query`` write those so they stop early. A word as common as "croissant" matches
thousands of payments: the page reads the full-text index newest first (its rowid is the
payment id, which follows time except for the few payments in ``payments_backdated``, merged
in by time) instead of fetching every match and sorting it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from pos_app.domain.ids import REFERENCE_RE
from pos_app.journal.times import to_db

if TYPE_CHECKING:
    from pos_app.domain.payment import PaymentState

# A provider id: a short lowercase prefix and an underscore (cho_, py_, pay_, hpp_, pl_, sid_…),
# or a long token without spaces (ReCharge checkout tokens, Payfect UUIDs).
_PROVIDER_ID_RE: Final = re.compile(r"[a-z]{1,5}_[A-Za-z0-9]{6,}|[A-Za-z0-9-]{24,}")
_LAST4_RE: Final = re.compile(r"\d{4}")
# Card authorizations lapse after about 7 days; flag them a day before.
AUTHORIZATION_WARNING: Final = timedelta(days=6)
# What "needs attention" means; only the last one takes a parameter (the warning time).
_ATTENTION: Final = (
    "attention IS NOT NULL",
    "state = 'in_doubt'",
    "state = 'authorized' AND created_at < ?",
)
# The full-text index works on three-character pieces; shorter text cannot use it.
TRIGRAM: Final = 3
_MATCHES: Final = "id IN (SELECT rowid FROM payments_text WHERE payments_text MATCH ?)"
# "+id" is not indexable, so SQLite walks another index (time) and probes the matches.
_PROBED_MATCHES: Final = "+id IN (SELECT rowid FROM payments_text WHERE payments_text MATCH ?)"
_MATCH: Final = "payments_text MATCH ?"
# One payment at a time: a seek in the index, never the whole list of matches.
_MATCHES_ONE: Final = (
    "EXISTS (SELECT 1 FROM payments_text WHERE payments_text MATCH ? AND rowid = payments.id)"
)
# Matches read from the index in id order; CROSS JOIN keeps the planner from sorting them.
_BY_ID: Final = "payments_text CROSS JOIN payments ON payments.id = payments_text.rowid"
_IN_ID_ORDER: Final = "payments.id NOT IN (SELECT payment_id FROM payments_backdated)"
_BACKDATED: Final = (
    "payments_backdated CROSS JOIN payments ON payments.id = payments_backdated.payment_id"
)


def environment_clause(training: bool, table: str = "") -> str:
    """SQL true for training (sandbox) payments, or (``training`` False) for real money's:
    live, and those whose environment is unknown (recorded before migration 9), which
    always count as real money. ``table`` qualifies the column (``"p"`` → ``p.environment``)."""
    column = f"{table}.environment" if table else "environment"
    return f"{column} = 'sandbox'" if training else f"{column} IS NOT 'sandbox'"


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
    # None: any environment; False: real money only (live or unknown); True: training only.
    training: bool | None = None

    @property
    def is_empty(self) -> bool:
        return self == PaymentFilter()

    @property
    def is_empty_but_environment(self) -> bool:
        """Nothing narrows it but which environment (real money, training or both)."""
        return replace(self, training=None).is_empty


def where_clause(
    search: PaymentFilter, *, now: datetime, many_matches: bool = False
) -> tuple[str, list[object]]:
    """``("WHERE …", params)`` for ``search`` ("" when it filters nothing).

    By default text matches are fetched from the full-text index and then sorted: quick
    while they are few. ``many_matches`` (a caller that knows, e.g. from a capped count, that
    thousands match) instead walks the sorted column's index and stops after a page. (In time
    order, ``page_query`` reads the index in order instead.)
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
        branches = " UNION ".join(f"SELECT id FROM payments WHERE {b}" for b in _ATTENTION)  # noqa: S608
        parts.append(f"id IN ({branches})")
        params.append(to_db(now - AUTHORIZATION_WARNING))
    if search.training is not None:
        parts.append(environment_clause(search.training))
    if not parts:
        return "", []
    return "WHERE " + " AND ".join(parts), params


def count_query(
    search: PaymentFilter, *, now: datetime, cap: int | None
) -> tuple[str, list[object]]:
    """``SELECT COUNT(*)`` of ``search``'s matches; with ``cap`` it stops at ``cap + 1``."""
    match = fts_query(search)
    if cap is None or match is None or search.needs_attention:
        # With needs attention, its few payments are checked against the words' matches.
        where, params = where_clause(search, now=now)
        if cap is None:
            return f"SELECT COUNT(*) FROM payments {where}", params  # noqa: S608 - parameters
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM payments {where} LIMIT ?)"  # noqa: S608
        return sql, [*params, cap + 1]
    # The matches are read from the text index as they come, until there are enough.
    rest, params = _rest(search, now)
    source = _BY_ID if rest else "payments_text"  # its triggers keep one entry per payment
    where = " AND ".join([_MATCH, *rest])
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT ?)"  # noqa: S608
    return sql, [match, *params, cap + 1]


def page_query(
    search: PaymentFilter,
    *,
    now: datetime,
    column: str,
    descending: bool,
    offset: int,
    limit: int,
    many_matches: bool = False,
) -> tuple[str, list[object]]:
    """``SELECT * FROM payments`` rows ``offset`` to ``offset + limit`` of ``search``'s
    matches, ordered by ``column`` (then time, then id) in one direction."""
    way = "DESC" if descending else "ASC"
    order = f"created_at {way}, id {way}"
    match = fts_query(search)
    if column == "created_at" and search.needs_attention:
        return _attention_page(search, now, way, offset + limit, (limit, offset))
    if column == "created_at" and match is not None:
        return _words_page(search, match, now, way, offset + limit, (limit, offset))
    if column != "created_at":
        order = f"{column} {way}, {order}"
    where, params = where_clause(search, now=now, many_matches=many_matches)
    sql = f"SELECT * FROM payments {where} ORDER BY {order} LIMIT ? OFFSET ?"  # noqa: S608
    return sql, [*params, limit, offset]


def fts_query(search: PaymentFilter) -> str | None:
    """The full-text query when ``search``'s text is found through the trigram index alone
    (words, or a fragment of a reference), else None."""
    text = search.text.strip()
    if len(text) < TRIGRAM or _text_kind(text) != "words":
        return None
    return _match_expression(text, ("description", "reference"))


def _words_page(
    search: PaymentFilter, match: str, now: datetime, way: str, n: int, page: tuple[int, int]
) -> tuple[str, list[object]]:
    """The first ``n`` matches of a full-text search in time order, without reading them all.

    The index yields matches in id order, which is time order for every payment not listed
    in payments_backdated: ``newest`` reads n of those and stops. A backdated match can only
    be among the first n if it sorts before the last of ``newest`` (or ``newest`` ran out),
    so only those are looked up, one by one, and merged in.
    """
    rest, params = _rest(search, now)
    newest = " AND ".join([_MATCH, _IN_ID_ORDER, *rest])
    flip = "ASC" if way == "DESC" else "DESC"
    edge = ">=" if way == "DESC" else "<="
    last = f"(SELECT created_at, id FROM newest ORDER BY created_at {flip}, id {flip} LIMIT 1)"  # noqa: S608
    near = f"((SELECT COUNT(*) FROM newest) < ? OR (created_at, id) {edge} {last})"  # noqa: S608
    # CASE: the cheap test first, the look-up only for the few that pass it.
    late = " AND ".join([f"CASE WHEN {near} THEN {_MATCHES_ONE} ELSE 0 END", *rest])
    by_time = f"ORDER BY created_at {way}, id {way}"
    sql = (
        f"WITH newest AS MATERIALIZED (SELECT payments.* FROM {_BY_ID} WHERE {newest}"  # noqa: S608
        f" ORDER BY payments_text.rowid {way} LIMIT ?)"
        " SELECT * FROM newest UNION ALL SELECT * FROM"
        f" (SELECT payments.* FROM {_BACKDATED} WHERE {late} {by_time} LIMIT ?)"
        f" {by_time} LIMIT ? OFFSET ?"
    )
    return sql, [match, *params, n, n, match, *params, n, *page]


def _attention_page(
    search: PaymentFilter, now: datetime, way: str, n: int, page: tuple[int, int]
) -> tuple[str, list[object]]:
    """The first ``n`` payments needing attention in time order: each kind of attention walks
    its own index in time order and stops at n."""
    where, params = where_clause(replace(search, needs_attention=False), now=now)
    rest = [where.removeprefix("WHERE ")] if where else []
    cutoff = to_db(now - AUTHORIZATION_WARNING)
    by_time = f"ORDER BY created_at {way}, id {way}"
    selects: list[str] = []
    values: list[object] = []
    for kind in _ATTENTION:
        where = " AND ".join([kind, *rest])
        selects.append(f"SELECT * FROM (SELECT * FROM payments WHERE {where} {by_time} LIMIT ?)")  # noqa: S608
        values += [*([cutoff] if "?" in kind else []), *params, n]
    # UNION, not UNION ALL: a payment both in doubt and flagged is listed once.
    return " UNION ".join(selects) + f" {by_time} LIMIT ? OFFSET ?", [*values, *page]


def _rest(search: PaymentFilter, now: datetime) -> tuple[list[str], list[object]]:
    """``search``'s conditions but its full-text words."""
    where, params = where_clause(replace(search, text=""), now=now)
    return ([where.removeprefix("WHERE ")] if where else []), params


def _text_kind(text: str) -> str:
    if REFERENCE_RE.fullmatch(text.upper()):
        return "reference"
    if _LAST4_RE.fullmatch(text):
        return "last4"
    if _PROVIDER_ID_RE.fullmatch(text):
        return "provider_id"
    return "words"


def _text_clause(text: str, many: bool) -> tuple[str, list[object]]:
    kind = _text_kind(text)
    if kind == "reference":
        return "reference = ?", [text.upper()]
    if kind == "last4":
        clause, values = _containing(text, ("description",), many)
        return f"(card_last4 = ? OR {clause})", [text, *values]
    if kind == "provider_id":
        return "(provider_ref = ? OR provider_payment_ref = ?)", [text, text]
    return _containing(text, ("description", "reference"), many)


def _containing(text: str, columns: tuple[str, ...], many: bool) -> tuple[str, list[object]]:
    """Rows whose ``columns`` contain ``text``, ignoring case."""
    if len(text) >= TRIGRAM:
        return (_PROBED_MATCHES if many else _MATCHES), [_match_expression(text, columns)]
    # Too short for a trigram: every row is read, which is quick enough for one or two letters
    # only because so many rows match that the first page fills at once.
    likes = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns)
    return f"({likes})", [_like(text) for _ in columns]


def _match_expression(text: str, columns: tuple[str, ...]) -> str:
    """A trigram query for ``text`` as a phrase in any of ``columns``. Each long enough word
    is also required on its own: the same matches, but a rare word ("4821" in "order 4821")
    then lets the index skip the many rows that only share the common one."""
    words = [word for word in text.split() if len(word) >= TRIGRAM]
    terms = [*(words if words != [text] else []), text]
    phrases = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return "{" + " ".join(columns) + "} : (" + phrases + ")"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _marks(values: frozenset[object] | frozenset[str] | frozenset[PaymentState]) -> str:
    return ",".join("?" for _ in values)
