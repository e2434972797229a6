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
    codes = {404: "resource_not_found", 405: "method_not_allowed", 500: "internal_server_error"}
    messages = {
        404: "Resource not found",
        500: "An unexpected error has occurred. JustiFi engineers will investigate the error "
        "and contact you if any remediation steps are necessary.",
    }
    body = {"error": {"code": codes.get(status, "error"), "message": messages.get(status, detail)}}
    return JSONResponse(body, status_code=status)


def _justifi_routes(sandbox: Sandbox) -> list[BaseRoute]:
    from .justifi import JustifiApi
    from .pages import HostedCheckoutPages

    return [*JustifiApi(sandbox).routes(), *HostedCheckoutPages(sandbox).routes()]


JUSTIFI = Dialect(
    name="justifi",
    api_prefixes=("/justifi/v1/", "/justifi/oauth/"),
    routes=_justifi_routes,
    error_response=justifi_error,
)


def all_dialects() -> list[Dialect]:
    dialects = [JUSTIFI]
    # dialects register above this line
    return dialects
