"""What starts a sweep, and what is junk.

The dead man's switch counts the sweep function's invocations less its errors (``AWS/Lambda``'s own metrics, which
nobody can publish into). Anyone who may invoke the function (no SCP, or a function URL made before it) could keep
that count up with invocations that sweep nothing. So every invocation either sweeps, is an operator's request made
by a proven approver, or ends as an error: junk then adds as many errors as invocations, and the switch still
breaches (and the sweep-errors alarm goes off). An event shaped like the schedule's does sweep: a real sweep, which
is what the switch is there to see.

Pure.
"""

from __future__ import annotations

from typing import Any


def is_sweep_trigger(event: Any) -> bool:
    """The schedule's tick, the stack's status change after a deployment, or ``{}`` (``guardian sweep``)."""
    if not isinstance(event, dict):
        return False
    if not event:
        return True
    if event.get("source") == "aws.events":
        return event.get("detail-type") == "Scheduled Event"
    return event.get("source") == "aws.cloudformation"


def not_served_unproven(answer: dict[str, Any]) -> bool:
    """An operator's request refused before its caller was proven an approver (malformed, or its proof refused):
    not a sweep and not an operator's act, so it must count as an error."""
    return not answer.get("ok") and "by" not in answer
