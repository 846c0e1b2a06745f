"""The relay: an anonymous employee and the team talk through the case, and who the employee is
never exists anywhere.

Mixed into the case workflow. The team replies from the case page; the employee reads and answers
through their private link. Both are entries on the case timeline, so the conversation is part of
the case's audit trail. The team's first reply is the first contact: it meets the callback
deadline exactly like a reached callback. Resolving posts the resolution's message into the
conversation, which closes the loop with the employee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from kringloop.cases.messages import (
        ActionRecord,
        CasePlan,
        EmployeeMessage,
        RelayReply,
        Resolution,
    )
    from workflows.policies import refusal


class EmployeeRelay:
    relay_replies = 0  # the team's replies to the employee so far

    if TYPE_CHECKING:  # provided by the case workflow
        case_id: str
        plan: CasePlan | None
        status: str

        def _require_active(self, *, resolved_is_closed: bool) -> None: ...
        def _step(self, kind: str) -> str: ...
        def _mail(self, kind: str, *, reassigned: bool = False) -> None: ...
        async def _act(self, action: ActionRecord) -> None: ...

    @workflow.update
    async def reply_to_employee(self, reply: RelayReply) -> str:
        self.relay_replies += 1
        await self._relay(reply.actor, "relay_reply", "relay-reply", reply.text)
        return self.status

    @reply_to_employee.validator
    def _validate_reply(self, reply: RelayReply) -> None:
        self._require_conversation(reply.text)

    @workflow.update
    async def receive_employee_message(self, message: EmployeeMessage) -> str:
        await self._relay("employee", "relay_message", "employee-message", message.text)
        self._mail("relay_message")  # the assignee hears of it; the email names no one
        return self.status

    @receive_employee_message.validator
    def _validate_employee_message(self, message: EmployeeMessage) -> None:
        self._require_conversation(message.text)

    async def _close_the_conversation(self, resolution: Resolution) -> None:
        """Tell an anonymous employee what was done: their closing email, in the conversation."""
        assert self.plan is not None
        if self.plan.anonymous and workflow.patched("relay-resolution-message"):
            await self._relay(resolution.actor, "relay_reply", "relay-reply", resolution.message)

    def _require_conversation(self, text: str) -> None:
        """A message with some text, on an anonymous employee's case that is still open."""
        self._require_active(resolved_is_closed=True)
        assert self.plan is not None
        if not self.plan.anonymous:
            raise refusal("only an anonymous employee's case has a conversation; "
                          "contact this person directly", field="text")
        if not text.strip():
            raise refusal("a message needs some text", field="text")

    async def _relay(self, actor: str, kind: str, step: str, text: str) -> None:
        await self._act(ActionRecord(case_id=self.case_id, step=self._step(step),
                                     kind=kind, actor=actor, text=text))  # type: ignore[arg-type]
