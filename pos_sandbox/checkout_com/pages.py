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
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import cards
from ..web import (
    NO_STORE,
    control_error,
    form_fields,
    json_object,
    outcome_page,
    render_page,
    template,
    text_field,
    with_query,
)
from . import cards as cko_cards
from .errors import CkoError
from .gateway import Gateway
from .ids import PREFIX, cko_id
from .validation import format_amount

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..state import Sandbox

THREEDS_SANDBOX_CODE = "Checkout1!"  # the password Checkout.com's sandbox challenge asks for
_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")
MAX_CHALLENGE_ATTEMPTS = 3
MERCHANT = "Sandbox Store"

# What a customer pays on: kind -> (page path, path parameter, what it is called).
_PAYABLE = {"hpp": ("page", "hpp_id", "Payment page"), "link": ("link", "link_id", "Payment link")}

_FORM = template("checkout_com_card_form.html")
_CHALLENGE = template("checkout_com_3ds.html")


def _page(title: str, content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(render_page(title, content), status_code=status, headers=NO_STORE)


def _not_found(what: str) -> HTMLResponse:
    return outcome_page(
        "not-found",
        f"{what} not found",
        "There is nothing to pay at this address.",
        tone="bad",
        symbol="?",
        status=404,
    )


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
            "number": cards.normalize_number(self.number),
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


def _field(form: CardForm, key: str, element_id: str, name: str, **options: Any) -> str:
    error = form.errors.get(key, "")
    return text_field(element_id, name, error=error, required=False, **options)


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
            form,
            "name",
            "cardholder-name",
            "cardholder_name",
            label="Name on card",
            value=form.name,
            autocomplete="cc-name",
        ),
        number_field=_field(
            form,
            "number",
            "card-number",
            "card_number",
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
            "card-expiry",
            "card_expiry",
            label="Expiry (MM/YY)",
            value=form.expiry,
            autocomplete="cc-exp",
            numeric=True,
            placeholder="MM/YY",
            maxlength=7,
        ),
        cvv_field=_field(
            form,
            "cvv",
            "card-cvv",
            "card_cvv",
            label="Security code (CVV)",
            value="",
            autocomplete="cc-csc",
            numeric=True,
            placeholder="100",
            maxlength=4,
        ),
        cancel_link=cancel,
    )
    return render_page(f"Pay {shown} — {MERCHANT}", content)


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
        fields = await form_fields(request)
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
                with_query(target, "cko-session-id", payment["session_id"]),
                status_code=303,
                headers=NO_STORE,
            )
        if payment["approved"]:
            return outcome_page(
                "authentication-complete",
                "Authentication complete",
                "Your bank confirmed the payment. You can close this page.",
                tone="ok",
                symbol="✓",
            )
        return outcome_page(
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
            return outcome_page(
                "page-expired",
                "This payment page has expired",
                "Ask the merchant for a new payment link.",
                tone="warn",
                symbol="!",
            )
        if view["status"] == "Payment Received":
            return outcome_page(
                "payment-received",
                "Payment received",
                "This order is already paid. You can close this page.",
                tone="ok",
                symbol="✓",
            )
        return self._form("page", hpp, CardForm())

    def _form(
        self, path: str, obj: dict[str, Any], form: CardForm, error: str = "", status: int = 200
    ) -> HTMLResponse:
        """The card form of a hosted payments page (``path`` "page") or a payment link ("link")."""
        request = obj["request"]
        page = render_card_form(
            amount=request["amount"],
            currency=request["currency"],
            description=request.get("description") or request.get("reference") or "",
            action=f"{PREFIX}/{path}/{obj['id']}/pay",
            form=form,
            form_error=error,
            cancel_url=obj.get("cancel_url"),
        )
        return HTMLResponse(page, status_code=status, headers=NO_STORE)

    async def pay_hosted(self, request: Request) -> Response:
        submitted = await self._submit(request, "hpp")
        if isinstance(submitted, Response):
            return submitted
        _, _, outcome = submitted
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
            return outcome_page(
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
            return outcome_page(
                "payment-received",
                "Payment received",
                "Thank you — your payment was received.",
                tone="ok",
                symbol="✓",
                extra=extra,
            )
        return self._form("link", link, CardForm())

    async def pay_link(self, request: Request) -> Response:
        submitted = await self._submit(request, "link")
        if isinstance(submitted, Response):
            return submitted
        link, form, outcome = submitted
        if isinstance(outcome, str):
            return await self.show_link(request)
        if outcome["status"] == "Pending":
            return self._redirect_after(outcome)
        if not outcome["approved"]:
            form.number = form.cvv = ""
            message = f"Your card was declined ({outcome['response_summary']}). Try another card."
            return self._form("link", link, form, message, 402)
        return RedirectResponse(f"{PREFIX}/link/{link['id']}", status_code=303, headers=NO_STORE)

    # -- shared ----------------------------------------------------------------------------

    async def _submit(
        self, request: Request, kind: str
    ) -> tuple[dict[str, Any], CardForm, Any] | Response:
        """The card form posted to a page (``kind`` "hpp") or link ("link"), paid: (the page
        or link, the form, what ``_pay`` answered), or the page to show when nothing was paid
        (no such page or link, or card details to correct)."""
        path, param, what = _PAYABLE[kind]
        form = CardForm.from_post(await form_fields(request))
        with self.sandbox.store.transaction():
            obj = self.sandbox.store.get(f"cko_{kind}", request.path_params[param])
            if obj is None:
                return _not_found(what)
            outcome = self._pay(kind, obj, form.api_card())
        if isinstance(outcome, list):
            form.explain(outcome)
            form.cvv = ""
            return self._form(path, obj, form, "Please check the highlighted fields.", 422)
        return obj, form, outcome

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
            return RedirectResponse(target, status_code=303, headers=NO_STORE)
        return self._after_challenge(payment)

    # -- headless control ------------------------------------------------------------------

    async def control_pay(self, request: Request) -> Response:
        """``{"hpp_id"|"link_id"|"session_id": …, "card"?: "4242…", "outcome"?:
        "authenticate"|"fail"|"cancel"}``: what a customer does on the pages, without HTML."""
        body = await json_object(request)
        if body is None:
            return control_error("send a JSON object")
        outcome = body.get("outcome", "authenticate")
        if outcome not in ("authenticate", "fail", "cancel"):
            return control_error("unknown 'outcome'")
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
                "redirect_url": with_query(target, "cko-session-id", payment["session_id"])
                if target
                else None,
            }
        )
