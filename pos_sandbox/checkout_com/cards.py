"""Checkout.com's sandbox test cards and response codes (PROVIDERS.md §2.8).

Cards in ``TEST_CARDS`` behave as Checkout.com documents them; any other Luhn-valid number of
a known scheme approves, so a cashier can train with any plausible card.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cards import luhn_valid

APPROVED = "10000"
THREEDS_FAILED = "20151"

# response_code -> response_summary (checkout.com docs: test cards / response codes).
RESPONSE_SUMMARIES = {
    APPROVED: "Approved",
    "200N7": "Decline for CVV2 failure",
    "200R3": "Issuer initiated a stop payment (revocation order) for all authorizations",
    "20001": "Refer to card issuer",
    "20005": "Declined - Do Not Honour",
    "20012": "Invalid transaction",
    "20014": "Invalid card number",
    "20051": "Insufficient Funds",
    "20054": "Expired Card",
    "20057": "Transaction not permitted to cardholder",
    "20059": "Suspected fraud",
    "20061": "Activity amount limit exceeded",
    "20062": "Restricted card",
    "20063": "Security violation",
    "20068": "Response received too late / timeout",
    "20078": "Blocked, first used - transaction from new cardholder, card not properly unblocked",
    THREEDS_FAILED: "Cardholder failed 3DS authentication",
}


@dataclass(frozen=True)
class TestCard:
    number: str
    scheme: str  # as Checkout.com writes it: VISA, MASTERCARD, AMEX, DINERS, DISCOVER, JCB
    card_type: str = "Credit"  # Credit, Debit, Prepaid
    issuer_country: str = "GB"
    response_code: str = APPROVED
    card_category: str = "Consumer"
    # Approved but flagged by risk rules (``risk.flagged``): left authorized for a person to
    # capture or void. Checkout.com publishes no card for this; the sandbox's own is below.
    flagged: bool = False


TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        # Approve (any future expiry).
        TestCard("4242424242424242", "VISA", issuer_country="US"),
        TestCard("4543474002249996", "VISA"),
        TestCard("5436031030606378", "MASTERCARD"),
        TestCard("2223000010479399", "MASTERCARD"),
        TestCard("5199992312641465", "MASTERCARD"),
        TestCard("345678901234564", "AMEX", issuer_country="US"),
        TestCard("378282246310005", "AMEX", issuer_country="US"),
        TestCard("30123456789019", "DINERS", issuer_country="US"),
        TestCard("6011111111111117", "DISCOVER", issuer_country="US"),
        TestCard("3530111333300000", "JCB", issuer_country="JP"),
        TestCard("4658584090000001", "VISA", card_type="Debit"),
        TestCard("5000186622346654", "MASTERCARD", card_type="Debit"),
        # [sandbox only] Approved and flagged for risk review (never captured on its own).
        TestCard("4000000000009235", "VISA", issuer_country="US", flagged=True),
        # Decline with the documented response code.
        TestCard("4734868958733862", "VISA", issuer_country="US", response_code="200N7"),
        TestCard("4567361325981788", "VISA", response_code="200R3"),
        TestCard("4111111111111129", "VISA", issuer_country="US", response_code="20001"),
        TestCard("4024007103573027", "VISA", issuer_country="US", response_code="20012"),
        TestCard("4485381577182090", "VISA", issuer_country="US", response_code="20014"),
        TestCard("4544249167673670", "VISA", response_code="20051"),
        TestCard("4724117215951699", "VISA", response_code="20054"),
        TestCard("4000141680788456", "VISA", card_type="Prepaid", response_code="20054"),
        TestCard("4659465888705671", "VISA", response_code="20057"),
        TestCard("4151512736305999", "VISA", response_code="20057"),
        TestCard("4897453568485113", "VISA", issuer_country="US", response_code="20059"),
        TestCard(
            "4000144348235050",
            "VISA",
            card_type="Prepaid",
            issuer_country="US",
            response_code="20059",
        ),
        TestCard("4556294593757189", "VISA", issuer_country="UY", response_code="20061"),
        TestCard("4818924250131070", "VISA", response_code="20062"),
        TestCard("4556253752712245", "VISA", issuer_country="US", response_code="20063"),
        TestCard("4095254802642505", "VISA", issuer_country="US", response_code="20068"),
        TestCard("4532819413487978", "VISA", issuer_country="US", response_code="20078"),
    )
}


def response_summary(code: str) -> str:
    return RESPONSE_SUMMARIES.get(code, "Declined")


def detect_scheme(number: str) -> str | None:
    if number in TEST_CARDS:
        return TEST_CARDS[number].scheme
    if not number.isdigit() or len(number) < 12:
        return None
    two, three, four = int(number[:2]), int(number[:3]), int(number[:4])
    if number.startswith("4"):
        return "VISA"
    if two in (34, 37):
        return "AMEX"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "MASTERCARD"
    if 3528 <= four <= 3589:
        return "JCB"
    if 300 <= three <= 305 or two in (36, 38, 39):
        return "DINERS"
    if number.startswith(("6011", "65")) or 644 <= three <= 649:
        return "DISCOVER"
    return None


def card_number_valid(number: str) -> bool:
    return number in TEST_CARDS or (luhn_valid(number) and detect_scheme(number) is not None)


def cvv_length(scheme: str) -> int:
    return 4 if scheme == "AMEX" else 3


def describe(number: str) -> TestCard:
    """The card's scheme data and its authorization outcome (approve unless in the table)."""
    if number in TEST_CARDS:
        return TEST_CARDS[number]
    return TestCard(number, detect_scheme(number) or "VISA", issuer_country="GB")
