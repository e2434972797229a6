"""The only caller of payment providers: taking money, acting on it afterwards, lookups.

One use case per module over one shared path (``core``: guard → intent with its idempotency
key → call → outcome → change published):

- ``sales``: ``take(profile, sale, method)``, every way a customer pays;
- ``actions``: capture, refund, void, and which of them a payment offers now;
- ``lookups``: what became of a payment, from the provider, recorded;
- ``reconcile``: start-up lookups of everything the last run left open.

``PaymentService`` is all of them over one journal and one set of profiles: the object the
till builds once and every screen calls.
"""

from __future__ import annotations

from pos_app.services.payments.actions import (
    Actions,
    Available,
    available_actions,
    can_void_now,
    void_deadline,
)
from pos_app.services.payments.core import (
    CHECKOUT_LIFETIME,
    OPEN_STATES,
    SETTLE_AFTER,
    STILL_PROCESSING,
    OperationFailed,
    PaymentRefused,
)
from pos_app.services.payments.reconcile import ReconcileReport, Reconciliation
from pos_app.services.payments.sales import Sales, SaleStarted

__all__ = [
    "CHECKOUT_LIFETIME",
    "OPEN_STATES",
    "SETTLE_AFTER",
    "STILL_PROCESSING",
    "Available",
    "OperationFailed",
    "PaymentRefused",
    "PaymentService",
    "ReconcileReport",
    "SaleStarted",
    "available_actions",
    "can_void_now",
    "void_deadline",
]


class PaymentService(Sales, Actions, Reconciliation):
    """Taking, managing and looking up payments; ``providers`` maps a profile to its adapter."""
