"""The Settings use case: a new default is refused mid-sale or when it cannot be built (and
nothing is saved), an unchanged profile's adapter is reused, staff rules apply at once, and a
record of the last settings seen finds edits made outside the app."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.config.secrets import SecretStore
from pos_app.config.settings import (
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)
from pos_app.domain.idle import IdleLock
from pos_app.domain.money import Money
from pos_app.domain.pins import KdfParams
from pos_app.journal.audit import AuditKey, AuditLog
from pos_app.journal.db import connect
from pos_app.journal.store import JournalStore
from pos_app.journal.users import UserStore
from pos_app.providers.errors import AuthenticationError
from pos_app.services.approvals import ApprovalService
from pos_app.services.profiles import ProviderPool
from pos_app.services.settings import SettingsService, approval_policy
from pos_app.services.users import Session, UserService
from tests.unit.test_provider_pool import Adapter, Builder

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
JUSTIFI, PAYFECT = "Sandbox — JustiFi", "Sandbox — Payfect"
RECORD = "settings:test"


@dataclass
class StaffRules:
    users: UserService
    session: Session
    approvals: ApprovalService
    audit: AuditLog
    idle: IdleLock
    require_sign_in: bool = True


@dataclass
class Screen:
    """What the app does with the service's callbacks, recorded."""

    selling: bool = False
    saved: int = 0
    switched: int = 0


@dataclass
class Till:
    service: SettingsService
    pool: ProviderPool
    builder: Builder
    screen: Screen
    staff: StaffRules
    settings_file: Path

    def apply(self, settings: Settings) -> None:
        asyncio.run(self.service.apply(settings))

    def restart(self) -> SettingsService:
        """Another start on the same files and keyring: the settings as loaded now."""
        return make_service(self, load_settings(self.settings_file))


def make_service(till: Till, settings: Settings) -> SettingsService:
    return SettingsService(
        settings,
        settings_file=till.settings_file,
        secrets=till.pool.secrets,
        profiles=till.pool,
        staff=till.staff,
        record_name=RECORD,
        selling=lambda: till.screen.selling,
        on_saved=lambda: setattr(till.screen, "saved", till.screen.saved + 1),
        on_default_switched=lambda: setattr(till.screen, "switched", till.screen.switched + 1),
    )


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    conn = connect(tmp_path / "journal.sqlite3")
    key = AuditKey.new(since=1)
    audit = AuditLog(conn, clock=lambda: T0, key=key)
    users = UserService(UserStore(conn, key), audit, clock=lambda: T0, kdf=KdfParams(n=2**8))
    staff = StaffRules(
        users=users,
        session=Session(),
        approvals=ApprovalService(users, audit, clock=lambda: T0),
        audit=audit,
        idle=IdleLock(timedelta(minutes=15), clock=lambda: 0.0),
    )
    builder = Builder()
    pool = ProviderPool(journal, SecretStore(), builder, sandbox_running=lambda: True)
    settings_file = tmp_path / "settings.json"
    settings = Settings()
    save_settings(settings_file, settings)
    manager = Till(
        service=None,  # type: ignore[arg-type]
        pool=pool,
        builder=builder,
        screen=Screen(),
        staff=staff,
        settings_file=settings_file,
    )
    manager.service = make_service(manager, settings)
    asyncio.run(manager.service.open_default())
    yield manager
    conn.close()
    journal.close()


def test_the_default_opened_is_placed_in_the_pool_for_the_cashier(till: Till) -> None:
    assert till.service.provider is till.pool.adapters[JUSTIFI]
    assert till.service.profile.name == JUSTIFI


def test_a_new_default_is_refused_during_a_sale_and_nothing_is_saved(till: Till) -> None:
    till.screen.selling = True
    with pytest.raises(SettingsError, match="A sale is in progress"):
        till.apply(till.service.settings.with_default(PAYFECT))
    assert load_settings(till.settings_file).default_profile == JUSTIFI
    assert till.service.profile.name == JUSTIFI
    assert till.screen.saved == 0
    # Other settings may still change mid-sale: the default stays as it is.
    till.apply(replace(till.service.settings, store_name="Corner Bakery"))
    assert load_settings(till.settings_file).store_name == "Corner Bakery"
    assert (till.screen.saved, till.screen.switched) == (1, 0)


def test_a_new_default_reuses_the_pools_adapter_of_an_unchanged_profile(till: Till) -> None:
    asyncio.run(till.pool.sync(till.service.settings))
    placed = till.pool.adapters[PAYFECT]
    built = len(till.builder.built)
    till.apply(till.service.settings.with_default(PAYFECT))
    assert till.service.provider is placed
    assert len(till.builder.built) == built
    assert till.service.profile.name == PAYFECT
    assert (till.screen.saved, till.screen.switched) == (1, 1)
    assert isinstance(placed, Adapter)
    assert placed.closed == 0


