"""An administrator approves a live host the provider does not publish, with name and PIN.

Settings opens it when a live profile's API or hosted-page URL names such a host (a proxy
the store runs, a provider's private endpoint). The profile's secret and the customer's
card details would go there, so only an administrator may allow it, and only with the
secret typed again in the same save; the approval is kept in the keyring beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.gui.dialogs.pin_approval import Grant, PinApprovalDialog

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtWidgets import QWidget


class HostApprovalDialog(PinApprovalDialog):
    def __init__(
        self,
        *,
        profile: str,
        provider: str,
        hosts: Sequence[str],
        published: Sequence[str],
        grant: Grant,
        parent: QWidget | None = None,
    ) -> None:
        these = "this host" if len(hosts) == 1 else "these hosts"
        super().__init__(
            "Administrator approval",
            f"The live profile “{profile}” would send its secret and its payments to "
            f"{these}, which {provider} does not publish (its hosts: {', '.join(published)}). "
            "Approve only a host your store or the provider runs for you. An administrator "
            "approves with their own name and PIN.",
            "Approve host  ⏎",
            what="\n".join(hosts),
            approver="Administrator",
            grant=grant,
            danger=True,
            parent=parent,
        )
        self.what.setAccessibleName("Host to approve")
        self.what.setWordWrap(False)  # a host name broken at its hyphens misleads
        self.setMinimumWidth(560)
        self.admin = self.approver
