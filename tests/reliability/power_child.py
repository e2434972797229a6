"""Writes sales to the journal as fast as it can, saying each reference once it is committed.

Run as ``python -m tests.reliability.power_child JOURNAL``; the power-loss test kills it
mid-commit and checks every reference it acknowledged is still there.
"""

from __future__ import annotations

import sys
from itertools import count
from pathlib import Path

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import JournalStore, utc_now


def main() -> None:
    journal = JournalStore.open(Path(sys.argv[1]))
    prefix = sys.argv[2]
    for n in count():
        reference = f"{prefix}-{n}"
        journal.create_payment(
            reference=reference,
            profile="justifi",
            provider="justifi",
            method="direct_charge",
            amount=Money(2050, "USD"),
            description="Power-loss test",
            now=utc_now(),
        )
        journal.update_payment(
            reference,
            now=utc_now(),
            note="charged",
            state=PaymentState.CAPTURED,
            captured_minor=2050,
        )
        # Acknowledged only after both commits returned: this is what the cashier would see.
        sys.stdout.write(reference + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
