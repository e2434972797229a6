"""Payfect's error answers, as Django REST Framework writes them: ``{"detail": "…"}``, and
``{"field": ["message"]}`` for a 400 validation error."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response


class PayfectError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def detail(status: int, message: str) -> PayfectError:
    return PayfectError(status, {"detail": message})


def not_found() -> PayfectError:
    return detail(404, "Not found.")


def payfect_error(status: int, message: str) -> Response:
    """DRF's ``{"detail": …}`` for unknown routes, wrong methods and crashes."""
    messages = {
        404: "Not found.",
        405: "Method not allowed.",
        413: "Request body too large.",
        500: "A server error occurred.",
    }
    return JSONResponse({"detail": messages.get(status, message)}, status_code=status)
