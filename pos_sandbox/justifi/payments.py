"""JustiFi payments, refunds and checkout updates/refunds (PROVIDERS.md §1.4-§1.5).

``POST /v1/payments`` charges a stored payment method (``{token}``; raw card numbers are
refused with ``full_pan_not_allowed``). Manual-capture payments stay ``authorized`` until
captured (7 days, then ``charge_expired_for_capture``); any payment can be voided within
25 minutes of its creation on the sandbox clock. Refunds keep ``amount_refunded``,
``amount_refundable``, ``refunded`` and the status (``partially_refunded`` /
``fully_refunded``) consistent, and write balance transactions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..state import Sandbox, iso, new_id, parse_iso
from ..web import is_int
from .api import JustifiApi
from .balance import (
    FEE_TYPES,
    collected_balance,
    record,
    record_collected,
    return_fees,
)
from .checkouts import checkout_view, validate_checkout_request, validate_fees
from .errors import (
    FULL_PAN_MESSAGE,
    ApiError,
    envelope,
    invalid,
    missing,
    not_found,
    optional_object,
    optional_str,
)
from .events import publish_event
from .http import cors_routes, json_body
from .pagination import page_size, paginate
from .payment_methods import build_payment, charge_decline, decline_error

if TYPE_CHECKING:
    from starlette.requests import Request

VOID_WINDOW = timedelta(minutes=25)
AUTHORIZATION_LIFETIME = timedelta(days=7)
CURRENCIES = ("usd", "cad")
CAPTURE_STRATEGIES = ("automatic", "manual")
REFUND_REASONS = ("duplicate", "fraudulent", "customer_request")
PAYMENT_STATUSES = (
    "pending",
    "authorized",
    "canceled",
    "succeeded",
    "failed",
    "partially_refunded",
    "fully_refunded",
    "disputed",
)


def payment_view(payment: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The payment as a client sees it now: uncaptured authorizations cancel after 7 days."""
    expires_at = parse_iso(payment["created_at"]) + AUTHORIZATION_LIFETIME
    if payment["status"] == "authorized" and not payment["captured"] and now >= expires_at:
        return {**payment, "status": "canceled", "updated_at": iso(expires_at)}
    return payment


