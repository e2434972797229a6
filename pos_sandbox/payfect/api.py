"""Payfect's two documented calls under ``/payfect``: ``POST /api/v1/checkouts/`` and ``GET
/api/v1/checkouts/{id}/``, also as its Python SDK calls them (``/api/checkouts/``). A missing
``Authorization`` is 401, a wrong key 403; create answers 201.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import credentials
from ..web import loads_exact
from .checkouts import create_checkout, load
from .errors import PayfectError, detail, not_found
from .validation import validate_create

if TYPE_CHECKING:
    from ..state import Sandbox

SANDBOX_PAYFECT_API_KEY = credentials.PAYFECT_API_KEY


async def read_json(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise detail(415, f'Unsupported media type "{media}" in request.')
    try:
        raw = await request.body()
    except HTTPException as exc:
        raise detail(exc.status_code, "Request body too large.") from exc
    try:
        body = loads_exact(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise detail(400, f"JSON parse error - {exc}") from exc
    if not isinstance(body, dict):
        raise PayfectError(
            400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
        )
    return body


Handler = Callable[[Request], Awaitable[tuple[int, Any]]]


class PayfectApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._serve(request, handler)

            return Route(path, endpoint, methods=[method])

        routes = []
        for base in ("/payfect/api/v1/checkouts/", "/payfect/api/checkouts/"):
            routes.append(route(base, self.create, "POST"))
            routes.append(route(base + "{checkout_id}/", self.retrieve, "GET"))
        return routes

    async def _serve(self, request: Request, handler: Handler) -> Response:
        try:
            scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
            if scheme != "Api-Key" or not key.strip():
                raise detail(401, "Authentication credentials were not provided.")
            if key.strip() != SANDBOX_PAYFECT_API_KEY:
                raise detail(403, "You do not have permission to perform this action.")
            status, body = await handler(request)
        except PayfectError as exc:
            status, body = exc.status, exc.body
        return JSONResponse(body, status_code=status)

    async def create(self, request: Request) -> tuple[int, Any]:
        fields = validate_create(await read_json(request))
        return 201, create_checkout(self.sandbox, fields, str(request.base_url))

    async def retrieve(self, request: Request) -> tuple[int, Any]:
        record = load(self.sandbox, request.path_params["checkout_id"])
        if record is None:
            raise not_found()
        return 200, record["checkout"]
