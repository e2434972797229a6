"""ReCharge's hosted checkout page, ``/recharge/r/checkout/{token}``, and the headless helper.

The page shows the line items and total, asks for an email (when the checkout has none), a
shipping rate (when one is needed) and a card, and posts to ``…/pay``, which charges through
the same ``charge_checkout`` as ``POST /checkouts/{token}/charge`` (processor ``stripe``,
payment type ``CREDIT_CARD``, a sandbox token standing for the card). Card numbers follow
``cards.TEST_CARDS``. A checkout that needs shipping but has no shipping address cannot be
paid here: the merchant adds the address through the API first ([sandbox] decision).

``POST /_sandbox/recharge/pay {"token": …, "card": "4242…" | {"number", "cvc"?}}`` does what
the page does and answers the API's ``{"checkout_charge": …}`` (or its error) as JSON.
Recorded events are listed by ``GET /_sandbox/webhooks?provider=recharge``.
"""

from __future__ import annotations

import html
from decimal import Decimal
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import cards
from .pages import CardForm, render_outcome
from .recharge import (
    KIND,
    RechargeError,
    available_rates,
    charge_checkout,
    money,
    rate_for,
    requires_shipping,
    token_for_card,
    totals,
    update_checkout,
)
from .state import Sandbox

PAGE_PATH = "/recharge/r/checkout/{token}"
MERCHANT = "Sandbox Store"
_NO_STORE = {"Cache-Control": "no-store"}


def _template(name: str) -> Template:
    text = resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


_SHELL = _template("page.html")
_FORM = _template("recharge_checkout.html")


def _input(
    errors: dict[str, str],
    key: str,
    label: str,
    value: str,
    *,
    autocomplete: str,
    numeric: bool = False,
    kind: str = "text",
) -> str:
    error = errors.get(key, "")
    attributes = [
        f'id="{key}"',
        f'name="{key}"',
        f'type="{kind}"',
        f'autocomplete="{autocomplete}"',
        f'value="{html.escape(value)}"',
        "required",
        f'aria-describedby="{key}-error"',
    ]
    if numeric:
        attributes.append('inputmode="numeric"')
    if error:
        attributes.append('aria-invalid="true"')
    return (
        f'    <div class="field">\n'
        f'      <label for="{key}">{html.escape(label)}</label>\n'
        f"      <input {' '.join(attributes)}>\n"
        f'      <p class="field-error" id="{key}-error">{html.escape(error)}</p>\n'
        f"    </div>"
    )


def _shipping_select(checkout: dict[str, Any], chosen: str | None, error: str) -> str:
    rates = available_rates(checkout)
    if not rates:
        return ""
    options = "".join(
        f'<option value="{html.escape(rate.handle)}"{" selected" if rate.handle == chosen else ""}'
        f' data-total="${totals(checkout, rate)["total_price"]}">'
        f"{html.escape(rate.title)} — ${money(rate.price)}</option>"
        for rate in rates
    )
    return (
        '    <div class="field">\n'
        '      <label for="shipping_rate">Shipping</label>\n'
        f'      <select id="shipping_rate" name="shipping_rate">{options}</select>\n'
        f'      <p class="field-error" id="shipping_rate-error">{html.escape(error)}</p>\n'
        "    </div>"
    )


def render_checkout(
    checkout: dict[str, Any],
    form: CardForm,
    *,
    email: str,
    errors: dict[str, str],
    form_error: str = "",
) -> str:
    # The headline total includes the shipping rate the form has selected.
    rates = available_rates(checkout)
    chosen = rate_for(checkout, checkout.get("shipping_handle") or "")
    amounts = totals(checkout, chosen or (rates[0] if rates else None))
    total = f"${amounts['total_price']}"
    rows = "\n".join(
        f"    <tr><td>{html.escape(item['title'])} × {item['quantity']}</td>"
        f'<td style="text-align:right">'
        f"${money(Decimal(item['price']) * item['quantity'])}</td></tr>"
        for item in checkout["line_items"]
    )
    card_errors = {f"card_{name}": message for name, message in form.errors.items()}
    all_errors = {**errors, **card_errors}
    content = _FORM.substitute(
        merchant=html.escape(MERCHANT),
        total=html.escape(total),
        subtotal=html.escape(f"${amounts['subtotal_price']}"),
        line_rows=rows,
        action=html.escape(PAGE_PATH.format(token=checkout["token"]) + "/pay"),
        form_error=html.escape(form_error),
        email_field=(
            ""
            if checkout["email"]
            else _input(all_errors, "email", "Email", email, autocomplete="email", kind="email")
        ),
        shipping_field=_shipping_select(
            checkout, checkout.get("shipping_handle"), errors.get("shipping_rate", "")
        ),
        name_field=_input(
            all_errors, "card_name", "Name on card", form.name, autocomplete="cc-name"
        ),
        number_field=_input(
            all_errors,
            "card_number",
            "Card number",
            form.number,
            autocomplete="cc-number",
            numeric=True,
        ),
        expiry_field=_input(
            all_errors,
            "card_expiry",
            "Expiry (MM/YY)",
            form.expiry,
            autocomplete="cc-exp",
            numeric=True,
        ),
        cvc_field=_input(
            all_errors, "card_cvc", "Security code (CVC)", "", autocomplete="cc-csc", numeric=True
        ),
        postal_field=_input(
            all_errors,
            "card_postal",
            "Billing postal code",
            form.postal,
            autocomplete="postal-code",
        ),
    )
    return _SHELL.substitute(title=html.escape(f"Pay {total} — {MERCHANT}"), content=content)


