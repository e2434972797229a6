"""A year of payments: how fast the Payments screen opens and each kind of search answers.

Fills a fresh journal with ``--rows`` payments (default 1,000,000) spread like a busy shop's
year: four providers, three methods, most sales captured, some refunded, declined, voided,
a few in doubt or flagged; prices from a menu, card last 4, provider ids, descriptions.
The fill goes straight into a version-3 journal (one transaction, executemany,
``synchronous=OFF``), then each later migration runs as the app runs it (timed), so the
triggers, indexes and pragmas are real.

Then a fresh process (its memory is the screen's, not the fill's) times, through the real Qt
screen and model (offscreen): opening PaymentsScreen (count + first page), each kind of search
(``--repeats`` runs, varied queries) as ``model.set_filter`` does it: the count the screen shows
(capped at 1,000) + the first page, and a click on each column header (``sort``). Prints JSON:
``{rows, open_ms, search_p95_ms: {kind: ms}, peak_rss_mb, ...}``. ``--journal PATH`` keeps
the filled journal; ``--journal PATH --reuse`` times it again without filling (quick), and
``--rows 100000`` fills a smaller one.
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
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pos_app.domain.payment import PaymentState
from pos_app.journal import migrations
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import JournalStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

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


def fill(path: Path, count: int, end: datetime, seed: int) -> tuple[float, dict[str, float]]:
    """Fill a version-3 journal (as a year of use before this release left it), then migrate
    it as the app does, one transaction per version (4 and 5 build the search indexes).
    Returns (fill s, {version: migration s})."""
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
    filled = time.perf_counter() - started
    return filled, migrate_timed(path)


def migrate_timed(path: Path) -> dict[str, float]:
    """Each pending migration's time, run the way ``migrations.migrate`` runs it."""
    conn = sqlite3.connect(path, isolation_level=None)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    took: dict[str, float] = {}
    for number in range(version + 1, migrations.SCHEMA_VERSION + 1):
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for statement in migrations._statements(migrations.MIGRATIONS[number - 1]):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
        took[str(number)] = round(time.perf_counter() - started, 1)
    conn.close()
    JournalStore.open(path).close()  # nothing left to migrate: the app's own open
    return took


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

    from pos_app.gui.bridge import ServiceEvents
    from pos_app.gui.screens.payments import PaymentsScreen
    from pos_app.services.queries import PaymentQueries

    app = QApplication.instance() or QApplication(sys.argv[:1])
    opens: list[float] = []
    shown: list[float] = []
    screen: PaymentsScreen | None = None
    journal = JournalStore.open(path)
    for _ in range(5):
        if screen is not None:
            screen.shutdown()
            screen.hide()
            screen.deleteLater()
        started = time.perf_counter()
        queries = PaymentQueries(journal)
        screen = PaymentsScreen(queries, ServiceEvents(queries), locale="en_US")
        opens.append((time.perf_counter() - started) * 1000)
        screen.resize(1280, 800)
        screen.show()
        app.processEvents()  # laid out and painted: what the cashier sees
        shown.append((time.perf_counter() - started) * 1000)
    assert screen is not None
    kinds = searches(path, end)
    results: dict[str, float] = {}
    on_screen: dict[str, float] = {}
    cpu_time: dict[str, float] = {}
    counts: dict[str, int] = {}
    for kind, queries in kinds.items():
        samples: list[float] = []
        painted: list[float] = []
        cpu: list[float] = []
        for n in range(repeats):
            query = queries[n % len(queries)]
            started = time.process_time()
            if screen.model.filter == query:
                samples.append(timed(screen.model.reload))
            else:
                samples.append(timed(lambda q=query: screen.search(q)))  # type: ignore[misc]
            cpu.append((time.process_time() - started) * 1000)
            painted.append(samples[-1] + timed(app.processEvents))
            counts[kind] = max(counts.get(kind, 0), screen.model.total)
        results[kind] = round(p95(samples), 1)
        # This process's own CPU time: what the search costs even when other work shares
        # the machine's cores (wall-clock time then includes waiting for one).
        cpu_time[kind] = round(p95(cpu), 1)
        on_screen[kind] = round(p95(painted), 1)
        screen.search(PaymentFilter())
        app.processEvents()
    sorts = sort_timings(screen, app, repeats)
    results["sort"] = max(model for model, _ in sorts.values())
    on_screen["sort"] = max(shown_ms for _, shown_ms in sorts.values())
    screen.search(kinds["description"][0])
    with_search = sort_timings(screen, app, 2)
    # What the Payments screen itself holds at its peak (the reports below read far more).
    screen_rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    screen.shutdown()
    shift = shift_timings(journal, end)
    breakdown = {kind: split_timings(journal, queries, repeats) for kind, queries in kinds.items()}
    journal.close()
    return {
        "open_ms": round(max(opens), 1),
        "open_first_ms": round(opens[0], 1),  # the process's first screen: Qt and Babel warm up
        "open_warm_ms": round(max(opens[1:]), 1),
        "open_on_screen_ms": round(max(shown), 1),
        "search_p95_ms": results,
        "search_cpu_p95_ms": cpu_time,
        "search_on_screen_p95_ms": on_screen,
        "sort_ms": sorts,
        "sort_common_word_ms": with_search,
        "peak_rss_mb": screen_rss,
        "largest_match": counts,
        "split_p95_ms": breakdown,
        "shift_summary_ms": shift,
    }


