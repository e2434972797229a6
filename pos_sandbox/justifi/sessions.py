"""JustiFi's legacy hosted flow: payment intents and checkout sessions (PROVIDERS.md §1.7).

``POST /v1/payment_intents`` → ``POST /v1/checkout_sessions {payment_intent_id,
after_payment_url, back_url}`` → the shopper pays on ``/justifi/r/{checkout_session_id}``
(24 hours), which captures the intent and redirects to ``after_payment_url``; its Back link goes
to ``back_url``. Payment-intent responses are enveloped (``type: payment_intent``) as the
JustiFi SDKs expect; the spec leaves that open.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..state import Sandbox, iso, new_id, parse_iso
from ..web import NO_STORE, CardForm, form_fields, is_int, outcome_page
from .api import JustifiApi
from .balance import record_collected
from .errors import FULL_PAN_MESSAGE, ApiError, envelope, invalid, missing, not_found
from .events import publish_event
from .http import cors_routes, json_body
from .pages import card_body, render_form, safe_redirect_url
from .pagination import page_size, paginate
from .payment_methods import build_payment, charge_decline, decline_error, tokenize_card

if TYPE_CHECKING:
    from starlette.requests import Request

SESSION_LIFETIME = timedelta(hours=24)
SESSION_PAGE = "/justifi/r/{session_id}"


def capture_intent(
    sandbox: Sandbox, intent_id: str, payment_token: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Charge the intent's payment method: (intent, 402 error body or None)."""
    store = sandbox.store
    intent = store.get("payment_intent", intent_id)
    if intent is None:
        raise not_found()
    if intent["status"] not in ("requires_payment_method", "requires_capture"):
        raise ApiError(
            422,
            "payment_intent_cannot_be_captured",
            f"Payment Intent status is '{intent['status']}' so it cannot be captured",
        )
    token = payment_token or intent.get("payment_method_token")
    if not token:
        raise missing("payment_method", "payment_method_required")
    payment_method = store.get("payment_method", token)
    if payment_method is None or payment_method["account_id"] != intent["account_id"]:
        raise ApiError(404, "payment_method_not_found", "Payment method not found")
    decline = charge_decline(sandbox, token)
    stamp = iso(sandbox.now())
    payment = build_payment(
        account_id=intent["account_id"],
        amount=intent["amount"],
        currency=intent["currency"],
        payment_method=payment_method,
        capture_strategy="automatic",
        decline=decline,
        stamp=stamp,
        checkout_id=None,
        description=intent["description"],
        statement_descriptor=None,
        metadata=intent["metadata"],
        payment_mode="ach" if "bank_account" in payment_method else "ecom",
    )
    payment["payment_intent_id"] = intent_id
    store.put("payment", payment["id"], payment)
    if payment["captured"] and payment["status"] == "succeeded":
        record_collected(sandbox, payment)
    account = intent["account_id"]
    publish_event(sandbox, "payment.created", payment, account_id=account)
    method_view = {k: v for k, v in payment["payment_method"].items() if k != "account_id"}
    if decline is not None:
        publish_event(sandbox, "payment.failed", payment, account_id=account)
        updated = {**intent, "payment_method": method_view, "updated_at": stamp}
        updated["payment_ids"] = [*intent.get("payment_ids", []), payment["id"]]
        store.put("payment_intent", intent_id, updated)
        return updated, decline_error(decline, payment_method)
    publish_event(sandbox, "payment.succeeded", payment, account_id=account)
    updated = {
        **intent,
        "payment_method": method_view,
        "status": "succeeded",
        "successful_payment_id": payment["id"],
        "payment_ids": [*intent.get("payment_ids", []), payment["id"]],
        "updated_at": stamp,
    }
    store.put("payment_intent", intent_id, updated)
    publish_event(sandbox, "payment_intent.succeeded", _public(updated), account_id=account)
    return updated, None


def _public(intent: dict[str, Any]) -> dict[str, Any]:
    hidden = ("payment_method_token", "payment_ids")
    return {k: v for k, v in intent.items() if k not in hidden}


