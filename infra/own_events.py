"""The alert's optional copies, each behind a setting (default off), for both functions (the sweep's too): ``ocsf``
(each alert an OCSF Detection Finding in the evidence bucket's ``ocsf/`` prefix, guardian.flows.ocsf_findings) and
``ownEvents`` (each alert mailed put on an event bus, source ``cloudtrail-guardian``, guardian.flows.own_events).

``ownEvents`` ``dedicated``: the stack makes the bus, ``<stackName>-events``, whose policy denies PutEvents to every
principal but the guardian's two roles: an insider can no longer put a forged event where teams route the guardian's
(a receiver checks ``verify`` all the same: guardian.model.own_events).

Least privilege, granted only when on, each in a policy of its own (the role's default policy is near IAM's size
limit): PutObject on ``ocsf/detection-finding/*``; GetObject of the evidence records' signature sidecars (their
SHA-256, never a record: both copies carry it, an own event in ``verify``); PutEvents on the one bus named. The
variables are set only when on (a function's environment holds 4 KB).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.errors import SettingsError
from infra.nag import localized
from infra.security_lake import add_security_lake

if TYPE_CHECKING:  # infra.settings reads the settings here: nothing that imports it back
    from infra.evidence_store import EvidenceStore
    from infra.guardian_function import GuardianFunction

DEFAULT_DETAIL_TYPE = "CloudTrail Guardian Alert"  # as guardian.model.own_events (infra never imports guardian)
AS_REMEDIATION = "remediation"  # as guardian.model.own_events.AS_REMEDIATION: "the remediation function's bus"
OCSF_PREFIX = "ocsf/detection-finding/"  # as guardian.model.ocsf.PREFIX
DEDICATED = "dedicated"
BUS_SUFFIX = "-events"  # the dedicated bus: <stackName>-events
BUS_ARN = re.compile(r"arn:aws[a-z-]*:events:[a-z]{2,5}(-[a-z]+)+-\d+:\d{12}:event-bus/[\w.\-/]{1,256}")


def own_events_setting(value: Any) -> str | None:
    """``ownEvents``: off (unset, false), ``true`` or ``default`` (the home Region's default bus), ``dedicated``
    (a bus the stack makes, only the guardian may put to), or a bus ARN."""
    if value is None or value is False or str(value).strip().lower() in ("", "false", "off", "none"):
        return None
    text = str(value).strip()
    if value is True or text.lower() in ("true", "default"):
        return "default"
    if text.lower() == DEDICATED:
        return DEDICATED
    if not BUS_ARN.fullmatch(text):
        raise SettingsError(
            f"ownEvents must be true, false, dedicated or an event bus ARN "
            f"(arn:aws:events:<Region>:<account>:event-bus/<name>), got {text!r}"
        )
    return text


def detail_type_setting(value: Any) -> str:
    """``ownEventsDetailType``: 1 to 128 printable characters (PutEvents' DetailType)."""
    if value is None or value == "":
        return DEFAULT_DETAIL_TYPE
    text = str(value).strip()
    if not text or len(text) > 128 or not text.isprintable():
        raise SettingsError(f"ownEventsDetailType must be 1 to 128 printable characters, got {value!r}")
    return text


def bus_arn(stack: Stack, setting: str) -> str:
    """The bus the setting names: ``default`` is the home Region's default bus."""
    if setting == "default":
        return stack.format_arn(service="events", resource="event-bus", resource_name="default")
    return setting


def own_events_bus(stack: Stack, setting: str | None, stack_name: str, roles: Sequence[iam.IRole]) -> str | None:
    """The bus the guardian's events go to: for ``dedicated``, ``<stackName>-events``, made here with a policy
    denying PutEvents to every principal but ``roles`` (its functions'); else the setting as it is."""
    if setting != DEDICATED:
        return setting
    name = stack_name + BUS_SUFFIX
    arn = stack.format_arn(service="events", resource="event-bus", resource_name=name)
    only_guardian = {
        "Sid": "OnlyTheGuardianPutsEvents",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": arn,
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [role.role_arn for role in roles]}},
    }
    bus = events.CfnEventBus(
        stack,
        "OwnEventsBus",
        name=name,
        description="CloudTrail Guardian: its own events (ownEvents dedicated); only its functions put events",
        policy={"Version": "2012-10-17", "Statement": [only_guardian]},
    )
    return bus.attr_arn


