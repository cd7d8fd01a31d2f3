"""The sweep's half of :mod:`guardian.flows.log_policies`: every masking or transforming CloudWatch Logs account
policy (DescribeAccountPolicies, once per type and Region) that reaches a protected trail's log group is alerted
HIGH, once a day per policy while it lasts; never deleted."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from guardian.flows import storage
from guardian.flows.deliver import deliver
from guardian.flows.log_policies import trail_of
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.log_group import LogGroupState
from guardian.model.log_policies import EFFECTS, SWEPT, policy_id, reaches
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity, Subject

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime
    from typing import Any

    from guardian.model.config import Config
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


def sweep_log_policies(
    aws: Everything, config: Config, protected: Iterable[TrailState], *, started: datetime, run: Invocation
) -> tuple[tuple[str, str], ...]:
    """Every masking or transforming account policy reaching a protected trail's log group: alerted HIGH, once a
    day per policy (the record's id is the day's and the policy's, and the evidence store is write-once)."""
    groups: dict[str, dict[str, set[str]]] = {}
    for trail in protected:
        for kind, name, region in storage.resources_of(trail):
            if kind is Subject.LOG_GROUP and region:
                groups.setdefault(region, {}).setdefault(name, set()).add(trail.arn)
    checks: list[tuple[str, str]] = []  # (Region/policy name, status) for the sweep's summary
    for region in sorted(groups):
        for policy_type in SWEPT:
            for policy in aws.account_policies(region, policy_type):
                reached = sorted(g for g in groups[region] if reaches(policy.get("selectionCriteria"), g))
                if reached:
                    trails = sorted(groups[region][reached[0]])
                    report(aws, config, region, policy, reached=reached, trails=trails, started=started, run=run)
                    checks.append((f"{region}/{policy.get('policyName')}", "alerted"))
    return tuple(checks)


def report(
    aws: Everything,
    config: Config,
    region: str,
    policy: Mapping[str, Any],
    *,
    reached: list[str],
    trails: list[str],
    started: datetime,
    run: Invocation,
) -> None:
    kind, name = str(policy.get("policyType")), str(policy.get("policyName"))
    digest = policy_id(kind, name, policy.get("policyDocument"), policy.get("selectionCriteria"))
    event, ref = sweep_event(
        LogGroupState(reached[0], region),
        account_id=config.account_id,
        detected_at=started,
        details={"log_account_policy": name, "policy_type": kind, "log_groups": reached},
        trail=trail_of(trails[0]),
        event_id=f"sweep-{started:%Y%m%d}-{region}-log-policy-{digest}",
    )
    why = (
        f"the account policy {name!r} ({kind}) {EFFECTS.get(kind, 'changes')} the trails' log group(s) "
        f"{', '.join(reached)}: alerted, not deleted (an account-wide policy may be the team's: remove it, or "
        "exclude the trail's group, if it is not)"
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, why, SWEEP_RULE, ref)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.HIGH), aws, config, run)
    LOG.warning("an account log policy reaches a trail's log group", extra={"policy": name, "region": region})
