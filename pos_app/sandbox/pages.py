"""JustiFi's hosted checkout page, as a real page a person can pay on (no JavaScript needed).

``GET /justifi/hosted-checkout/{checkout_id}[?success_redirect_url=…]`` shows the card form, or
JustiFi's default end pages "Checkout Complete" / "Checkout Session Expired". The form posts to
``…/pay``, which tokenizes and completes through the same functions as the REST API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import cards
from .justifi import SUB_ACCOUNTS, ApiError, complete_checkout, get_checkout, tokenize_card
from .state import Sandbox

PAGE_PATH = "/justifi/hosted-checkout/{checkout_id}"
MAX_REDIRECT_URL_LENGTH = 2048
_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")
_NO_STORE = {"Cache-Control": "no-store"}


def _template(name: str) -> Template:
    text = resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


_PAGE = _template("page.html")
_FORM = _template("checkout_form.html")
_OUTCOME = _template("outcome.html")


def format_amount(cents: int, currency: str) -> str:
    """``1799, "USD"`` → ``$17.99``."""
    symbol = {"USD": "$", "CAD": "CA$"}.get(currency.upper(), currency.upper() + " ")
    return f"{symbol}{cents // 100:,}.{cents % 100:02d}"


def safe_redirect_url(url: str | None) -> str | None:
    """Only absolute http(s) URLs may receive the customer after paying."""
    if not url or len(url) > MAX_REDIRECT_URL_LENGTH:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


def with_checkout_id(url: str, checkout_id: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("checkout_id", checkout_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- the card form -------------------------------------------------------------------------


@dataclass
class CardForm:
    """What the person typed, and what is wrong with it (field name → message)."""

    name: str = ""
    number: str = ""
    expiry: str = ""
    cvc: str = ""
    postal: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    expiry_parts: tuple[int, int] | None = None

    @classmethod
    def from_post(cls, fields: dict[str, str]) -> CardForm:
        return cls(
            name=fields.get("cardholder_name", "").strip(),
            number=fields.get("card_number", "").strip(),
            expiry=fields.get("card_expiry", "").strip(),
            cvc=fields.get("card_cvc", "").strip(),
            postal=fields.get("postal_code", "").strip(),
        )

    def validate(self, sandbox: Sandbox) -> None:
        if not self.name:
            self.errors["name"] = "Enter the name on the card."
        digits = cards.normalize_number(self.number)
        brand = cards.detect_brand(digits) if digits.isdigit() else None
        if not digits:
            self.errors["number"] = "Enter your card number."
        elif not cards.luhn_valid(digits):
            self.errors["number"] = "Your card number is invalid."
        elif brand is None:
            self.errors["number"] = "This card brand is not accepted."
        match = _EXPIRY.match(self.expiry)
        if not self.expiry:
            self.errors["expiry"] = "Enter the expiry date."
        elif match is None or (parts := cards.parse_expiry(*match.groups())) is None:
            self.errors["expiry"] = "Enter the expiry date as MM/YY."
        elif cards.is_expired(*parts, sandbox.now()):
            self.errors["expiry"] = "Your card has expired."
        else:
            self.expiry_parts = parts
        cvc_digits = cards.cvc_length(brand) if brand else None
        if not self.cvc:
            self.errors["cvc"] = "Enter the security code."
        elif not self.cvc.isdigit() or (cvc_digits and len(self.cvc) != cvc_digits):
            self.errors["cvc"] = f"The security code is {cvc_digits or '3 or 4'} digits."
        if not self.postal:
            self.errors["postal"] = "Enter your postal code."
        elif not (
            3 <= len(self.postal) <= 10 and all(c.isalnum() or c in " -" for c in self.postal)
        ):
            self.errors["postal"] = "Enter a valid postal code."

    def api_card(self) -> dict[str, Any]:
        """The card as a ``POST /v1/payment_methods`` body's ``card`` would carry it."""
        month, year = self.expiry_parts or (0, 0)
        return {
            "name": self.name,
            "number": cards.normalize_number(self.number),
            "verification": self.cvc,
            "month": str(month),
            "year": str(year),
            "address_postal_code": self.postal,
        }


