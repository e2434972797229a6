"""The provider profiles as a table: name, provider, environment and the default marker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

if TYPE_CHECKING:
    from pos_app.config.settings import ProviderProfile, Settings

COLUMNS = ("Name", "Provider", "Mode", "Default")
DEFAULT_MARK = "★ Default"

_Index = QModelIndex | QPersistentModelIndex


class ProfilesTableModel(QAbstractTableModel):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings

    def set_settings(self, settings: Settings) -> None:
        self.beginResetModel()
        self._settings = settings
        self.endResetModel()

    def profile_at(self, row: int) -> ProviderProfile | None:
        profiles = self._settings.profiles
        return profiles[row] if 0 <= row < len(profiles) else None

    def row_of(self, name: str) -> int:
        names = [p.name for p in self._settings.profiles]
        return names.index(name) if name in names else -1

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._settings.profiles)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        profile = self.profile_at(index.row()) if index.isValid() else None
        if profile is None:
            return None
        is_default = profile.name == self._settings.default_profile
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            column = index.column()
            if column == 0:
                return profile.name
            if column == 1:
                return profile.provider_name
            if column == 2:
                return "Sandbox" if profile.is_sandbox else "Live"
            if column == 3:
                return DEFAULT_MARK if is_default else ""
        if role == Qt.ItemDataRole.FontRole and is_default:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and is_default:
            return "The cashier takes payments through this profile"
        return None
