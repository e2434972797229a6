"""Checkout.com's dialect: its REST API and customer pages under ``/checkout-com``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dialect import Dialect
from .api import CheckoutComApi
from .errors import checkout_com_error
from .ids import PREFIX
from .pages import CheckoutComPages

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..state import Sandbox


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    return [*CheckoutComApi(sandbox).routes(), *CheckoutComPages(sandbox).routes()]


DIALECT = Dialect(
    name="checkout_com",
    api_prefixes=(
        f"{PREFIX}/tokens",
        f"{PREFIX}/payments",
        f"{PREFIX}/hosted-payments",
        f"{PREFIX}/payment-links",
    ),
    routes=_routes,
    error_response=checkout_com_error,
)
