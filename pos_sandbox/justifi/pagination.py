"""JustiFi's cursor pagination: newest first, ``limit`` 1-100 (default 25), opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import ApiError

DEFAULT_PAGE_SIZE = 25


def _encode_cursor(item: dict[str, Any]) -> str:
    raw = json.dumps([item["created_at"], item["id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The object id inside a cursor; raises ApiError(400) for a cursor we never issued."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, object_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ApiError(400, "invalid_cursor", "The pagination cursor is invalid") from exc
    if not isinstance(object_id, str) or not isinstance(created_at, str):
        raise ApiError(400, "invalid_cursor", "The pagination cursor is invalid")
    return object_id


def page_size(raw: str | None) -> int:
    """JustiFi: 1-100, default 25; an invalid value falls back to the default."""
    try:
        limit = int(raw) if raw is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return limit if 1 <= limit <= 100 else DEFAULT_PAGE_SIZE


def paginate(
    items: list[tuple[int, dict[str, Any]]],
    *,
    limit: int,
    after_seq: int | None,
    before_seq: int | None,
) -> dict[str, Any]:
    """A list envelope over newest-first ``(seq, object)`` pairs, cut at a cursor."""
    if after_seq is not None:
        candidates = [pair for pair in items if pair[0] < after_seq]
        page = candidates[:limit]
    elif before_seq is not None:
        candidates = [pair for pair in items if pair[0] > before_seq]
        page = candidates[-limit:]
    else:
        page = items[:limit]
    if page:
        first_seq, last_seq = page[0][0], page[-1][0]
        has_previous = any(seq > first_seq for seq, _ in items)
        has_next = any(seq < last_seq for seq, _ in items)
    else:
        has_previous = after_seq is not None and any(seq >= after_seq for seq, _ in items)
        has_next = before_seq is not None and any(seq <= before_seq for seq, _ in items)
    data = [obj for _, obj in page]
    return {
        "id": None,
        "type": "array",
        "data": data,
        "page_info": {
            "has_previous": has_previous,
            "has_next": has_next,
            "start_cursor": _encode_cursor(data[0]) if data else None,
            "end_cursor": _encode_cursor(data[-1]) if data else None,
        },
    }
