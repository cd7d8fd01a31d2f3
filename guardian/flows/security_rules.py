"""The team's EventBridge rules that route a security service's events, judged against what they were.

The sweep keeps a signed inventory of them per swept Region (:mod:`guardian.model.security_rules`, stored as a
baseline: signed when written, verified when read, :mod:`guardian.flows.baselines`). The first sweep records it; a
later one compares: a recorded rule disabled, deleted, its pattern no longer routing a recorded source (or its other
filters changed), a target removed or re-pointed is alerted HIGH, once, and the inventory is re-recorded. Alert only:
the team's rule is not the guardian's to restore. A new security rule is added silently.

The event path (:mod:`guardian.entrypoints.watching`) judges a call to a recorded rule against this inventory
(:mod:`guardian.flows.security_inventory`); an inventory that does not verify makes it alert "cannot tell".
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from guardian.flows.baselines import Refused, write_signed
from guardian.flows.deliver import deliver
from guardian.flows.security_inventory import load_inventory
from guardian.model.decide import Decision
from guardian.model.findings import found_event
from guardian.model.results import Result, iso
from guardian.model.rule_routing import own_rule, routed_sources
from guardian.model.rules import Action, Outcome, Rule, Severity, Subject
from guardian.model.security_rules import drift, inventory_document, inventory_key, routed_rule
from guardian.ports.calls import Delivery, SignedStore
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.security_rules import Routed
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
CHECK = "security_rules"  # this check's key in the sweep's check_errors
MAX_BUSES = 10  # buses inventoried per Region, the default bus first
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
    def rule_target_pairs(self, region: str, bus: str, name: str) -> list[tuple[str, str]]: ...


class Ports(RuleListing, SignedStore, Delivery, Protocol):
    """The rules, the inventory's store, the alert's path."""


def check_security_rules(aws: object, config: Config, *, started: datetime, run: Invocation) -> dict[str, str]:
    """Each swept Region's inventory: compared, alerted, re-recorded. Region → status. An AWS error in one Region
    does not hide the others; the last is raised once all ran (the sweep records it, the run fails)."""
    if not isinstance(aws, RuleListing) or not hasattr(aws, "write_json"):  # a fake without them: not checked
        return {}
    ports: Any = aws  # a RuleListing, a SignedStore and (the full adapter) a Delivery
    statuses: dict[str, str] = {}
    failed: BaseException | None = None
    for region in config.sweep_regions:
        try:
            statuses[region] = _check_region(ports, config, region, started=started, run=run)
        except AWS_ERRORS as exc:
            code, _ = describe_error(exc)
            statuses[region], failed = f"error: {code}", exc
            LOG.error("the security rules of a Region could not be read", extra={"region": region, "error_code": code})
    if failed is not None:
        raise failed
    return statuses


def _check_region(aws: Ports, config: Config, region: str, *, started: datetime, run: Invocation) -> str:
    recorded, refused = load_inventory(aws, region)
    buses, all_buses = aws.event_buses(region)
    buses = buses[:MAX_BUSES]
    listed: dict[tuple[str, str], dict[str, Any]] = {}
    complete: set[str] = set()
    for bus in buses:
        rules, whole = aws.bus_rules(region, bus)
        complete |= {bus} if whole else set()
        for rule in rules:
            name = str(rule.get("Name", ""))
            if name not in config.own_rules and not own_rule(name, config.policy.self_functions):
                listed[(bus, name)] = rule  # not the guardian's own: guardian.flows.own_rules holds those
    was = recorded or {}
    now: dict[tuple[str, str], Routed] = {}
    targets: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, rule in listed.items():
        pattern = rule.get("EventPattern")
        if key in was or routed_sources(pattern if isinstance(pattern, str) else None):
            targets[key] = aws.rule_target_pairs(region, *key)
            entry = routed_rule(key[0], rule, [{"Id": i, "Arn": a} for i, a in targets[key]])
            if entry is not None:
                now[key] = entry
    changed = 0
    for key, entry in was.items():
        bus = key[0]
        gone = bus in complete or (all_buses and len(buses) < MAX_BUSES and bus not in buses)
        if key not in listed and not gone:  # beyond the listing's bound: kept as recorded
            now[key] = entry
            continue
        problems = drift(entry, listed.get(key), targets.get(key, []))
        if problems:
            changed += 1
            _alert(aws, config, run, (region, entry, "; ".join(problems)), started=started)
    if refused is not None:
        _alert_refused(aws, config, run, (region, refused), started=started)
    if recorded is None or refused is not None or now != was:
        write_signed(
            aws, inventory_key(region), inventory_document(region, now.values(), written_at=iso(started) or "")
        )
    if recorded is None and refused is None:
        return f"recorded ({len(now)} rules)"
    return f"{changed} changed" if changed else "as recorded"


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
