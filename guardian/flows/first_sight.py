"""The event path records a security rule on first sight (:mod:`guardian.flows.security_inventory`): a PutRule or
PutTargets on a rule the sweep's inventory does not hold, whose pattern routes a security source, writes the rule's
signed entry, so the next call on it (the insider neutering a rule made minutes ago) is judged against what it was,
not read as it is then. A later PutTargets that loses nothing adds its targets to the entry; a call alerted on a
recorded rule records it again from that call (:func:`re_record`), so changing it back is a change too. Each entry
names the call that made it (principal, eventID, eventTime), and the alerts judged against it do.

What is recorded comes from the call's own record where it says it (PutRule's pattern and state, PutTargets'
targets), else from the read the check made of the rule now (a PutTargets' pattern and state). Targets come only from
PutTargets records and the sweep's listing, never from a read: a target re-pointed before the records arrive would be
recorded as the team's. A failed write is logged: the alert is decided already.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from guardian.flows.security_inventory import record_sighted
from guardian.model.rule_targets import merged, target_of
from guardian.model.security_rules import routed_rule
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from guardian.model.events import CloudTrailEvent
    from guardian.model.rule_routing import RuleRead
    from guardian.model.rule_targets import Target
    from guardian.model.security_rules import Routed
    from guardian.ports.calls import SignedStore

LOG = logging.getLogger(__name__)
CALLS = ("PutRule", "PutTargets")


def first_sight(store: SignedStore, event: CloudTrailEvent, bus: str, read: RuleRead | None) -> None:
    """Record the rule the call names if it now routes a security source (PutRule, PutTargets only)."""
    if event.event_name not in CALLS or not event.aws_region:
        return
    params = event.request_parameters or {}
    if event.event_name == "PutRule":
        given = params.get("eventPattern")
        pattern = json.dumps(given) if isinstance(given, dict) else given
        state = params.get("state") or (read.state if read is not None else None) or "ENABLED"
    elif read is None or not read.found or read.error is not None:
        return
    else:
        pattern, state = read.pattern, read.state
    rule = {"Name": _name(event), "EventPattern": pattern, "State": state}
    entry = routed_rule(bus, rule, _given(event))
    if entry is not None:
        _write(store, event.aws_region, replace(entry, made=_made(event)))


def re_record(store: SignedStore, event: CloudTrailEvent, entry: Routed) -> None:
    """After a call alerted on ``entry``: the entry again from that call's own parameters (a PutRule's pattern, its
    state unless it disables; a PutTargets' targets), the sweep still comparing with what it held before."""
    params = event.request_parameters or {}
    if not event.aws_region or event.event_name not in CALLS:
        return
    if event.event_name == "PutRule":
        given, state = params.get("eventPattern"), params.get("state")
        pattern = json.dumps(given) if isinstance(given, dict) else given
        kept = entry.state if state in (None, "DISABLED") else state  # a disable stays a change
        now = routed_rule(entry.bus, {"Name": entry.name, "EventPattern": pattern, "State": kept}, entry.targets)
    else:
        now = replace(entry, targets=merged(entry.targets, _given(event)))
    if now is not None:  # routing no security source now: the entry stays, what it was
        _write(store, event.aws_region, replace(now, made=_made(event), baseline=entry.baseline or entry))


def add_targets(store: SignedStore, event: CloudTrailEvent, entry: Routed) -> None:
    """A PutTargets that lost nothing, on a rule recorded on first sight: its targets join the entry."""
    given = _given(event)
    if event.event_name == "PutTargets" and event.aws_region and given:
        targets = merged(entry.targets, given)
        if targets != entry.targets:
            was = entry.baseline
            baseline = None if was is None else replace(was, targets=merged(was.targets, given))
            _write(store, event.aws_region, replace(entry, targets=targets, baseline=baseline))


def _given(event: CloudTrailEvent) -> tuple[Target, ...]:
    if event.event_name != "PutTargets":
        return ()
    given = (event.request_parameters or {}).get("targets")
    found = [target_of(t) for t in given] if isinstance(given, list) else []
    return tuple(t for t in found if t is not None)


def _made(event: CloudTrailEvent) -> tuple[str, str, str]:
    principal = event.actor.arn or event.actor.principal_id or "an unknown principal"
    return principal, event.event_id, event.event_time_raw or "an unknown time"


def _name(event: CloudTrailEvent) -> str:
    params = event.request_parameters or {}
    return str(params.get("rule" if event.event_name == "PutTargets" else "name", ""))


def _write(store: SignedStore, region: str, entry: Routed) -> None:
    try:
        record_sighted(store, region, entry, written_at=datetime.now(UTC).isoformat())
    except AWS_ERRORS as exc:
        code, _ = describe_error(exc)
        LOG.error(
            "a security rule could not be recorded on first sight", extra={"rule": entry.name, "error_code": code}
        )
