"""Manager approval on the spot: the refund or void, what it is for, a manager's name and PIN.

``ApprovalGate`` is what the Payments screen awaits before every capture, refund and void
(``PaymentsScreen.set_approval``). It asks ``ApprovalService.requirement``; when a manager is
needed it opens ``ApprovalDialog``, whose Approve grants the approval bound to exactly this
action, payment and amount. The gate hands it, with who asked, to the refund or void:
``PaymentService`` checks and uses it itself, so the rule holds whoever calls the service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QWidget

from pos_app.domain.money import Money, format_money
from pos_app.domain.vocabulary import Operation
from pos_app.gui.dialogs.pin_approval import Grant, PinApprovalDialog
from pos_app.services.approvals import (
    Approval,
    ApprovalAction,
    ApprovalRefused,
    ApprovalRequirement,
)

if TYPE_CHECKING:
    from pos_app.gui.screens.sign_in import Staff
    from pos_app.services.queries import PaymentQueries
    from pos_app.services.records import User


@dataclass(frozen=True)
class GateAnswer:
    """May the action go ahead, and with what for ``PaymentService`` to check."""

    go: bool
    approval: Approval | None = None
    by: User | None = None


_NOUNS = {ApprovalAction.REFUND: "Refund", ApprovalAction.VOID: "Void"}


class ApprovalDialog(PinApprovalDialog):
    def __init__(
        self,
        *,
        action: ApprovalAction,
        reference: str,
        amount: Money,
        reasons: str,
        requested_by: str,
        locale: str,
        grant: Grant,
        parent: QWidget | None = None,
    ) -> None:
        shown = format_money(amount, locale)
        super().__init__(
            "Manager approval",
            f"{reasons} A manager or administrator approves with their own name and PIN.",
            "Approve  ⏎",
            what=f"{_NOUNS[action]} of {shown} on payment {reference}",
            approver="Manager",
            grant=grant,
            hint=f"Asked for by {requested_by}.",
            parent=parent,
        )
        self.setMinimumWidth(540)
        self.manager = self.approver


class ApprovalGate:
    """Decides, per action, whether it may go ahead: ``await gate(action, reference, amount)``.

    Without staff (no users yet) the till works as before: nothing needs approval.
    Capture never does. Cancel, or any refusal the manager cannot fix, is False: nothing
    is sent.
    """

    def __init__(
        self, staff: Staff, queries: PaymentQueries, *, locale: str, parent: QWidget
    ) -> None:
        self._staff = staff
        self._queries = queries
        self._locale = locale
        self._parent = parent
        self.dialog: ApprovalDialog | None = None

    async def __call__(self, action: Operation, reference: str, amount: Money | None) -> GateAnswer:
        user = self._staff.session.user
        if action == Operation.CAPTURE or not self._staff.set_up:
            return GateAnswer(True, by=user)
        try:
            kind = ApprovalAction(action)
        except ValueError:
            return GateAnswer(False)  # an action this gate does not know is never waved through
        payment = self._queries.get(reference)
        if payment is None:
            return GateAnswer(False)
        requirement = self._queries.approval_requirement(
            self._staff.approvals, kind, payment, amount, user
        )
        if not requirement.needed:
            return GateAnswer(True, by=user)
        approval = await self._ask(kind, reference, amount or payment.amount, requirement)
        return GateAnswer(approval is not None, approval, user)

    def cancel(self) -> None:
        """Close an open request unapproved (the till is being locked)."""
        if self.dialog is not None:
            self.dialog.reject()

    async def _ask(
        self, kind: ApprovalAction, reference: str, amount: Money, needed: ApprovalRequirement
    ) -> Approval | None:
        staff = self._staff
        user = staff.session.user
        granted: list[Approval] = []

        def grant(name: str, pin: str) -> str | None:
            try:
                granted.append(
                    staff.approvals.grant(
                        name,
                        pin,
                        kind,
                        reference,
                        amount,
                        requested_by=user,
                        other_than_requester=needed.over_limit,
                    )
                )
            except ApprovalRefused as refusal:
                return refusal.message
            return None

        dialog = ApprovalDialog(
            action=kind,
            reference=reference,
            amount=amount,
            reasons=needed.reason,
            requested_by=user.name if user else "nobody signed in",
            locale=self._locale,
            grant=grant,
            parent=self._parent,
        )
        answer: asyncio.Future[Approval | None] = asyncio.get_running_loop().create_future()

        def closed(result: int) -> None:
            self.dialog = None
            if not answer.done():
                approved = result == QDialog.DialogCode.Accepted and dialog.approved
                answer.set_result(granted[-1] if approved and granted else None)
            dialog.deleteLater()

        dialog.finished.connect(closed)
        self.dialog = dialog
        dialog.open()
        return await answer
