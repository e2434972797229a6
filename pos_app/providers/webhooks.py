"""Verifying provider webhooks: signatures per PROVIDERS.md §5, and duplicates by event id.

Every ``verify_*`` takes the raw body exactly as received (signatures cover bytes, not parsed
JSON) and the request headers, and returns a ``VerifiedEvent`` or raises the one
``WebhookSignatureError``. Comparisons are constant-time. ``parse_event`` then reduces any
verified event to a provider-neutral ``WebhookEvent``: which object to look up (an event only
ever triggers a lookup; the lookup decides, DESIGN §4). Repeats are recognised by
(provider, event id) in the journal (``journal/webhook_events.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from pos_app.providers.errors import ConfigurationError

# Where each app sends our reference (see each adapter's mapping.py).
REFERENCE_KEY = "pos_reference"


class WebhookSignatureError(Exception):
    """The event is not provably from the provider, or not an event we can read: refuse it
    (answer 401, record nothing). The one webhook error of every provider."""


@dataclass(frozen=True)
class VerifiedEvent:
    provider: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class WebhookEvent:
    """A verified event reduced to what a receiver needs: which object to look up.

    ``object_ref`` is what the provider's adapter looks up (``get_checkout`` or
    ``get_payment``): a JustiFi checkout/payment id, a Checkout.com ``pay_`` id, a ReCharge
    checkout token, a Payfect checkout id. ``reference`` is our own reference when the event
    carries it.
    """

    provider: str
    event_id: str
    event_type: str
    object_ref: str
    reference: str | None


def verify_justifi(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: datetime | None = None,
    tolerance: timedelta | None = None,
) -> VerifiedEvent:
    """``JUSTIFI-SIGNATURE`` = hex HMAC-SHA256(secret, "<JUSTIFI-TIMESTAMP>.<body>").

    JustiFi documents no time tolerance; pass one (with ``now``) to also refuse old events.
    The timestamp is read as ISO 8601 (what the sandbox sends) or as epoch seconds.
    """
    found = _lower(headers)
    timestamp = _required(found, "justifi-timestamp")
    signature = _required(found, "justifi-signature")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    _check(expected.hexdigest(), signature)
    if tolerance is not None:
        sent = _parse_time(timestamp)
        if now is None:
            raise ValueError("a tolerance needs the time to judge it by (now)")
        if abs(now - sent) > tolerance:
            raise WebhookSignatureError("The JustiFi event is too old or from the future")
    payload = _json(body)
    return VerifiedEvent("justifi", _text(payload, "id"), _text(payload, "event_name"), payload)


def verify_checkout_com(body: bytes, headers: Mapping[str, str], key: str) -> VerifiedEvent:
    """``Cko-Signature`` = hex HMAC-SHA256(key, body)."""
    signature = _required(_lower(headers), "cko-signature")
    _check(hmac.new(key.encode(), body, hashlib.sha256).hexdigest(), signature)
    payload = _json(body)
    return VerifiedEvent("checkout_com", _text(payload, "id"), _text(payload, "type"), payload)


def verify_recharge(body: bytes, headers: Mapping[str, str], client_secret: str) -> VerifiedEvent:
    """``X-Recharge-Hmac-Sha256`` = hex SHA-256(client_secret + body).

    ReCharge bodies carry no event id: duplicates are recognised by the body's digest
    (a redelivery repeats the body byte for byte).
    """
    found = _lower(headers)
    signature = _required(found, "x-recharge-hmac-sha256")
    _check(hashlib.sha256(client_secret.encode() + body).hexdigest(), signature)
    payload = _json(body)
    topic = found.get("x-recharge-topic", "")
    return VerifiedEvent("recharge", hashlib.sha256(body).hexdigest(), topic, payload)


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
    token = _required(_lower(headers), "x-payfect-signature").encode()
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
    payload = _json(body)
    status = _text(payload, "status")
    return VerifiedEvent("payfect", f"{_text(payload, 'id')}:{status}", status, payload)


# -- provider-neutral parsing ---------------------------------------------------------------


def parse_event(event: VerifiedEvent) -> WebhookEvent:
    """The object a verified event is about, for any of the four providers."""
    parser = _PARSERS.get(event.provider)
    if parser is None:
        raise WebhookSignatureError(f"No webhook scheme for provider {event.provider!r}")
    object_ref, reference = parser(event)
    return WebhookEvent(event.provider, event.event_id, event.event_type, object_ref, reference)


def _parse_justifi(event: VerifiedEvent) -> tuple[str, str | None]:
    """``data`` is the object; a completion points at its checkout, a refund at its payment."""
    data = _object(event.payload, "data")
    if event.event_type.startswith("checkout.completion."):
        object_ref = _text(data, "checkout_id")
    elif event.event_type == "payment.refunded":
        object_ref = _text(data, "payment_id")
    else:
        object_ref = _text(data, "id")
    nested = data.get("checkout")
    holder = nested if isinstance(nested, dict) else data
    return object_ref, _metadata_reference(holder)


def _parse_checkout_com(event: VerifiedEvent) -> tuple[str, str | None]:
    data = _object(event.payload, "data")
    return _text(data, "id"), _optional_text(data, "reference")


def _parse_recharge(event: VerifiedEvent) -> tuple[str, str | None]:
    """A ``checkout`` body names its token and our note attribute; a ``charge`` body names
    the checkout it charged (the payment ref, see recharge/charges.py) but not our reference."""
    if isinstance(event.payload.get("checkout"), dict):
        checkout = event.payload["checkout"]
        attributes = checkout.get("note_attributes") or checkout.get("order_attributes") or []
        reference = next(
            (
                str(a["value"])
                for a in attributes
                if isinstance(a, dict) and a.get("name") == REFERENCE_KEY and a.get("value")
            ),
            None,
        )
        return _text(checkout, "token"), reference
    charge = _object(event.payload, "charge")
    return _text(charge, "checkout_token"), None


def _parse_payfect(event: VerifiedEvent) -> tuple[str, str | None]:
    return _text(event.payload, "id"), _optional_text(event.payload, "client_reference_id")


_PARSERS = {
    "justifi": _parse_justifi,
    "checkout_com": _parse_checkout_com,
    "recharge": _parse_recharge,
    "payfect": _parse_payfect,
}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _required(headers: dict[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise WebhookSignatureError(f"The webhook has no {name} header")
    return value


def _check(expected: str, given: str) -> None:
    # Bytes, not str: compare_digest refuses non-ASCII text with TypeError, and a header
    # may carry anything.
    if not hmac.compare_digest(expected.lower().encode(), given.strip().lower().encode()):
        raise WebhookSignatureError("The webhook signature does not match its body")


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureError("The signed webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookSignatureError("The signed webhook body is not a JSON object")
    return payload


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookSignatureError(f"The webhook has no {key!r}")
    return value


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise WebhookSignatureError(f"The webhook has no {key!r} object")
    return value


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def _metadata_reference(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata")
    return _optional_text(metadata, REFERENCE_KEY) if isinstance(metadata, dict) else None


def _parse_time(text: str) -> datetime:
    try:
        if text.isascii() and text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookSignatureError(f"JUSTIFI-TIMESTAMP {text!r} is not a time") from exc
    if moment.tzinfo is None:
        raise WebhookSignatureError(f"JUSTIFI-TIMESTAMP {text!r} has no time zone")
    return moment