def _outcome(
    page_id: str, heading: str, message: str, tone: str, symbol: str, status: int
) -> Response:
    body = render_outcome(page_id, heading, message, tone=tone, symbol=symbol)
    return HTMLResponse(body, status_code=status, headers=_NO_STORE)


def _complete_page(checkout: dict[str, Any]) -> Response:
    return _outcome(
        "checkout-complete",
        "Thank you for your order!",
        f"Your payment of ${totals(checkout)['total_price']} was received "
        f"(charge {checkout['charge_id']}). You can close this page.",
        "ok",
        "✓",
        200,
    )


def _not_found_page() -> Response:
    return _outcome(
        "checkout-not-found",
        "Checkout Not Found",
        "There is no checkout at this address. Check the link you were given.",
        "bad",
        "?",
        404,
    )


def _needs_address_page() -> Response:
    return _outcome(
        "checkout-needs-address",
        "Shipping Address Needed",
        "This order ships, but it has no shipping address yet. Ask the merchant to add one.",
        "warn",
        "!",
        409,
    )


class RechargePages:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route(PAGE_PATH, self.show, methods=["GET"]),
            Route(PAGE_PATH + "/pay", self.pay, methods=["POST"]),
            Route("/_sandbox/recharge/pay", self.helper_pay, methods=["POST"]),
        ]

    async def show(self, request: Request) -> Response:
        checkout = self.sandbox.store.get(KIND, request.path_params["token"])
        if checkout is None:
            return _not_found_page()
        if checkout["completed_at"]:
            return _complete_page(checkout)
        if requires_shipping(checkout) and not checkout["shipping_address"]:
            return _needs_address_page()
        page = render_checkout(checkout, CardForm(), email="", errors={})
        return HTMLResponse(page, headers=_NO_STORE)

    async def pay(self, request: Request) -> Response:
        token = request.path_params["token"]
        raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        fields = {name: values[-1] for name, values in raw.items()}
        checkout = self.sandbox.store.get(KIND, token)
        if checkout is None:
            return _not_found_page()
        if checkout["completed_at"]:
            return RedirectResponse(PAGE_PATH.format(token=token), 303, headers=_NO_STORE)
        if requires_shipping(checkout) and not checkout["shipping_address"]:
            return _needs_address_page()

        form = CardForm(
            name=fields.get("card_name", "").strip(),
            number=fields.get("card_number", "").strip(),
            expiry=fields.get("card_expiry", "").strip(),
            cvc=fields.get("card_cvc", "").strip(),
            postal=fields.get("card_postal", "").strip(),
        )
        form.validate(self.sandbox)
        errors: dict[str, str] = {}
        email = fields.get("email", "").strip()
        if not checkout["email"] and ("@" not in email or len(email) > 254):
            errors["email"] = "Enter a valid email address."
        handle = fields.get("shipping_rate") or checkout.get("shipping_handle")
        if available_rates(checkout) and (not handle or rate_for(checkout, handle) is None):
            errors["shipping_rate"] = "Choose a shipping rate."
        if errors or form.errors:
            page = render_checkout(
                checkout,
                form,
                email=email,
                errors=errors,
                form_error="Please check the highlighted fields.",
            )
            return HTMLResponse(page, status_code=422, headers=_NO_STORE)

        changes: dict[str, Any] = {}
        if not checkout["email"]:
            changes["email"] = email
        if handle and available_rates(checkout):
            changes["shipping_line"] = {"handle": handle}
        try:
            if changes:
                checkout = update_checkout(self.sandbox, token, changes)
            with self.sandbox.store.transaction():
                payment_token = token_for_card(
                    self.sandbox, cards.normalize_number(form.number), cvc_given=True
                )
            charge_checkout(
                self.sandbox,
                token,
                payment_processor="stripe",
                payment_token=payment_token,
                payment_type="CREDIT_CARD",
            )
        except RechargeError as exc:
            message = exc.body.get("errors")
            text = message if isinstance(message, str) else "The payment could not be made."
            form.number = form.cvc = ""
            page = render_checkout(checkout, form, email=email, errors={}, form_error=text)
            return HTMLResponse(page, status_code=exc.status, headers=_NO_STORE)
        # 303, so reloading the next page never posts the card again.
        return RedirectResponse(PAGE_PATH.format(token=token), 303, headers=_NO_STORE)

    async def helper_pay(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            return JSONResponse({"error": "'token' must be a checkout token"}, status_code=400)
        card = body.get("card", "4242424242424242")
        number, cvc_given = (card, True) if isinstance(card, str) else (None, False)
        if isinstance(card, dict) and isinstance(card.get("number"), str):
            number, cvc_given = card["number"], card.get("cvc") is not None
        digits = cards.normalize_number(number) if isinstance(number, str) else ""
        if not cards.luhn_valid(digits) or cards.detect_brand(digits) is None:
            return JSONResponse({"error": "'card' must be a valid card number"}, status_code=400)
        checkout = self.sandbox.store.get(KIND, body["token"])
        if checkout is None:
            return JSONResponse({"error": "Not found"}, status_code=404)
        try:
            with self.sandbox.store.transaction():
                payment_token = token_for_card(self.sandbox, digits, cvc_given)
            rates = available_rates(checkout)
            if rates and rate_for(checkout, checkout.get("shipping_handle") or "") is None:
                # Like a shopper who keeps the preselected (first) rate.
                update_checkout(
                    self.sandbox, body["token"], {"shipping_line": {"handle": rates[0].handle}}
                )
            result = charge_checkout(
                self.sandbox,
                body["token"],
                payment_processor="stripe",
                payment_token=payment_token,
                payment_type="CREDIT_CARD",
            )
        except RechargeError as exc:
            return JSONResponse(exc.body, status_code=exc.status)
        return JSONResponse({"checkout_charge": result})
