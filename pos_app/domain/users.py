"""Who may do what: the three staff roles, and the rules for a user's name."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pos_app.domain.pins import MIN_PIN_LENGTH, MIN_STAFF_PIN_LENGTH

__all__ = ["MAX_NAME_LENGTH", "Role", "UserNameError", "clean_user_name"]

MAX_NAME_LENGTH: Final = 40


class Role(StrEnum):
    CASHIER = "cashier"  # sells; refunds need a manager's PIN
    MANAGER = "manager"  # may approve refunds and voids
    ADMIN = "admin"  # may also manage users and settings

    @property
    def can_approve(self) -> bool:
        return self is not Role.CASHIER

    @property
    def can_manage_users(self) -> bool:
        return self is Role.ADMIN

    @property
    def label(self) -> str:
        return _TITLES[self]

    @property
    def min_pin_length(self) -> int:
        """Approvers' and administrators' PINs guard money and staff: longer."""
        return MIN_PIN_LENGTH if self is Role.CASHIER else MIN_STAFF_PIN_LENGTH


_TITLES: Final = {Role.CASHIER: "cashier", Role.MANAGER: "manager", Role.ADMIN: "administrator"}


class UserNameError(ValueError):
    """A user name was refused; the message is for the administrator."""


def clean_user_name(name: str) -> str:
    """``name`` without surrounding spaces, if it is a usable sign-in name."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise UserNameError("A user needs a name.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise UserNameError(f"A user name has at most {MAX_NAME_LENGTH} characters.")
    if not cleaned.isprintable():
        raise UserNameError("A user name cannot contain control characters.")
    if cleaned.casefold() == "system":
        raise UserNameError("“system” is reserved for what the app does by itself.")
    return cleaned
