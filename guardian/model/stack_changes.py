"""Was a change CloudFormation made to one of the guardian's own resources part of the guardian's own deployment?

CloudTrail records CloudFormation's calls with ``sourceIPAddress`` ``cloudformation.amazonaws.com`` (no caller can
set it) but does not say which stack made them: any stack of the account (an insider's own, adding a subscription
to the alerts topic or a policy to the evidence bucket) looks the same. So the guardian's own stack is asked: the
change is its deployment only if one of the stack's events names that resource (by physical id, or in its
properties), is of that service, and shows CloudFormation working on it when the call was made (an
``*_IN_PROGRESS`` event at or before the call, not yet followed by the resource's ``*_COMPLETE``/``*_FAILED``).

Pure: the stack's events come in as read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

STACK_CALL = "stack-call"  # the -guard-cfn-* rules' mark on what they send (infra.stack_callers)
SKEW = timedelta(minutes=2)  # clocks of CloudTrail and CloudFormation, and seconds-only eventTime
# After a resource is complete, CloudFormation makes no more calls for it: only eventTime's rounding to the second is
# allowed, so another stack cannot time its call into the minutes after the guardian's deployment of the same thing.
AFTER_COMPLETE = timedelta(seconds=2)
LOOKBACK = timedelta(hours=1)  # how long before the call a resource's update may have begun
# requestParameters fields that name a guardian resource (those the self-protection rules match on).
NAMING_FIELDS = (
    "functionName",
    "name",
    "rule",
    "topicArn",
    "subscriptionArn",
    "resourceArn",
    "roleName",
    "policyArn",  # the sweep's customer managed policies (a new version of one, when the stack changes it)
    "userName",  # a user given the guardian's tag (guardian.model.stack_roles)
    "keyId",
    "aliasName",
    "targetKeyId",
    "bucketName",
    "alarmName",
    "alarmNames",
    "queueUrl",
    "stackName",
    "eventBusName",  # the own-events bus's policy (ownEvents dedicated); DeleteEventBus, UpdateEventBus: "name"
)
# Which resource types a call of each service may come from: a stack event of another type does not confirm it.
TYPES = {
    "lambda.amazonaws.com": "AWS::Lambda::",
    "events.amazonaws.com": "AWS::Events::",
    "sns.amazonaws.com": "AWS::SNS::",
    "iam.amazonaws.com": "AWS::IAM::",
    "kms.amazonaws.com": "AWS::KMS::",
    "s3.amazonaws.com": "AWS::S3::",
    "monitoring.amazonaws.com": "AWS::CloudWatch::",
    "sqs.amazonaws.com": "AWS::SQS::",
    "cloudformation.amazonaws.com": "AWS::CloudFormation::",
}
# The resource types that make a call, where the service's other types never do: a policy set on the alerts topic is
# confirmed only by the guardian's topic or topic policy, never by a subscription of the same service naming it.
CALL_TYPES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("sns.amazonaws.com", "SetTopicAttributes"): ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy"),
    ("sns.amazonaws.com", "DeleteTopic"): ("AWS::SNS::Topic",),
    ("s3.amazonaws.com", "PutBucketPolicy"): ("AWS::S3::BucketPolicy",),
    ("s3.amazonaws.com", "DeleteBucketPolicy"): ("AWS::S3::BucketPolicy",),
    ("kms.amazonaws.com", "PutKeyPolicy"): ("AWS::KMS::Key",),
    ("sqs.amazonaws.com", "SetQueueAttributes"): ("AWS::SQS::Queue", "AWS::SQS::QueuePolicy"),
    ("events.amazonaws.com", "PutRule"): ("AWS::Events::Rule",),
    ("events.amazonaws.com", "PutTargets"): ("AWS::Events::Rule",),
    ("events.amazonaws.com", "RemoveTargets"): ("AWS::Events::Rule",),
    ("events.amazonaws.com", "DisableRule"): ("AWS::Events::Rule",),
    **{("events.amazonaws.com", n): ("AWS::Events::EventBus",) for n in ("PutPermission", "RemovePermission")},
    **{("events.amazonaws.com", n): ("AWS::Events::EventBus",) for n in ("DeleteEventBus", "UpdateEventBus")},
    # the guardian's tag given to a principal: only the guardian's own role (or user) of that name, being made
    ("iam.amazonaws.com", "CreateRole"): ("AWS::IAM::Role",),
    ("iam.amazonaws.com", "TagRole"): ("AWS::IAM::Role",),
    ("iam.amazonaws.com", "CreateUser"): ("AWS::IAM::User",),
    ("iam.amazonaws.com", "TagUser"): ("AWS::IAM::User",),
    # a managed policy's versions: only the guardian's own managed policy of that ARN, being updated or deleted
    **{("iam.amazonaws.com", n): ("AWS::IAM::ManagedPolicy",) for n in ("CreatePolicyVersion", "DeletePolicyVersion")},
    **{("iam.amazonaws.com", n): ("AWS::IAM::ManagedPolicy",) for n in ("SetDefaultPolicyVersion", "DeletePolicy")},
}
# Calls that add something of the caller's choosing: the stack's resource must be of that type and name it too.
ADDS: Mapping[tuple[str, str], tuple[str, str]] = {
    ("sns.amazonaws.com", "Subscribe"): ("AWS::SNS::Subscription", "endpoint"),
    ("lambda.amazonaws.com", "AddPermission"): ("AWS::Lambda::Permission", "principal"),
}
_FUNCTION = re.compile(r":function:([^:]+)")


@dataclass(frozen=True)
class StackCall:
    """What the record says CloudFormation did, reduced to what the confirmation needs."""

    event_id: str
    event_source: str
    event_name: str
    at: datetime
    names: tuple[str, ...]  # every value naming the resource
    added: str | None  # what a Subscribe or AddPermission adds (endpoint, principal)
    actor: str  # userIdentity.arn: the role CloudFormation used


def stack_call(detail: Mapping[str, Any]) -> StackCall | None:
    """The call, or None when the record lacks a time or any name: nothing could confirm it then."""
    try:
        at = datetime.fromisoformat(str(detail.get("eventTime", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    request = detail.get("requestParameters")
    request = request if isinstance(request, dict) else {}
    names = tuple(sorted({n for field in NAMING_FIELDS for n in _strings(request.get(field)) if n}))
    if not names:
        return None
    source, name = str(detail.get("eventSource", "")), str(detail.get("eventName", ""))
    extra = _adds(source, name)
    added = request.get(extra[1]) if extra else None
    identity = detail.get("userIdentity")
    actor = str(identity.get("arn", "")) if isinstance(identity, dict) else ""
    return StackCall(
        str(detail.get("eventID", "")), source, name, at, names, added if isinstance(added, str) else None, actor
    )


def confirmed_by(call: StackCall, stack_events: Sequence[Mapping[str, Any]]) -> str | None:
    """The logical id of the guardian's resource CloudFormation was working on when the call was made, or None."""
    by_resource: dict[str, list[Mapping[str, Any]]] = {}
    for event in stack_events:
        by_resource.setdefault(str(event.get("LogicalResourceId", "")), []).append(event)
    for logical_id, events in sorted(by_resource.items()):
        if any(_names(call, e) for e in events) and _in_progress_at(call.at, events):
            return logical_id
    return None


