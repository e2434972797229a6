"""Our own identifiers: sale references and idempotency keys."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pos_app.domain.ids import REFERENCE_RE, is_reference, new_idempotency_key, new_reference

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_reference_shape_and_date() -> None:
    ref = new_reference(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    prefix, day, suffix = ref.split("-")
    assert (prefix, day) == ("S", "20261122")
    assert len(suffix) == 6
    assert set(suffix) <= CROCKFORD
    assert is_reference(ref)


def test_reference_uses_the_date_of_the_time_given() -> None:
    # 23:30 in New York on the 21st is already the 22nd in UTC; the shop's own day wins.
    local = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert new_reference(local).startswith("S-20261121-")
    assert new_reference(datetime(999, 1, 2)).startswith("S-09990102-")


def test_reference_defaults_to_today_in_utc() -> None:
    before = datetime.now(UTC).strftime("%Y%m%d")
    ref = new_reference()
    after = datetime.now(UTC).strftime("%Y%m%d")
    assert ref[2:10] in {before, after}


def test_suffix_encodes_the_random_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    day = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(secrets, "randbits", lambda bits: 0)
    assert new_reference(day) == "S-20260101-000000"
    monkeypatch.setattr(secrets, "randbits", lambda bits: 2**bits - 1)
    assert new_reference(day) == "S-20260101-ZZZZZZ"
    # Five bits per character, lowest bits first: 1, 10 (A), 18 (J), 31 (Z), 0, 22 (P).
    value = 1 | 10 << 5 | 18 << 10 | 31 << 15 | 0 << 20 | 22 << 25
    monkeypatch.setattr(secrets, "randbits", lambda bits: value)
    assert new_reference(day) == "S-20260101-1AJZ0P"


def test_references_differ() -> None:
    refs = {new_reference() for _ in range(300)}
    assert len(refs) == 300  # odds of a clash among 300 are below 1 in 20,000


@pytest.mark.parametrize(
    "text",
    [
        "S-20261122-7K3M9Q ",
        "s-20261122-7K3M9Q",
        "S-20261122-7K3M9I",  # I is not Crockford
        "S-20261122-7K3M9L",
        "S-20261122-7K3M9O",
        "S-20261122-7K3M9U",
        "S-2026112-7K3M9Q",
        "S-20261122-7K3M9",
        "",
    ],
)
def test_is_reference_rejects_near_misses(text: str) -> None:
    assert not is_reference(text)
    assert REFERENCE_RE.fullmatch("S-20261122-7K3M9Q")


def test_idempotency_keys() -> None:
    keys = [new_idempotency_key() for _ in range(1000)]
    assert len(set(keys)) == len(keys)
    for key in keys[:20]:
        assert len(key) <= 100
        assert uuid.UUID(key).version == 4
        assert str(uuid.UUID(key)) == key
