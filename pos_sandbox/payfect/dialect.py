"""Payfect's dialect: its API and customer page under ``/payfect``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dialect import Dialect
from .api import PayfectApi
from .errors import payfect_error
from .pages import PayfectPages

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..state import Sandbox


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    return [*PayfectApi(sandbox).routes(), *PayfectPages(sandbox).routes()]


DIALECT = Dialect(
    name="payfect",
    api_prefixes=("/payfect/api/",),
    routes=_routes,
    error_response=payfect_error,
)
