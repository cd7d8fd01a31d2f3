"""Does an EventBridge rule route a security service's events? The check behind the watch rule on DisableRule,
RemoveTargets, PutRule, PutTargets and DeleteRule: a rule the sweep recorded is judged against that record
(:mod:`guardian.model.security_rules`); one made since is read now, and decided here.

Pure. A rule routes security if its pattern's ``source`` (in any ``$or`` branch) matches one of
:data:`SECURITY_SOURCES` as EventBridge would match it (prefix, wildcard, anything-but...), or one of its targets
is a security service's. A pattern without ``source`` names no service: not counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.model.event_pattern import matches
from guardian.model.rules import Severity

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from guardian.model.events import CloudTrailEvent

SECURITY_SERVICES = (
    "guardduty",
    "securityhub",
    "inspector2",
    "inspector",
    "macie",
    "access-analyzer",
    "config",
    "cloudtrail",
    "detective",
    "health",
    "securitylake",
    "fms",
    "trustedadvisor",
    "signin",
)
SECURITY_SOURCES = tuple(f"aws.{s}" for s in SECURITY_SERVICES)
# A target that is itself a security service's (ARN service part), e.g. an Incident Manager response plan.
SECURITY_TARGET_SERVICES = frozenset({*SECURITY_SERVICES, "macie2", "ssm-incidents"})
MAX_NAMED = 5  # sources named in the alert's reason, then "and n more"


@dataclass(frozen=True)
class RuleRead:
    """What DescribeRule and ListTargetsByRule said of the rule the call named, in the Region of the call."""

    name: str
    bus: str
    found: bool = True  # False: ResourceNotFoundException (deleted since the call)
    pattern: str | None = None  # EventPattern, as EventBridge returns it (a JSON string)
    state: str | None = None
    targets: tuple[str, ...] = ()  # target ARNs
    error: str | None = None  # the read failed otherwise: the error code
    configured: tuple[tuple[str, str, str], ...] = ()  # (Id, Arn, configuration SHA-256): guardian.model.rule_targets


@dataclass(frozen=True)
class Verdict:
    """The checked rule's say: alert at ``severity`` with ``note``, or (``severity`` None) not its business."""

    severity: Severity | None
    note: str


def rule_named(event: CloudTrailEvent) -> tuple[str, str] | None:
    """(rule name, event bus) the call names: ``name`` (DisableRule, PutRule, DeleteRule) or ``rule`` (RemoveTargets,
    PutTargets)."""
    params = event.request_parameters or {}
    name = params.get("rule" if event.event_name in ("RemoveTargets", "PutTargets") else "name")
    bus = params.get("eventBusName") or "default"
    if not isinstance(name, str) or not name or not isinstance(bus, str):
        return None
    return name, bus


def own_rule(name: str, self_functions: tuple[str, ...]) -> bool:
    """One of the guardian's rules, named ``<stack>-...`` like its functions (``<stack>-remediation``): its guard
    alerts CRITICAL without this function (the default pack leaves ``CloudTrailGuardian-`` out of its pattern)."""
    stacks = {f.removesuffix("remediation") for f in self_functions if f.endswith("-remediation")}
    return any(name.startswith(stack) for stack in stacks)


def routed_sources(pattern: str | Mapping[str, Any] | None) -> tuple[str, ...]:
    """The security sources a pattern's ``source`` matches, in :data:`SECURITY_SOURCES` order."""
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            return ()
    if not isinstance(pattern, dict):
        return ()
    filters = list(_source_filters(pattern))
    return tuple(s for s in SECURITY_SOURCES if any(matches({"source": f}, {"source": s}) for f in filters))


def security_targets(arns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a for a in arns if a.split(":")[2:3] and a.split(":")[2] in SECURITY_TARGET_SERVICES)


def verdict(event: CloudTrailEvent, read: RuleRead | None, severity: Severity) -> Verdict:
    """The alert a checked call deserves: ``severity`` if the rule routes security, LOW if it is gone (unknown),
    ``severity`` if it could not be read (an alert is never lost), else none."""
    call = event.event_name or "the call"
    if read is None:
        return Verdict(Severity.LOW, f"{call} names no rule: what it routed is unknown")
    rule = f"rule {read.name!r} (bus {read.bus})"
    if read.error is not None:
        return Verdict(severity, f"{rule} could not be read ({read.error}): it may route a security service's events")
    if not read.found:
        return Verdict(Severity.LOW, f"{rule} is gone (deleted since {call}): what it routed is unknown")
    sources = routed_sources(read.pattern)
    targets = security_targets(read.targets)
    routes = _routes(sources, targets)
    if event.event_name == "PutRule":
        params = event.request_parameters or {}
        state = params.get("state") or read.state
        if sources and state == "DISABLED":
            return Verdict(severity, f"{rule} disabled by PutRule; it routes {routes}")
        if targets and not sources:
            return Verdict(severity, f"{rule}'s pattern routes no security source now; it targets {routes}")
        return Verdict(None, f"{rule} still routes what it names, or nothing of security")
    if not routes:
        return Verdict(None, f"{rule} routes nothing of a security service")
    if event.event_name == "PutTargets":  # not recorded by the sweep: nothing to tell a re-pointed target by
        return Verdict(None, f"{rule} is not in the sweep's inventory yet: its targets are judged from then on")
    what = "disabled" if event.event_name == "DisableRule" else "lost targets"
    return Verdict(severity, f"{rule} {what}; it routes {routes}")


def _routes(sources: tuple[str, ...], targets: tuple[str, ...]) -> str:
    named = [*sources, *targets]
    more = f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
    return ", ".join(named[:MAX_NAMED]) + more


def _source_filters(pattern: Mapping[str, Any]) -> Iterator[Any]:
    if isinstance(pattern.get("source"), list):
        yield pattern["source"]
    branches = pattern.get("$or")
    for branch in branches if isinstance(branches, list) else []:
        if isinstance(branch, dict):
            yield from _source_filters(branch)
