"""JustiFi's dialect: every JustiFi route under ``/justifi``, and its error format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dialect import Dialect
from .api import JustifiApi
from .components import JustifiComponents
from .errors import ApiError, api_error_response, justifi_error
from .pages import HostedCheckoutPages
from .payments import JustifiPayments
from .sessions import JustifiSessions

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..state import Sandbox


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    return [
        *JustifiApi(sandbox).routes(),
        *JustifiPayments(sandbox).routes(),
        *JustifiSessions(sandbox).routes(),
        *HostedCheckoutPages(sandbox).routes(),
        # Last: it ends with the catch-all CORS preflight route.
        *JustifiComponents(sandbox).routes(),
    ]


DIALECT = Dialect(
    name="justifi",
    api_prefixes=("/justifi/v1/", "/justifi/oauth/"),
    routes=_routes,
    error_response=justifi_error,
    exception_handlers={ApiError: api_error_response},
)
