"""PINs: what a valid one looks like, and how it is kept (a slow, salted scrypt hash).

A stored hash reads ``scrypt$<n>$<r>$<p>$<salt>$<digest>`` (salt and digest in URL-safe
base64), so the cost can be raised later: ``needs_rehash`` spots a hash made with weaker
parameters and the next successful sign-in replaces it.

Managers and administrators (who approve refunds and voids and manage staff) need at least
``MIN_STAFF_PIN_LENGTH`` digits; nobody may choose a PIN anyone would guess first
(``trivial_pin``: one digit repeated, a straight run up or down, a short block repeated).

Honest limit: a PIN has at most 10^8 values, so a stolen journal can still be brute-forced
offline given enough time; scrypt makes each guess cost ~0.1 s of CPU and 16 MiB of memory.
The lock-out after wrong PINs is what protects the running app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

__all__ = [
    "DEFAULT_KDF",
    "MAX_PIN_LENGTH",
    "MIN_PIN_LENGTH",
    "MIN_STAFF_PIN_LENGTH",
    "KdfParams",
    "PinError",
    "hash_pin",
    "needs_rehash",
    "trivial_pin",
    "validate_new_pin",
    "validate_pin",
    "verify_pin",
]

MIN_PIN_LENGTH: Final = 4
MIN_STAFF_PIN_LENGTH: Final = 6  # managers and administrators
MAX_PIN_LENGTH: Final = 8
_ASCII_DIGITS: Final = frozenset("0123456789")
_SCHEME: Final = "scrypt"
_SALT_BYTES: Final = 16
_DIGEST_BYTES: Final = 32


class PinError(ValueError):
    """A PIN was refused, or a stored hash cannot be read. The message is for the user."""


@dataclass(frozen=True)
class KdfParams:
    """scrypt's cost: ``n`` (CPU/memory, a power of two), block size ``r``, parallelism ``p``."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1) or self.r < 1 or self.p < 1:
            raise PinError(f"Invalid scrypt parameters n={self.n} r={self.r} p={self.p}")

    @property
    def maxmem(self) -> int:
        # scrypt needs 128·r·n bytes (plus a little); OpenSSL's default cap is 32 MiB.
        return 2 * 128 * self.r * (self.n + self.p + 2)


DEFAULT_KDF: Final = KdfParams()


def validate_pin(pin: str) -> str:
    """Return ``pin`` if it is 4 to 8 digits 0–9; otherwise raise ``PinError``."""
    if not isinstance(pin, str) or not pin or not set(pin) <= _ASCII_DIGITS:
        # isdigit() would accept other scripts' digits, which no keypad types.
        raise PinError("A PIN is made of the digits 0 to 9 only.")
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinError(f"A PIN has {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits, not {len(pin)}.")
    return pin


def trivial_pin(pin: str) -> bool:
    """One digit repeated (0000), a straight run (1234, 987654) or a short block repeated
    (1212, 123123): the first PINs anyone tries."""
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if len(steps) <= 1 and steps <= {-1, 0, 1}:
        return True
    return any(len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size) for size in (2, 3))


def validate_new_pin(pin: str, *, min_length: int = MIN_PIN_LENGTH) -> str:
    """``validate_pin`` for a PIN being chosen: at least ``min_length`` digits, not trivial."""
    validate_pin(pin)
    if len(pin) < min_length:
        raise PinError(f"This role needs a PIN of at least {min_length} digits.")
    if trivial_pin(pin):
        raise PinError("That PIN is too easy to guess; choose digits without a pattern.")
    return pin


def hash_pin(pin: str, params: KdfParams = DEFAULT_KDF) -> str:
    """A fresh salted hash of a valid ``pin``, with its parameters, for storage."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(validate_pin(pin), salt, params)
    return "$".join(
        (_SCHEME, str(params.n), str(params.r), str(params.p), _b64(salt), _b64(digest))
    )


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored``, compared in constant time.

    A malformed ``stored`` raises ``PinError``: a damaged record must not read as "wrong PIN".
    """
    params, salt, expected = _parse(stored)
    try:
        candidate = validate_pin(pin)
    except PinError:
        return False
    return hmac.compare_digest(_scrypt(candidate, salt, params), expected)


def needs_rehash(stored: str, params: KdfParams = DEFAULT_KDF) -> bool:
    """Whether ``stored`` was made with weaker parameters than ``params``."""
    current, _, _ = _parse(stored)
    return current.n < params.n or current.r < params.r or current.p < params.p


def _scrypt(pin: str, salt: bytes, params: KdfParams) -> bytes:
    return hashlib.scrypt(
        pin.encode("ascii"),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=_DIGEST_BYTES,
    )


def _parse(stored: str) -> tuple[KdfParams, bytes, bytes]:
    parts = stored.split("$")
    damaged = PinError("This user's PIN record is damaged; an administrator must set a new PIN.")
    if len(parts) != 6 or parts[0] != _SCHEME:
        raise damaged
    try:
        params = KdfParams(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, PinError) as error:
        raise damaged from error
    if len(salt) < _SALT_BYTES or len(digest) != _DIGEST_BYTES:
        raise damaged
    return params, salt, digest


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))
