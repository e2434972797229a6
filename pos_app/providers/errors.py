"""The provider error tree. A decline is NOT an error: it is data on a result.

Every error says whether the request may have reached the provider, because that
decides what the service may do next (retry freely, look up first, or ask a human).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class ProviderError(Exception):
    """Base of every provider failure.

    ``maybe_applied`` is True when the provider might have acted on the request.
    """

    maybe_applied = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.provider_code = provider_code


class ConfigurationError(ProviderError):
    """The profile is incomplete or inconsistent (missing key, bad URL)."""


class AuthenticationError(ProviderError):
    """The provider refused our credentials."""


class InvalidRequestError(ProviderError):
    """The provider rejected the request as malformed or not allowed (4xx)."""


class NotFoundError(InvalidRequestError):
    """The object does not exist at the provider."""


class RateLimitedError(ProviderError):
    """Too many requests; try again later."""


class ProviderUnavailableError(ProviderError):
    """The provider answered with a server error to a request that changed nothing."""


class IdempotencyConflictError(ProviderError):
    """The same idempotency key is in flight or was used with other parameters."""

    maybe_applied = True


class ResponseInvalidError(ProviderError):
    """The provider answered something we cannot trust (bad JSON, wrong amount, unknown status)."""

    maybe_applied = True


class ConnectionFailedError(ProviderError):
    """The request never left this machine; nothing happened at the provider."""


class OutcomeUnknownError(ProviderError):
    """The request was sent but no answer came back: look the object up before anything else."""

    maybe_applied = True


class NotSupportedError(ProviderError):
    """The provider (or this profile) does not offer the operation; nothing was sent.

    Services check ``capabilities`` first, so this is a programming error surfacing, not a
    cashier-facing condition.
    """


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    mutating: bool,
    provider_code: str | None = None,
    idempotency_conflict: bool = False,
    special: Mapping[int, type[ProviderError]] | None = None,
) -> ProviderError:
    """The one rule from a provider's non-2xx status to the error tree, for every adapter.

    The rule that keeps money safe is the 5xx one: an answer of "server error" to a request
    that could have changed money does not say whether it did (OutcomeUnknownError: look it
    up before anything else); to a read it is only unavailability. Each adapter reads its own
    body for ``message`` and ``provider_code``, says whether the answer means its idempotency
    key is in use (``idempotency_conflict``), and names the statuses its documentation gives
    another meaning (``special``, e.g. ReCharge's 426 for an API version it no longer serves).
    """
    kind: type[ProviderError]
    if special is not None and status in special:
        kind = special[status]
    elif idempotency_conflict:
        kind = IdempotencyConflictError
    elif status in (401, 403):
        kind = AuthenticationError
    elif status == 404:
        kind = NotFoundError
    elif status == 429:
        kind = RateLimitedError
    elif status >= 500:
        kind = OutcomeUnknownError if mutating else ProviderUnavailableError
    else:
        kind = InvalidRequestError
    return kind(message, provider=provider, status=status, provider_code=provider_code)
