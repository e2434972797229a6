"""The provider dialects the sandbox speaks: the one list of them.

Adding a provider: write its folder with a ``dialect.py`` holding its ``DIALECT`` and list it
here. Only this module imports the providers' dialects; no provider imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .checkout_com.dialect import DIALECT as CHECKOUT_COM
from .justifi.dialect import DIALECT as JUSTIFI
from .payfect.dialect import DIALECT as PAYFECT
from .recharge.dialect import DIALECT as RECHARGE

if TYPE_CHECKING:
    from .dialect import Dialect

__all__ = ["all_dialects", "dialect_for"]


def all_dialects() -> list[Dialect]:
    # dialects register in this list
    return [JUSTIFI, RECHARGE, PAYFECT, CHECKOUT_COM]


def dialect_for(path: str) -> Dialect | None:
    """The dialect whose API owns ``path`` (it answers errors there in its format)."""
    return next((d for d in all_dialects() if path.startswith(d.api_prefixes)), None)