class JustifiSessions(JustifiApi):
    def routes(self) -> list[Route]:
        base = "/justifi/v1/payment_intents"
        api = cors_routes(
            [
                Route(base, self.create_intent, methods=["POST"]),
                Route(base, self.list_intents, methods=["GET"]),
                Route(base + "/{intent_id}", self.get_intent, methods=["GET"]),
                Route(base + "/{intent_id}", self.update_intent, methods=["PATCH"]),
                Route(base + "/{intent_id}/capture", self.capture, methods=["POST"]),
                Route(base + "/{intent_id}/payments", self.intent_payments, methods=["GET"]),
                Route("/justifi/v1/checkout_sessions", self.create_session, methods=["POST"]),
            ]
        )
        return [
            *api,
            Route(SESSION_PAGE, self.show, methods=["GET"]),
            Route(SESSION_PAGE + "/pay", self.pay, methods=["POST"]),
        ]

    # -- payment intents -----------------------------------------------------------------

    async def create_intent(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        account_id = self._required_sub_account(request)
        body = await json_body(request)

        def apply() -> tuple[int, dict[str, Any]]:
            amount, currency = body.get("amount"), body.get("currency")
            if amount is None:
                raise missing("amount", "amount_required")
            if not is_int(amount) or amount <= 0:
                raise invalid("amount")
            if currency is None:
                raise missing("currency", "currency_required")
            if currency != "usd":
                raise invalid("currency")
            metadata = body.get("metadata")
            if metadata is not None and not isinstance(metadata, dict):
                raise invalid("metadata")
            stamp = iso(self.sandbox.now())
            intent = {
                "id": new_id("pi_"),
                "account_id": account_id,
                "amount": amount,
                "currency": currency,
                "description": body.get("description"),
                "metadata": metadata,
                "payment_method": None,
                "status": "requires_payment_method",
                "successful_payment_id": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.sandbox.store.put("payment_intent", intent["id"], intent)
            publish_event(self.sandbox, "payment_intent.created", intent, account_id=account_id)
            return 201, envelope("payment_intent", intent)

        return await self._apply(request, client_id, body, apply, key_required=True)

    def _intent(self, request: Request) -> dict[str, Any]:
        self._authenticate(request)
        intent = self.sandbox.store.get("payment_intent", request.path_params["intent_id"])
        account = self._account_filter(request)
        if intent is None or (account and intent["account_id"] != account):
            raise not_found()
        return intent

    async def get_intent(self, request: Request) -> Response:
        return JSONResponse(envelope("payment_intent", _public(self._intent(request))))

    async def list_intents(self, request: Request) -> Response:
        self._authenticate(request)
        account = self._account_filter(request)
        query = request.query_params
        items = [
            (seq, _public(intent))
            for seq, intent in self.sandbox.store.newest_first("payment_intent")
            if not account or intent["account_id"] == account
        ]
        return JSONResponse(
            paginate(
                items,
                limit=page_size(query.get("limit")),
                after_seq=self._cursor_seq("payment_intent", query.get("after_cursor")),
                before_seq=self._cursor_seq("payment_intent", query.get("before_cursor")),
            )
        )

    async def update_intent(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        intent_id = request.path_params["intent_id"]
        body = await json_body(request)

        def apply() -> tuple[int, dict[str, Any]]:
            intent = self.sandbox.store.get("payment_intent", intent_id)
            if intent is None:
                raise not_found()
            if intent["status"] == "succeeded":
                raise ApiError(
                    422, "payment_intent_already_succeeded", "This payment intent has succeeded"
                )
            updated = dict(intent)
            if "amount" in body:
                if not is_int(body["amount"]) or body["amount"] <= 0:
                    raise invalid("amount")
                updated["amount"] = body["amount"]
            if "description" in body:
                updated["description"] = body["description"]
            if "metadata" in body:
                if body["metadata"] is not None and not isinstance(body["metadata"], dict):
                    raise invalid("metadata")
                updated["metadata"] = body["metadata"]
            method = body.get("payment_method")
            if isinstance(method, dict) and method.get("token"):
                pm = self.sandbox.store.get("payment_method", method["token"])
                if pm is None or pm["account_id"] != intent["account_id"]:
                    raise ApiError(404, "payment_method_not_found", "Payment method not found")
                updated["payment_method_token"] = method["token"]
                updated["status"] = "requires_capture"
            elif isinstance(method, dict) and "card" in method:
                raise ApiError(400, "full_pan_not_allowed", FULL_PAN_MESSAGE)
            updated["updated_at"] = iso(self.sandbox.now())
            self.sandbox.store.put("payment_intent", intent_id, updated)
            return 200, envelope("payment_intent", _public(updated))

        return await self._apply(request, client_id, body, apply, key_required=True)

    async def capture(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        intent_id = request.path_params["intent_id"]
        body = await json_body(request)

        def apply() -> tuple[int, dict[str, Any]]:
            method = body.get("payment_method")
            token = method.get("token") if isinstance(method, dict) else None
            intent, error = capture_intent(self.sandbox, intent_id, token)
            if error is not None:
                return 402, error
            return 201, envelope("payment_intent", _public(intent))

        return await self._apply(request, client_id, body, apply, key_required=True)

    async def intent_payments(self, request: Request) -> Response:
        intent = self._intent(request)
        ids = set(intent.get("payment_ids", []))
        items = [(s, p) for s, p in self.sandbox.store.newest_first("payment") if p["id"] in ids]
        return JSONResponse(paginate(items, limit=100, after_seq=None, before_seq=None))

    # -- checkout sessions ---------------------------------------------------------------

    async def create_session(self, request: Request) -> Response:
        self._authenticate(request)
        body = await json_body(request)
        intent_id = body.get("payment_intent_id")
        if not isinstance(intent_id, str) or not intent_id:
            raise missing("payment_intent_id")
        after = body.get("after_payment_url")
        if not isinstance(after, str) or not after:
            raise missing("after_payment_url")
        if safe_redirect_url(after) is None:
            raise invalid("after_payment_url")
        back = body.get("back_url")
        if back is not None and (not isinstance(back, str) or safe_redirect_url(back) is None):
            raise invalid("back_url")
        if self.sandbox.store.get("payment_intent", intent_id) is None:
            raise not_found()
        session_id = secrets.token_hex(32)
        session = {
            "id": session_id,
            "payment_intent_id": intent_id,
            "after_payment_url": after,
            "back_url": back,
            "expires_at": iso(self.sandbox.now() + SESSION_LIFETIME),
        }
        with self.sandbox.store.transaction():
            self.sandbox.store.put("checkout_session", session_id, session)
        return JSONResponse(
            {
                "id": session_id,
                "type": "checkout_session",
                "data": {"checkout_session_id": session_id},
                "page_info": None,
            },
            status_code=201,
        )

    # -- the hosted session page ---------------------------------------------------------

    def _session(self, session_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        session = self.sandbox.store.get("checkout_session", session_id)
        if session is None:
            return None
        intent = self.sandbox.store.get("payment_intent", session["payment_intent_id"])
        return None if intent is None else (session, intent)

    def _expired(self, session: dict[str, Any]) -> bool:
        return self.sandbox.now() >= parse_iso(session["expires_at"])

    @staticmethod
    def _as_checkout(session: dict[str, Any], intent: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": session["id"],
            "account_id": intent["account_id"],
            "payment_amount": intent["amount"],
            "payment_currency": intent["currency"].upper(),
            "payment_description": intent["description"],
        }

    def _form(
        self,
        session: dict[str, Any],
        intent: dict[str, Any],
        form: CardForm,
        *,
        error: str = "",
        status: int = 200,
    ) -> HTMLResponse:
        page = render_form(
            self._as_checkout(session, intent),
            form,
            redirect_url=None,
            form_error=error,
            action=SESSION_PAGE.format(session_id=session["id"]) + "/pay",
            back_url=session["back_url"],
        )
        return HTMLResponse(page, status_code=status, headers=NO_STORE)

    @staticmethod
    def _page(page_id: str, heading: str, message: str, status: int) -> HTMLResponse:
        tone, symbol = ("warn", "!") if status == 410 else ("bad", "?")
        return outcome_page(page_id, heading, message, tone=tone, symbol=symbol, status=status)

    def _payable(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]] | Response:
        """The session and its intent, or what to answer instead (missing, paid, expired)."""
        found = self._session(request.path_params["session_id"])
        if found is None:
            return self._page(
                "checkout-not-found", "Checkout Not Found", "There is no checkout here.", 404
            )
        session, intent = found
        if intent["status"] == "succeeded":
            return RedirectResponse(session["after_payment_url"], status_code=303)
        if self._expired(session):
            return self._page(
                "checkout-expired",
                "Checkout Session Expired",
                "This checkout session has expired. Ask the merchant for a new one.",
                410,
            )
        return found

    async def show(self, request: Request) -> Response:
        found = self._payable(request)
        if isinstance(found, Response):
            return found
        session, intent = found
        return self._form(session, intent, CardForm())

    async def pay(self, request: Request) -> Response:
        found = self._payable(request)
        if isinstance(found, Response):
            return found
        session, intent = found
        form = CardForm.from_post(await form_fields(request))
        form.validate(self.sandbox)
        if form.errors:
            form.cvc = ""
            return self._form(
                session, intent, form, error="Please check the highlighted fields.", status=422
            )
        try:
            with self.sandbox.store.transaction():
                pm = tokenize_card(
                    self.sandbox, account_id=intent["account_id"], card=card_body(form)
                )
                _, error = capture_intent(self.sandbox, intent["id"], pm["id"])
        except ApiError as exc:
            form.number = form.cvc = ""
            return self._form(session, intent, form, error=exc.message, status=exc.status)
        if error is not None:
            form.number = form.cvc = ""
            return self._form(session, intent, form, error=error["error"]["message"], status=402)
        return RedirectResponse(session["after_payment_url"], status_code=303)