def _field(
    form: CardForm,
    key: str,
    *,
    element_id: str,
    name: str,
    label: str,
    value: str,
    autocomplete: str,
    numeric: bool = False,
    placeholder: str = "",
    maxlength: int | None = None,
) -> str:
    error = form.errors.get(key, "")
    attributes = [
        f'id="{element_id}"',
        f'name="{name}"',
        'type="text"',
        f'autocomplete="{autocomplete}"',
        f'value="{html.escape(value)}"',
        "required",
        'spellcheck="false"',
        f'aria-describedby="{element_id}-error"',
    ]
    if numeric:
        attributes.append('inputmode="numeric"')
    if placeholder:
        attributes.append(f'placeholder="{html.escape(placeholder)}"')
    if maxlength:
        attributes.append(f'maxlength="{maxlength}"')
    if error:
        attributes.append('aria-invalid="true"')
    return (
        f'    <div class="field">\n'
        f'      <label for="{element_id}">{html.escape(label)}</label>\n'
        f"      <input {' '.join(attributes)}>\n"
        f'      <p class="field-error" id="{element_id}-error">{html.escape(error)}</p>\n'
        f"    </div>"
    )


def render_form(
    checkout: dict[str, Any],
    form: CardForm,
    *,
    redirect_url: str | None,
    form_error: str = "",
    action: str | None = None,
    back_url: str | None = None,
) -> str:
    """The card form for ``checkout``; ``action``/``back_url`` serve the legacy session page."""
    amount = format_amount(checkout["payment_amount"], checkout["payment_currency"])
    merchant = SUB_ACCOUNTS.get(checkout["account_id"], "Sandbox Store")
    content = _FORM.substitute(
        merchant=html.escape(merchant),
        amount=html.escape(amount),
        description=html.escape(checkout["payment_description"] or ""),
        action=html.escape(action or PAGE_PATH.format(checkout_id=checkout["id"]) + "/pay"),
        form_error=html.escape(form_error),
        success_redirect_url=html.escape(redirect_url or ""),
        name_field=_field(
            form,
            "name",
            element_id="cardholder-name",
            name="cardholder_name",
            label="Name on card",
            value=form.name,
            autocomplete="cc-name",
        ),
        number_field=_field(
            form,
            "number",
            element_id="card-number",
            name="card_number",
            label="Card number",
            value=form.number,
            autocomplete="cc-number",
            numeric=True,
            placeholder="1234 1234 1234 1234",
            maxlength=23,
        ),
        expiry_field=_field(
            form,
            "expiry",
            element_id="card-expiry",
            name="card_expiry",
            label="Expiry (MM/YY)",
            value=form.expiry,
            autocomplete="cc-exp",
            numeric=True,
            placeholder="MM/YY",
            maxlength=7,
        ),
        cvc_field=_field(
            form,
            "cvc",
            element_id="card-cvc",
            name="card_cvc",
            label="Security code (CVC)",
            value=form.cvc,
            autocomplete="cc-csc",
            numeric=True,
            placeholder="123",
            maxlength=4,
        ),
        postal_field=_field(
            form,
            "postal",
            element_id="postal-code",
            name="postal_code",
            label="Postal code",
            value=form.postal,
            autocomplete="postal-code",
            maxlength=10,
        ),
    )
    if back_url:
        content += (
            f'\n<p class="back"><a id="back-link" href="{html.escape(back_url)}">Back</a></p>'
        )
    return _PAGE.substitute(title=html.escape(f"Pay {amount} — {merchant}"), content=content)


def render_outcome(page_id: str, heading: str, message: str, *, tone: str, symbol: str) -> str:
    content = _OUTCOME.substitute(
        page_id=page_id,
        heading=html.escape(heading),
        message=html.escape(message),
        tone=tone,
        symbol=symbol,
    )
    return _PAGE.substitute(title=html.escape(heading), content=content)


