"""The one object the embedded card form's host page may talk to, over QWebChannel.

Three narrow slots carry the component's events; each accepts only the documented payload
(a small JSON object) and refuses everything else. Nothing here decides an outcome: every
event only makes the app look the checkout up.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

BRIDGE_NAME = "posBridge"
MAX_PAYLOAD = 4096  # the relayed payloads are a few fields; anything bigger is not ours
PAYMENT_STATUSES = frozenset({"succeeded", "failed", "pending", "canceled", "skipped"})
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

# error-event often has no message (a known component bug for a refused /complete): say
# something a cashier can act on. [PROVIDERS.md §1.10]
ERROR_SENTENCES = {
    "complete-checkout-error": (
        "The card form could not complete the payment. The customer can try again or use "
        "another card."
    ),
    "tokenize-error": "The card details could not be read. Check them and try again.",
    "checkout-already-completed": "This checkout was already completed.",
    "checkout-expired": "This checkout expired. Start the sale again.",
    "not-authenticated": "The card form's session ran out. Start the sale again.",
    "fetch-error": "The card form could not reach JustiFi. Check the connection.",
    "post-error": "The card form could not reach JustiFi. Check the connection.",
    "patch-error": "The card form could not reach JustiFi. Check the connection.",
    "validation-error": "Some card details are missing or not valid.",
    "missing-props": "The card form was not set up correctly.",
    "invalid-parameter": "The card form was not set up correctly.",
}
UNKNOWN_ERROR = "The card form reported a problem."


def error_sentence(code: str) -> str:
    return ERROR_SENTENCES.get(code, UNKNOWN_ERROR)


def _parse(payload: object) -> dict[str, Any] | None:
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        return None
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class CheckoutBridge(QObject):
    submitted = Signal(str)  # the component's payment_status (a hint: the lookup decides)
    failed = Signal(str, str)  # error code, a sentence for the cashier
    changed = Signal()
    refused = Signal(str)  # which slot got a payload that was not the documented one

    @Slot(str)
    def submit(self, payload: str) -> None:
        data = _parse(payload)
        checkout = data.get("checkout") if data is not None else None
        status = checkout.get("payment_status") if isinstance(checkout, dict) else None
        if not isinstance(status, str) or status not in PAYMENT_STATUSES:
            self._refuse("submit")
            return
        self.submitted.emit(status)

    @Slot(str)
    def error(self, payload: str) -> None:
        data = _parse(payload)
        code = data.get("errorCode") if data is not None else None
        if not isinstance(code, str) or not _ERROR_CODE.match(code):
            self._refuse("error")
            return
        message = data.get("message") if data is not None else None
        if isinstance(message, str) and message.strip():
            log.info("Card form error %s: %s", code, message[:200])
        self.failed.emit(code, error_sentence(code))

    @Slot(str)
    def checkout_changed(self, payload: str) -> None:
        if _parse(payload) is None:
            self._refuse("checkout_changed")
            return
        self.changed.emit()

    def _refuse(self, slot: str) -> None:
        log.warning("Card form bridge: refused a %s payload that is not the documented one", slot)
        self.refused.emit(slot)
