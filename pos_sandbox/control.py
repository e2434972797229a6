"""A client of the sandbox's control API (``/_sandbox/...``), for the app, tests and benchmarks.

Every call carries the run's token (``guard.TOKEN_HEADER``) and a JSON body, so only who
started the sandbox (or read the token from its banner or state folder) can drive it.
``request`` answers the raw response; the named helpers raise ``ControlError`` on a refusal
and answer the decoded JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Mapping

# Names, not secrets. Here rather than in guard.py: clients need not import starlette.
TOKEN_HEADER = "X-Sandbox-Token"  # noqa: S105
TOKEN_FILE = "control-token"  # noqa: S105 - in the state folder of `pos-app sandbox`, owner-only
PAY_PATHS = {
    "justifi": "justifi/pay",
    "checkout_com": "checkout-com/pay",
    "recharge": "recharge/pay",
    "payfect": "payfect/pay",
}
HOLD_PATHS = {"justifi": "justifi", "checkout_com": "checkout-com"}


class ControlError(Exception):
    """The control API refused a call; ``status`` and ``answer`` say how."""

    def __init__(self, status: int, answer: str) -> None:
        super().__init__(f"sandbox control call refused ({status}): {answer}")
        self.status = status
        self.answer = answer


class SandboxControl:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @property
    def headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self.token}

    def url(self, path: str) -> str:
        """``faults`` or ``/_sandbox/faults`` → the full URL of that control route."""
        path = path.lstrip("/").removeprefix("_sandbox/")
        return f"{self.base_url}/_sandbox/{path}"

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        return httpx.request(
            method,
            self.url(path),
            json=json,
            params=params,
            headers=self.headers,
            timeout=self.timeout if timeout is None else timeout,
            trust_env=False,
        )

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return _answer(self.request("POST", path, {} if body is None else body))

    def get(self, path: str, **params: str) -> Any:
        return _answer(self.request("GET", path, params=params or None))

    def delete(self, path: str) -> Any:
        return _answer(self.request("DELETE", path))

    # -- what tests and the app do most ---------------------------------------------------

    def health(self) -> bool:
        return self.request("GET", "health").status_code == 200

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        added: dict[str, Any] = self.post("faults", fault)
        return added

    def clear_faults(self) -> None:
        self.delete("faults")

    def advance_clock(self, seconds: float) -> str:
        """Moves the sandbox's clock forward; answers its new time (ISO 8601)."""
        return str(self.post("clock/advance", {"seconds": seconds})["now"])

    def pay(self, provider: str, **body: Any) -> Any:
        """What the customer does on ``provider``'s page, headless (see each dialect's pay)."""
        return self.post(PAY_PATHS[provider], body)

    def hold_requests(self, provider: str, enabled: bool) -> Any:
        return self.post(f"{HOLD_PATHS[provider]}/hold-requests", {"enabled": enabled})

    def webhooks(self, provider: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.get("webhooks", provider=provider)["data"]
        return events

    def flush_webhooks(self) -> Any:
        return self.post("webhooks/flush")


def _answer(response: httpx.Response) -> Any:
    if not response.is_success:
        raise ControlError(response.status_code, response.text)
    return response.json()
