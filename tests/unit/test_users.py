"""Staff: PIN rules and hashing, the first administrator, user changes, sign-in and lock-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.pins import (
    DEFAULT_KDF,
    KdfParams,
    PinError,
    hash_pin,
    needs_rehash,
    validate_new_pin,
    validate_pin,
    verify_pin,
)
from pos_app.domain.users import Role
from pos_app.journal.audit import AuditLog
from pos_app.journal.db import connect
from pos_app.journal.users import User, UserStore
from pos_app.services.users import (
    MAX_WRONG_PINS,
    NAME_OR_PIN_WRONG,
    Session,
    UserRefused,
    UserService,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FAST = KdfParams(n=2**8, r=8, p=1)  # tests only: the real cost is checked separately


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    path: Path
    clock: Clock
    users: UserService
    audit: AuditLog

    def reopen(self) -> Env:
        """A fresh app instance on the same journal (what a restart is)."""
        self.audit.connection.close()
        return make_env(self.path, self.clock)


def make_env(path: Path, clock: Clock, kdf: KdfParams = FAST) -> Env:
    conn = connect(path)
    audit = AuditLog(conn, clock=clock)
    return Env(path, clock, UserService(UserStore(conn), audit, clock=clock, kdf=kdf), audit)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    made = make_env(tmp_path / "journal.sqlite3", Clock())
    yield made
    made.audit.connection.close()


@pytest.fixture
def admin(env: Env) -> User:
    return env.users.create_first_admin("Ada", "246813")


def actions(env: Env) -> list[str]:
    return [e.action for e in env.audit.entries()]


# -- PINs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["1234", "00000000", "9081726"])
def test_four_to_eight_digits_make_a_pin(pin: str) -> None:
    assert validate_pin(pin) == pin


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("123", "4 to 8 digits, not 3"),
        ("123456789", "4 to 8 digits, not 9"),
        ("12a4", "digits 0 to 9 only"),
        ("12 34", "digits 0 to 9 only"),
        ("١٢٣٤", "digits 0 to 9 only"),  # Arabic-Indic digits: isdigit() says yes
        ("", "digits 0 to 9 only"),
    ],
)
def test_anything_else_is_refused_with_the_rule(pin: str, message: str) -> None:
    with pytest.raises(PinError, match=message):
        validate_pin(pin)


def test_a_pin_is_stored_salted_with_its_parameters_and_never_plain() -> None:
    first, second = hash_pin("4321"), hash_pin("4321")
    assert first != second  # per-hash salt
    assert first.startswith(f"scrypt${DEFAULT_KDF.n}$8$1$")
    assert "4321" not in first
    assert verify_pin("4321", first)
    assert not verify_pin("4322", first)
    assert not verify_pin("12", first)  # not a PIN at all: simply wrong


def test_the_default_cost_is_slow_scrypt() -> None:
    assert DEFAULT_KDF.n >= 2**14
    assert DEFAULT_KDF.r >= 8


def test_weaker_hashes_are_marked_for_rehashing() -> None:
    weak = hash_pin("4321", FAST)
    assert needs_rehash(weak)
    assert not needs_rehash(hash_pin("4321", DEFAULT_KDF))


@pytest.mark.parametrize("stored", ["", "plain1234", "scrypt$x$8$1$AA$BB", "md5$1$2$3$4$5"])
def test_a_damaged_hash_is_an_error_not_a_wrong_pin(stored: str) -> None:
    with pytest.raises(PinError, match="damaged"):
        verify_pin("1234", stored)


# -- the first administrator ----------------------------------------------------------------


def test_first_start_creates_an_administrator_once(env: Env) -> None:
    assert env.users.needs_first_admin()
    ada = env.users.create_first_admin("  Ada  ", "246813")
    assert ada.name == "Ada"
    assert ada.role is Role.ADMIN
    assert ada.active
    assert not env.users.needs_first_admin()
    with pytest.raises(UserRefused, match="already been created") as refused:
        env.users.create_first_admin("Mallory", "580246")
    assert refused.value.code == "users_exist"
    assert [u.name for u in env.users.users()] == ["Ada"]
    assert actions(env) == ["user_added"]
    assert env.audit.entries()[0].details["first_admin"] is True


def test_the_pin_is_never_in_the_database_or_the_audit_trail(env: Env, admin: User) -> None:
    env.users.add_user(admin, "Cal", Role.CASHIER, "97531")
    dump = "\n".join(env.audit.connection.iterdump())
    assert "246813" not in dump
    assert "97531" not in dump
    assert "97531" not in repr(env.users.users())


# -- managing users -----------------------------------------------------------------------


def test_an_administrator_adds_users_and_duplicates_are_refused(env: Env, admin: User) -> None:
    cal = env.users.add_user(admin, "Cal", Role.CASHIER, "1357")
    assert cal.role is Role.CASHIER
    with pytest.raises(UserRefused, match="already a user called cal"):
        env.users.add_user(admin, "cal", Role.CASHIER, "1357")
    with pytest.raises(UserRefused, match="4 to 8 digits"):
        env.users.add_user(admin, "Dee", Role.CASHIER, "12")
    with pytest.raises(UserRefused, match="reserved"):
        env.users.add_user(admin, "System", Role.CASHIER, "1234")
    added = [e for e in env.audit.entries() if e.action == "user_added"]
    assert added[-1].actor == admin.actor
    assert added[-1].details["role"] == "cashier"


def test_only_an_administrator_manages_users(env: Env, admin: User) -> None:
    mona = env.users.add_user(admin, "Mona", Role.MANAGER, "135792")
    with pytest.raises(UserRefused, match="Only an administrator can add users; Mona is a manager"):
        env.users.add_user(mona, "Eve", Role.ADMIN, "864213")
    with pytest.raises(UserRefused, match="Only an administrator can set another user's PIN"):
        env.users.change_pin(mona, admin.id, "864213")
    assert [u.name for u in env.users.users()] == ["Ada", "Mona"]


def test_a_role_change_applies_at_once(env: Env, admin: User) -> None:
    bob = env.users.add_user(admin, "Bob", Role.ADMIN, "135792")
    env.users.set_role(admin, bob.id, Role.CASHIER)
    # Bob's stale User object still says admin; the database decides.
    with pytest.raises(UserRefused, match="Bob is a cashier"):
        env.users.add_user(bob, "Eve", Role.CASHIER, "2580")


def test_the_last_administrator_cannot_be_removed(env: Env, admin: User) -> None:
    with pytest.raises(UserRefused, match="only active administrator") as refused:
        env.users.set_role(admin, admin.id, Role.MANAGER)
    assert refused.value.code == "last_admin"
    with pytest.raises(UserRefused, match="your own account"):
        env.users.set_active(admin, admin.id, False)
    bob = env.users.add_user(admin, "Bob", Role.ADMIN, "135792")
    env.users.set_active(admin, bob.id, False)
    with pytest.raises(UserRefused, match="only active administrator"):
        env.users.set_role(admin, admin.id, Role.CASHIER)


def test_a_switched_off_user_cannot_sign_in_until_switched_on(env: Env, admin: User) -> None:
    cal = env.users.add_user(admin, "Cal", Role.CASHIER, "1357")
    env.users.set_active(admin, cal.id, False)
    with pytest.raises(UserRefused, match="switched off") as refused:
        env.users.sign_in(Session(), "Cal", "1357")
    assert refused.value.code == "inactive"
    env.users.set_active(admin, cal.id, True)
    assert env.users.sign_in(Session(), "Cal", "1357").id == cal.id
    changes = [e.details.get("change") for e in env.audit.entries() if e.action == "user_changed"]
    assert changes == ["deactivated", "reactivated"]


def test_changing_your_own_pin_needs_the_current_one(env: Env, admin: User) -> None:
    cal = env.users.add_user(admin, "Cal", Role.CASHIER, "1357")
    with pytest.raises(UserRefused, match="current PIN first"):
        env.users.change_pin(cal, cal.id, "8642")
    with pytest.raises(UserRefused, match="name or PIN is not right"):
        env.users.change_pin(cal, cal.id, "8642", current_pin="0000")
    env.users.change_pin(cal, cal.id, "8642", current_pin="1357")
    with pytest.raises(UserRefused, match="name or PIN is not right"):
        env.users.sign_in(Session(), "Cal", "1357")
    assert env.users.sign_in(Session(), "Cal", "8642").name == "Cal"


# -- signing in and lock-out ------------------------------------------------------------------


def test_sign_in_sets_the_session_and_is_audited(env: Env, admin: User) -> None:
    session = Session()
    heard: list[User | None] = []
    session.subscribe(heard.append)
    assert session.actor == "system"
    user = env.users.sign_in(session, " ada ", "246813")
    assert session.user == user
    assert session.actor == str(admin.id)
    env.users.sign_out(session, reason="idle")
    assert session.user is None
    assert heard == [user, None]
    assert actions(env)[-2:] == ["sign_in", "sign_out"]
    assert env.audit.entries()[-1].details == {"name": "Ada", "reason": "idle"}


def test_failed_sign_ins_are_audited_without_the_pin(env: Env, admin: User) -> None:
    # One sentence for a name nobody has and a wrong PIN: the till never says which exist.
    refusals = []
    for name in ("Zed", "Ada", "5555"):  # "5555": a PIN typed into the name box
        with pytest.raises(UserRefused) as refused:
            env.users.sign_in(Session(), name, "580246")
        refusals.append(str(refused.value))
    assert refusals == [NAME_OR_PIN_WRONG] * 3
    failed = [e for e in env.audit.entries() if e.action == "sign_in_failed"]
    assert [e.details["reason"] for e in failed] == ["unknown_user", "wrong_pin", "unknown_user"]
    assert failed[1].subject == f"user:{admin.id}"
    assert failed[2].details["name"] == "(digits withheld)"
    assert "580246" not in str([e.details for e in env.audit.entries()])


def test_ten_wrong_pins_lock_out_for_thirty_minutes_even_across_a_restart(
    env: Env, admin: User
) -> None:
    cal = env.users.add_user(admin, "Cal", Role.CASHIER, "1357")
    for _ in range(5):
        with pytest.raises(UserRefused, match="name or PIN is not right"):
            env.users.sign_in(Session(), "Cal", "0000")
    env = env.reopen()  # the count is on disk
    assert env.users.get(cal.id).failed_pins == 5
    for _ in range(4):
        with pytest.raises(UserRefused, match="name or PIN is not right"):
            env.users.sign_in(Session(), "Cal", "0000")
    with pytest.raises(UserRefused, match=r"locked out\. Try again in 30 minutes") as refused:
        env.users.sign_in(Session(), "Cal", "0000")
    assert refused.value.code == "locked_out"
    env.clock.now += timedelta(minutes=10)
    env = env.reopen()
    # Locked: even the right PIN is refused, and not checked.
    with pytest.raises(UserRefused, match="Try again in 20 minutes"):
        env.users.sign_in(Session(), "Cal", "1357")
    locked = [e for e in env.audit.entries() if e.action == "locked_out"]
    assert len(locked) == 1
    assert locked[0].subject == f"user:{cal.id}"
    env.clock.now += timedelta(minutes=20)
    assert env.users.sign_in(Session(), "Cal", "1357").failed_pins == 0
    env.audit.connection.close()


def test_a_right_pin_resets_the_count(env: Env, admin: User) -> None:
    for _ in range(9):
        with pytest.raises(UserRefused):
            env.users.sign_in(Session(), "Ada", "0000")
    assert env.users.get(admin.id).failed_pins == 9
    env.users.sign_in(Session(), "Ada", "246813")
    assert env.users.get(admin.id).failed_pins == 0


@pytest.mark.parametrize(
    "pin", ["0000", "1111", "1234", "4321", "98765", "1212", "123123", "909090"]
)
def test_a_pin_anyone_would_guess_first_is_refused(pin: str) -> None:
    with pytest.raises(PinError, match="too easy to guess"):
        validate_new_pin(pin)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_approvers_and_administrators_need_six_digits(env: Env, admin: User, role: Role) -> None:
    with pytest.raises(UserRefused, match="at least 6 digits"):
        env.users.add_user(admin, "Mona", role, "1357")
    mona = env.users.add_user(admin, "Mona", role, "135792")
    with pytest.raises(UserRefused, match="at least 6 digits"):
        env.users.change_pin(admin, mona.id, "2580")
    # A cashier's four digits are enough; a trivial one never is.
    env.users.add_user(admin, "Cal", Role.CASHIER, "2580")
    with pytest.raises(UserRefused, match="too easy"):
        env.users.add_user(admin, "Dee", Role.CASHIER, "4444")


def test_each_lock_out_in_a_row_lasts_twice_as_long_and_alerts_an_administrator(
    env: Env, admin: User
) -> None:
    cal = env.users.add_user(admin, "Cal", Role.CASHIER, "1357")
    for minutes in (30, 60, 120):
        for _ in range(MAX_WRONG_PINS - 1):
            with pytest.raises(UserRefused):
                env.users.sign_in(Session(), "Cal", "0000")
        with pytest.raises(UserRefused, match=f"Try again in {minutes} minutes"):
            env.users.sign_in(Session(), "Cal", "0000")
        assert [u.name for u in env.users.locked_out()] == ["Cal"]
        env.clock.now += timedelta(minutes=minutes)
    alerts = [e for e in env.audit.entries() if e.action == "locked_out"]
    assert [e.details["lockouts_in_a_row"] for e in alerts] == [1, 2, 3]
    assert {e.details["alert"] for e in alerts} == {"administrator"}
    # The right PIN ends the run: the next lock-out is short again.
    env.users.sign_in(Session(), "Cal", "1357")
    assert env.users.get(cal.id).lockouts == 0


def test_a_name_nobody_has_locks_out_like_a_real_one(env: Env, admin: User) -> None:
    """Otherwise a guesser tells real names from the lock-out alone."""
    answers = []
    for name in ("Ada", "Zed"):
        for _ in range(MAX_WRONG_PINS):
            with pytest.raises(UserRefused) as refused:
                env.users.sign_in(Session(), name, "0000")
        answers.append((refused.value.code, str(refused.value)))
    assert answers[0] == answers[1]
    assert answers[0][0] == "locked_out"


def test_an_administrator_unlocks_someone_by_setting_a_new_pin(env: Env, admin: User) -> None:
    cal = env.users.add_user(admin, "Cal", Role.CASHIER, "1357")
    for _ in range(10):
        with pytest.raises(UserRefused):
            env.users.sign_in(Session(), "Cal", "0000")
    env.users.change_pin(admin, cal.id, "7531")
    assert env.users.sign_in(Session(), "Cal", "7531").locked_until is None


def test_an_old_hash_is_upgraded_on_the_next_sign_in(tmp_path: Path) -> None:
    clock = Clock()
    weak = make_env(tmp_path / "j.sqlite3", clock, kdf=FAST)
    weak.users.create_first_admin("Ada", "246813")
    weak.audit.connection.close()
    stronger = KdfParams(n=2**9, r=8, p=1)
    env = make_env(tmp_path / "j.sqlite3", clock, kdf=stronger)
    store = UserStore(env.audit.connection)
    user = env.users.sign_in(Session(), "Ada", "246813")
    assert store.pin_hash(user.id).startswith("scrypt$512$")
    assert env.users.sign_in(Session(), "Ada", "246813").id == user.id
    env.audit.connection.close()


def test_a_damaged_pin_record_says_so(env: Env, admin: User) -> None:
    env.audit.connection.execute("UPDATE users SET pin_hash = 'garbage'")
    with pytest.raises(UserRefused, match="damaged; an administrator must set a new PIN"):
        env.users.sign_in(Session(), "Ada", "246813")


def test_users_and_audit_must_share_a_connection(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    a, b = connect(path), connect(path)
    with pytest.raises(ValueError, match="share one database connection"):
        UserService(UserStore(a), AuditLog(b))
    a.close()
    b.close()


def test_wrong_pins_at_two_tills_add_up_to_one_lock_out(env: Env, admin: User) -> None:
    other = make_env(env.path, env.clock)  # a second app instance on the same journal
    for n in range(10):
        till = env if n % 2 else other
        with pytest.raises(UserRefused) as refused:
            till.users.sign_in(Session(), "Ada", "0000")
    assert refused.value.code == "locked_out"
    with pytest.raises(UserRefused, match="locked out"):
        env.users.sign_in(Session(), "Ada", "246813")
    other.audit.connection.close()


def test_only_an_administrators_pin_approves_a_live_host(env: Env, admin: User) -> None:
    env.users.add_user(admin, "Max", Role.MANAGER, "580246")
    approve = {"profile": "Shop", "provider": "checkout_com", "hosts": ["pay.store.example"]}
    with pytest.raises(UserRefused, match="Max is a manager; only an administrator"):
        env.users.approve_live_hosts("Max", "580246", requested_by=None, **approve)
    with pytest.raises(UserRefused) as wrong:
        env.users.approve_live_hosts("Ada", "135792", requested_by=None, **approve)
    assert str(wrong.value) == NAME_OR_PIN_WRONG
    assert env.users.find("Ada").failed_pins == 1  # type: ignore[union-attr]  # counts to a lock-out

    approver = env.users.approve_live_hosts("Ada", "246813", requested_by=admin, **approve)
    assert approver == env.users.get(admin.id)
    refused = [e for e in env.audit.entries() if e.action == "approval_refused"]
    assert [e.details["reason"] for e in refused] == ["not_allowed", "wrong_pin"]
    [approved] = [e for e in env.audit.entries() if e.action == "live_host_approved"]
    assert approved.actor == str(admin.id)
    assert approved.subject == "profile:Shop"
    assert approved.details["hosts"] == ["pay.store.example"]
    assert approved.details["approver"] == "Ada"


def test_without_staff_nobody_can_approve_a_live_host(env: Env) -> None:
    with pytest.raises(UserRefused, match="has no staff yet"):
        env.users.approve_live_hosts(
            "Ada",
            "246813",
            profile="Shop",
            provider="payfect",
            hosts=["x.example"],
            requested_by=None,
        )
