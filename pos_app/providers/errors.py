"""The provider error tree. A decline is NOT an error: it is data on a result.

Every error says whether the request may have reached the provider, because that
decides what the service may do next (retry freely, look up first, or ask a human).
"""

from __future__ import annotations


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
