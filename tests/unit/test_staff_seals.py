"""Staff rows are sealed under the audit key: a user planted or promoted by someone who can
write the journal file cannot sign in or approve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.pins import KdfParams, hash_pin
from pos_app.domain.users import Role
from pos_app.journal.audit import AuditKey, AuditLog
from pos_app.journal.db import connect
from pos_app.journal.users import UserStore
from pos_app.services.users import Session, UserRefused, UserService

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # an injected clock
FAST = KdfParams(n=2**8)


@dataclass
class Till:
    path: Path
    key: AuditKey
    users: UserService


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    path, key = tmp_path / "journal.sqlite3", AuditKey.new(since=1)
    conn = connect(path)
    users = UserService(UserStore(conn, key), AuditLog(conn, key=key), clock=lambda: T0, kdf=FAST)
    ada = users.create_first_admin("Ada", "246813")
    users.add_user(ada, "Cal", Role.CASHIER, "1357")
    yield Till(path, key, users)
    conn.close()


def _sql(path: Path, statement: str, *args: object) -> None:
    conn = connect(path)
    with conn:
        conn.execute(statement, args)
    conn.close()


def test_an_administrator_planted_in_the_file_cannot_sign_in(till: Till) -> None:
    planted = hash_pin("864213", FAST)
    _sql(
        till.path,
        "INSERT INTO users (name, role, pin_hash, created_at, updated_at)"
        " VALUES ('Mallory', 'admin', ?, ?, ?)",
        planted,
        T0.isoformat(),
        T0.isoformat(),
    )
    with pytest.raises(UserRefused, match="changed outside the app") as refused:
        till.users.sign_in(Session(), "Mallory", "864213")
    assert refused.value.code == "tampered"


def test_a_cashier_promoted_in_the_file_is_no_longer_trusted(till: Till) -> None:
    _sql(till.path, "UPDATE users SET role = 'admin' WHERE name = 'Cal'")
    with pytest.raises(UserRefused, match="changed outside the app"):
        till.users.sign_in(Session(), "Cal", "1357")
    # What the app itself changes stays sealed.
    assert till.users.sign_in(Session(), "Ada", "246813").role is Role.ADMIN


def test_a_pin_changed_in_the_file_is_refused_even_when_it_is_typed_right(till: Till) -> None:
    _sql(till.path, "UPDATE users SET pin_hash = ? WHERE name = 'Cal'", hash_pin("9753", FAST))
    with pytest.raises(UserRefused, match="changed outside the app"):
        till.users.sign_in(Session(), "Cal", "9753")


def test_rows_made_before_the_key_are_sealed_once_when_it_is_made(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    conn = connect(path)
    plain = UserService(UserStore(conn), AuditLog(conn), clock=lambda: T0, kdf=FAST)
    plain.create_first_admin("Ada", "246813")
    key = AuditKey.new(since=1)
    assert UserStore(conn, key).seal_all() == 1
    keyed = UserService(UserStore(conn, key), AuditLog(conn, key=key), clock=lambda: T0, kdf=FAST)
    assert keyed.sign_in(Session(), "Ada", "246813").name == "Ada"
    conn.close()


def test_an_emptied_staff_list_does_not_let_anyone_become_the_first_administrator(
    till: Till,
) -> None:
    _sql(till.path, "DELETE FROM users")
    assert not till.users.needs_first_admin()  # the till does not offer set-up again
    with pytest.raises(UserRefused, match="emptied outside the app") as refused:
        till.users.create_first_admin("Mallory", "864213")
    assert refused.value.code == "staff_removed"
    with pytest.raises(UserRefused, match="emptied outside the app"):
        till.users.sign_in(Session(), "Ada", "246813")
