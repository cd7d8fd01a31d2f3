"""A stack operation without ``roleARN`` on another app's stack: CloudFormation then acts with the role the stack
was last given, and a stack deployed with the CDK execution role lends that administrator role to anyone allowed
``cloudformation:*`` (:mod:`guardian.model.stack_roles`). The ``-guard-cfn-exec-borrowed`` rule sends such calls
here; the stack's own record (DescribeStacks, which only CloudFormation writes) says which role it lends.

HIGH (mailed, and copied to the security account by :func:`~guardian.flows.deliver.deliver`) when it is this
account's CDK execution role, or when it cannot be told (an error, throttling, a stack gone before it could be
asked): fail closed. Nothing is sent for a stack with another role or none. A DeleteStack of a stack already gone
is only logged: a deletion removes that stack's own resources and creates none (no principal, no tag), and what
logging depends on among them (a trail, its bucket or key) is watched by the tamper rules whoever deletes it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.deliver import deliver
from guardian.model.decide import Decision
from guardian.model.events import guardian_event
from guardian.model.refs import SWEEP_SOURCE, Actor
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.model.safe import cut
from guardian.model.stack_changes import LOOKBACK, SKEW, StackCall, confirmed_by, record_id
from guardian.model.stack_roles import is_exec_role, stack_named
from guardian.ports.calls import Delivery, StackCalls
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
NAME_LIMIT = 200  # a name in the alert (the record's values are the caller's: bounded)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
ADVICE = (
    "Restrict who may assume the CDK deploy role and who may update stacks deployed with the execution role, and "
    "bootstrap with least-privilege execution policies (docs/deploy-and-configure.md)"
)


class Ports(StackCalls, Delivery, Protocol):
    """Any stack's role as CloudFormation records it, and the alert's path."""


def handle_stack_role(event: dict[str, Any], aws: Ports, config: Config, run: Invocation) -> dict[str, Any]:
    """Alert HIGH when the stack lends the CDK execution role, or when that cannot be told; returns the verdict."""
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    name = str(detail.get("eventName", "?"))
    stack = stack_named(detail)
    region = str(detail.get("awsRegion", ""))
    region = region if _REGION.fullmatch(region) else config.topic_region
    if stack is None:
        return _alert(aws, config, run, detail, stack="?", why="the record names no stack: its role cannot be read")
    try:
        role = aws.stack_role(region, stack)
    except Exception as exc:  # noqa: BLE001 - fail closed: whatever stops the question is alerted
        return _alert(
            aws, config, run, detail, stack=stack, why=f"CloudFormation could not be asked ({describe_failure(exc)})"
        )
    if role is None:
        if name == "DeleteStack":
            LOG.info("a stack deleted without a role, gone already", extra={"stack": cut(stack, NAME_LIMIT)})
            return {"stack_role": "deleted", "stack": cut(stack, NAME_LIMIT)}
        return _alert(
            aws, config, run, detail, stack=stack, why="the stack no longer exists: the role it lent cannot be read"
        )
    if not is_exec_role(role, config.account_id, config.cdk_qualifier):
        LOG.info(
            "a role-less stack operation, not with the CDK execution role", extra={"stack": cut(stack, NAME_LIMIT)}
        )
        return {"stack_role": "not the execution role", "stack": cut(stack, NAME_LIMIT)}
    return _alert(aws, config, run, detail, stack=stack, why=f"the stack acts with {cut(role, NAME_LIMIT)}", lent=True)


def _alert(
    aws: Ports, config: Config, run: Invocation, detail: dict[str, Any], *, stack: str, why: str, lent: bool = False
) -> dict[str, Any]:
    name = str(detail.get("eventName", "?"))
    identity = detail.get("userIdentity")
    who = cut(str(identity.get("arn", "?")) if isinstance(identity, dict) else "?", NAME_LIMIT)
    verdict = (
        "Stack run with the CDK execution role:" if lent else "Stack run with the CDK execution role? (cannot tell)"
    )
    line = cut(f"{verdict} {name} {stack} by {who}", NAME_LIMIT)
    reason = (
        f"{who} ran {name} on the stack {cut(stack, NAME_LIMIT)} without a role, so CloudFormation acts with the "
        f"role the stack was given, and {why}. "
        + (
            "That is the CDK's CloudFormation execution role, an administrator: through that stack anyone allowed "
            "cloudformation:* can change anything in the account, the guardian included (a role carrying its tag). "
            if lent
            else "Whether that is the CDK's execution role cannot be told: treat it as if it were. "
        )
        + f"Confirm who did it and why, and review the stack's resources. {ADVICE}"
    )
    extra = {"stack": cut(stack, NAME_LIMIT), "caller": who}
    send(aws, config, run, detail, prefix="stack-role", line=line, reason=reason, severity=Severity.HIGH, extra=extra)
    LOG.error("a role-less stack operation lends the CDK execution role, or cannot be told", extra={"why": why})
    return {"stack_role": "alerted" if lent else "alerted: cannot tell", "why": why}


def send(
    aws: Delivery,
    config: Config,
    run: Invocation,
    detail: dict[str, Any],
    *,
    prefix: str,
    line: str,
    reason: str,
    severity: Severity,
    extra: dict[str, str],
) -> None:
    """Deliver an alert about a CloudTrail record, shaped as the sweep's findings are; ``line`` is its subject."""
    started: datetime = run.clock()
    event_id = record_id(detail)
    event = guardian_event(
        f"{prefix}-{event_id or f'{started:%Y%m%dT%H%M%SZ}'}",
        name="DriftDetected",
        source=SWEEP_SOURCE,
        event_type="GuardianSweep",
        at=started,
        region=str(detail.get("awsRegion") or config.topic_region),
        account_id=config.account_id,
        actor=Actor(arn=extra.get("caller") or None),
        raw={
            "source": SWEEP_SOURCE,
            "detected_at": iso(started),
            "stack_alert": line,
            "cloudtrail_event_id": cut(str(detail.get("eventID", "")), NAME_LIMIT),
            "cloudtrail_event_name": cut(str(detail.get("eventName", "")), NAME_LIMIT),
            "event_time": cut(str(detail.get("eventTime", "")), NAME_LIMIT),
            **extra,
        },
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, severity, reason, SWEEP_RULE)
    deliver(Result(event, decision, Outcome.ALERTED, severity), aws, config, run)


def forwarder_made(aws: StackCalls, config: Config, call: StackCall | None) -> str | None:
    """Which of the guardian's forwarder stacks (``<stack>-forwarder``, asked by name in each Region it covers, where
    nobody else can hold that name) was making that tagged role then, or None. Its roles carry the guardian's tag,
    and IAM records their creation in us-east-1 like any other; a Region that cannot be asked confirms nothing."""
    if call is None or config.stack_id is None or ":stack/" not in config.stack_id:
        return None
    forwarder = config.stack_id.split(":stack/", 1)[1].split("/", 1)[0] + "-forwarder"
    if not any(name.startswith(f"{forwarder}-") for name in call.names):
        return None
    for region in config.sweep_regions:
        if region == config.topic_region:
            continue
        try:
            events, _ = aws.stack_events(forwarder, call.at - LOOKBACK - SKEW, region=region)
        except Exception as exc:  # noqa: BLE001 - not confirmed there: the alert goes out unless another confirms
            LOG.warning(
                "a forwarder's stack could not be asked", extra={"region": region, "error": describe_failure(exc)}
            )
            continue
        logical_id = confirmed_by(call, events)
        if logical_id is not None:
            return f"{forwarder} ({region}): {logical_id}"
    return None
