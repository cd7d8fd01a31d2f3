"""Lambda entry point (through the remediation function) of what the ``-guard-cfn-*`` rules send: a change
CloudFormation made to the guardian's own resources, confirmed as its deployment or alerted CRITICAL
(:mod:`guardian.flows.deployments`). Imported only for such an event: the heal path never loads it."""

from __future__ import annotations

from typing import Any

from guardian.entrypoints import runtime
from guardian.flows.deployments import handle_stack_call


def confirm(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = runtime.config()
    return handle_stack_call(event, runtime.full_adapter(config), config, runtime.invocation(context))