def test_an_edited_default_gets_a_new_adapter_and_the_old_one_is_closed(till: Till) -> None:
    old = till.service.provider
    assert isinstance(old, Adapter)
    edited = replace(till.service.profile, currency="CAD")
    till.apply(till.service.settings.with_profile(edited, replacing=JUSTIFI))
    new = till.service.provider
    assert isinstance(new, Adapter)
    assert new is not old
    assert new.profile == edited
    assert till.pool.adapters[JUSTIFI] is new
    assert old.closed == 1
    assert till.screen.switched == 1


def test_a_default_that_cannot_be_built_is_refused_and_nothing_is_saved(till: Till) -> None:
    till.builder.refuse[PAYFECT] = AuthenticationError("The API key was refused.")
    with pytest.raises(SettingsError, match="“Sandbox — Payfect” cannot take payments: The API"):
        till.apply(till.service.settings.with_default(PAYFECT))
    assert load_settings(till.settings_file).default_profile == JUSTIFI
    assert till.service.profile.name == JUSTIFI
    assert (till.screen.saved, till.screen.switched) == (0, 0)


def test_a_save_that_fails_closes_the_adapter_built_for_it(till: Till) -> None:
    till.settings_file.unlink()
    till.settings_file.mkdir()  # nothing can be written there now
    with pytest.raises(OSError):
        till.apply(till.service.settings.with_default(PAYFECT))
    [_default, built] = till.builder.built
    assert built.profile.name == PAYFECT
    assert built.closed == 1
    assert PAYFECT not in till.pool.adapters
    assert till.service.profile.name == JUSTIFI


def test_staff_rules_apply_at_once_and_the_change_is_audited(till: Till) -> None:
    changed = replace(
        till.service.settings,
        require_sign_in=False,  # True by default
        idle_lock_minutes=5,
        refund_approval_limit_minor=5000,
    )
    till.apply(changed)
    staff = till.staff
    assert not staff.require_sign_in
    assert staff.idle.timeout == timedelta(minutes=5)
    assert staff.approvals.policy.refund_limit == Money(5000, "USD")
    entry = staff.audit.entries()[-1]
    assert (entry.action, entry.actor, entry.subject) == ("settings_changed", "system", "settings")
    assert sorted(entry.details["changed"]) == [
        "idle_lock_minutes",
        "refund_approval_limit_minor",
        "require_sign_in",
    ]


def test_approval_limits_are_in_the_default_profiles_currency() -> None:
    cad = replace(Settings().active_profile(), currency="CAD")
    settings = replace(
        Settings().with_profile(cad, replacing=cad.name),
        void_approval_limit_minor=20_000,
        shift_refund_approval_limit_minor=None,
    )
    policy = approval_policy(settings)
    assert policy.void_limit == Money(20_000, "CAD")
    assert policy.refund_limit is None
    assert policy.shift_refund_limit is None


def test_settings_saved_here_are_not_reported_as_changed_outside(till: Till) -> None:
    assert till.service.changed_outside() == ""  # first start: trusted, record kept
    till.apply(replace(till.service.settings, store_name="Corner Bakery"))
    assert till.restart().changed_outside() == ""


def test_an_edit_outside_the_app_is_audited_and_said_once(till: Till) -> None:
    till.service.changed_outside()
    edited = replace(till.service.settings, store_name="Elsewhere").without_profile(PAYFECT)
    save_settings(till.settings_file, edited)  # as someone editing settings.json would

    said = till.restart().changed_outside()
    assert said == (
        "Settings were changed outside the app since it last ran: store_name, "
        f"profile {PAYFECT} removed."
    )
    entry = till.staff.audit.entries()[-1]
    assert entry.actor == "system"
    assert entry.details["outside_app"] is True
    assert till.restart().changed_outside() == ""


def test_a_record_not_signed_with_the_audit_key_is_not_trusted(till: Till) -> None:
    till.service.changed_outside()
    secrets = till.pool.secrets
    record = json.loads(secrets.get_named(RECORD) or "{}")
    forged = json.loads(record["settings"])
    forged["store_name"] = "Forged"  # a record rewritten without the key
    record["settings"] = json.dumps(forged, sort_keys=True, separators=(",", ":"))
    secrets.set_named(RECORD, json.dumps(record))
    # Unreadable as a record: nothing to compare, nothing said, and a good record kept.
    assert till.restart().changed_outside() == ""
    assert till.restart().changed_outside() == ""
    assert not [e for e in till.staff.audit.entries() if e.details.get("outside_app")]


def test_without_an_audit_key_no_record_is_kept(till: Till) -> None:
    till.staff.audit.key = None
    assert till.service.changed_outside() == ""
    assert till.pool.secrets.get_named(RECORD) is None
