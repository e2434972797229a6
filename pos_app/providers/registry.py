"""The providers this till can take money through: one ``ProviderSpec`` each.

Adding a provider means adding its folder (``providers/<name>/``, exporting ``SPEC``) and
one line here; everything else reads the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pos_app.providers import checkout_com, justifi, payfect, recharge
from pos_app.providers.webhooks import VerifiedEvent, WebhookEvent, WebhookSignatureError

if TYPE_CHECKING:
    from pos_app.providers.spec import ProviderSpec

PROVIDERS: Final[dict[str, ProviderSpec]] = {
    spec.key: spec for spec in (justifi.SPEC, checkout_com.SPEC, recharge.SPEC, payfect.SPEC)
}


def display_name(key: str) -> str:
    """The provider's name as people read it; an unknown key as it is."""
    spec = PROVIDERS.get(key)
    return spec.display_name if spec else key


def parse_event(event: VerifiedEvent) -> WebhookEvent:
    """The object a verified event is about, for any provider."""
    spec = PROVIDERS.get(event.provider)
    if spec is None:
        raise WebhookSignatureError(f"No webhook scheme for provider {event.provider!r}")
    object_ref, reference = spec.parse_webhook(event)
    return WebhookEvent(event.provider, event.event_id, event.event_type, object_ref, reference)
