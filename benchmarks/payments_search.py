"""A year of payments: how fast the Payments screen opens and each kind of search answers.

Fills a fresh journal with ``--rows`` payments (default 1,000,000) spread like a busy shop's
year: four providers, three methods, most sales captured, some refunded, declined, voided,
a few in doubt or flagged; prices from a menu, card last 4, provider ids, descriptions.
The fill goes straight into SQLite (one transaction, executemany, ``synchronous=OFF``) and
the journal is then reopened the app's way, so the triggers, indexes and pragmas are real.

Then it times, through the real Qt screen and model (offscreen): opening PaymentsScreen
(count + first page), and each kind of search (``--repeats`` runs, varied queries) as
``model.set_filter`` does it: count + first page. Prints JSON:
``{rows, open_ms, search_p95_ms: {kind: ms}, peak_rss_mb, ...}``.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pos_app.domain.payment import PaymentState
from pos_app.journal import migrations
from pos_app.journal.search import PaymentFilter, where_clause
from pos_app.journal.store import JournalStore

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PROVIDERS = (("justifi", 35), ("checkout_com", 30), ("recharge", 20), ("payfect", 15))
METHODS = (("hosted_checkout", 55), ("direct_charge", 35), ("pay_by_link", 10))
STATES = (
    ("captured", 8000),
    ("partially_refunded", 200),
    ("refunded", 300),
    ("declined", 600),
    ("failed", 200),
    ("expired", 300),
    ("voided", 150),
    ("authorized", 100),
    ("partially_captured", 20),
    ("pending", 50),
    ("created", 20),
    ("requires_action", 20),
    ("in_doubt", 2),
)
OPEN = frozenset({"authorized", "partially_captured", "pending", "created", "requires_action"})
ITEMS = (
    "Flat white",
    "Espresso",
    "Cappuccino",
    "Croissant",
    "Pain au chocolat",
    "Sourdough loaf",
    "Rye bread",
    "Baguette",
    "Birthday cake",
    "Cheesecake slice",
    "Carrot cake",
    "Chocolate donut",
    "Cinnamon roll",
    "Gift card",
    "Coffee beans 1kg",
    "Catering for 20",
    "Wedding cake deposit",
    "Sandwich",
    "Soup of the day",
    "Lemonade",
    "Macarons box",
    "Quiche lorraine",
    "Bagel",
    "Muffin",
    "Brownie",
    "Tea",
    "Hot chocolate",
    "Focaccia",
    "Scone",
    "Granola",
)
PRICES = (250, 300, 350, 395, 420, 450, 550, 650, 799, 899, 1250, 1799, 2400, 4500, 12000)
BRANDS = ("visa", "visa", "visa", "mastercard", "mastercard", "amex", "discover")
# (share in ‰, text) of payments the app flagged for a person to look at.
FLAGS = ("Could not check this payment: timed out.", "Checkout still open at the provider.")


def weighted(table: tuple[tuple[str, int], ...]) -> Callable[[random.Random], str]:
    """A picker of ``table``'s keys by weight (bisect on cumulative weights: cheap per row)."""
    keys = [k for k, _ in table]
    cumulative = list(itertools.accumulate(w for _, w in table))
    total = cumulative[-1]
    return lambda rng: keys[bisect.bisect_right(cumulative, rng.random() * total)]


pick_provider, pick_method, pick_state = weighted(PROVIDERS), weighted(METHODS), weighted(STATES)


def suffix(n: int) -> str:
    # A bijection on 30 bits (odd multiplier) so references are unique but look random.
    value = (n * 0x2F1B5A7) % (1 << 30)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(6))


def provider_refs(rng: random.Random, provider: str) -> tuple[str, str]:
    token = f"{rng.getrandbits(128):032x}"
    if provider == "justifi":
        return f"cho_{token[:22]}", f"py_{token[10:32]}"
    if provider == "checkout_com":
        return f"hpp_{token[:26]}", f"pay_{token[6:32]}"
    if provider == "recharge":
        return token, f"ch_{token[:24]}"
    return str(uuid.UUID(token)), str(uuid.UUID(token[::-1]))


def payment_rows(count: int, end: datetime, seed: int) -> Iterator[tuple[object, ...]]:
    """``count`` payments in time order over the 365 days before ``end``."""
    rng = random.Random(seed)
    start = end - timedelta(days=365)
    per_day, extra = divmod(count, 365)
    n = 0
    for day in range(365):
        opening = start + timedelta(days=day, hours=7)
        todays = per_day + (1 if day < extra else 0)
        seconds = sorted(rng.randrange(13 * 3600 * 1_000_000) for _ in range(todays))
        for micros in seconds:
            n += 1
            when = opening + timedelta(microseconds=micros)
            yield row(rng, n, when, end)


