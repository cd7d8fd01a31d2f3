"""The forwarders' dead-letter queues, read by the sweep: an event a forwarder could not send home waits there.

A forwarder has no alarm of its own (an alarm notifies only a topic of its Region, and that topic needed a key of its
own: $1.10 a month in every Region, issue 23). Instead, each sweep reads ``ApproximateNumberOfMessages`` of
``<stackName>-forward-dead-letters`` in every forwarder's Region, the Regions it visits anyway, and alerts HIGH
while events are parked: within one sweep interval (``sweepMinutes``, 5 by default) where the alarm took a minute.
The events are not lost meanwhile (the queue keeps them 14 days), and the sweep itself checks the trails they were
about. A queue that is gone, or cannot be read, fails the run (the sweep-errors alarm): a deleted queue is also
alerted by the home Region's SQS guard when its DeleteQueue arrives, and a redeployment makes it again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from guardian.flows.deliver import AlertNotPublished, deliver
from guardian.model.changes import Change, Effect
from guardian.model.findings import guardian_finding
from guardian.model.rules import Action, Outcome, Severity
from guardian.ports.calls import Delivery
from guardian.ports.errors import AWS_ERRORS, describe_error
from guardian.ports.event_bus import EventBusCalls

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
CHECK = "forwarder_queue"  # the key of this check in the sweep's check_errors


class Ports(EventBusCalls, Delivery, Protocol):
    """The forwarders' queues, the alert's path."""


def forwarder_queue(config: Config) -> str | None:
    """``<stackName>-forward-dead-letters`` (infra.forwarder), named after the forwarding rule ``<stackName>-forward``
    the stack lists in the function's environment (the settings' stack name: in a StackSet the stack's own id names
    ``StackSet-…``, not the resources); None when the stack has no forwarders."""
    prefix = next((r for r in config.forwarder_rules if r.endswith("-forward")), None)
    return None if prefix is None else f"{prefix}-dead-letters"


def forwarder_regions(config: Config) -> tuple[str, ...]:
    """Every swept Region but the home one, when the stack has forwarders (their rules are named)."""
    if not config.forwarder_rules:
        return ()
    return tuple(r for r in config.sweep_regions if r != config.topic_region)


def check_forwarder_queues(
    aws: Ports, config: Config, failures: dict[str, str], *, started: datetime, run: Invocation
) -> dict[str, int | None]:
    """Each forwarder Region → the events parked in its queue (None: no queue). Parked events are alerted HIGH; a
    queue missing or unreadable is recorded in ``failures`` (the run fails)."""
    name = forwarder_queue(config)
    found: dict[str, int | None] = {}
    if name is None:
        return found
    for region in forwarder_regions(config):
        try:
            depth = found[region] = aws.queue_depth(region, config.account_id, name)
        except AWS_ERRORS as exc:  # one Region's refusal must not hide the others
            code, message = describe_error(exc)
            failures[f"{CHECK}:{region}"] = f"{code}: {message}"
            LOG.error("a forwarder's queue could not be read", extra={"region": region, "error_code": code})
            continue
        if depth is None:
            failures[f"{CHECK}:{region}"] = f"{name} does not exist: redeploy the forwarder"
            LOG.error("a forwarder's queue is gone", extra={"region": region})
        elif depth:
            _alert_parked(aws, config, run, region, (name, depth), started=started)
    return found


def _alert_parked(
    aws: Ports, config: Config, run: Invocation, region: str, queue: tuple[str, int], *, started: datetime
) -> None:
    name, depth = queue
    reason = (
        f"{depth} event(s) the forwarder in {region} could not send to {config.topic_region} wait in its dead-letter "
        f"queue {name}: the events they carry (a trail stopped, a change to the guardian) were not handled as they "
        "happened; the sweep checked the trails since. Read them (each message is the event; its attributes name "
        "the error), find why delivery failed (the forwarder role, the home bus's policy), then purge the queue"
    )
    finding = guardian_finding(
        ("forwarder_queue", f"{region}:{name}"),
        account_id=config.account_id,
        region=region,
        detected_at=started,
        reason=reason,
        found=((Change("parked_events", 0, depth, Effect.WEAKENED),), ()),
        healed=False,
    )
    decision = replace(finding.decision, action=Action.ALERT, outcome=Outcome.ALERTED, severity=Severity.HIGH)
    alert = replace(finding, decision=decision, outcome=Outcome.ALERTED, severity=Severity.HIGH, diagnosis=None)
    try:
        deliver(alert, aws, config, run)
    except AlertNotPublished as exc:  # its security-account copy went out with "alert path blocked"
        LOG.error("the alert of a forwarder's queue was refused", extra={"region": region, "error": str(exc)})
    LOG.warning("events wait in a forwarder's queue", extra={"region": region, "depth": depth})
