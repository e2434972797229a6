"""JustiFi's core REST endpoints under ``/justifi``: the OAuth token, checkouts and payment
methods, and the idempotency rules every JustiFi mutation follows (``JustifiApi._apply``).

Payments, refunds and checkout updates are in ``payments``; web component tokens, iframes and
the host page in ``components``; payment intents and checkout sessions in ``sessions``: each
extends ``JustifiApi``.

``Sub-Account`` is required where the spec says so (create checkout, payment, payment method,
payment intent); on ``/complete`` it is optional but checked when sent (see
``JustifiApi.complete_checkout``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..state import Sandbox, iso
from . import checkouts
from .checkouts import CARD_PAYMENT_MODES, SUB_ACCOUNTS, checkout_view, validate_checkout_request
from .errors import (
    ApiError,
    envelope,
    invalid,
    missing,
    not_authenticated,
    not_found,
    optional_object,
    optional_str,
)
from .events import publish_event
from .http import Auth, authenticate, cors_routes, json_body, request_fingerprint
from .pagination import decode_cursor, page_size, paginate
from .payment_methods import payment_method_envelope, tokenize_bank_account, tokenize_card

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

TOKEN_LIFETIME = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 100


class JustifiApi:
    """The REST endpoints; every handler is async so all store access stays on one thread."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return cors_routes(
            [
                Route("/justifi/oauth/token", self.oauth_token, methods=["POST"]),
                Route("/justifi/v1/checkouts", self.create_checkout, methods=["POST"]),
                Route("/justifi/v1/checkouts", self.list_checkouts, methods=["GET"]),
                Route("/justifi/v1/checkouts/{checkout_id}", self.get_checkout, methods=["GET"]),
                Route(
                    "/justifi/v1/checkouts/{checkout_id}/complete",
                    self.complete_checkout,
                    methods=["POST"],
                ),
                Route("/justifi/v1/payment_methods", self.create_payment_method, methods=["POST"]),
                Route(
                    "/justifi/v1/payment_methods/{token}", self.get_payment_method, methods=["GET"]
                ),
            ]
        )

    # -- auth ----------------------------------------------------------------------------

    async def oauth_token(self, request: Request) -> Response:
        body = await json_body(request)
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not (
            isinstance(client_id, str)
            and client_id.startswith("test_")
            and isinstance(secret, str)
            and secret
        ):
            # Only test keys exist here; live keys and bad credentials are refused alike.
            raise not_authenticated()
        token = secrets.token_urlsafe(48)
        expires_at = self.sandbox.now() + TOKEN_LIFETIME
        with self.sandbox.store.transaction():
            self.sandbox.store.put(
                "access_token", token, {"client_id": client_id, "expires_at": iso(expires_at)}
            )
        return JSONResponse({"access_token": token})

    def _authenticate(self, request: Request, *allowed: str, defer: bool = False) -> Auth:
        """The caller behind the Bearer token, or 401.

        A web component token may call a route only if it holds one of ``allowed``
        (403 otherwise); with ``defer`` the handler checks ``Auth.require`` itself.
        """
        return authenticate(self.sandbox, request, *allowed, defer=defer)

    @staticmethod
    def _required_sub_account(request: Request) -> str:
        account = request.headers.get("sub-account", "").strip()
        if not account:
            raise ApiError(400, "parameter_missing", "Missing required header: Sub-Account")
        if account not in SUB_ACCOUNTS:
            raise ApiError(403, "not_authorized", "Not authorized")
        return account

    @staticmethod
    def _account_filter(request: Request) -> str | None:
        # The web components send the account as ``Account`` on list calls.
        account = request.headers.get("sub-account") or request.headers.get("account")
        return account.strip() if account else None

    # -- mutations with idempotency ------------------------------------------------------

    async def _apply(
        self,
        request: Request,
        client_id: str,
        body: dict[str, Any],
        apply: Callable[[], tuple[int, dict[str, Any]]],
        *,
        key_required: bool,
        replay_status: int | None = None,
    ) -> Response:
        """Run a validated mutation once per Idempotency-Key; replay its response after.

        ``replay_status`` replaces the status of a successful replay (capture: 201, then 200).
        """
        store = self.sandbox.store
        key = request.headers.get("idempotency-key")
        if not key:
            if key_required:
                raise ApiError(
                    422, "idempotency_key_required", "Idempotency-Key is a required header"
                )
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
            return JSONResponse(payload, status_code=status)
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ApiError(
                422,
                "idempotency_key_too_long",
                "Validation failed: Idempotency key is too long (maximum is 100 characters)",
            )
        fingerprint = request_fingerprint(request, body)
        with store.transaction():
            earlier = store.claim_key(client_id, key, fingerprint, self.sandbox.now())
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "idempotency_params_mismatch",
                    "The request parameters do not match those of a previous request using "
                    "this idempotency key",
                )
            if earlier.state == "in_progress":
                raise ApiError(
                    409,
                    "idempotency_request_in_progress",
                    "Another request using this idempotency key is currently in progress",
                )
            status = earlier.status or 200
            if replay_status is not None and 200 <= status < 300:
                status = replay_status
            return JSONResponse(earlier.body, status_code=status)
        try:
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
                store.finish_key(client_id, key, status, payload)
        except ApiError as exc:
            with store.transaction():
                if exc.status == 402:
                    # The attempt was processed (tokenization failed): a retry gets the same.
                    store.finish_key(client_id, key, exc.status, exc.body())
                else:
                    store.release_key(client_id, key)
            raise
        except BaseException:
            with store.transaction():
                store.release_key(client_id, key)
            raise
        return JSONResponse(payload, status_code=status)

    # -- checkouts -----------------------------------------------------------------------

    async def create_checkout(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        account_id = self._required_sub_account(request)
        body = await json_body(request)
        fields = validate_checkout_request(body)

        def apply() -> tuple[int, dict[str, Any]]:
            checkout = checkouts.create_checkout(
                self.sandbox, account_id=account_id, client_id=client_id, fields=fields
            )
            return 201, envelope("checkout", checkout)

        return await self._apply(request, client_id, body, apply, key_required=False)

    async def get_checkout(self, request: Request) -> Response:
        checkout_id = request.path_params["checkout_id"]
        self._authenticate(request, f"write:checkout:{checkout_id}")
        checkout = checkouts.get_checkout(self.sandbox, checkout_id)
        account = self._account_filter(request)
        if checkout is None or (account and checkout["account_id"] != account):
            raise not_found()
        return JSONResponse(envelope("checkout", checkout))

    async def list_checkouts(self, request: Request) -> Response:
        auth = self._authenticate(request, defer=True)
        query = request.query_params
        now = self.sandbox.now()
        account = self._account_filter(request)
        if auth.resources is not None:
            # A component lists one account's checkouts (header ``Account``).
            if not account:
                raise ApiError(403, "not_authorized", "Not authorized")
            auth.require(f"read:account:{account}", f"write:account:{account}")
        items = [
            (seq, checkout_view(checkout, now))
            for seq, checkout in self.sandbox.store.newest_first("checkout")
        ]

        def wanted(checkout: dict[str, Any]) -> bool:
            last = checkout["completions"][-1] if checkout["completions"] else {}
            return (
                (not account or checkout["account_id"] == account)
                and ("status" not in query or checkout["status"] == query["status"])
                and (
                    "payment_status" not in query
                    or last.get("payment_status") == query["payment_status"]
                )
                and (
                    "payment_mode" not in query or last.get("payment_mode") == query["payment_mode"]
                )
            )

        items = [pair for pair in items if wanted(pair[1])]
        return JSONResponse(
            paginate(
                items,
                limit=page_size(query.get("limit")),
                after_seq=self._cursor_seq("checkout", query.get("after_cursor")),
                before_seq=self._cursor_seq("checkout", query.get("before_cursor")),
            )
        )

    def _cursor_seq(self, kind: str, cursor: str | None) -> int | None:
        if not cursor:
            return None
        seq = self.sandbox.store.seq_of(kind, decode_cursor(cursor))
        if seq is None:
            raise ApiError(400, "invalid_cursor", "The pagination cursor is invalid")
        return seq

    @staticmethod
    def _optional_sub_account(request: Request) -> str | None:
        """A ``Sub-Account`` the spec does not require but a caller sent: it must be ours."""
        if "sub-account" not in request.headers:
            return None
        return JustifiApi._required_sub_account(request)

    async def complete_checkout(self, request: Request) -> Response:
        """``POST /v1/checkouts/{id}/complete``.

        ``Sub-Account`` is optional here: the operation's parameters list only
        ``Idempotency-Key`` and ``Authorization``, JustiFi's Node SDK and web components send
        none, its Ruby SDK sends one only when given, and the spec's Platform Wallet guide
        sends the processing sub account. When sent it must be a sub account of the platform
        (else 403) and the checkout's own (else 404, as a checkout outside that account).
        """
        checkout_id = request.path_params["checkout_id"]
        client_id = self._authenticate(request, f"write:checkout:{checkout_id}").client_id
        account = self._optional_sub_account(request)
        body = await json_body(request)
        token = body.get("payment_token")
        mode = body.get("payment_mode") or "ecom"

        def apply() -> tuple[int, dict[str, Any]]:
            # Checked here, not before: a replay must not depend on the checkout's state now.
            if not isinstance(token, str) or not token:
                raise missing("payment_token")
            if mode not in CARD_PAYMENT_MODES:
                raise invalid("payment_mode")
            stored = self.sandbox.store.get("checkout", checkout_id)
            if account is not None and stored is not None and stored["account_id"] != account:
                raise not_found()
            completion = checkouts.complete_checkout(
                self.sandbox, checkout_id=checkout_id, payment_token=token, payment_mode=mode
            )
            return 201, envelope("checkout_completion", completion)

        return await self._apply(request, client_id, body, apply, key_required=True)

    # -- payment methods and payments ----------------------------------------------------

    async def create_payment_method(self, request: Request) -> Response:
        auth = self._authenticate(request, defer=True)
        account_id = self._required_sub_account(request)
        auth.require(f"write:tokenize:{account_id}")
        client_id = auth.client_id
        body = await json_body(request)
        method = optional_object(body, "payment_method")
        if not method:
            raise missing("payment_method", "payment_method_required")
        bank = optional_object(method, "bank_account")
        card = optional_object(method, "card")
        if card is None and bank is None:
            raise missing("card", "payment_method_required")
        optional_str(body, "email")

        def apply() -> tuple[int, dict[str, Any]]:
            if bank is not None:
                pm = tokenize_bank_account(self.sandbox, account_id=account_id, bank=bank)
            else:
                assert card is not None
                pm = tokenize_card(self.sandbox, account_id=account_id, card=card)
            publish_event(self.sandbox, "payment_method.created", pm, account_id=account_id)
            return 201, payment_method_envelope(pm)

        return await self._apply(request, client_id, body, apply, key_required=True)

    async def get_payment_method(self, request: Request) -> Response:
        self._authenticate(request)
        pm = self.sandbox.store.get("payment_method", request.path_params["token"])
        account = self._account_filter(request)
        if pm is None or (account and pm["account_id"] != account):
            raise ApiError(404, "payment_method_not_found", "Payment method not found")
        return JSONResponse(payment_method_envelope(pm))
