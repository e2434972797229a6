"""The till's words for how a customer pays and for what is done to a payment.

One vocabulary from the cashier's buttons to the journal: the values are the very strings
the journal has always stored (``payments.method``, ``intents.operation``), so rows written
before these enums existed read back unchanged and no migration is needed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class _Recorded(StrEnum):
    """A vocabulary whose values are stored in the journal."""

    @classmethod
    def recorded(cls, value: str) -> Self:
        """The member a stored value names; a value this version does not list is kept as
        it is, in a stand-in that is no member (``in`` the enum is False, its ``value`` the
        stored text).

        Such a value comes from a newer till sharing or leaving behind the journal, or from
        a hand edit. Refusing it would make the journal refuse an old row (a payment list, a
        lookup, a shift report all stop); mapping it to a listed member would say something
        the row does not. Kept as it is, every property of the vocabulary is False for it,
        which is how this till treated an unlisted string before these enums existed, and
        it is shown and exported as the text it was stored as.
        """
        try:
            return cls(value)
        except ValueError:
            unlisted = str.__new__(cls, value)
            unlisted._name_ = "UNLISTED"
            unlisted._value_ = value
            return unlisted


class PaymentMethod(_Recorded):
    """How the customer pays: what the cashier chooses and the journal records."""

    HOSTED_CHECKOUT = "hosted_checkout"  # pays on the provider's secure page (till or browser)
    PAY_BY_LINK = "pay_by_link"  # scans a QR code and pays on their own phone
    EMBEDDED_CHECKOUT = "embedded_checkout"  # types their card into the provider's card form
    DIRECT_CHARGE = "direct_charge"  # hands over a card the till charges through the API
    CARD_READER = "card_reader"  # presents, taps or inserts their card at a card reader

    @property
    def charged_by_us(self) -> bool:
        """The till charges the card itself (no provider page): looked up as a payment."""
        return self in (PaymentMethod.DIRECT_CHARGE, PaymentMethod.CARD_READER)

    @property
    def is_checkout_page(self) -> bool:
        """The customer pays on a provider checkout (page, link or card form), which stays
        payable at the provider until it expires."""
        return self in (
            PaymentMethod.HOSTED_CHECKOUT,
            PaymentMethod.PAY_BY_LINK,
            PaymentMethod.EMBEDDED_CHECKOUT,
        )


class Operation(_Recorded):
    """What the till does to a payment."""

    # Requests sent to a provider: each is a journal intent, written before it is sent.
    CREATE_CHECKOUT = "create_checkout"  # open a provider checkout (page, link or card form)
    CHARGE = "charge"  # charge (or only authorize) a card token or source
    CAPTURE = "capture"  # take money an authorization holds
    REFUND = "refund"  # give captured money back
    VOID = "void"  # cancel an authorization before anything is captured
    # Published with a payment's change only, never an intent (nothing is sent for them).
    CANCEL = "cancel"  # the cashier gave up on a checkout
    LOOKUP = "lookup"  # the provider was asked what became of the payment
    WEBHOOK = "webhook"  # a provider's event made the till look the payment up

    @property
    def opens_payment(self) -> bool:
        """The request that starts a payment at the provider (its first intent)."""
        return self in (Operation.CREATE_CHECKOUT, Operation.CHARGE)
