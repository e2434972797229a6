"""Verifying provider webhooks: signatures per PROVIDERS.md §5, and duplicates by event id.

Each provider's scheme is in its own ``providers/<name>/webhooks.py``: its ``verify`` takes
the raw body exactly as received (signatures cover bytes, not parsed JSON) and the request
headers, and returns a ``VerifiedEvent`` or raises the one ``WebhookSignatureError``; its
``parse`` says which object to look up (an event only ever triggers a lookup; the lookup
decides, DESIGN §4). This module holds what they share: the types and constant-time,
refuse-by-default readers of headers and bodies. ``providers.registry.parse_event`` reduces
any verified event to a provider-neutral ``WebhookEvent``. Repeats are recognised by
(provider, event id) in the journal (``journal/webhook_events.py``).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

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


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def required_header(headers: dict[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise WebhookSignatureError(f"The webhook has no {name} header")
    return value


def check_signature(expected: str, given: str) -> None:
    # Bytes, not str: compare_digest refuses non-ASCII text with TypeError, and a header
    # may carry anything.
    if not hmac.compare_digest(expected.lower().encode(), given.strip().lower().encode()):
        raise WebhookSignatureError("The webhook signature does not match its body")


def json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureError("The signed webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookSignatureError("The signed webhook body is not a JSON object")
    return payload


def text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookSignatureError(f"The webhook has no {key!r}")
    return value


def json_field(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise WebhookSignatureError(f"The webhook has no {key!r} object")
    return value


def optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def metadata_reference(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata")
    return optional_text(metadata, REFERENCE_KEY) if isinstance(metadata, dict) else None
