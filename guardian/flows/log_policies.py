"""CloudWatch Logs account policies that reach a protected trail's log group: an account-wide data protection policy
masks fields of every record (``IpAddress`` on ``sourceIPAddress``), a transformer policy rewrites them at ingestion.

Alerted HIGH (the event path: PutAccountPolicy, and DeleteAccountPolicy of a subscription filter policy, whose feed
of the records elsewhere stops; the sweep: DescribeAccountPolicies, once a day per policy while it lasts), never
deleted: a Region has one data protection policy and up to 20 transformer policies, each reaching the team's other
groups too, which may depend on it; the trail's log files in S3 are not changed by either, and a trail's group's own
transformer is taken off (:mod:`guardian.flows.storage`). The sweep's half is :mod:`guardian.flows.log_policy_checks`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

from guardian.flows import baselines
from guardian.model.baselines import log_group_key
from guardian.model.log_policies import DELETION_WEAKENS, EFFECTS, reaches
from guardian.model.refs import TrailRef
from guardian.model.rules import Subject
from guardian.ports.flow import Scope

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from guardian.flows.baselines import Guarded
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.calls import Everything, SignedStore
    from guardian.ports.invocation import Invocation


def guarded_groups(store: SignedStore, region: str) -> list[Guarded]:
    """The Region's log groups with a verified baseline (those a protected trail delivers to)."""
    prefix = log_group_key(region, "x")[: -len("x.json")]
    names = sorted(unquote(k[len(prefix) : -len(".json")]) for k in store.object_etags(prefix) if k.endswith(".json"))
    found = (baselines.load_resource(store, Subject.LOG_GROUP, name, region) for name in names)
    return [g for g in found if g is not None]


def scope(event: CloudTrailEvent, decision: Decision, aws: Everything) -> Scope | None:
    """The guardian's business only if the policy's type changes records and it reaches a protected trail's group
    (a deleted policy's criteria are gone: every guarded group of the Region counts)."""
    request: Mapping[str, Any] = event.request_parameters or {}
    kind, deleted = str(request.get("policyType")), event.event_name == "DeleteAccountPolicy"
    if kind not in (DELETION_WEAKENS if deleted else EFFECTS) or not event.aws_region:
        return None
    selection = request.get("selectionCriteria")
    reached = [g for g in guarded_groups(aws, event.aws_region) if reaches(selection, g.baseline.name)]
    if not reached:
        return None
    names = ", ".join(g.baseline.name for g in reached)
    done = "deleted: it no longer" if deleted else "put: it"
    then = (
        "put it back if it fed the security team"
        if deleted
        else "alerted, not deleted (an account-wide policy may be the team's: remove it, or exclude the trail's "
        "group, if it is not)"
    )
    why = (
        f"{decision.reason}; the account policy {request.get('policyName')!r} ({kind}) {done} {EFFECTS[kind]} the "
        f"trails' log group(s) {names}: {then}"
    )
    return Scope(replace(decision, reason=why, trail=trail_of(reached[0].trails[0])), tuple(reached))


def approve(
    event: CloudTrailEvent, decision: Decision, aws: Everything, run: Invocation, scope: Scope | None
) -> str | None:
    """Nothing to record: an account policy has no baseline here (alerted each time)."""
    return None


def trail_of(arn: str) -> TrailRef:
    """The trail an alert names (\"on trail X\"), from its ARN."""
    parts = arn.split(":")
    return TrailRef(name=arn.split(":trail/", 1)[-1], region=parts[3], account_id=parts[4], given=arn, arn=arn)
