"""ReCharge's hosted checkout page, ``/recharge/r/checkout/{token}``, and the headless helper.

The page shows the line items and total, asks for an email (when the checkout has none), a
shipping rate (when one is needed) and a card, and posts to ``…/pay``, which charges through
the same ``charge_checkout`` as ``POST /checkouts/{token}/charge`` (processor ``stripe``,
payment type ``CREDIT_CARD``, a sandbox token standing for the card). Card numbers follow
the generic test cards (``pos_sandbox.cards.TEST_CARDS``). A checkout that needs shipping but
has no shipping address cannot be paid here: the merchant adds the address through the API
first ([sandbox] decision).

``POST /_sandbox/recharge/pay {"token": …, "card": "4242…" | {"number", "cvc"?}}`` does what
the page does and answers the API's ``{"checkout_charge": …}`` (or its error) as JSON.
Recorded events are listed by ``GET /_sandbox/webhooks?provider=recharge``.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import cards
from ..web import (
    NO_STORE,
    CardForm,
    checkout_not_found_page,
    control_error,
    form_fields,
    json_object,
    money,
    outcome_page,
    render_page,
    template,
    text_field,
)
from .checkouts import KIND, charge_checkout, token_for_card, update_checkout
from .errors import RechargeError
from .views import available_rates, rate_for, requires_shipping, totals

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..state import Sandbox

PAGE_PATH = "/recharge/r/checkout/{token}"
MERCHANT = "Sandbox Store"

_FORM = template("recharge_checkout.html")


def _input(errors: dict[str, str], key: str, label: str, value: str, **options: Any) -> str:
    return text_field(key, key, label, value, errors.get(key, ""), spellcheck=True, **options)


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
    return render_page(f"Pay {total} — {MERCHANT}", content)


def _complete_page(checkout: dict[str, Any]) -> Response:
    return outcome_page(
        "checkout-complete",
        "Thank you for your order!",
        f"Your payment of ${totals(checkout)['total_price']} was received "
        f"(charge {checkout['charge_id']}). You can close this page.",
        tone="ok",
        symbol="✓",
    )


def _needs_address_page() -> Response:
    return outcome_page(
        "checkout-needs-address",
        "Shipping Address Needed",
        "This order ships, but it has no shipping address yet. Ask the merchant to add one.",
        tone="warn",
        symbol="!",
        status=409,
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
            return checkout_not_found_page()
        if checkout["completed_at"]:
            return _complete_page(checkout)
        if requires_shipping(checkout) and not checkout["shipping_address"]:
            return _needs_address_page()
        page = render_checkout(checkout, CardForm(), email="", errors={})
        return HTMLResponse(page, headers=NO_STORE)

    async def pay(self, request: Request) -> Response:
        token = request.path_params["token"]
        fields = await form_fields(request)
        checkout = self.sandbox.store.get(KIND, token)
        if checkout is None:
            return checkout_not_found_page()
        if checkout["completed_at"]:
            return RedirectResponse(PAGE_PATH.format(token=token), 303, headers=NO_STORE)
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
            return HTMLResponse(page, status_code=422, headers=NO_STORE)

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
            return HTMLResponse(page, status_code=exc.status, headers=NO_STORE)
        # 303, so reloading the next page never posts the card again.
        return RedirectResponse(PAGE_PATH.format(token=token), 303, headers=NO_STORE)

    async def helper_pay(self, request: Request) -> Response:
        body = await json_object(request, refuse_deep=True)
        if body is None or not isinstance(body.get("token"), str):
            return control_error("'token' must be a checkout token")
        card = body.get("card", "4242424242424242")
        number, cvc_given = (card, True) if isinstance(card, str) else (None, False)
        if isinstance(card, dict) and isinstance(card.get("number"), str):
            number, cvc_given = card["number"], card.get("cvc") is not None
        digits = cards.normalize_number(number) if isinstance(number, str) else ""
        if not cards.luhn_valid(digits) or cards.detect_brand(digits) is None:
            return control_error("'card' must be a valid card number")
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
