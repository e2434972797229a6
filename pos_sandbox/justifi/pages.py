"""JustiFi's hosted checkout page, as a real page a person can pay on (no JavaScript needed).

``GET /justifi/hosted-checkout/{checkout_id}[?success_redirect_url=…]`` shows the card form, or
JustiFi's default end pages "Checkout Complete" / "Checkout Session Expired". The form posts to
``…/pay``, which tokenizes and completes through the same functions as the REST API. The card
form (``render_form``) also serves the legacy checkout session page (``sessions``).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import cards
from ..web import (
    NO_STORE,
    CardForm,
    checkout_not_found_page,
    form_fields,
    outcome_page,
    render_page,
    template,
    text_field,
    with_query,
)
from .checkouts import SUB_ACCOUNTS, complete_checkout, get_checkout
from .errors import ApiError
from .payment_methods import tokenize_card

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..state import Sandbox

PAGE_PATH = "/justifi/hosted-checkout/{checkout_id}"
MAX_REDIRECT_URL_LENGTH = 2048

_FORM = template("checkout_form.html")


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


# -- the card form -------------------------------------------------------------------------


def card_body(form: CardForm) -> dict[str, Any]:
    """The card as a ``POST /v1/payment_methods`` body's ``card`` would carry it."""
    month, year = form.expiry_parts or (0, 0)
    return {
        "name": form.name,
        "number": cards.normalize_number(form.number),
        "verification": form.cvc,
        "month": str(month),
        "year": str(year),
        "address_postal_code": form.postal,
    }


def _field(form: CardForm, key: str, **options: Any) -> str:
    return text_field(error=form.errors.get(key, ""), **options)


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
    return render_page(f"Pay {amount} — {merchant}", content)


def _complete_page() -> HTMLResponse:
    return outcome_page(
        "checkout-complete",
        "Checkout Complete",
        "Your payment was received. You can close this page.",
        tone="ok",
        symbol="✓",
    )


def _expired_page() -> HTMLResponse:
    return outcome_page(
        "checkout-expired",
        "Checkout Session Expired",
        "This checkout can no longer be paid. Ask the merchant for a new one.",
        tone="warn",
        symbol="!",
    )


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
            return checkout_not_found_page()
        if checkout["status"] == "completed":
            return _complete_page()
        if checkout["status"] == "expired":
            return _expired_page()
        redirect_url = safe_redirect_url(request.query_params.get("success_redirect_url"))
        page = render_form(checkout, CardForm(), redirect_url=redirect_url)
        return HTMLResponse(page, headers=NO_STORE)

    async def pay(self, request: Request) -> Response:
        checkout_id = request.path_params["checkout_id"]
        fields = await form_fields(request)
        redirect_url = safe_redirect_url(fields.get("success_redirect_url"))
        checkout = get_checkout(self.sandbox, checkout_id)
        if checkout is None:
            return checkout_not_found_page()
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
            return HTMLResponse(page, status_code=422, headers=NO_STORE)

        try:
            with self.sandbox.store.transaction():
                payment_method = tokenize_card(
                    self.sandbox, account_id=checkout["account_id"], card=card_body(form)
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
        return HTMLResponse(page, status_code=status, headers=NO_STORE)

    @staticmethod
    def _after_success(checkout_id: str, redirect_url: str | None) -> Response:
        # 303 either way, so reloading the next page never posts the card again.
        target = (
            with_query(redirect_url, "checkout_id", checkout_id)
            if redirect_url
            else PAGE_PATH.format(checkout_id=checkout_id)
        )
        return RedirectResponse(target, status_code=303, headers=NO_STORE)