def refund_payment(
    sandbox: Sandbox,
    payment_id: str,
    *,
    amount: int | None,
    reason: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    idempotency_key: str | None = None,
    fees: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Refund (part of) a payment: returns the Refund; raises ApiError on the documented rules.

    ``fees`` (type, amount) are the payment's fees given back to the merchant with it."""
    store = sandbox.store
    stored = store.get("payment", payment_id)
    if stored is None:
        raise not_found()
    payment = payment_view(stored, sandbox.now())
    if payment["status"] == "fully_refunded" or (
        payment["amount_refunded"] >= payment["amount"] and payment["amount_refunded"] > 0
    ):
        raise ApiError(
            422,
            "payment_fully_refunded",
            "The refund cannot be processed because the associated payment is fully refunded",
        )
    refund_amount = payment["amount_refundable"] if amount is None else amount
    if refund_amount > payment["amount"]:
        raise ApiError(
            422,
            "refund_exceeds_payment_amount",
            "The refund cannot be processed because the refund amount exceeds the associated "
            "payment amount",
        )
    if refund_amount <= 0 or refund_amount > payment["amount_refundable"]:
        raise ApiError(
            422,
            "refund_exceeds_amount_available",
            "The refund cannot be processed because the refund amount exceeds the available funds",
        )
    returned = _fees_to_return(payment, fees)
    stamp = iso(sandbox.now())
    refund_id = new_id("re_")
    refund: dict[str, Any] = {
        "id": refund_id,
        "payment_id": payment_id,
        "amount": refund_amount,
        "description": description,
        "reason": reason,
        "status": "succeeded",
        "metadata": metadata,
        "returned_fees": [],
        "created_at": stamp,
        "updated_at": stamp,
    }
    refunded_total = payment["amount_refunded"] + refund_amount
    balance = stored["balance"] - refund_amount
    record(sandbox, stored, "refund", -refund_amount, refund_id, balance)
    fee_objects, refund["returned_fees"], balance = return_fees(sandbox, stored, returned, balance)
    store.put("refund", refund_id, refund)
    updated = {
        **stored,
        "amount_refunded": refunded_total,
        "amount_refundable": payment["amount_refundable"] - refund_amount,
        "balance": balance,
        "fees": fee_objects,
        "refunded": True,
        "refunds": [*stored["refunds"], refund],
        "status": "fully_refunded" if refunded_total >= payment["amount"] else "partially_refunded",
        "updated_at": stamp,
    }
    store.put("payment", payment_id, updated)
    publish_event(
        sandbox,
        "payment.refunded",
        refund,
        account_id=payment["account_id"],
        idempotency_key=idempotency_key,
    )
    return refund


class JustifiPayments(JustifiApi):
    """``/v1/payments…``, ``/v1/refunds…``, ``PATCH /v1/checkouts/{id}`` and checkout refunds."""

    def routes(self) -> list[Route]:
        base = "/justifi/v1"
        return cors_routes(
            [
                Route(f"{base}/payments", self.create_payment, methods=["POST"]),
                Route(f"{base}/payments", self.list_payments, methods=["GET"]),
                Route(f"{base}/payments/{{payment_id}}", self.get_payment, methods=["GET"]),
                Route(f"{base}/payments/{{payment_id}}", self.update_payment, methods=["PATCH"]),
                Route(f"{base}/payments/{{payment_id}}/capture", self.capture, methods=["POST"]),
                Route(f"{base}/payments/{{payment_id}}/refunds", self.refund, methods=["POST"]),
                Route(f"{base}/payments/{{payment_id}}/void", self.void, methods=["POST"]),
                Route(
                    f"{base}/payments/{{payment_id}}/payment_balance_transactions",
                    self.balance_transactions,
                    methods=["GET"],
                ),
                Route(f"{base}/refunds", self.list_refunds, methods=["GET"]),
                Route(f"{base}/refunds/{{refund_id}}", self.get_refund, methods=["GET"]),
                Route(f"{base}/checkouts/{{checkout_id}}", self.update_checkout, methods=["PATCH"]),
                Route(
                    f"{base}/checkouts/{{checkout_id}}/refunds",
                    self.refund_checkout,
                    methods=["POST"],
                ),
            ]
        )

    # -- payments ------------------------------------------------------------------------

    async def create_payment(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        account_id = self._required_sub_account(request)
        body = await json_body(request)
        key = request.headers.get("idempotency-key")

        def apply() -> tuple[int, dict[str, Any]]:
            amount = body.get("amount")
            if amount is None:
                raise missing("amount", "amount_required")
            if not is_int(amount):
                raise ApiError(422, "amount_must_be_an_integer", "Amount must be an integer")
            if amount <= 0:
                raise ApiError(422, "amount_below_minimum", "Amount must be greater than 0")
            currency = body.get("currency")
            if currency is None:
                raise missing("currency", "currency_required")
            if not isinstance(currency, str) or currency.lower() not in CURRENCIES:
                raise invalid("currency")
            strategy = body.get("capture_strategy")
            if strategy is None:
                raise missing("capture_strategy", "capture_strategy_required")
            if strategy not in CAPTURE_STRATEGIES:
                raise invalid("capture_strategy")
            method = body.get("payment_method")
            if not isinstance(method, dict) or not method:
                raise missing("payment_method", "payment_method_required")
            if "card" in method:
                raise ApiError(400, "full_pan_not_allowed", FULL_PAN_MESSAGE)
            if "bank_account" in method:
                # [sandbox] raw bank details are refused the same way (the spec names cards).
                raise ApiError(
                    400,
                    "full_pan_not_allowed",
                    "Full bank account numbers are not accepted on this endpoint. Tokenize "
                    "the payment method and pass payment_method.token.",
                )
            token = method.get("token")
            if not isinstance(token, str) or not token:
                raise missing("payment_method.token", "payment_method_required")
            payment_method = self.sandbox.store.get("payment_method", token)
            if payment_method is None or payment_method["account_id"] != account_id:
                raise ApiError(404, "payment_method_not_found", "Payment method not found")
            is_bank = "bank_account" in payment_method
            if is_bank and strategy == "manual":
                raise invalid("capture_strategy")
            fees = validate_fees(body.get("fees"), amount)
            if fees is not None and body.get("application_fee_amount") is not None:
                raise ApiError(
                    422,
                    "fee_and_application_fee_declared",
                    "Cannot use both fees and application_fee_amount",
                )
            decline = charge_decline(self.sandbox, token)
            payment = build_payment(
                account_id=account_id,
                amount=amount,
                currency=currency.lower(),
                payment_method=payment_method,
                capture_strategy=strategy,
                decline=decline,
                stamp=iso(self.sandbox.now()),
                checkout_id=None,
                description=optional_str(body, "description"),
                statement_descriptor=optional_str(body, "statement_descriptor"),
                metadata=optional_object(body, "metadata"),
                payment_mode="ach" if is_bank else "ecom",
                fees=fees,
            )
            self.sandbox.store.put("payment", payment["id"], payment)
            publish_event(
                self.sandbox, "payment.created", payment, account_id=account_id, idempotency_key=key
            )
            if decline is not None:
                publish_event(
                    self.sandbox,
                    "payment.failed",
                    payment,
                    account_id=account_id,
                    idempotency_key=key,
                )
                # The failed payment exists (listable); the caller gets JustiFi's 402 body.
                return 402, decline_error(decline, payment_method)
            if payment["captured"] and payment["status"] == "succeeded":
                record_collected(self.sandbox, payment)
            event = {"authorized": "payment.authorized", "pending": "payment.pending"}.get(
                payment["status"], "payment.succeeded"
            )
            publish_event(self.sandbox, event, payment, account_id=account_id, idempotency_key=key)
            # The spec: fees are processed asynchronously, so the create answer lists none.
            return 201, envelope("payment", {**payment, "fees": []})

        return await self._apply(request, client_id, body, apply, key_required=True)

    def _payment(self, request: Request, *, write: bool = False) -> dict[str, Any]:
        auth = self._authenticate(request, defer=True)
        stored = self.sandbox.store.get("payment", request.path_params["payment_id"])
        account = self._account_filter(request)
        if stored is None or (account and stored["account_id"] != account):
            raise not_found()
        scopes = [f"write:account:{stored['account_id']}"]
        if not write:
            scopes.append(f"read:account:{stored['account_id']}")
        auth.require(*scopes)
        return payment_view(stored, self.sandbox.now())

    async def get_payment(self, request: Request) -> Response:
        return JSONResponse(envelope("payment", self._payment(request)))

    async def list_payments(self, request: Request) -> Response:
        self._authenticate(request)
        query = request.query_params
        now = self.sandbox.now()
        account = self._account_filter(request)
        status = query.get("payment_status")
        if status is not None and status not in (*PAYMENT_STATUSES, "refunded"):
            raise invalid("payment_status")
        before = _query_time(query.get("created_before"), "created_before")
        after = _query_time(query.get("created_after"), "created_after")

        def wanted(payment: dict[str, Any]) -> bool:
            created = parse_iso(payment["created_at"])
            method = payment["payment_method"]
            token = (method.get("card") or method.get("bank_account") or {}).get("token")
            return (
                (not account or payment["account_id"] == account)
                and (
                    status is None
                    or payment["status"] == status
                    or (status == "refunded" and payment["refunded"])
                )
                and ("payment_method_id" not in query or token == query["payment_method_id"])
                and (before is None or created < before)
                and (after is None or created > after)
            )

        items = [
            (seq, view)
            for seq, payment in self.sandbox.store.newest_first("payment")
            if wanted(view := payment_view(payment, now))
        ]
        return JSONResponse(
            paginate(
                items,
                limit=page_size(query.get("limit")),
                after_seq=self._cursor_seq("payment", query.get("after_cursor")),
                before_seq=self._cursor_seq("payment", query.get("before_cursor")),
            )
        )

    async def update_payment(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        payment_id = request.path_params["payment_id"]
        body = await json_body(request)

        def apply() -> tuple[int, dict[str, Any]]:
            stored = self.sandbox.store.get("payment", payment_id)
            if stored is None:
                raise not_found()
            updated = dict(stored)
            if "description" in body:
                updated["description"] = optional_str(body, "description")
            if "metadata" in body:
                updated["metadata"] = optional_object(body, "metadata")
            updated["updated_at"] = iso(self.sandbox.now())
            self.sandbox.store.put("payment", payment_id, updated)
            return 200, envelope("payment", payment_view(updated, self.sandbox.now()))

        # The spec's UpdatePayment requires an Idempotency-Key (unlike UpdateCheckout).
        return await self._apply(request, client_id, body, apply, key_required=True)

    async def capture(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        payment_id = request.path_params["payment_id"]
        body = await json_body(request)
        key = request.headers.get("idempotency-key")

        def apply() -> tuple[int, dict[str, Any]]:
            store, now = self.sandbox.store, self.sandbox.now()
            stored = store.get("payment", payment_id)
            if stored is None:
                raise not_found()
            if stored["captured"]:
                raise ApiError(
                    422, "payment_already_captured", "This payment has already been captured"
                )
            if stored["status"] == "authorized" and (
                now >= parse_iso(stored["created_at"]) + AUTHORIZATION_LIFETIME
            ):
                raise ApiError(
                    422,
                    "charge_expired_for_capture",
                    "The charge cannot be captured as the authorization has expired. Auth and "
                    "capture charges must be captured within 7 days.",
                )
            if stored["status"] != "authorized":
                raise ApiError(
                    422,
                    "payment_cannot_be_captured",
                    f"Payment status is '{stored['status']}' so it cannot be captured",
                )
            stamp = iso(now)
            updated = {
                **stored,
                "captured": True,
                "status": "succeeded",
                "amount_refundable": stored["amount"],
                "balance": collected_balance(stored),
                "updated_at": stamp,
            }
            store.put("payment", payment_id, updated)
            record_collected(self.sandbox, updated)
            publish_event(
                self.sandbox,
                "payment.captured",
                updated,
                account_id=updated["account_id"],
                idempotency_key=key,
            )
            return 201, envelope("payment", updated)

        return await self._apply(
            request, client_id, body, apply, key_required=True, replay_status=200
        )

    async def refund(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        payment_id = request.path_params["payment_id"]
        body = await json_body(request)
        key = request.headers.get("idempotency-key")

        def apply() -> tuple[int, dict[str, Any]]:
            amount, reason = _refund_fields(body)
            refund = refund_payment(
                self.sandbox,
                payment_id,
                amount=amount,
                reason=reason,
                description=optional_str(body, "description"),
                metadata=optional_object(body, "metadata"),
                idempotency_key=key,
                fees=_refund_fees(body),
            )
            return 201, envelope("refund", refund)

        return await self._apply(request, client_id, body, apply, key_required=True)

    async def void(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        payment_id = request.path_params["payment_id"]
        body = await json_body(request)
        key = request.headers.get("idempotency-key")

        def apply() -> tuple[int, dict[str, Any]]:
            store, now = self.sandbox.store, self.sandbox.now()
            stored = store.get("payment", payment_id)
            if stored is None:
                raise not_found()
            outside = now >= parse_iso(stored["created_at"]) + VOID_WINDOW
            if outside or stored["status"] not in ("succeeded", "authorized", "pending"):
                # Failed, canceled and refunded payments have nothing left to void.
                raise ApiError(
                    422,
                    "payment_outside_void_window",
                    "The void cannot be processed because the associated payment is outside "
                    "the void window. Try a refund instead.",
                )
            fees = stored["fees"]
            if stored["captured"] and stored["status"] == "succeeded":
                # The money goes back, and (the spec's fee lifecycle) every fee with it.
                balance = stored["balance"] - stored["amount"]
                record(self.sandbox, stored, "refund", -stored["amount"], payment_id, balance)
                left = {fee["type"]: fee["remaining_amount"] for fee in fees}
                fees, _, balance = return_fees(self.sandbox, stored, left, balance)
            updated = {
                **stored,
                "status": "canceled",
                "amount_refundable": 0,
                "balance": 0,
                "fees": fees,
                "updated_at": iso(now),
            }
            store.put("payment", payment_id, updated)
            publish_event(
                self.sandbox,
                "payment.canceled",
                updated,
                account_id=updated["account_id"],
                idempotency_key=key,
            )
            return 200, envelope("payment", updated)

        return await self._apply(request, client_id, body, apply, key_required=True)

    async def balance_transactions(self, request: Request) -> Response:
        payment = self._payment(request)
        query = request.query_params
        items = [
            (seq, txn)
            for seq, txn in self.sandbox.store.newest_first("payment_balance_transaction")
            if txn["payment_id"] == payment["id"]
        ]
        return JSONResponse(
            paginate(
                items,
                limit=page_size(query.get("limit")),
                after_seq=self._cursor_seq(
                    "payment_balance_transaction", query.get("after_cursor")
                ),
                before_seq=self._cursor_seq(
                    "payment_balance_transaction", query.get("before_cursor")
                ),
            )
        )

    # -- refunds -------------------------------------------------------------------------

    async def list_refunds(self, request: Request) -> Response:
        self._authenticate(request)
        query = request.query_params
        account = self._account_filter(request)
        store = self.sandbox.store

        def wanted(refund: dict[str, Any]) -> bool:
            if not account:
                return True
            payment = store.get("payment", refund["payment_id"])
            return payment is not None and payment["account_id"] == account

        items = [(seq, r) for seq, r in store.newest_first("refund") if wanted(r)]
        return JSONResponse(
            paginate(
                items,
                limit=page_size(query.get("limit")),
                after_seq=self._cursor_seq("refund", query.get("after_cursor")),
                before_seq=self._cursor_seq("refund", query.get("before_cursor")),
            )
        )

    async def get_refund(self, request: Request) -> Response:
        self._authenticate(request)
        refund = self.sandbox.store.get("refund", request.path_params["refund_id"])
        if refund is None:
            raise not_found()
        return JSONResponse(envelope("refund", refund))

    # -- checkout update and refunds -----------------------------------------------------

    async def update_checkout(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        checkout_id = request.path_params["checkout_id"]
        body = await json_body(request)

        def apply() -> tuple[int, dict[str, Any]]:
            store, now = self.sandbox.store, self.sandbox.now()
            stored = store.get("checkout", checkout_id)
            if stored is None:
                raise not_found()
            checkout = checkout_view(stored, now)
            if checkout["status"] == "completed":
                raise ApiError(
                    422, "checkout_already_completed", "This checkout is already completed"
                )
            if checkout["status"] == "expired":
                raise ApiError(422, "checkout_expired", "This checkout has expired")
            # Validate the changed fields as a create would (missing ones keep their value).
            merged = {
                "amount": body.get("amount", stored["payment_amount"]),
                "description": body.get("description", stored["description"]),
                "statement_descriptor": body.get(
                    "statement_descriptor", stored["statement_descriptor"]
                ),
                "metadata": body.get("metadata", stored["metadata"]),
                "application_fees": body.get("application_fees", stored["application_fees"]),
                "payment": stored["payment"],
            }
            fields = validate_checkout_request(merged)
            payment_override = (stored.get("payment") or {}).get("description")
            updated = {
                **stored,
                "payment_amount": fields["amount"],
                "total_amount": fields["amount"],
                "description": fields["description"],
                "payment_description": payment_override or fields["description"],
                "statement_descriptor": fields["statement_descriptor"],
                "metadata": fields["metadata"],
                "application_fees": fields["application_fees"],
                "updated_at": iso(now),
            }
            store.put("checkout", checkout_id, updated)
            return 200, envelope("checkout", updated)

        return await self._apply(request, client_id, body, apply, key_required=False)

    async def refund_checkout(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        checkout_id = request.path_params["checkout_id"]
        body = await json_body(request)
        key = request.headers.get("idempotency-key")

        def apply() -> tuple[int, dict[str, Any]]:
            amount = body.get("amount")
            if amount is not None and (not is_int(amount) or amount <= 0):
                raise invalid("amount")
            store, now = self.sandbox.store, self.sandbox.now()
            stored = store.get("checkout", checkout_id)
            if stored is None:
                raise not_found()
            payment_id = stored.get("successful_payment_id")
            if stored["status"] != "completed" or not payment_id:
                raise ApiError(
                    422, "checkout_not_completed", "Only a completed checkout can be refunded"
                )
            payment = store.get("payment", payment_id) or {}
            refund_amount = amount if amount is not None else payment.get("amount_refundable", 0)
            stamp = iso(now)
            result: dict[str, Any] = {
                "id": new_id("chr_"),
                "checkout_id": checkout_id,
                "status": "succeeded",
                "refund_response": None,
                "refund_amount": refund_amount,
                "returned_fees": [],
                "created_at": stamp,
                "updated_at": stamp,
            }
            try:
                refund = refund_payment(
                    self.sandbox,
                    payment_id,
                    amount=amount,
                    reason=None,
                    description=None,
                    metadata=None,
                    idempotency_key=key,
                    fees=_refund_fees(body),
                )
            except ApiError as exc:
                # The spec: a failed checkout refund is data, with the error in refund_response.
                result.update(status="failed", refund_response=exc.code)
            else:
                result["refund_response"] = refund["id"]
                result["returned_fees"] = [
                    {"type": fee["type"], "amount": fee["returned_amount"]}
                    for fee in refund["returned_fees"]
                ]
            store.put("checkout_refund", result["id"], result)
            # The spec's example gives this envelope type "checkout_completion".
            return 200, envelope("checkout_completion", result)

        return await self._apply(request, client_id, body, apply, key_required=True)


def _refund_fields(body: dict[str, Any]) -> tuple[int | None, str | None]:
    amount = body.get("amount")
    if amount is not None and not is_int(amount):
        raise ApiError(422, "amount_must_be_an_integer", "Amount must be an integer")
    reason = body.get("reason")
    if reason is not None and reason not in REFUND_REASONS:
        raise ApiError(
            422,
            "refund_reason_invalid",
            "Refund reason must be one of the following: duplicate, fraudulent, customer_request",
        )
    return amount, reason


def _refund_fees(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    raw = body.get("fees")
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
        isinstance(fee, dict) and fee.get("type") in FEE_TYPES for fee in raw
    ):
        raise ApiError(422, "fees_invalid", "Fee type must be processing_fee or platform_fee")
    if not all(is_int(fee.get("amount")) and fee["amount"] > 0 for fee in raw):
        raise ApiError(
            422, "fee_amount_greater_than_zero", "Fee amount must be an integer greater than 0"
        )
    if len({fee["type"] for fee in raw}) != len(raw):
        raise ApiError(422, "multiple_of_same_fee_type", "Only one fee per type is allowed")
    return [{"type": fee["type"], "amount": fee["amount"]} for fee in raw]


def _fees_to_return(payment: dict[str, Any], fees: list[dict[str, Any]] | None) -> dict[str, int]:
    """Fee type -> amount to give back, checked against what each fee has left."""
    remaining = {fee["type"]: fee["remaining_amount"] for fee in payment["fees"]}
    returned: dict[str, int] = {}
    for fee in fees or []:
        if fee["type"] not in remaining:
            raise ApiError(
                422,
                "fee_type_must_exist_on_payment_fees",
                "Refund fee type must exist on the original payment",
            )
        if fee["amount"] > remaining[fee["type"]]:
            raise ApiError(
                422,
                "returned_fee_exceeds_remaining_amount",
                "Refund amount cannot exceed the fee's remaining amount",
            )
        returned[fee["type"]] = fee["amount"]
    return returned


def _query_time(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise invalid(name) from exc
