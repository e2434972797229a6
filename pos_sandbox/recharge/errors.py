"""ReCharge's error answers: ``{"errors": "<message>"}``, ``{"errors": {"field": ["message"]}}``
(422), and ``{"error": "Not found"}`` for unknown objects."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response


class RechargeError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def fail(status: int, message: str) -> RechargeError:
    return RechargeError(status, {"errors": message})


def invalid(field: str, message: str) -> RechargeError:
    return RechargeError(422, {"errors": {field: [message]}})


def not_found() -> RechargeError:
    return RechargeError(404, {"error": "Not found"})


def recharge_error(status: int, detail: str) -> Response:
    """Unknown routes, wrong methods and crashes under the API, in ReCharge's shape."""
    if status == 404:
        return JSONResponse({"error": "Not found"}, status_code=404)
    messages = {405: "Method not allowed", 413: "Request body too large", 500: "Server error"}
    return JSONResponse({"errors": messages.get(status, detail)}, status_code=status)