def row(rng: random.Random, n: int, when: datetime, end: datetime) -> tuple[object, ...]:
    provider = pick_provider(rng)
    method = pick_method(rng)
    state = pick_state(rng)
    if state in OPEN and end - when > timedelta(days=7):
        # Old open payments were settled long ago: captured, or the authorization lapsed.
        state = "expired" if state == "authorized" else "captured"
    amount = rng.choice(PRICES) * rng.randint(1, 3)
    words = ", ".join(rng.sample(ITEMS, rng.choice((1, 1, 1, 2, 2, 3))))
    if rng.random() < 0.15:
        words += f" — order {rng.randint(1000, 9999)}"
    stamp = when.isoformat(timespec="microseconds")
    sent = state not in ("created",)
    checkout_ref, payment_ref = provider_refs(rng, provider)
    carded = sent and state not in ("pending", "requires_action") and rng.random() < 0.92
    authorized = amount if state not in ("created", "pending", "requires_action") else 0
    if state in ("declined", "failed", "expired"):
        authorized = 0
    captured = amount if state in ("captured", "partially_refunded", "refunded") else 0
    if state == "partially_captured":
        captured = amount // 2
    refunded = {"refunded": captured, "partially_refunded": captured // 3}.get(state, 0)
    flagged = state == "in_doubt" or rng.random() < 0.002
    return (
        f"S-{when:%Y%m%d}-{suffix(n)}",
        "Main till" if rng.random() < 0.8 else "Back office",
        provider,
        method,
        amount,
        "USD" if rng.random() < 0.95 else "EUR",
        words,
        state,
        checkout_ref if sent else None,
        payment_ref if sent and state not in ("pending", "requires_action") else None,
        "card_declined" if state == "declined" else None,
        rng.choice(BRANDS) if carded else None,
        f"{rng.randrange(10_000):04d}" if carded else None,
        rng.choice(FLAGS) if flagged else None,
        stamp,
        stamp,
        authorized,
        captured,
        refunded,
    )


COLUMNS = (
    "reference, profile, provider, method, amount_minor, currency, description, state,"
    " provider_ref, provider_payment_ref, decline_code, card_brand, card_last4, attention,"
    " created_at, updated_at, authorized_minor, captured_minor, refunded_minor"
)


def fill(path: Path, count: int, end: datetime, seed: int) -> tuple[float, float]:
    """Fill a version-3 journal (as a year of use before this release left it), then let the
    app open it: migration 4 builds the search indexes. Returns (fill s, migration s)."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # the fill only: the app reopens with FULL
    conn.execute("BEGIN")
    for script in migrations.MIGRATIONS[:3]:
        for statement in migrations._statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.executemany(
        f"INSERT INTO payments ({COLUMNS}) VALUES ({','.join('?' * 19)})",
        payment_rows(count, end, seed),
    )
    conn.execute("COMMIT")
    conn.close()
    filled = time.perf_counter()
    JournalStore.open(path).close()
    return filled - started, time.perf_counter() - filled


def sample(path: Path, sql: str, k: int, seed: int) -> list[str]:
    conn = sqlite3.connect(path)
    total = int(conn.execute("SELECT MAX(id) FROM payments").fetchone()[0])
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < k:
        value = conn.execute(sql, (rng.randint(1, total),)).fetchone()
        if value and value[0]:
            found.append(str(value[0]))
    conn.close()
    return found


def searches(path: Path, end: datetime) -> dict[str, list[PaymentFilter]]:
    refs = sample(path, "SELECT reference FROM payments WHERE id = ?", 10, 1)
    ids = sample(path, "SELECT provider_payment_ref FROM payments WHERE id = ?", 5, 2)
    ids += sample(path, "SELECT provider_ref FROM payments WHERE id = ?", 5, 3)
    week = timedelta(days=7)
    return {
        "reference": [PaymentFilter(text=r.lower() if n % 2 else r) for n, r in enumerate(refs)],
        "provider_id": [PaymentFilter(text=i) for i in ids],
        "last4": [PaymentFilter(text=t) for t in ("4242", "0000", "1881", "9999", "5678")],
        "description": [
            PaymentFilter(text=t)
            for t in ("croissant", "birthday cake", "order 4821", "Gift", "lorraine", "scone")
        ],
        "amount_range": [
            PaymentFilter(amount_min=lo, amount_max=hi)
            for lo, hi in ((1000, 2000), (100, 400), (10_000, 40_000), (1799, 1799))
        ],
        "date_range": [
            PaymentFilter(created_from=end - week * k, created_to=end - week * (k - 1))
            for k in (1, 4, 20, 52)
        ]
        + [PaymentFilter(created_from=end - timedelta(days=90))],
        "provider": [
            PaymentFilter(providers=frozenset({p}))
            for p in ("justifi", "checkout_com", "recharge", "payfect")
        ],
        "status": [
            PaymentFilter(states=frozenset({PaymentState(s)}))
            for s in ("refunded", "declined", "authorized", "in_doubt", "captured")
        ]
        + [PaymentFilter(states=frozenset({PaymentState.VOIDED, PaymentState.EXPIRED}))],
        "needs_attention": [PaymentFilter(needs_attention=True)],
    }


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else 0.0


def measure(path: Path, end: datetime, repeats: int) -> dict[str, object]:
    from PySide6.QtWidgets import QApplication

    from pos_app.gui.screens.payments import PaymentsScreen

    app = QApplication.instance() or QApplication(sys.argv[:1])
    opens: list[float] = []
    screen: PaymentsScreen | None = None
    journal = JournalStore.open(path)
    for _ in range(5):
        if screen is not None:
            screen.shutdown()
            screen.deleteLater()
        started = time.perf_counter()
        screen = PaymentsScreen(journal, locale="en_US")
        opens.append((time.perf_counter() - started) * 1000)
    assert screen is not None
    screen.resize(1280, 800)
    screen.show()
    app.processEvents()
    kinds = searches(path, end)
    results: dict[str, float] = {}
    counts: dict[str, int] = {}
    for kind, queries in kinds.items():
        samples: list[float] = []
        for n in range(repeats):
            query = queries[n % len(queries)]
            if screen.model.filter == query:
                samples.append(timed(screen.model.reload))
            else:
                samples.append(timed(lambda q=query: screen.search(q)))  # type: ignore[misc]
            counts[kind] = max(counts.get(kind, 0), screen.model.total)
        results[kind] = round(p95(samples), 1)
        screen.search(PaymentFilter())
    screen.shutdown()
    shift = shift_timings(journal, end)
    breakdown = {
        kind: split_timings(journal, path, queries, repeats) for kind, queries in kinds.items()
    }
    journal.close()
    return {
        "open_ms": round(max(opens), 1),
        "open_first_ms": round(opens[0], 1),
        "search_p95_ms": results,
        "largest_match": counts,
        "split_p95_ms": breakdown,
        "shift_summary_ms": shift,
    }


def shift_timings(journal: JournalStore, end: datetime) -> dict[str, float]:
    """The end-of-shift summary over the last day, week and the whole year."""
    from pos_app.services.shift import summarize

    return {
        name: round(timed(lambda d=days: summarize(journal, end - timedelta(days=d), end)), 1)  # type: ignore[misc]
        for name, days in (("day", 1), ("week", 7), ("year", 366))
    }


def split_timings(
    journal: JournalStore, path: Path, queries: list[PaymentFilter], repeats: int
) -> dict[str, float]:
    """Where a search's time goes: the exact COUNT(*), the first page, and what a count capped
    at 1,000 ("1,000+ match") would cost instead of the exact one."""
    raw = sqlite3.connect(path)
    count: list[float] = []
    page: list[float] = []
    capped: list[float] = []
    for n in range(repeats):
        query = queries[n % len(queries)]
        where, params = where_clause(query, now=datetime.now(UTC))
        count.append(timed(lambda q=query: journal.count_payments(q)))  # type: ignore[misc]
        page.append(timed(lambda q=query: journal.page_payments(offset=0, limit=200, search=q)))  # type: ignore[misc]
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM payments {where} LIMIT 1001)"
        capped.append(timed(lambda s=sql, p=params: raw.execute(s, p).fetchone()))  # type: ignore[misc]
    raw.close()
    return {
        "count": round(p95(count), 1),
        "first_page": round(p95(page), 1),
        "count_capped_at_1000": round(p95(capped), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--journal", type=Path, help="keep the filled journal here")
    parser.add_argument("--reuse", action="store_true", help="time an existing --journal")
    args = parser.parse_args()
    end = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as scratch:
        path = args.journal or Path(scratch) / "journal.sqlite3"
        fill_s = migrate_s = 0.0
        if not args.reuse:
            for stale in (path, path.with_name(path.name + "-wal")):
                stale.unlink(missing_ok=True)
            fill_s, migrate_s = fill(path, args.rows, end, seed=6)
        check = sqlite3.connect(path)
        rows = int(check.execute("SELECT COUNT(*) FROM payments").fetchone()[0])
        check.close()
        report: dict[str, object] = {
            "rows": rows,
            "fill_s": round(fill_s, 1),
            "migrate_to_v4_s": round(migrate_s, 1),
        }
        report.update(measure(path, end, args.repeats))
        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        report["journal_mb"] = round(path.stat().st_size / 2**20)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