def sort_timings(screen: Any, app: Any, repeats: int) -> dict[str, tuple[float, float]]:
    """A click on each column header, each way: (the model's re-read ms, until painted ms).
    The count is kept; the first page is read in the new order."""
    from PySide6.QtCore import Qt

    from pos_app.gui.models.payments_model import COLUMNS

    took: dict[str, tuple[float, float]] = {}
    orders = (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder)
    for column, title in enumerate(c.title for c in COLUMNS):
        for order in orders:
            model: list[float] = []
            painted: list[float] = []
            for _ in range(max(1, repeats // 8)):
                screen.table.sortByColumn(0 if column else 1, Qt.SortOrder.DescendingOrder)
                app.processEvents()
                model.append(timed(lambda c=column, o=order: screen.model.sort(c, o)))  # type: ignore[misc]
                screen.table.sortByColumn(column, order)  # the header follows; nothing to re-read
                painted.append(model[-1] + timed(app.processEvents))
            way = "up" if order == Qt.SortOrder.AscendingOrder else "down"
            took[f"{title.lower()} {way}"] = (round(max(model), 1), round(max(painted), 1))
    screen.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    app.processEvents()
    return took


def shift_timings(journal: JournalStore, end: datetime) -> dict[str, float]:
    """The end-of-shift summary over the last day, week and the whole year."""
    from pos_app.services.shift import summarize

    return {
        name: round(timed(lambda d=days: summarize(journal, end - timedelta(days=d), end)), 1)  # type: ignore[misc]
        for name, days in (("day", 1), ("week", 7), ("year", 366))
    }


def split_timings(
    journal: JournalStore, queries: list[PaymentFilter], repeats: int
) -> dict[str, float]:
    """Where a search's time goes: the capped count the screen shows ("more than 1,000"),
    the first page, and what an exact COUNT(*) would cost instead."""
    from pos_app.gui.models.payments_model import PAGE_SIZE as size

    count: list[float] = []
    page: list[float] = []
    capped: list[float] = []
    for n in range(repeats):
        query = queries[n % len(queries)]
        count.append(timed(lambda q=query: journal.count_payments(q)))  # type: ignore[misc]
        capped.append(timed(lambda q=query: journal.count_payments(q, cap=1000)))  # type: ignore[misc]
        page.append(timed(lambda q=query: journal.page_payments(offset=0, limit=size, search=q)))  # type: ignore[misc]
    return {
        "count_capped_at_1000": round(p95(capped), 1),
        "first_page": round(p95(page), 1),
        "exact_count": round(p95(count), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--journal", type=Path, help="keep the filled journal here")
    parser.add_argument("--reuse", action="store_true", help="time an existing --journal")
    args = parser.parse_args()
    if args.reuse:
        print(json.dumps(timed_journal(args.journal, args.repeats), indent=2))
        return
    with tempfile.TemporaryDirectory() as scratch:
        path = args.journal or Path(scratch) / "journal.sqlite3"
        for stale in (path, path.with_name(path.name + "-wal")):
            stale.unlink(missing_ok=True)
        fill_s, migrate_s = fill(path, args.rows, datetime.now(UTC), seed=6)
        # The timing runs in a fresh process: its memory is the app's, not the fill's.
        repeats = str(args.repeats)
        child = subprocess.run(
            [sys.executable, __file__, "--journal", str(path), "--reuse", "--repeats", repeats],
            check=True,
            capture_output=True,
            text=True,
        )
        report: dict[str, object] = {"fill_s": round(fill_s, 1), "migrate_s": migrate_s}
        report.update(json.loads(child.stdout))
    print(json.dumps(report, indent=2))


def timed_journal(path: Path, repeats: int) -> dict[str, object]:
    """Time the Payments screen over the journal at ``path`` (migrating it first if old)."""
    migrated = migrate_timed(path)
    check = sqlite3.connect(path)
    rows = int(check.execute("SELECT COUNT(*) FROM payments").fetchone()[0])
    newest = datetime.fromisoformat(
        check.execute("SELECT MAX(created_at) FROM payments").fetchone()[0]
    )
    check.close()
    report: dict[str, object] = {"rows": rows}
    if migrated:
        report["migrate_s"] = migrated
    report.update(measure(path, newest, repeats))
    report["peak_rss_with_reports_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    report["journal_mb"] = round(path.stat().st_size / 2**20)
    return report


if __name__ == "__main__":
    main()
