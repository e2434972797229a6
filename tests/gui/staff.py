"""Staff for GUI tests: the real user, audit and approval services on a temporary journal,
with a cheap PIN hash and clocks the tests move by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pos_app.bootstrap.app import verify_audit_trail
from pos_app.domain.idle import IdleLock
from pos_app.domain.pins import KdfParams
from pos_app.domain.users import Role
from pos_app.gui.screens.sign_in import Staff
from pos_app.journal.audit import AuditLog
from pos_app.journal.db import connect
from pos_app.journal.users import User, UserStore
from pos_app.services.approvals import ApprovalPolicy, ApprovalService
from pos_app.services.users import Session, UserService

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FAST = KdfParams(n=2**8, r=8, p=1)  # tests only: the real cost is the back end's business


class Clock:
    """Wall time for lock-outs and audit entries."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Ticks:
    """Monotonic seconds for the idle lock."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def make_staff(
    path: Path,
    clock: Clock,
    ticks: Ticks,
    *,
    policy: ApprovalPolicy | None = None,
    require_sign_in: bool = True,
) -> Staff:
    """Wired as app.py wires them, on one connection."""
    conn = connect(path)
    audit = AuditLog(conn, clock=clock)
    users = UserService(UserStore(conn), audit, clock=clock, kdf=FAST)
    return Staff(
        users=users,
        session=Session(),
        approvals=ApprovalService(users, audit, policy, clock=clock),
        audit=audit,
        idle=IdleLock(timedelta(minutes=15), clock=ticks),
        require_sign_in=require_sign_in,
        verify_audit=lambda: asyncio.to_thread(verify_audit_trail, path),
    )


def add_crew(staff: Staff) -> tuple[User, User, User]:
    """Ada (administrator), Max (manager) and Cal (cashier)."""
    ada = staff.users.create_first_admin("Ada", "246813")
    max_ = staff.users.add_user(ada, "Max", Role.MANAGER, "580246")
    cal = staff.users.add_user(ada, "Cal", Role.CASHIER, "1357")
    return ada, max_, cal
