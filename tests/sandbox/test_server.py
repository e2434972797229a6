"""The sandbox server under abuse and load: garbage requests, oversized bodies, many clients."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_sandbox.dialects import all_dialects
from pos_sandbox.server import (
    MAX_BODY_SIZE,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pos_sandbox.dialect import Dialect

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    response = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT}


def justifi_error(response: httpx.Response) -> dict[str, Any]:
    """The body of a JustiFi error response, checked to have JustiFi's shape."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    return dict(error)


def assert_healthy(client: httpx.Client) -> None:
    response = client.get("/_sandbox/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- garbage in ----------------------------------------------------------------------------

CHECKOUTS = "/justifi/v1/checkouts"
GARBAGE_BODIES = [
    pytest.param(b"{not json", "application/json", id="bad-json"),
    pytest.param(b"\xff\xfe\xfa", "application/json", id="bad-utf8"),
    pytest.param(b"[1, 2, 3]", "application/json", id="json-array"),
    pytest.param(b'"just a string"', "application/json", id="json-string"),
    pytest.param(b"amount=1799", "application/x-www-form-urlencoded", id="form-body"),
    pytest.param(b"<xml/>", "text/xml", id="xml"),
    pytest.param(b"[" * 100_000, "application/json", id="deeply-nested"),
    pytest.param(b'{"amount": 1e999, "description": "x"}', "application/json", id="infinity"),
    pytest.param(b'{"amount": NaN, "description": "x"}', "application/json", id="nan"),
    pytest.param(b'{"amount": "1799", "description": 5}', "application/json", id="wrong-types"),
]


@pytest.mark.parametrize(("body", "content_type"), GARBAGE_BODIES)
@pytest.mark.parametrize(
    "path",
    [
        "/justifi/oauth/token",
        CHECKOUTS,
        "/justifi/v1/payment_methods",
        "/justifi/v1/checkouts/cho_missing/complete",
    ],
)
def test_garbage_bodies_get_4xx_in_justifi_format(
    client: httpx.Client, auth: dict[str, str], path: str, body: bytes, content_type: str
) -> None:
    headers = {**auth, "Content-Type": content_type, "Idempotency-Key": str(uuid.uuid4())}
    response = client.post(path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    justifi_error(response)
    assert_healthy(client)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path",
    [
        "/justifi/v1/nothing-here",
        "/justifi/v1/checkouts/cho_x/refund/extra",
        "/justifi/oauth/unknown",
        "/justifi/v1/" + "a" * 4000,
        "/justifi/v1/%ff%fe",
    ],
)
def test_unknown_paths_under_the_api_answer_in_justifi_format(
    client: httpx.Client, auth: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, path, headers=auth, content=b"{}")
    assert response.status_code == 404, response.text
    justifi_error(response)
    assert_healthy(client)


def test_wrong_method_on_a_known_path_is_405_in_justifi_format(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    response = client.delete(CHECKOUTS, headers=auth)
    assert response.status_code == 405
    assert justifi_error(response)["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_413_in_justifi_format(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    response = client.post(CHECKOUTS, content=b" " * (MAX_BODY_SIZE + 1), headers=auth)
    assert response.status_code == 413
    justifi_error(response)
    assert_healthy(client)


def test_a_chunked_body_over_the_limit_is_413(client: httpx.Client, auth: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        for _ in range(MAX_BODY_SIZE // 65536 + 2):
            yield b" " * 65536

    response = client.post(CHECKOUTS, content=chunks(), headers=auth)
    assert response.status_code == 413
    justifi_error(response)
    assert_healthy(client)


def test_a_body_at_the_limit_is_read(client: httpx.Client, auth: dict[str, str]) -> None:
    body = b'{"amount": 1799, "description": "big"}'
    body += b" " * (MAX_BODY_SIZE - len(body))
    response = client.post(
        CHECKOUTS, content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/_sandbox/faults",
        "/_sandbox/clock/advance",
        "/_sandbox/webhooks/endpoints",
        "/_sandbox/webhooks/secret",
        "/_sandbox/justifi/hold-requests",
    ],
)
@pytest.mark.parametrize(
    "body", [b"{bad", b"\xff", b"[]", b"[" * 100_000, b'{"seconds": 1e308, "kind": 5}']
)
def test_control_api_refuses_garbage_with_400(client: httpx.Client, path: str, body: bytes) -> None:
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["error"], str)
    assert_healthy(client)


def test_raw_protocol_garbage_does_not_stop_the_server(sandbox: SandboxServer) -> None:
    host, port = sandbox.host, int(sandbox.base_url.rsplit(":", 1)[1])
    for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST"):
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.sendall(garbage)
            raw.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
    with httpx.Client(
        base_url=sandbox.base_url, headers=sandbox.control_headers, timeout=10
    ) as client:
        assert_healthy(client)


# -- many clients at once ------------------------------------------------------------------


async def create_and_complete(base_url: str, number: int) -> str:
    """What a paying customer causes: token, checkout, card token, completion."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        token = await http.post(
            "/justifi/oauth/token",
            json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
        )
        assert token.status_code == 200, token.text
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Sub-Account": SANDBOX_SUB_ACCOUNT,
        }
        created = await http.post(
            CHECKOUTS,
            json={"amount": 1000 + number, "description": f"sale {number}"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        method = await http.post(
            "/justifi/v1/payment_methods",
            json={
                "payment_method": {
                    "card": {
                        "name": "Leslie Knope",
                        "number": "4242424242424242",
                        "verification": "123",
                        "month": 12,
                        "year": 2040,
                        "address_postal_code": "10001",
                    }
                }
            },
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert method.status_code == 201, method.text
        checkout_id = created.json()["id"]
        completion = await http.post(
            f"{CHECKOUTS}/{checkout_id}/complete",
            json={"payment_token": method.json()["id"], "payment_mode": "ecom"},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert completion.status_code == 201, completion.text
        assert completion.json()["data"]["payment_status"] == "succeeded"
        return str(checkout_id)


def test_64_concurrent_clients_create_and_complete_without_errors(
    sandbox: SandboxServer, client: httpx.Client, auth: dict[str, str]
) -> None:
    async def all_of_them() -> list[str | BaseException]:
        return await asyncio.gather(
            *(create_and_complete(sandbox.base_url, n) for n in range(64)),
            return_exceptions=True,
        )

    results = asyncio.run(all_of_them())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    listed = client.get(CHECKOUTS, headers=auth, params={"limit": 100}).json()["data"]
    assert {c["id"] for c in listed} == set(results)
    assert {c["status"] for c in listed} == {"completed"}


def shape(status: int, content_type: str | None, body: bytes) -> tuple[Any, ...]:
    """What a client can tell about an error format: status, media type, top-level keys."""
    media = (content_type or "").split(";")[0]
    keys = sorted(json.loads(body)) if media == "application/json" and body else None
    return status, media, keys


@pytest.mark.parametrize(
    ("dialect", "prefix"),
    [(d, p) for d in all_dialects() for p in d.api_prefixes],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_unknown_paths_under_every_dialect_answer_in_its_format(
    client: httpx.Client, dialect: Dialect, prefix: str
) -> None:
    response = client.get(f"{prefix.rstrip('/')}/no-such-thing/at-all")
    assert response.status_code == 404, response.text
    expected = dialect.error_response(response.status_code, "Not Found")
    assert shape(response.status_code, response.headers.get("content-type"), response.content) == (
        shape(response.status_code, expected.headers.get("content-type"), bytes(expected.body))
    )
    assert_healthy(client)


@pytest.mark.parametrize("dialect", all_dialects(), ids=lambda d: d.name)
def test_a_status_fault_answers_in_the_owning_dialects_format(
    client: httpx.Client, dialect: Dialect
) -> None:
    path = f"{dialect.api_prefixes[0].rstrip('/')}/anything"
    fault = {"method": "GET", "path": path, "kind": "status", "status": 503}
    assert client.post("/_sandbox/faults", json=fault).status_code == 201
    response = client.get(path)
    expected = dialect.error_response(503, "Service Unavailable")
    assert shape(response.status_code, response.headers.get("content-type"), response.content) == (
        shape(503, expected.headers.get("content-type"), bytes(expected.body))
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sandbox/clock/advance", b'{"seconds": NaN}'),
        ("/_sandbox/clock/advance", b'{"seconds": Infinity}'),
        ("/_sandbox/justifi/held-requests/wait", b'{"count": 1, "timeout": NaN}'),
        ("/_sandbox/justifi/held-requests/wait", b'{"count": 1, "timeout": 1e308}'),
        ("/_sandbox/faults", b'{"path": "/justifi/*", "kind": "latency", "latency_ms": NaN}'),
    ],
)
def test_control_api_refuses_non_finite_numbers(
    client: httpx.Client, path: str, body: bytes
) -> None:
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert_healthy(client)
