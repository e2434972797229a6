"""One rule from HTTP status to the error tree, the same for all four providers: above all,
a server error to a request that could have changed money is "outcome unknown" (look it up
first), and to a read only "unavailable"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pos_app.providers.checkout_com import mapping as checkout_com
from pos_app.providers.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitedError,
)
from pos_app.providers.justifi import mapping as justifi
from pos_app.providers.payfect import mapping as payfect
from pos_app.providers.recharge import mapping as recharge

Mapper = Callable[..., ProviderError]
MAPPERS: dict[str, Mapper] = {
    "justifi": justifi.error_from_response,
    "checkout_com": checkout_com.error_from_response,
    "recharge": recharge.error_from_response,
    "payfect": payfect.error_from_response,
}
BODIES: dict[str, Any] = {
    "justifi": {"error": {"code": "server_error", "message": "Try later"}},
    "checkout_com": {"request_id": "r-1", "error_type": "processing_error"},
    "recharge": {"errors": "Try later"},
    "payfect": {"detail": "Try later"},
}


@pytest.mark.parametrize("provider", sorted(MAPPERS))
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_to_a_change_is_outcome_unknown_and_to_a_read_unavailable(
    provider: str, status: int
) -> None:
    change = MAPPERS[provider](status, BODIES[provider], mutating=True)
    read = MAPPERS[provider](status, BODIES[provider], mutating=False)
    assert type(change) is OutcomeUnknownError
    assert change.maybe_applied
    assert type(read) is ProviderUnavailableError
    assert not read.maybe_applied
    assert (change.provider, change.status) == (provider, status)


@pytest.mark.parametrize("provider", sorted(MAPPERS))
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (400, InvalidRequestError),
        (422, InvalidRequestError),
    ],
)
def test_the_common_statuses_mean_the_same_everywhere(
    provider: str, status: int, error: type[ProviderError]
) -> None:
    mapped = MAPPERS[provider](status, BODIES[provider], mutating=True)
    assert type(mapped) is error
    assert not mapped.maybe_applied
