"""Lambda entry point (through the remediation function) of what the ``-guard-cfn-*`` rules send: a change
CloudFormation made to the guardian's own resources (or the guardian's tag it gave a principal), confirmed as its
deployment or alerted CRITICAL (:mod:`guardian.flows.deployments`); or, marked ``"check": "stack-role"``, a stack
operation without a role, alerted HIGH when the stack lends the CDK execution role (:mod:`guardian.flows.stack_roles`).
Imported only for such an event: the heal path never loads it."""

from __future__ import annotations

from typing import Any

from guardian.entrypoints import runtime
from guardian.entrypoints.alert_copies import with_copies
from guardian.flows.deployments import handle_stack_call
from guardian.model.stack_roles import STACK_ROLE


def confirm(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The stack call confirmed as a deployment, or alerted; the alert's copies after it (alert_copies)."""
    config = runtime.config()
    aws, run = runtime.full_adapter(config), runtime.invocation(context)
    if event.get("check") == STACK_ROLE:
        from guardian.flows.stack_roles import handle_stack_role  # noqa: PLC0415 - only for that rule's events

        return with_copies(lambda: handle_stack_role(event, aws, config, run), aws, config, run)
    return with_copies(lambda: handle_stack_call(event, aws, config, run), aws, config, run)


def refused(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A call on the guardian's resources that AWS refused (rule ``-guard-denied``): MEDIUM, grouped, capped; the
    alert's copies after it (alert_copies)."""
    from guardian.flows.guard_denied import handle_guard_denied  # noqa: PLC0415 - only for that rule's events

    config = runtime.config()
    aws, run = runtime.full_adapter(config), runtime.invocation(context)
    return with_copies(lambda: handle_guard_denied(event, aws, config, run), aws, config, run)
