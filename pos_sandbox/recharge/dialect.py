"""ReCharge's dialect: its API and hosted checkout page under ``/recharge``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dialect import Dialect
from .api import RechargeApi
from .errors import recharge_error
from .pages import RechargePages

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..state import Sandbox


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    return [*RechargeApi(sandbox).routes(), *RechargePages(sandbox).routes()]


DIALECT = Dialect(
    name="recharge",
    api_prefixes=("/recharge/checkouts", "/recharge/products"),
    routes=_routes,
    error_response=recharge_error,
)
