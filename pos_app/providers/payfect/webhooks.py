"""Payfect's callbacks (PROVIDERS.md §5): a Fernet token of the body, timestamped."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from pos_app.providers.errors import ConfigurationError
from pos_app.providers.webhooks import (
    VerifiedEvent,
    WebhookSignatureError,
    json_object,
    lowered,
    optional_text,
    required_header,
    text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, timedelta


def verify_payfect(
    body: bytes,
    headers: Mapping[str, str],
    key: str,
    *,
    max_age_s: int | None = None,
    now: float | None = None,
) -> VerifiedEvent:
    """``X-Payfect-Signature`` = a Fernet token (AES-128-CBC + HMAC-SHA256, timestamped) of
    the body under our key; it must decrypt to exactly ``body``, byte for byte.

    With ``max_age_s`` the token must also be at most that old, judged at ``now`` (epoch
    seconds; required with ``max_age_s``: no wall clock is read here). ``key`` must be a
    Fernet key (32 url-safe base64 bytes), else ConfigurationError. Callbacks carry no event
    id: a checkout reaches each status once, so ``<checkout id>:<status>`` names the event
    (redeliveries repeat it).
    """
    try:
        fernet = Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "The Payfect callback key is not a Fernet key (32 url-safe base64 bytes)",
            provider="payfect",
        ) from exc
    token = required_header(lowered(headers), "x-payfect-signature").encode()
    try:
        if max_age_s is not None:
            if now is None:
                raise ValueError("a maximum age needs the time to judge it by (now)")
            signed = fernet.decrypt_at_time(token, max_age_s, int(now))
        else:
            signed = fernet.decrypt(token)
    except InvalidToken as exc:
        raise WebhookSignatureError(
            "The Payfect callback's signature is invalid, forged or too old"
        ) from exc
    if not hmac.compare_digest(signed, body):
        raise WebhookSignatureError("The Payfect callback body is not what its signature signed")
    payload = json_object(body)
    status = text(payload, "status")
    return VerifiedEvent("payfect", f"{text(payload, 'id')}:{status}", status, payload)


def parse(event: VerifiedEvent) -> tuple[str, str | None]:
    return text(event.payload, "id"), optional_text(event.payload, "client_reference_id")


def verify(
    body: bytes, headers: Mapping[str, str], key: str, now: datetime, max_age: timedelta
) -> VerifiedEvent:
    return verify_payfect(
        body, headers, key, max_age_s=int(max_age.total_seconds()), now=now.timestamp()
    )
