"""Checkout.com's error answers: ``{request_id, error_type, error_codes}``, or no body."""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse, Response

CKO_VERSION = "1.0.0"


class CkoError(Exception):
    """An error answer: ``{request_id, error_type, error_codes}``, or no body (401/403/404…)."""

    def __init__(
        self, status: int, error_type: str | None = None, codes: list[str] | None = None
    ) -> None:
        super().__init__(f"{status} {error_type} {codes}")
        self.status = status
        self.error_type = error_type
        self.codes = codes or []

    def response(self, request_id: str) -> Response:
        if self.error_type is None:
            return Response(b"", status_code=self.status)
        body = {"request_id": request_id, "error_type": self.error_type, "error_codes": self.codes}
        return JSONResponse(body, status_code=self.status)


def invalid(*codes: str) -> CkoError:
    return CkoError(422, "request_invalid", list(codes))


def checkout_com_error(status: int, detail: str) -> Response:
    """Unknown routes, wrong methods and crashes under the API, in Checkout.com's format."""
    request_id = str(uuid.uuid4())
    # 401/404/405/413: Checkout.com sends no body.
    error = CkoError(status, "internal_server_error", []) if status >= 500 else CkoError(status)
    response = error.response(request_id)
    response.headers["Cko-Request-Id"] = request_id
    response.headers["Cko-Version"] = CKO_VERSION
    return response