def add_finding_copies(
    stack: Stack,
    functions: Sequence[GuardianFunction],
    evidence: EvidenceStore,
    *,
    ocsf: bool,
    own_events: str | None,
    detail_type: str = DEFAULT_DETAIL_TYPE,
    stack_name: str = "CloudTrailGuardian",
    security_lake: tuple[dict[str, str] | None, int] = (None, 5),
) -> None:
    """Tell each function, and grant it, each copy that is on (the dedicated bus made once, for all of them);
    nothing when both are off. ``security_lake``: the custom source and the sweep's interval; the last function (the
    sweep) writes the findings there, the first (the remediation function) carries the setting (infra.security_lake)."""
    own_events = own_events_bus(stack, own_events, stack_name, [f.role for f in functions])
    for n, function in enumerate(functions):
        _add_copies(
            stack, function, evidence, ocsf=ocsf, own_events=own_events, detail_type=detail_type, by_reference=n > 0
        )
    lake, minutes = security_lake
    if lake is not None:
        add_security_lake(functions[-1], functions[0], evidence, lake, minutes)


def _add_copies(
    stack: Stack, function: GuardianFunction, evidence: EvidenceStore, *, ocsf: bool, own_events: str | None,
    detail_type: str, by_reference: bool = False,
) -> None:  # fmt: skip
    """``by_reference``: the function reads the bus and detail-type from the first function's environment (the
    sweep's holds near Lambda's 4 KB: guardian.flows.sweep_copies)."""
    if ocsf:
        function.function.add_environment("GUARDIAN_OCSF", "1")
    if ocsf or own_events is not None:
        grant_copies(function, function.role, evidence, ocsf=ocsf)
    if own_events is not None:
        bus = bus_arn(stack, own_events)
        function.function.add_environment("GUARDIAN_OWN_EVENTS", AS_REMEDIATION if by_reference else bus)
        if detail_type != DEFAULT_DETAIL_TYPE and not by_reference:
            function.function.add_environment("GUARDIAN_OWN_EVENTS_DETAIL_TYPE", detail_type)
        iam.Policy(
            function,
            "OwnEvents",
            roles=[function.role],
            statements=[iam.PolicyStatement(sid="PutOwnEventsOnOneBus", actions=["events:PutEvents"], resources=[bus])],
        )


def grant_copies(scope: Construct, role: iam.IRole, evidence: EvidenceStore, *, ocsf: bool) -> iam.Policy:
    """The sidecars' read both copies make (the record's SHA-256), and the OCSF objects' write where ``ocsf``."""
    stack = Stack.of(scope)
    policy = iam.Policy(
        scope,
        "FindingCopies",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="ReadEvidenceDigestsForCopies",
                actions=["s3:GetObject"],
                resources=[evidence.bucket.arn_for_objects("evidence/*.json.sig")],
            ),
        ],
    )
    if ocsf:
        policy.add_statements(
            iam.PolicyStatement(
                sid="WriteOcsfFindings",
                actions=["s3:PutObject"],
                resources=[evidence.bucket.arn_for_objects(OCSF_PREFIX + "*")],
            )
        )
    bucket = f"<{stack.get_logical_id(evidence.cfn_bucket)}.Arn>"
    acks = [
        Ack(
            id=f"AwsSolutions-IAM5[Resource::{bucket}/evidence/*.json.sig]",
            reason="Each evidence record's signature sidecar (a key, a SHA-256, a signature; never the record) is "
            "named after its event; read only, only .json.sig under evidence/ of the guardian's own bucket.",
        ),
    ]
    if ocsf:
        acks.append(
            Ack(
                id=f"AwsSolutions-IAM5[Resource::{bucket}/{OCSF_PREFIX}*]",
                reason="One OCSF object per alert, named after its evidence record and partitioned by Region, account "
                "and day; write only, only under ocsf/detection-finding/ of the guardian's own bucket.",
            )
        )
    Validations.of(policy).acknowledge(*localized(stack, acks))
    return policy
