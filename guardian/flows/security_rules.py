"""The team's EventBridge rules that route a security service's events, judged against what they were.

The sweep keeps a signed inventory of them per swept Region (:mod:`guardian.model.security_rules`, stored as a
baseline: signed when written, verified when read, :mod:`guardian.flows.baselines`). The first sweep records it; a
later one compares: a recorded rule disabled, deleted, its pattern no longer routing a recorded source (or its other
filters changed), a target removed, re-pointed or re-configured is alerted HIGH, once, and the inventory is
re-recorded. Alert only: the team's rule is not the guardian's to restore. A new security rule is added silently (one
the event path recorded on first sight is compared like the inventory's). The Region's work:
:mod:`guardian.flows.security_region`.

The event path (:mod:`guardian.entrypoints.watching`) judges a call to a recorded rule against this inventory
(:mod:`guardian.flows.security_inventory`); an inventory that does not verify makes it alert "cannot tell".
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from guardian.flows.deliver import deliver
from guardian.flows.security_region import compare_region
from guardian.model.decide import Decision
from guardian.model.findings import found_event
from guardian.model.results import Result
from guardian.model.rules import Action, Outcome, Rule, Severity, Subject
from guardian.ports.calls import Delivery, SignedStore
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.flows.baselines import Refused
    from guardian.flows.workers import Workers
    from guardian.model.config import Config
    from guardian.model.security_rules import Routed
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
CHECK = "security_rules"  # this check's key in the sweep's check_errors
AT_ONCE = 8  # Regions checked at once on the sweep's pool
SHARE = 0.25  # of the invocation's time left when the check starts, at most, for reading rules' targets
RULE = Rule(
    "EventBridge rule routing a security service's events changed",
    Severity.HIGH,
    None,
    Severity.HIGH,
    Severity.INFO,
    "events.amazonaws.com",
    Subject.ACCOUNT,
)


@runtime_checkable
class RuleListing(Protocol):
    """The account's buses, rules and targets, read only and bounded (guardian.adapters.event_rules); each listing
    says whether it is complete."""

    def event_buses(self, region: str) -> tuple[list[str], bool]: ...
    def bus_rules(self, region: str, bus: str) -> tuple[list[dict[str, Any]], bool]: ...
    def rule_target_configs(self, region: str, bus: str, name: str) -> list[dict[str, Any]]: ...


class Ports(RuleListing, SignedStore, Delivery, Protocol):
    """The rules, the inventory's store, the alert's path."""


class InventoryCut(Exception):
    """Buses or rules beyond the listing's bounds: the check fails, naming them (never a silent cut)."""


def check_security_rules(
    aws: object, config: Config, *, started: datetime, run: Invocation, work: Workers | None = None
) -> dict[str, str]:
    """Each swept Region's inventory: compared, alerted, re-recorded (the Regions on the sweep's bounded pool, the
    targets' reads within :data:`SHARE` of the time left). Region → status. An AWS error in one Region does not hide
    the others; the last is raised once all ran (the sweep records it, the run fails), then a cut."""
    if not isinstance(aws, RuleListing) or not hasattr(aws, "write_json"):  # a fake without them: not checked
        return {}
    ports: Any = aws  # a RuleListing, a SignedStore and (the full adapter) a Delivery
    remaining = run.remaining
    left = None if remaining is None else remaining() * (1 - SHARE)

    def out_of_time() -> bool:
        return left is not None and remaining is not None and remaining() < left

    def one(region: str) -> tuple[str, list[str], BaseException | None]:
        try:
            found = compare_region(ports, config, region, started=started, out_of_time=out_of_time)
        except AWS_ERRORS as exc:
            code, _ = describe_error(exc)
            LOG.error("the security rules of a Region could not be read", extra={"region": region, "error_code": code})
            return f"error: {code}", [], exc
        for entry, problems in found.changed:
            _alert(ports, config, run, (region, entry, problems), started=started)
        for refused in found.refused:
            _alert_refused(ports, config, run, (region, refused), started=started)
        return found.status, list(found.cut), None

    regions = list(config.sweep_regions)
    done = work.map(one, regions, limit=AT_ONCE) if work is not None else [one(r) for r in regions]
    statuses = {region: status for region, (status, _, _) in zip(regions, done, strict=True)}
    failed = [exc for _, _, exc in done if exc is not None]
    if failed:
        raise failed[-1]
    cut = [c for _, cuts, _ in done for c in cuts]
    if cut:
        raise InventoryCut(f"security rules not inventoried: {'; '.join(cut)}")
    return statuses


def _alert(
    aws: Delivery, config: Config, run: Invocation, found: tuple[str, Routed, str], *, started: datetime
) -> None:
    region, entry, problems = found
    reason = (
        f"{entry.label} in {region} {problems}; it routed {entry.routes} (as the last sweep recorded it). Alert "
        "only: the team's rule is not the guardian's to restore; find who changed it (events.amazonaws.com in "
        "CloudTrail)"
    )
    slug = hashlib.sha256(f"{entry.bus}/{entry.name}".encode()).hexdigest()[:16]
    raw = {"eventBusName": entry.bus, "rule": entry.name}
    event_id = f"sweep-{started:%Y%m%dT%H%M%SZ}-{region}-security-rule-{slug}"
    _deliver(aws, config, run, (region, event_id, reason, raw), at=started)
    LOG.warning("a security rule changed", extra={"region": region, "rule": entry.name, "bus": entry.bus})


def _alert_refused(
    aws: Delivery, config: Config, run: Invocation, found: tuple[str, Refused], *, started: datetime
) -> None:
    region, refused = found
    reason = (
        f"the inventory of the rules routing security events in {region} ({refused.key}) was refused: "
        f"{refused.problem}. What those rules routed cannot be told; recorded again from the rules as they are now"
    )
    raw = {"baseline": refused.key, "baseline_problem": refused.problem}
    event_id = f"sweep-{started:%Y%m%dT%H%M%SZ}-{region}-security-rules-refused"
    _deliver(aws, config, run, (region, event_id, reason, raw), at=started)


def _deliver(
    aws: Delivery, config: Config, run: Invocation, what: tuple[str, str, str, dict[str, Any]], *, at: datetime
) -> None:
    region, event_id, reason, raw = what
    event = found_event(event_id, account_id=config.account_id, region=region, detected_at=at, raw=raw)
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, reason, RULE)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.HIGH), aws, config, run)
