"""How the journal writes times: UTC ISO-8601 with microseconds, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


class NaiveTimeError(ValueError):
    """A time without a zone: the journal cannot know when it was."""


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise NaiveTimeError("Journal times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)
