"""Which navigations a checkout web view may make. Pure Python, so it is unit-tested alone.

Main frame: only the provider's own origins; our return URLs are intercepted (the
app answers them with a lookup, the page never loads them). Sub-frames (3-D Secure
challenges, card-input iframes) may also load any https origin. Everything else
(file:, data:, javascript:, custom schemes, other hosts) is blocked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit


class Verdict(Enum):
    ALLOW = "allow"
    BLOCK = "block"
    INTERCEPT = "intercept"


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return None
        return cls(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))

    @property
    def is_local(self) -> bool:
        """This machine or the store's network: loopback, private, link-local, ``localhost``
        and ``.local`` names. (A public name that resolves to such an address is not caught
        here; the sandbox refuses a foreign ``Host`` itself.)"""
        host = self.host.strip("[]").rstrip(".")
        if host == "localhost" or host.endswith((".localhost", ".local")):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return (
            address.is_loopback
            or address.is_private
            or address.is_link_local
            or address.is_unspecified
            or address.is_reserved
        )


# Where the app asks providers to send the customer back; never a real host (.invalid is reserved).
RETURN_HOST = "pos-app.invalid"
SUCCESS_RETURN_URL = f"https://{RETURN_HOST}/checkout/success"
CANCEL_RETURN_URL = f"https://{RETURN_HOST}/checkout/cancel"
FAILURE_RETURN_URL = f"https://{RETURN_HOST}/checkout/failure"  # 3-D Secure failed

# Blank documents that browsers create for frames on their own.
_BLANK = frozenset({"about:blank", "about:srcdoc"})


# Besides http(s), what a page's own resources may be: inline data and blobs it made itself.
# Sockets (ws:, wss:), files, FTP and every custom scheme are refused.
_INLINE_SCHEMES = frozenset({"data", "blob", "about"})


def resource_allowed(
    url: str,
    origins: frozenset[Origin] | None = None,
    local: frozenset[Origin] = frozenset(),
) -> bool:
    """Whether a checkout page may fetch ``url`` (a script, an image, a frame, a socket):
    http(s) only, besides inline data; with ``origins``, only from those. Nothing on this
    machine or the store's network (the sandbox's control API, the webhook receiver, a
    router) unless its origin is in ``local``: the page's own, when it is ours."""
    scheme = url.partition(":")[0].lower()
    if scheme in _INLINE_SCHEMES:
        return True
    origin = Origin.of(url)
    if origin is None:
        return False
    if origin.is_local and origin not in local:
        return False
    return origins is None or origin in origins


@dataclass(frozen=True)
class NavigationPolicy:
    allowed_origins: frozenset[Origin]
    return_host: str = RETURN_HOST
    # Origins only sub-frames may load (a card form's input iframes), never the main frame.
    frame_origins: frozenset[Origin] = frozenset()

    @classmethod
    def for_urls(cls, *urls: str) -> NavigationPolicy:
        origins = {origin for url in urls if (origin := Origin.of(url)) is not None}
        return cls(frozenset(origins))

    def decide(self, url: str, *, main_frame: bool) -> Verdict:
        origin = Origin.of(url)
        if origin is None:
            return Verdict.ALLOW if (not main_frame and url in _BLANK) else Verdict.BLOCK
        if origin.host == self.return_host:
            return Verdict.INTERCEPT if main_frame else Verdict.BLOCK
        if origin in self.allowed_origins:
            return Verdict.ALLOW
        if not main_frame and (origin.scheme == "https" or origin in self.frame_origins):
            return Verdict.ALLOW
        return Verdict.BLOCK
