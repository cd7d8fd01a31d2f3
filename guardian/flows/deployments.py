"""CloudFormation as a caller: a change CloudFormation made to one of the guardian's own resources is a deployment
only if the guardian's own stack confirms it (:mod:`guardian.model.stack_changes`); anything else is CRITICAL.

The ``-guard-cfn-*`` rules send here what the self-protection rules leave out (calls whose ``sourceIPAddress`` is
``cloudformation.amazonaws.com``): any stack of the account makes those, the insider's own included. The guardian's
stack is asked as approvals are confirmed with LookupEvents: by CloudFormation's own records (DescribeStacks, then
DescribeStackEvents), which nobody but CloudFormation writes. Fail closed: a record that cannot be read, a stack
that cannot be asked (an error, throttling, too many events) is an unconfirmed change, and the alert goes out
before anything else; if it cannot be published the run fails, so EventBridge retries and the dead-letter queue
keeps the event.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.deliver import deliver
from guardian.model.decide import Decision
from guardian.model.events import guardian_event
from guardian.model.refs import SWEEP_SOURCE
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.model.safe import cut
from guardian.model.stack_changes import LOOKBACK, SKEW, StackCall, confirmed_by, record_id, stack_call
from guardian.model.stack_roles import TAG_CALLS, gives_guardian_tag, principal_named
from guardian.ports.calls import Delivery, StackCalls
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
NAME_LIMIT = 200  # a name in the alert (the record's values are the stack author's: bounded)


class Ports(StackCalls, Delivery, Protocol):
    """The guardian's stack as CloudFormation records it, and the alert's path."""


def handle_stack_call(event: dict[str, Any], aws: Ports, config: Config, run: Invocation) -> dict[str, Any]:
    """Confirm the change as the guardian's deployment, or alert CRITICAL; returns what was decided."""
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    call = stack_call(detail)
    try:
        logical_id, why = _confirm(aws, config, call)
    except Exception as exc:  # noqa: BLE001 - fail closed: whatever stops the question is an unconfirmed change
        logical_id, why = None, f"CloudFormation could not be asked ({describe_failure(exc)})"
    if logical_id is not None:
        LOG.info(
            "a deployment of the guardian's stack", extra={"resource": logical_id, "event_id": call and call.event_id}
        )
        return {"stack_change": "deployment", "resource": logical_id}
    if str(detail.get("eventName")) in TAG_CALLS and gives_guardian_tag(detail):
        from guardian.flows.stack_roles import forwarder_made  # noqa: PLC0415 - the rare path

        made = forwarder_made(aws, config, call)
        if made is not None:
            LOG.info("a deployment of one of the guardian's forwarders", extra={"resource": made})
            return {"stack_change": "deployment", "resource": made}
        _tag_alert(aws, config, run, detail, why=why)
    else:
        _alert(aws, config, run, detail, call=call, why=why)
    return {"stack_change": "alerted", "why": why}


def _confirm(aws: Ports, config: Config, call: StackCall | None) -> tuple[str | None, str]:
    if call is None:
        return None, "the record names no time or no resource: nothing can confirm it"
    if config.stack_id is None:
        return None, "the guardian does not know its own stack (GUARDIAN_STACK_ID)"
    found = aws.stack_status(config.stack_id)
    if found is None:
        return None, "the guardian's stack does not exist"
    status, updated = found
    if not status.endswith("_IN_PROGRESS") and updated < call.at - LOOKBACK:
        return None, f"the guardian's stack is {status}, last deployed at {iso(updated)}, before the call"
    events, complete = aws.stack_events(config.stack_id, call.at - LOOKBACK - SKEW)
    logical_id = confirmed_by(call, events)
    if logical_id is not None:
        return logical_id, ""
    if not complete:
        return None, "the guardian's stack has too many events to read back to the call"
    return None, (
        f"no event of the guardian's stack ({status}, last deployed at {iso(updated)}) shows CloudFormation "
        "working on that resource when the call was made"
    )


def _alert(
    aws: Ports, config: Config, run: Invocation, detail: dict[str, Any], *, call: StackCall | None, why: str
) -> None:
    started: datetime = run.clock()
    name = str(detail.get("eventName", "?"))
    names = ", ".join(call.names) if call else "?"
    what = cut(f"{name} on {names}", NAME_LIMIT)
    event_id = record_id(detail)
    # Shaped as the sweep's findings are (guardian.model.findings, which the remediation asset leaves out).
    event = guardian_event(
        f"stack-change-{event_id or f'{started:%Y%m%dT%H%M%SZ}'}",
        name="DriftDetected",
        source=SWEEP_SOURCE,
        event_type="GuardianSweep",
        at=started,
        region=str(detail.get("awsRegion") or config.topic_region),
        account_id=config.account_id,
        raw={
            "source": SWEEP_SOURCE,
            "detected_at": iso(started),
            "stack_change": what,
            "cloudtrail_event_id": cut(str(detail.get("eventID", "")), NAME_LIMIT),
            "event_time": cut(str(detail.get("eventTime", "")), NAME_LIMIT),
            "caller": cut(call.actor if call else "", NAME_LIMIT),
            "added": cut(call.added or "", NAME_LIMIT) if call else "",
        },
    )
    reason = (
        f"CloudFormation changed the guardian's own resource ({what}), and the guardian's stack does not confirm "
        f"it as its deployment: {why}. Another stack of this account did it, most likely: find it (the stacks "
        "deployed at that time), review and remove the change, and restrict who may deploy with CloudFormation"
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.CRITICAL, reason, SWEEP_RULE)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.CRITICAL), aws, config, run)
    LOG.error("a change by CloudFormation not confirmed by the guardian's stack", extra={"what": what, "why": why})


def _tag_alert(aws: Ports, config: Config, run: Invocation, detail: dict[str, Any], *, why: str) -> None:
    """The guardian's tag given by CloudFormation to a principal the guardian's stack was not making: CRITICAL."""
    from guardian.flows.stack_roles import send  # noqa: PLC0415 - the rare path

    name, principal = str(detail.get("eventName", "?")), cut(principal_named(detail), NAME_LIMIT)
    reason = (
        f"CloudFormation gave the guardian's tag (cloudtrail-guardian) to {principal} ({name}), and the guardian's "
        f"stack does not confirm it as its own: {why}. The service control policies spare a principal with that tag "
        "and the security account admits it: whoever may assume it is the guardian. Remove the tag or delete the "
        "principal now, find the stack that made it (the stacks deployed at that time, most likely one deployed "
        "with the CDK execution role), and restrict who may deploy with CloudFormation"
    )
    line = f"Guardian's tag given by a stack not its own: {name} {principal}"
    extra = {"principal": principal, "caller": cut(_caller(detail), NAME_LIMIT)}
    send(
        aws, config, run, detail, prefix="stack-tag", line=line, reason=reason, severity=Severity.CRITICAL, extra=extra
    )
    LOG.error("the guardian's tag given by a stack not its own", extra={"principal": principal, "why": why})


def _caller(detail: dict[str, Any]) -> str:
    identity = detail.get("userIdentity")
    return str(identity.get("arn", "")) if isinstance(identity, dict) else ""
