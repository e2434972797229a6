"""What a provider's card fields do in the customer's browser, done by the till for the
sandbox's simulated card reader: post a test card and get the token the provider charges.

Each provider's ``card_fields.py`` says how (its endpoints and credentials); this module
holds the one way they talk. A tokenization mints a new token each time, harmlessly: it is
sent once and never retried.
"""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_S = 15.0
# The test card's other details, as a customer would type them into the card fields.
EXPIRY_MONTH, EXPIRY_YEAR = 12, 2030


class TokenizeError(Exception):
    """The sandbox would not tokenize the card; the message says what it answered."""


def client(api: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api, timeout=TIMEOUT_S, trust_env=False)


async def post(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    try:
        answer = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError as error:
        raise TokenizeError(f"The sandbox could not be reached ({type(error).__name__})") from error
    if not answer.is_success:
        raise TokenizeError(f"The sandbox answered {answer.status_code} to {path}")
    try:
        payload = answer.json()
    except ValueError:
        raise TokenizeError(f"The sandbox's answer to {path} was not JSON") from None
    if not isinstance(payload, dict):
        raise TokenizeError(f"The sandbox's answer to {path} was not an object")
    return payload


def text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise TokenizeError(f"The sandbox answered without a {key}")
    return value
