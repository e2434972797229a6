"""Every httpx client loads the CA bundle again (~90 ms of CPU) though the sandbox speaks
plain HTTP on loopback; the batteries make thousands of clients, so they share one context.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx._transports.default as transports

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterator

_shared: dict[tuple[Any, ...], ssl.SSLContext] = {}


def _cached(original: Callable[..., ssl.SSLContext]) -> Callable[..., ssl.SSLContext]:
    def create(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if not isinstance(verify, bool) or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        key = (verify, trust_env)
        if key not in _shared:
            _shared[key] = original(verify=verify, cert=cert, trust_env=trust_env)
        return _shared[key]

    return create


@contextmanager
def shared_tls_context() -> Iterator[None]:
    original = transports.create_ssl_context  # type: ignore[attr-defined]
    transports.create_ssl_context = _cached(original)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        transports.create_ssl_context = original  # type: ignore[attr-defined]
