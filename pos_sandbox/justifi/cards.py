"""What only JustiFi's answers show of a card or bank account: its brand labels and network
names, the BIN details of a payment method, and the ACH test bank accounts (api-spec "Testing":
routing 110000000). The test-card table itself is generic (``pos_sandbox.cards``).
"""

from __future__ import annotations

from ..cards import TEST_CARDS, Decline

BRAND_LABELS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "american_express": "American Express",
    "discover": "Discover",
}
NETWORKS = {
    "visa": "VISA",
    "mastercard": "MASTERCARD",
    "american_express": "AMEX",
    "discover": "DISCOVER",
}


def bin_details(number: str, brand: str) -> dict[str, str]:
    funding = TEST_CARDS[number].funding if number in TEST_CARDS else "Credit"
    label = BRAND_LABELS.get(brand, brand)
    return {
        "type": funding,
        "card_brand": label,
        "card_class": "Consumer",
        "country": "United States of America",
        "issuer": f"{label} - Issuer Bank Not Available",
        "funding_source": funding,
    }


# -- ACH test bank accounts ----------------------------------------------------------------

ACH_TEST_ROUTING = "110000000"
ACH_SUCCESS_ACCOUNT = "000123456789"
# Declined accounts: the docs name only the failure ("Insufficient Funds", "The account doesn't
# support debits", ...). insufficient_funds and account_closed are catalogue codes; the other
# two codes are the sandbox's own reading of the described failure.
ACH_DECLINES: dict[str, Decline] = {
    "000222222227": Decline(
        "insufficient_funds",
        "insufficient_funds",
        "This account has insufficient funds. Please try a different payment method.",
        None,
    ),
    "000333333335": Decline(
        "debits_not_allowed",
        "debits_not_allowed",
        "The account doesn't support debits. Please try a different payment method.",
        None,
    ),
    "000111111113": Decline(
        "account_closed",
        "account_closed",
        "The account associated with this payment method is been closed. Please try a "
        "different card or payment method.",
        None,
    ),
    "000111111116": Decline(
        "no_account",
        "no_account",
        "The account doesn't exist. Please try a different payment method.",
        None,
    ),
}


def ach_decline(account_number: str) -> Decline | None:
    return ACH_DECLINES.get(account_number)
