"""Checkout.com's customer pages: 3-D Secure challenge, Hosted Payments Page, Payment Link.

Real pages a person can use without JavaScript:

* ``/checkout-com/3ds/{sid_…}`` — the issuer challenge (one-time code, Authenticate / Cancel);
  it then sends the browser to the payment's ``success_url`` or ``failure_url`` with
  ``?cko-session-id=sid_…``.
* ``/checkout-com/page/{hpp_…}`` — the Hosted Payments Page (card form, Cancel → cancel_url).
* ``/checkout-com/link/{pl_…}`` — the Payment Link page.

``POST /_sandbox/checkout-com/pay`` does headlessly what a person does on these pages.
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
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import checkout_com_cards as cko_cards
from .checkout_com import (
    PREFIX,
    THREEDS_SANDBOX_CODE,
    CkoError,
    Gateway,
    cko_id,
    format_amount,
)
from .state import Sandbox

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")
_NO_STORE = {"Cache-Control": "no-store"}
MAX_CHALLENGE_ATTEMPTS = 3
MERCHANT = "Sandbox Store"


def _template(name: str) -> Template:
    text = resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


_PAGE = _template("page.html")
_FORM = _template("checkout_com_card_form.html")
_CHALLENGE = _template("checkout_com_3ds.html")
_OUTCOME = _template("outcome.html")


def with_session_id(url: str, session_id: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("cko-session-id", session_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(title: str, content: str, status: int = 200) -> HTMLResponse:
    body = _PAGE.substitute(title=html.escape(title), content=content)
    return HTMLResponse(body, status_code=status, headers=_NO_STORE)


def _outcome(
    page_id: str,
    heading: str,
    message: str,
    *,
    tone: str,
    symbol: str,
    status: int = 200,
    extra: str = "",
) -> HTMLResponse:
    content = _OUTCOME.substitute(
        page_id=page_id,
        heading=html.escape(heading),
        message=html.escape(message) + extra,
        tone=tone,
        symbol=symbol,
    )
    return _page(heading, content, status)


def _not_found(what: str) -> HTMLResponse:
    return _outcome(
        "not-found",
        f"{what} not found",
        "There is nothing to pay at this address.",
        tone="bad",
        symbol="?",
        status=404,
    )


async def _form_fields(request: Request) -> dict[str, str]:
    raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in raw.items()}


# -- the card form -------------------------------------------------------------------------


@dataclass
class CardForm:
    name: str = ""
    number: str = ""
    expiry: str = ""
    cvv: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_post(cls, fields: dict[str, str]) -> CardForm:
        return cls(
            name=fields.get("cardholder_name", "").strip(),
            number=fields.get("card_number", "").strip(),
            expiry=fields.get("card_expiry", "").strip(),
            cvv=fields.get("card_cvv", "").strip(),
        )

    def api_card(self) -> dict[str, Any]:
        """The card as ``POST /tokens`` takes it (validated by the gateway)."""
        match = _EXPIRY.match(self.expiry)
        month: Any = None
        year: Any = None
        if match:
            month, year = int(match.group(1)), int(match.group(2))
            if year < 100:
                year += 2000
        elif self.expiry:
            month = year = "invalid"
        return {
            "number": cko_cards.normalize_number(self.number),
            "expiry_month": month,
            "expiry_year": year,
            "cvv": self.cvv or None,
            "name": self.name or None,
        }

    def explain(self, codes: list[str]) -> None:
        messages = {
            "card_number_required": ("number", "Enter your card number."),
            "card_number_invalid": ("number", "Your card number is invalid."),
            "card_expiry_month_required": ("expiry", "Enter the expiry date."),
            "card_expiry_year_required": ("expiry", "Enter the expiry date."),
            "card_expiry_month_invalid": ("expiry", "Enter the expiry date as MM/YY."),
            "card_expiry_year_invalid": ("expiry", "Enter the expiry date as MM/YY."),
            "card_expired": ("expiry", "Your card has expired."),
            "cvv_invalid": ("cvv", "The security code is 3 digits (4 for Amex)."),
            "card_holder_invalid": ("name", "Enter the name on the card."),
        }
        for code in codes:
            key, message = messages.get(code, ("number", "Check your card details."))
            self.errors.setdefault(key, message)


def _field(
    form: CardForm,
    key: str,
    element_id: str,
    name: str,
    label: str,
    value: str,
    autocomplete: str,
    extra: str = "",
) -> str:
    error = form.errors.get(key, "")
    invalid = ' aria-invalid="true"' if error else ""
    return (
        f'    <div class="field">\n'
        f'      <label for="{element_id}">{html.escape(label)}</label>\n'
        f'      <input id="{element_id}" name="{name}" type="text" autocomplete="{autocomplete}"'
        f' value="{html.escape(value)}" spellcheck="false"'
        f' aria-describedby="{element_id}-error"{extra}{invalid}>\n'
        f'      <p class="field-error" id="{element_id}-error">{html.escape(error)}</p>\n'
        f"    </div>"
    )


def render_card_form(
    *,
    amount: int,
    currency: str,
    description: str,
    action: str,
    form: CardForm,
    form_error: str = "",
    cancel_url: str | None = None,
) -> str:
    shown = format_amount(amount, currency)
    cancel = (
        f'<p><a id="cancel-link" href="{html.escape(cancel_url)}">Cancel and return</a></p>'
        if cancel_url
        else ""
    )
    content = _FORM.substitute(
        merchant=html.escape(MERCHANT),
        amount=html.escape(shown),
        description=html.escape(description),
        action=html.escape(action),
        form_error=html.escape(form_error),
        name_field=_field(
            form, "name", "cardholder-name", "cardholder_name", "Name on card", form.name, "cc-name"
        ),
        number_field=_field(
            form,
            "number",
            "card-number",
            "card_number",
            "Card number",
            form.number,
            "cc-number",
            ' inputmode="numeric" placeholder="1234 1234 1234 1234" maxlength="23"',
        ),
        expiry_field=_field(
            form,
            "expiry",
            "card-expiry",
            "card_expiry",
            "Expiry (MM/YY)",
            form.expiry,
            "cc-exp",
            ' inputmode="numeric" placeholder="MM/YY" maxlength="7"',
        ),
        cvv_field=_field(
            form,
            "cvv",
            "card-cvv",
            "card_cvv",
            "Security code (CVV)",
            "",
            "cc-csc",
            ' inputmode="numeric" placeholder="100" maxlength="4"',
        ),
        cancel_link=cancel,
    )
    return _PAGE.substitute(title=html.escape(f"Pay {shown} — {MERCHANT}"), content=content)


# -- the pages -----------------------------------------------------------------------------


class CheckoutComPages:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.gateway = Gateway(sandbox)

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/3ds/{{session_id}}", self.show_challenge, methods=["GET"]),
            Route(f"{PREFIX}/3ds/{{session_id}}", self.answer_challenge, methods=["POST"]),
            Route(f"{PREFIX}/page/{{hpp_id}}", self.show_hosted, methods=["GET"]),
            Route(f"{PREFIX}/page/{{hpp_id}}/pay", self.pay_hosted, methods=["POST"]),
            Route(f"{PREFIX}/link/{{link_id}}", self.show_link, methods=["GET"]),
            Route(f"{PREFIX}/link/{{link_id}}/pay", self.pay_link, methods=["POST"]),
            Route("/_sandbox/checkout-com/pay", self.control_pay, methods=["POST"]),
        ]

    # -- 3-D Secure ------------------------------------------------------------------------

    def _challenge_page(
        self, payment: dict[str, Any], form_error: str = "", status: int = 200
    ) -> HTMLResponse:
        card = payment["_card"]
        content = _CHALLENGE.substitute(
            scheme=html.escape(cko_cards.describe(card["number"]).scheme),
            last4=html.escape(card["number"][-4:]),
            amount=html.escape(format_amount(payment["amount"], payment["currency"])),
            action=html.escape(f"{PREFIX}/3ds/{payment['session_id']}"),
            form_error=html.escape(form_error),
            sandbox_code=html.escape(THREEDS_SANDBOX_CODE),
        )
        return _page("3-D Secure authentication", content, status)

    async def show_challenge(self, request: Request) -> Response:
        with self.sandbox.store.transaction():
            payment = self.gateway.payment(request.path_params["session_id"])
        if payment is None or not payment["session_id"]:
            return _not_found("Authentication")
        if payment["status"] != "Pending":
            return self._after_challenge(payment)
        return self._challenge_page(payment)

    async def answer_challenge(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        fields = await _form_fields(request)
        with self.sandbox.store.transaction():
            payment = self.gateway.payment(session_id)
            if payment is None or not payment["session_id"]:
                return _not_found("Authentication")
            if payment["status"] != "Pending":
                return self._after_challenge(payment)
            if fields.get("action") == "cancel":
                self._finish_challenge(payment, authenticated=False)
                return self._after_challenge(payment)
            if fields.get("code", "").strip() == THREEDS_SANDBOX_CODE:
                self._finish_challenge(payment, authenticated=True)
                return self._after_challenge(payment)
            attempts = int(payment.get("challenge_attempts", 0)) + 1
            payment["challenge_attempts"] = attempts
            if attempts >= MAX_CHALLENGE_ATTEMPTS:
                self._finish_challenge(payment, authenticated=False)
                return self._after_challenge(payment)
            self.sandbox.store.put("cko_payment", payment["id"], payment)
        left = MAX_CHALLENGE_ATTEMPTS - attempts
        return self._challenge_page(
            payment, f"That code is not right. {left} attempt(s) left.", status=422
        )

    def _finish_challenge(self, payment: dict[str, Any], *, authenticated: bool) -> None:
        self.gateway.complete_3ds(payment, authenticated=authenticated)
        self.gateway.after_payment(payment)

    @staticmethod
    def _after_challenge(payment: dict[str, Any]) -> Response:
        target = payment["success_url"] if payment["approved"] else payment["failure_url"]
        if target:
            return RedirectResponse(
                with_session_id(target, payment["session_id"]), status_code=303, headers=_NO_STORE
            )
        if payment["approved"]:
            return _outcome(
                "authentication-complete",
                "Authentication complete",
                "Your bank confirmed the payment. You can close this page.",
                tone="ok",
                symbol="✓",
            )
        return _outcome(
            "authentication-failed",
            "Payment not completed",
            "The payment was not authorised. You can close this page.",
            tone="bad",
            symbol="!",
        )

    # -- hosted payments page --------------------------------------------------------------

    async def show_hosted(self, request: Request) -> Response:
        hpp = self.sandbox.store.get("cko_hpp", request.path_params["hpp_id"])
        if hpp is None:
            return _not_found("Payment page")
        view = self.gateway.hosted_view(hpp)
        if view["status"] == "Expired":
            return _outcome(
                "page-expired",
                "This payment page has expired",
                "Ask the merchant for a new payment link.",
                tone="warn",
                symbol="!",
            )
        if view["status"] == "Payment Received":
            return _outcome(
                "payment-received",
                "Payment received",
                "This order is already paid. You can close this page.",
                tone="ok",
                symbol="✓",
            )
        return self._hosted_form(hpp, CardForm())

    def _hosted_form(
        self, hpp: dict[str, Any], form: CardForm, error: str = "", status: int = 200
    ) -> HTMLResponse:
        request = hpp["request"]
        page = render_card_form(
            amount=request["amount"],
            currency=request["currency"],
            description=request.get("description") or request.get("reference") or "",
            action=f"{PREFIX}/page/{hpp['id']}/pay",
            form=form,
            form_error=error,
            cancel_url=hpp["cancel_url"],
        )
        return HTMLResponse(page, status_code=status, headers=_NO_STORE)

    async def pay_hosted(self, request: Request) -> Response:
        hpp_id = request.path_params["hpp_id"]
        form = CardForm.from_post(await _form_fields(request))
        with self.sandbox.store.transaction():
            hpp = self.sandbox.store.get("cko_hpp", hpp_id)
            if hpp is None:
                return _not_found("Payment page")
            outcome = self._pay("hpp", hpp, form.api_card())
        if isinstance(outcome, list):
            form.explain(outcome)
            form.cvv = ""
            return self._hosted_form(hpp, form, "Please check the highlighted fields.", 422)
        if isinstance(outcome, str):
            return await self.show_hosted(request)
        return self._redirect_after(outcome)

    # -- payment links ---------------------------------------------------------------------

    async def show_link(self, request: Request) -> Response:
        link = self.sandbox.store.get("cko_link", request.path_params["link_id"])
        if link is None:
            return _not_found("Payment link")
        view = self.gateway.link_view(link)
        if view["status"] == "Expired":
            return _outcome(
                "link-expired",
                "This payment link has expired",
                "Ask the merchant for a new payment link.",
                tone="warn",
                symbol="!",
            )
        if view["status"] == "Payment Received":
            back = link.get("return_url")
            extra = (
                f' <a id="return-link" href="{html.escape(back)}">Return to the merchant</a>'
                if back
                else ""
            )
            return _outcome(
                "payment-received",
                "Payment received",
                "Thank you — your payment was received.",
                tone="ok",
                symbol="✓",
                extra=extra,
            )
        return self._link_form(link, CardForm())

    def _link_form(
        self, link: dict[str, Any], form: CardForm, error: str = "", status: int = 200
    ) -> HTMLResponse:
        request = link["request"]
        page = render_card_form(
            amount=request["amount"],
            currency=request["currency"],
            description=request.get("description") or request.get("reference") or "",
            action=f"{PREFIX}/link/{link['id']}/pay",
            form=form,
            form_error=error,
        )
        return HTMLResponse(page, status_code=status, headers=_NO_STORE)

    async def pay_link(self, request: Request) -> Response:
        link_id = request.path_params["link_id"]
        form = CardForm.from_post(await _form_fields(request))
        with self.sandbox.store.transaction():
            link = self.sandbox.store.get("cko_link", link_id)
            if link is None:
                return _not_found("Payment link")
            outcome = self._pay("link", link, form.api_card())
        if isinstance(outcome, list):
            form.explain(outcome)
            form.cvv = ""
            return self._link_form(link, form, "Please check the highlighted fields.", 422)
        if isinstance(outcome, str):
            return await self.show_link(request)
        if outcome["status"] == "Pending":
            return self._redirect_after(outcome)
        if not outcome["approved"]:
            form.number = form.cvv = ""
            message = f"Your card was declined ({outcome['response_summary']}). Try another card."
            return self._link_form(link, form, message, 402)
        return RedirectResponse(f"{PREFIX}/link/{link_id}", status_code=303, headers=_NO_STORE)

    # -- shared ----------------------------------------------------------------------------

    def _pay(self, kind: str, obj: dict[str, Any], card: dict[str, Any]) -> Any:
        """Pay a page/link: the payment, a list of card error codes, or "closed"."""
        view = self.gateway.hosted_view(obj) if kind == "hpp" else self.gateway.link_view(obj)
        if view["status"] != ("Payment Pending" if kind == "hpp" else "Active"):
            return "closed"
        try:
            validated = self.gateway.validate_card(card)
        except CkoError as exc:
            return exc.codes
        path = "page" if kind == "hpp" else "link"
        page_url = f"{obj['base_url']}{PREFIX}/{path}/{obj['id']}"
        _, payment = self.gateway.pay_hosted(kind, obj, validated, page_url=page_url)
        if not payment["session_id"]:
            # Hosted pages always hand back a session id, 3-D Secure or not.
            session_id = cko_id("sid_")
            payment["session_id"] = session_id
            self.sandbox.store.put("cko_session", session_id, {"payment_id": payment["id"]})
            self.sandbox.store.put("cko_payment", payment["id"], payment)
        return payment

    def _redirect_after(self, payment: dict[str, Any]) -> Response:
        if payment["status"] == "Pending":
            target = f"{PREFIX}/3ds/{payment['session_id']}"
            return RedirectResponse(target, status_code=303, headers=_NO_STORE)
        return self._after_challenge(payment)

    # -- headless control ------------------------------------------------------------------

    async def control_pay(self, request: Request) -> Response:
        """``{"hpp_id"|"link_id"|"session_id": …, "card"?: "4242…", "outcome"?:
        "authenticate"|"fail"|"cancel"}``: what a customer does on the pages, without HTML."""
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        outcome = body.get("outcome", "authenticate")
        if outcome not in ("authenticate", "fail", "cancel"):
            return JSONResponse({"error": "unknown 'outcome'"}, status_code=400)
        number = str(body.get("card") or "4242424242424242")
        card = {
            "number": number,
            "expiry_month": 12,
            "expiry_year": self.sandbox.now().year + 3,
            "cvv": body.get("cvv") or ("1000" if number.startswith(("34", "37")) else "100"),
            "name": body.get("name") or "Sandbox Shopper",
        }
        with self.sandbox.store.transaction():
            if body.get("session_id"):
                payment = self.gateway.payment(str(body["session_id"]))
                if payment is None or not payment["session_id"]:
                    return JSONResponse({"error": "unknown session_id"}, status_code=404)
            else:
                kind, key = ("hpp", "hpp_id") if body.get("hpp_id") else ("link", "link_id")
                obj = self.sandbox.store.get(f"cko_{kind}", str(body.get(key, "")))
                if obj is None:
                    return JSONResponse({"error": f"unknown {key}"}, status_code=404)
                result = self._pay(kind, obj, card)
                if isinstance(result, list):
                    return JSONResponse({"error": "card refused", "codes": result}, status_code=422)
                if isinstance(result, str):
                    return JSONResponse({"error": f"the {kind} is closed"}, status_code=409)
                payment = result
            if payment["status"] == "Pending":
                self._finish_challenge(payment, authenticated=outcome == "authenticate")
        target = payment["success_url"] if payment["approved"] else payment["failure_url"]
        return JSONResponse(
            {
                "payment_id": payment["id"],
                "session_id": payment["session_id"],
                "status": payment["status"],
                "approved": payment["approved"],
                "response_code": payment.get("response_code"),
                "redirect_url": with_session_id(target, payment["session_id"]) if target else None,
            }
        )
