"""What a provider dialect is: its routes, the paths it owns, and its error format.

Each provider's ``dialect.py`` builds one ``Dialect``; the registry (``dialects.py``) lists
them. Providers import this type, never the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from .state import Sandbox

# (HTTP status, short detail) -> a response in the provider's own error format.
ErrorFormatter = Callable[[int, str], Response]
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class Dialect:
    name: str
    # Paths under which unknown routes, wrong methods and crashes answer in this
    # provider's error format (customer pages keep plain text / HTML).
    api_prefixes: tuple[str, ...]
    routes: Callable[[Sandbox], list[BaseRoute]]
    error_response: ErrorFormatter
    # The app answers these exceptions, raised by the dialect's handlers, with these handlers.
    exception_handlers: Mapping[type[Exception], ExceptionHandler] = field(default_factory=dict)
