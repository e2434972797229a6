"""JustiFi's error answers (``{"error": {"code", "message", ...}}``), its response envelope,
and the small request checks that raise them (spec error-code catalogue, PROVIDERS.md §1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from starlette.requests import Request

# The spec's own example answer (CreatePayment / CreatePaymentMethod, 400 "Full_PAN_not_allowed").
FULL_PAN_MESSAGE = (
    "Full card numbers are not accepted on this endpoint. Please use the tokenization iframe "
    "to create a payment method token first."
)


class ApiError(Exception):
    """A JustiFi error response: ``{"error": {"code", "message", ...}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def not_authenticated() -> ApiError:
    return ApiError(401, "not_authenticated", "Not authenticated")


def not_found() -> ApiError:
    return ApiError(404, "resource_not_found", "Resource not found")


def missing(name: str, code: str = "parameter_missing") -> ApiError:
    return ApiError(422, code, f"Missing required parameter: {name}")


def invalid(name: str, code: str | None = None) -> ApiError:
    return ApiError(422, code or f"{name}_invalid", f"Format is invalid for parameter: {name}")


def envelope(object_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": data["id"], "type": object_type, "data": data, "page_info": None}


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(name)
    return value


def optional_object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise invalid(name)
    return value


async def api_error_response(request: Request, exc: Exception) -> Response:
    """The app's handler for an ``ApiError`` a JustiFi handler raised."""
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


def justifi_error(status: int, detail: str) -> Response:
    """Unknown routes, wrong methods and crashes under the API, in JustiFi's format."""
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