def _complete_page() -> HTMLResponse:
    body = render_outcome(
        "checkout-complete",
        "Checkout Complete",
        "Your payment was received. You can close this page.",
        tone="ok",
        symbol="✓",
    )
    return HTMLResponse(body, headers=_NO_STORE)


def _expired_page() -> HTMLResponse:
    body = render_outcome(
        "checkout-expired",
        "Checkout Session Expired",
        "This checkout can no longer be paid. Ask the merchant for a new one.",
        tone="warn",
        symbol="!",
    )
    return HTMLResponse(body, headers=_NO_STORE)


def _not_found_page() -> HTMLResponse:
    body = render_outcome(
        "checkout-not-found",
        "Checkout Not Found",
        "There is no checkout at this address. Check the link you were given.",
        tone="bad",
        symbol="?",
    )
    return HTMLResponse(body, status_code=404, headers=_NO_STORE)


# -- routes --------------------------------------------------------------------------------


class HostedCheckoutPages:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route(PAGE_PATH, self.show, methods=["GET"]),
            Route(PAGE_PATH + "/pay", self.pay, methods=["POST"]),
        ]

    async def show(self, request: Request) -> Response:
        checkout = get_checkout(self.sandbox, request.path_params["checkout_id"])
        if checkout is None:
            return _not_found_page()
        if checkout["status"] == "completed":
            return _complete_page()
        if checkout["status"] == "expired":
            return _expired_page()
        redirect_url = safe_redirect_url(request.query_params.get("success_redirect_url"))
        page = render_form(checkout, CardForm(), redirect_url=redirect_url)
        return HTMLResponse(page, headers=_NO_STORE)

    async def pay(self, request: Request) -> Response:
        checkout_id = request.path_params["checkout_id"]
        # A plain urlencoded form: parsed here so no multipart dependency is needed.
        raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        fields = {name: values[-1] for name, values in raw.items()}
        redirect_url = safe_redirect_url(fields.get("success_redirect_url"))
        checkout = get_checkout(self.sandbox, checkout_id)
        if checkout is None:
            return _not_found_page()
        if checkout["status"] == "completed":
            return self._after_success(checkout_id, redirect_url)
        if checkout["status"] == "expired":
            return _expired_page()

        form = CardForm.from_post(fields)
        form.validate(self.sandbox)
        if form.errors:
            form.cvc = ""
            page = render_form(
                checkout,
                form,
                redirect_url=redirect_url,
                form_error="Please check the highlighted fields.",
            )
            return HTMLResponse(page, status_code=422, headers=_NO_STORE)

        try:
            with self.sandbox.store.transaction():
                payment_method = tokenize_card(
                    self.sandbox, account_id=checkout["account_id"], card=form.api_card()
                )
                completion = complete_checkout(
                    self.sandbox, checkout_id=checkout_id, payment_token=payment_method["id"]
                )
        except ApiError as exc:
            if exc.code == "checkout_already_completed":
                return self._after_success(checkout_id, redirect_url)
            if exc.code == "checkout_expired":
                return _expired_page()
            return self._retry_form(checkout, form, redirect_url, exc.message, exc.status)

        if completion["payment_status"] != "succeeded":
            message = completion["payment_error_description"] or "Your card was declined."
            return self._retry_form(completion["checkout"], form, redirect_url, message, 402)
        return self._after_success(checkout_id, redirect_url)

    @staticmethod
    def _retry_form(
        checkout: dict[str, Any],
        form: CardForm,
        redirect_url: str | None,
        message: str,
        status: int,
    ) -> Response:
        # The card was refused: clear it so another one can be entered.
        form.number = form.cvc = ""
        page = render_form(checkout, form, redirect_url=redirect_url, form_error=message)
        return HTMLResponse(page, status_code=status, headers=_NO_STORE)

    @staticmethod
    def _after_success(checkout_id: str, redirect_url: str | None) -> Response:
        # 303 either way, so reloading the next page never posts the card again.
        target = (
            with_checkout_id(redirect_url, checkout_id)
            if redirect_url
            else PAGE_PATH.format(checkout_id=checkout_id)
        )
        return RedirectResponse(target, status_code=303, headers=_NO_STORE)
