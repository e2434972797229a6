"""The provider dialects the sandbox speaks. Each contributes its routes and error format.

Adding a provider: write its module with a ``DIALECT`` and list it in ``all_dialects``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from .state import Sandbox

# (HTTP status, short detail) -> a response in the provider's own error format.
ErrorFormatter = Callable[[int, str], Response]


@dataclass(frozen=True)
class Dialect:
    name: str
    # Paths under which unknown routes, wrong methods and crashes answer in this
    # provider's error format (customer pages keep plain text / HTML).
    api_prefixes: tuple[str, ...]
    routes: Callable[[Sandbox], list[BaseRoute]]
    error_response: ErrorFormatter


def justifi_error(status: int, detail: str) -> Response:
    codes = {
        400: "invalid_request",
        404: "resource_not_found",
        405: "method_not_allowed",
        413: "request_too_large",
        429: "rate_limit_exceeded",
        500: "internal_server_error",
        502: "bad_gateway",
        503: "service_unavailable",
        504: "gateway_timeout",
    }
    messages = {
        404: "Resource not found",
        500: "An unexpected error has occurred. JustiFi engineers will investigate the error "
        "and contact you if any remediation steps are necessary.",
    }
    body = {"error": {"code": codes.get(status, "error"), "message": messages.get(status, detail)}}
    return JSONResponse(body, status_code=status)


def _justifi_routes(sandbox: Sandbox) -> list[BaseRoute]:
    from .justifi import JustifiApi
    from .justifi_components import JustifiComponents
    from .justifi_payments import JustifiPayments
    from .justifi_sessions import JustifiSessions
    from .pages import HostedCheckoutPages

    return [
        *JustifiApi(sandbox).routes(),
        *JustifiPayments(sandbox).routes(),
        *JustifiSessions(sandbox).routes(),
        *HostedCheckoutPages(sandbox).routes(),
        # Last: it ends with the catch-all CORS preflight route.
        *JustifiComponents(sandbox).routes(),
    ]


JUSTIFI = Dialect(
    name="justifi",
    api_prefixes=("/justifi/v1/", "/justifi/oauth/"),
    routes=_justifi_routes,
    error_response=justifi_error,
)


def all_dialects() -> list[Dialect]:
    dialects = [JUSTIFI]
    from .payfect import DIALECT as PAYFECT
    from .recharge import DIALECT as RECHARGE

    dialects.append(RECHARGE)
    dialects.append(PAYFECT)
    from .checkout_com import DIALECT as CHECKOUT_COM

    dialects.append(CHECKOUT_COM)
    # dialects register above this line
    return dialects
