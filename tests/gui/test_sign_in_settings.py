"""Staff settings: sign-in required, the auto-lock time and the approval limits; files from
before they existed still load, and nonsense is refused with the reason."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pos_app.config.settings import (
    Settings,
    SettingsError,
    check_settings,
    load_settings,
    save_settings,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_a_settings_file_from_before_staff_loads_with_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings())
    document = json.loads(path.read_text(encoding="utf-8"))
    for name in (
        "require_sign_in",
        "idle_lock_minutes",
        "refund_approval_limit_minor",
        "void_approval_limit_minor",
    ):
        del document[name]
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = load_settings(path)
    assert (loaded.require_sign_in, loaded.idle_lock_minutes) == (True, 15)
    assert loaded.refund_approval_limit_minor is None
    assert loaded.void_approval_limit_minor is None


def test_staff_settings_survive_a_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    chosen = replace(
        Settings(),
        require_sign_in=False,
        idle_lock_minutes=5,
        refund_approval_limit_minor=2500,
        void_approval_limit_minor=0,
    )
    save_settings(path, chosen)
    assert load_settings(path) == chosen


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"idle_lock_minutes": 0}, "The auto-lock time is 1 to 720 minutes, not “0”."),
        ({"idle_lock_minutes": 721}, "The auto-lock time is 1 to 720 minutes, not “721”."),
        ({"idle_lock_minutes": 2.5}, "The auto-lock time is 1 to 720 minutes, not “2.5”."),
        (
            {"refund_approval_limit_minor": 12.5},
            "An approval limit is whole minor units (cents), not “12.5”.",
        ),
        (
            {"void_approval_limit_minor": -1},
            "An approval limit is whole minor units (cents), not “-1”.",
        ),
        (
            {"refund_approval_limit_minor": True},
            "An approval limit is whole minor units (cents), not “True”.",
        ),
        ({"require_sign_in": "yes"}, "require_sign_in is true or false."),
    ],
)
def test_nonsense_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        check_settings(replace(Settings(), **change))  # type: ignore[arg-type]
    assert str(refused.value) == message
