"""The webhook outbox every dialect writes to.

A dialect builds the provider's exact body and signature headers and calls
``record_webhook`` inside the transaction that changed the object, so an event exists
exactly when its change committed. Delivery to a registered endpoint and the control
API that lists events live beside this (see ``delivery``).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ..credentials import WEBHOOK_SECRETS
from ..state import Sandbox, iso, new_id

if TYPE_CHECKING:
    from collections.abc import Callable


def webhook_secret(sandbox: Sandbox, provider: str) -> str:
    """The secret ``provider``'s webhooks are signed with right now."""
    stored = sandbox.store.get_meta(f"webhook_secret:{provider}")
    return stored if stored is not None else WEBHOOK_SECRETS[provider]


def record_webhook(
    sandbox: Sandbox,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    body: bytes,
    headers: dict[str, str],
    url: str | None = None,
) -> dict[str, Any]:
    """Store one signed event in the outbox; call inside the change's transaction.

    ``url`` is the event's own target where the provider sends each object's events to a
    URL given with it (Payfect's ``callback_url``); otherwise the provider's endpoint is used.
    """
    record: dict[str, Any] = {
        "id": new_id("whk_"),
        "provider": provider,
        "event_id": event_id,
        "event_type": event_type,
        "body": body.decode("utf-8"),
        "headers": headers,
        "created_at": iso(sandbox.now()),
        "deliveries": [],
    }
    if url:
        record["url"] = url
    sandbox.store.put("webhook", record["id"], record)
    listener = _listeners.get(sandbox)
    if listener is not None:
        listener(record)
    return record


# Who to tell that an event was recorded (the delivery task, while the server runs).
_listeners: weakref.WeakKeyDictionary[Sandbox, Callable[[dict[str, Any]], None]] = (
    weakref.WeakKeyDictionary()
)


def set_listener(sandbox: Sandbox, listener: Callable[[dict[str, Any]], None] | None) -> None:
    """Call ``listener(record)`` (on the sandbox's thread) whenever an event is recorded.

    It is called before the recording transaction commits: the record may yet roll back.
    """
    if listener is None:
        _listeners.pop(sandbox, None)
    else:
        _listeners[sandbox] = listener


def get_webhook(sandbox: Sandbox, record_id: str) -> dict[str, Any] | None:
    return sandbox.store.get("webhook", record_id)


def list_webhooks(sandbox: Sandbox, provider: str | None = None) -> list[dict[str, Any]]:
    """Recorded events, oldest first."""
    records = [obj for _, obj in reversed(sandbox.store.newest_first("webhook"))]
    return [r for r in records if provider is None or r["provider"] == provider]