def _names(call: StackCall, event: Mapping[str, Any]) -> bool:
    kind = str(event.get("ResourceType", ""))
    if not kind.startswith(TYPES.get(call.event_source, "\0")):
        return False
    makers = CALL_TYPES.get((call.event_source, call.event_name))
    if makers is not None and kind not in makers:
        return False
    extra = _adds(call.event_source, call.event_name)
    properties = str(event.get("ResourceProperties") or "")
    if extra is not None and (kind != extra[0] or call.added is None or json.dumps(call.added) not in properties):
        return False
    physical = str(event.get("PhysicalResourceId") or "")
    return any(_same(name, physical) or json.dumps(name) in properties for name in call.names)


def _same(name: str, physical: str) -> bool:
    """A name as CloudTrail records it against a physical id: name, ARN, queue URL, a subscription of a topic."""
    if not physical:
        return False
    function = _FUNCTION.search(name)
    return (
        name == physical
        or name.endswith((f":{physical}", f"/{physical}"))
        or physical.startswith(f"{name}:")
        or physical.endswith(f"|{name}")  # a rule: "<bus>|<name>"
        or (function is not None and function.group(1) == physical)
    )


def _in_progress_at(at: datetime, events: Iterable[Mapping[str, Any]]) -> bool:
    """An ``*_IN_PROGRESS`` event at or before ``at`` whose resource had not yet finished by ``at``."""
    timed = sorted((e for e in events if isinstance(e.get("Timestamp"), datetime)), key=lambda e: e["Timestamp"])
    for index, event in enumerate(timed):
        status = str(event.get("ResourceStatus", ""))
        if not status.endswith("_IN_PROGRESS") or event["Timestamp"] > at + SKEW:
            continue
        ends = [e for e in timed[index + 1 :] if not str(e.get("ResourceStatus", "")).endswith("_IN_PROGRESS")]
        if not ends or ends[0]["Timestamp"] >= at - AFTER_COMPLETE:
            return True
    return False


def _adds(source: str, name: str) -> tuple[str, str] | None:
    return next((v for (s, prefix), v in ADDS.items() if s == source and name.startswith(prefix)), None)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def record_id(detail: Mapping[str, Any]) -> str:
    """A CloudTrail record's eventID as a key may hold it: letters, digits and hyphens, at most 64 (the caller wrote
    the record, not CloudTrail, when it reaches the function another way)."""
    return "".join(ch for ch in str(detail.get("eventID", "")) if ch.isalnum() or ch == "-")[:64]
