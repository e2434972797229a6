"""Staff: the first administrator, adding and changing users, sign-in with lock-out.

Every refusal is a ``UserRefused`` whose message is written for the person at the till;
``code`` is for programs. Every change and every sign-in attempt is in the audit trail,
written in the same transaction as the change it records. PINs are hashed (``domain.pins``)
before anything is stored and never appear in messages, logs or audit details.

Hashing costs ~0.1 s of CPU by design; sign-in is synchronous, so the GUI should expect
that pause (or raise the KDF cost only together with an executor).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from pos_app.domain.pins import (
    DEFAULT_KDF,
    KdfParams,
    PinError,
    hash_pin,
    needs_rehash,
    validate_new_pin,
    verify_pin,
)
from pos_app.domain.users import Role, UserNameError, clean_user_name
from pos_app.journal.audit import SYSTEM_ACTOR, AuditAction, AuditLog
from pos_app.journal.store import utc_now
from pos_app.journal.users import User, UserStore, UserStoreError

__all__ = ["LOCK_OUT_FOR", "MAX_WRONG_PINS", "Session", "User", "UserRefused", "UserService"]

MAX_WRONG_PINS: Final = 10
LOCK_OUT_FOR: Final = timedelta(minutes=30)  # the first lock-out; each next one lasts twice as long
LONGEST_LOCK_OUT: Final = timedelta(hours=24)
STAFF_REMOVED: Final = (
    "The staff list was emptied outside the app, so nobody can sign in or set up staff anew. "
    "Restore the journal from a backup; the audit trail shows who existed."
)
# The same words for an unknown name and a wrong PIN: the till never says which names exist.
NAME_OR_PIN_WRONG: Final = "That name or PIN is not right. Check both and try again."
NO_ADMIN_FOR_HOSTS: Final = (
    "Only an administrator can approve a host the provider does not publish, and this till "
    "has no staff yet: add an administrator first (Users, F11)."
)

SessionListener = Callable[[User | None], None]


class UserRefused(Exception):
    """A sign-in or user change was refused. ``str()`` is the message to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Session:
    """Who is signed in on this app instance right now (None: nobody, the screen is locked)."""

    def __init__(self) -> None:
        self._user: User | None = None
        self._listeners: list[SessionListener] = []

    @property
    def user(self) -> User | None:
        return self._user

    @property
    def actor(self) -> str:
        """The audit trail's name for whoever acts now: a user id, or "system"."""
        return self._user.actor if self._user else SYSTEM_ACTOR

    def subscribe(self, listener: SessionListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _change(self, user: User | None) -> None:
        self._user = user
        for listener in list(self._listeners):
            listener(user)


class UserService:
    """``users`` and ``audit`` share one connection: a change and its entry commit together."""

    def __init__(
        self,
        users: UserStore,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = utc_now,
        kdf: KdfParams = DEFAULT_KDF,
        max_wrong_pins: int = MAX_WRONG_PINS,
        lock_out_for: timedelta = LOCK_OUT_FOR,
    ) -> None:
        if users.connection is not audit.connection:
            raise ValueError("UserStore and AuditLog must share one database connection")
        self._users = users
        self._audit = audit
        self._clock = clock
        self._kdf = kdf
        self._max_wrong_pins = max_wrong_pins
        self._lock_out_for = lock_out_for
        self._decoy: str | None = None
        # Wrong tries at names nobody has, so they lock out just like real ones.
        self._unknown_tries: dict[str, tuple[int, datetime | None]] = {}

    # -- reading ----------------------------------------------------------------------

    def now(self) -> datetime:
        """The time lock-outs are judged by (screens ask here, not the wall clock)."""
        return self._clock()

    def users(self) -> list[User]:
        return self._users.all()

    def get(self, user_id: int) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise UserRefused("unknown_user", "That user no longer exists.")
        return user

    def find(self, name: str) -> User | None:
        """The user called ``name`` (case and extra spaces ignored), if any."""
        return self._users.by_name(" ".join(name.split()))

    def needs_first_admin(self) -> bool:
        """True on first start: nobody exists yet, so the app must create an administrator.

        Not when the trail shows users were added and none are left: someone emptied the
        table to make themselves the first administrator (``STAFF_REMOVED``)."""
        return self._users.count() == 0 and not self._staff_removed()

    def _staff_removed(self) -> bool:
        return self._users.count() == 0 and self._audit.has(AuditAction.USER_ADDED)

    # -- managing users -----------------------------------------------------------------

    def create_first_admin(self, name: str, pin: str) -> User:
        """The very first user, an administrator; refused once any user exists."""
        clean, pin_hash = self._name(name), self._hash(pin, Role.ADMIN)
        if self._staff_removed():
            raise UserRefused("staff_removed", STAFF_REMOVED)
        with self._users.transaction():
            if self._users.count():
                raise UserRefused(
                    "users_exist",
                    "The first administrator has already been created; sign in to add users.",
                )
            user = self._users.add(clean, Role.ADMIN, pin_hash, now=self._clock())
            self._audit_user(AuditAction.USER_ADDED, SYSTEM_ACTOR, user, first_admin=True)
        return user

    def add_user(self, by: User, name: str, role: Role, pin: str) -> User:
        admin = self._admin(by, "add users")
        clean, pin_hash = self._name(name), self._hash(pin, role)
        with self._users.transaction():
            try:
                user = self._users.add(clean, role, pin_hash, now=self._clock())
            except UserStoreError as error:
                raise UserRefused("duplicate_name", str(error)) from error
            self._audit_user(AuditAction.USER_ADDED, admin.actor, user)
        return user

    def change_pin(
        self, by: User, user_id: int, new_pin: str, *, current_pin: str | None = None
    ) -> User:
        """Your own PIN needs your current one; an administrator may set anyone else's."""
        actor = self._current(by)
        target = self.get(user_id)
        if actor.id == target.id:
            if current_pin is None:
                raise UserRefused("current_pin_needed", "Enter your current PIN first.")
            self.authenticate(target.name, current_pin)
        elif not actor.role.can_manage_users:
            raise UserRefused("not_allowed", "Only an administrator can set another user's PIN.")
        pin_hash = self._hash(new_pin, target.role)
        with self._users.transaction():
            user = self._users.set_pin_hash(target.id, pin_hash, now=self._clock())
            self._audit_user(AuditAction.USER_CHANGED, actor.actor, user, change="pin")
        return user

    def set_role(self, by: User, user_id: int, role: Role) -> User:
        admin = self._admin(by, "change roles")
        with self._users.transaction():
            target = self.get(user_id)
            if target.role is Role.ADMIN and role is not Role.ADMIN:
                self._keep_an_admin(target)
            user = self._users.set_role(target.id, role, now=self._clock())
            self._audit_user(
                AuditAction.USER_CHANGED, admin.actor, user, change="role", was=target.role.value
            )
        return user

    def set_active(self, by: User, user_id: int, active: bool) -> User:
        """Switch a user off (they can no longer sign in or approve) or back on."""
        admin = self._admin(by, "switch users off or on")
        with self._users.transaction():
            target = self.get(user_id)
            if not active:
                if target.id == admin.id:
                    raise UserRefused("self_deactivate", "You cannot switch off your own account.")
                if target.role is Role.ADMIN:
                    self._keep_an_admin(target)
            user = self._users.set_active(target.id, active, now=self._clock())
            change = "reactivated" if active else "deactivated"
            self._audit_user(AuditAction.USER_CHANGED, admin.actor, user, change=change)
        return user

    # -- signing in -------------------------------------------------------------------

    def authenticate(self, name: str, pin: str) -> User:
        """The active, unlocked user ``name`` if ``pin`` is theirs; otherwise ``UserRefused``.

        A wrong PIN counts toward the lock-out (and the lock-out itself is audited here);
        the caller audits the refusal in its own terms (sign-in, approval, PIN change).
        """
        user = self.find(name)
        now = self._clock()
        if user is None and self._staff_removed():
            raise UserRefused("staff_removed", STAFF_REMOVED)
        if user is None:
            # Hash anyway, so "no such user" takes as long as "wrong PIN", and answer alike.
            self._decoy = self._decoy or hash_pin("0000", self._kdf)
            verify_pin(pin, self._decoy)
            raise self._unknown_name(name, now)
        if not self._users.sealed(user.id):
            raise UserRefused(
                "tampered",
                f"{user.name}'s record was changed outside the app, so it is not trusted; an "
                "administrator must check the staff list (Users, F11).",
            )
        if not user.active:
            raise UserRefused(
                "inactive", f"{user.name}'s account is switched off; ask an administrator."
            )
        if user.locked_at(now):
            raise self._locked(user, now)
        stored = self._users.pin_hash(user.id)
        try:
            matches = verify_pin(pin, stored)
        except PinError as error:
            raise UserRefused("damaged_pin", str(error)) from error
        if not matches:
            raise self._wrong_pin(user, now)
        if needs_rehash(stored, self._kdf):
            return self._users.set_pin_hash(user.id, hash_pin(pin, self._kdf), now=now)
        if user.failed_pins or user.locked_until:
            return self._users.clear_wrong_pins(user.id, now=now)
        return user

    def approve_live_hosts(
        self,
        name: str,
        pin: str,
        *,
        profile: str,
        provider: str,
        hosts: Iterable[str],
        requested_by: User | None,
    ) -> User:
        """An administrator, by name and PIN, lets a live profile send its secret (or the
        customer) to ``hosts`` its provider does not publish. Refusals are audited too."""
        details = {"profile": profile, "provider": provider, "hosts": sorted(hosts)}
        actor = requested_by.actor if requested_by else SYSTEM_ACTOR
        try:
            if self.needs_first_admin():
                raise UserRefused("no_staff", NO_ADMIN_FOR_HOSTS)
            candidate = self.find(name)
            if candidate is not None and not candidate.role.can_manage_users:
                # Refused before the PIN is checked: only an administrator's PIN counts here.
                raise UserRefused(
                    "not_allowed",
                    f"{candidate.name} is a {candidate.role.label}; only an administrator "
                    "can approve another host.",
                )
            admin = self.authenticate(name, pin)
        except UserRefused as refusal:
            self._audit.append(
                AuditAction.APPROVAL_REFUSED,
                actor=actor,
                subject=f"profile:{profile}",
                details={**details, "approver": _shown_name(name), "reason": refusal.code},
            )
            raise
        self._audit.append(
            AuditAction.LIVE_HOST_APPROVED,
            actor=admin.actor,
            subject=f"profile:{profile}",
            details={**details, "approver": admin.name, "requested_by": actor},
        )
        return admin

    def sign_in(self, session: Session, name: str, pin: str) -> User:
        try:
            user = self.authenticate(name, pin)
        except UserRefused as refusal:
            self._audit.append(
                AuditAction.SIGN_IN_FAILED,
                actor=session.actor,
                subject=self._subject_for(name),
                details={"name": _shown_name(name), "reason": refusal.code},
            )
            raise
        self._audit.append(
            AuditAction.SIGN_IN,
            actor=user.actor,
            subject=f"user:{user.id}",
            details={"name": user.name, "role": user.role.value},
        )
        session._change(user)
        return user

    def sign_out(self, session: Session, *, reason: str = "signed out") -> None:
        """End the session (``reason``: "signed out", "idle", …); nobody is signed in after."""
        user = session.user
        if user is None:
            return
        self._audit.append(
            AuditAction.SIGN_OUT,
            actor=user.actor,
            subject=f"user:{user.id}",
            details={"name": user.name, "reason": reason},
        )
        session._change(None)

    # -- internals --------------------------------------------------------------------

    def _wrong_pin(self, user: User, now: datetime) -> UserRefused:
        with self._users.transaction():
            after = self._users.record_wrong_pin(
                user.id,
                now=now,
                limit=self._max_wrong_pins,
                lock_for=self._lock_out_for,
                longest=LONGEST_LOCK_OUT,
            )
            if after.locked_at(now):
                # "alert": the Users screen and each administrator's sign-in show it.
                self._audit.append(
                    AuditAction.LOCKED_OUT,
                    actor=SYSTEM_ACTOR,
                    subject=f"user:{user.id}",
                    details={
                        "name": user.name,
                        "wrong_attempts": self._max_wrong_pins,
                        "lockouts_in_a_row": after.lockouts,
                        "until": after.locked_until.isoformat() if after.locked_until else None,
                        "alert": "administrator",
                    },
                )
        if after.locked_at(now):
            return self._locked(after, now)
        return UserRefused("wrong_pin", NAME_OR_PIN_WRONG)

    def _unknown_name(self, name: str, now: datetime) -> UserRefused:
        """Counted and locked out like a real user's wrong PINs, so neither the words nor a
        lock-out tell a guesser whether the name exists (in memory: nothing to protect)."""
        key = " ".join(name.split()).casefold()
        tries, until = self._unknown_tries.get(key, (0, None))
        if until is not None and now < until:
            return self._locked_message(until, now)
        tries += 1
        if tries >= self._max_wrong_pins:
            until = now + self._lock_out_for
            self._unknown_tries[key] = (0, until)
            return self._locked_message(until, now)
        self._unknown_tries[key] = (tries, None)
        # The code (for the audit trail, read by managers) tells them apart; the words don't.
        return UserRefused("unknown_user", NAME_OR_PIN_WRONG)

    def _locked(self, user: User, now: datetime) -> UserRefused:
        assert user.locked_until is not None
        return self._locked_message(user.locked_until, now)

    def _locked_message(self, until: datetime, now: datetime) -> UserRefused:
        minutes = _minutes(until - now)
        return UserRefused(
            "locked_out",
            f"Too many wrong PINs: this name is locked out. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or ask an administrator to set a new PIN.",
        )

    def locked_out(self) -> list[User]:
        """Users locked out right now: what an administrator is alerted to."""
        now = self._clock()
        return [user for user in self._users.all() if user.locked_at(now)]

    def _current(self, by: User) -> User:
        """``by`` as the database has it now: a role change or switch-off applies at once."""
        current = self._users.get(by.id)
        if current is None or not current.active:
            raise UserRefused("inactive", f"{by.name}'s account is switched off.")
        return current

    def _admin(self, by: User, doing: str) -> User:
        current = self._current(by)
        if not current.role.can_manage_users:
            raise UserRefused(
                "not_allowed",
                f"Only an administrator can {doing}; {current.name} is a {current.role.label}.",
            )
        return current

    def _keep_an_admin(self, target: User) -> None:
        if target.active and self._users.active_admins() <= 1:
            raise UserRefused(
                "last_admin",
                f"{target.name} is the only active administrator; make someone else "
                "an administrator first.",
            )

    def _name(self, name: str) -> str:
        try:
            return clean_user_name(name)
        except UserNameError as error:
            raise UserRefused("invalid_name", str(error)) from error

    def _hash(self, pin: str, role: Role) -> str:
        try:
            return hash_pin(validate_new_pin(pin, min_length=role.min_pin_length), self._kdf)
        except PinError as error:
            raise UserRefused("invalid_pin", str(error)) from error

    def _subject_for(self, name: str) -> str:
        user = self.find(name)
        return f"user:{user.id}" if user else "user:?"

    def _audit_user(self, action: AuditAction, actor: str, user: User, **extra: Any) -> None:
        self._audit.append(
            action,
            actor=actor,
            subject=f"user:{user.id}",
            details={"name": user.name, "role": user.role.value, "active": user.active, **extra},
        )


def _shown_name(typed: str) -> str:
    """What was typed as a name, unless it looks like a PIN typed in the wrong box."""
    cleaned = " ".join(typed.split())[:40]
    return "(digits withheld)" if cleaned.isdigit() else cleaned


def _minutes(span: timedelta) -> int:
    return max(1, math.ceil(span.total_seconds() / 60))
