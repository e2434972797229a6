"""Our own identifiers, distinct from any provider's ``provider_ref``.

- A sale *reference* is read aloud and typed by people: ``S-20261122-7K3M9Q`` is the sale date
  plus six Crockford base32 characters (no I, L, O or U, so nothing looks like 1 or 0).
  Six characters give about a billion values per day; collisions are unlikely but possible, so
  the journal must still hold references UNIQUE and draw again on a clash.
- An *idempotency key* goes to a provider with each mutating request; a UUID4 string (36
  characters) fits every provider's limit (the strictest we use allows 100).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Final

__all__ = ["REFERENCE_RE", "is_reference", "new_idempotency_key", "new_reference"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SUFFIX_LENGTH: Final = 6

REFERENCE_RE: Final = re.compile(r"S-[0-9]{8}-[0-9A-HJKMNP-TV-Z]{6}")


def _random_suffix() -> str:
    bits = secrets.randbits(5 * _SUFFIX_LENGTH)
    chars = [_CROCKFORD[(bits >> (5 * i)) & 0x1F] for i in range(_SUFFIX_LENGTH)]
    return "".join(chars)


def new_reference(now: datetime | None = None) -> str:
    """A new sale reference such as ``S-20261122-7K3M9Q``.

    The date is ``now``'s own calendar date (pass local time for the shop's day); the default
    is the current UTC date.
    """
    when = datetime.now(UTC) if now is None else now
    # Not strftime: %Y is not zero-padded below year 1000 on every platform.
    return f"S-{when.year:04d}{when.month:02d}{when.day:02d}-{_random_suffix()}"


def is_reference(text: str) -> bool:
    """Whether ``text`` has the exact shape of a reference made by ``new_reference``."""
    return REFERENCE_RE.fullmatch(text) is not None


def new_idempotency_key() -> str:
    """A fresh idempotency key: a random UUID4 in its 36-character text form."""
    return str(uuid.uuid4())
