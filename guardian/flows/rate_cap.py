"""At most :data:`CAP` publishes a second to any topic, whatever the load, so no email subscription is throttled or
suspended by the guardian (SNS throttles an email subscription at about 10 messages a second).

Each publish takes a slot in a counter shared by every invocation (the activity table's item per topic and epoch
second, conditional ADD, expiring by itself). A publish that finds its second full waits for the next one, as long
as the invocation's time allows, keeping :data:`KEEP` seconds for what follows the alert. If it still finds none, it
is not published: :class:`CapFull` is raised, the delivery raises ``AlertNotPublished`` and Lambda retries the
event a minute later (its evidence record is written and not marked alerted, so the retry sends it exactly once);
the dead-letter queue and its alarm are the last resort. A CRITICAL alert obeys the cap too (SNS would suspend the
subscription otherwise) but goes first: the last slot of each second is kept for it, and a less severe publish waiting
wakes :data:`STAGGER` seconds per rank after the second turns. Where the counter cannot be read or written, the alert
is published (logged): a duplicate beats a lost alert, and an alert over the cap beats none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.ports.calls import AlertLedger, Delivery
    from guardian.ports.groups import AlertGroups
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
CAP = 5  # publishes per topic per second
RESERVED = 1  # slots of each second only a CRITICAL alert may take
KEEP = 10.0  # seconds of the invocation never spent waiting (what follows the alert: grouping, signing, counting)
NO_DEADLINE = 60.0  # the longest wait where the run has no timeout (a test, a script): a Lambda function's is known
STAGGER = 0.05  # seconds a waiting publish wakes after the second turns, per severity rank below CRITICAL
RANKS = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class CapFull(RuntimeError):
    """No publish slot within the invocation's time: the alert is not sent now, and Lambda's retry sends it."""


class Capped:
    """A :class:`~guardian.ports.calls.Delivery` whose ``publish`` takes a slot first; every other call passes."""

    def __init__(self, aws: Delivery, slots: AlertGroups, table: str, run: Invocation) -> None:
        self._aws, self._slots, self._table, self._run = aws, slots, table, run
        self.sdk_versions = aws.sdk_versions

    def put_if_absent(self, key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        return self._aws.put_if_absent(key, document, locked_until=locked_until)

    def tags(self, key: str) -> dict[str, str]:
        return self._aws.tags(key)

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        self._aws.set_tags(key, tags)

    def ledger(self) -> AlertLedger:
        return self._aws.ledger()

    def account_alias(self) -> str | None:
        return self._aws.account_alias()

    def publish(self, request: dict[str, Any]) -> str:
        attributes = request.get("MessageAttributes") or {}
        severity = str(attributes.get("severity", {}).get("StringValue", "CRITICAL"))
        wait_for_slot(str(request["TopicArn"]), self._slots, self._table, self._run, severity=severity)
        return self._aws.publish(request)


def capped(aws: Delivery, table: str | None, run: Invocation) -> Delivery:
    """``aws`` with the cap, where the activity table and its calls are there; else ``aws`` as it is."""
    from guardian.ports.groups import AlertGroups  # noqa: PLC0415

    if table is None or isinstance(aws, Capped):
        return aws
    try:
        slots = aws.ledger()
    except Exception as exc:  # noqa: BLE001 - no cap beats no alert
        LOG.warning("the publish cap is off: %s", describe_failure(exc))
        return aws
    return Capped(aws, slots, table, run) if isinstance(slots, AlertGroups) else aws


def wait_for_slot(topic: str, slots: AlertGroups, table: str, run: Invocation, *, severity: str = "CRITICAL") -> None:
    """Return once a slot of the current second is taken (a CRITICAL publish may take the reserved one); raise
    :class:`CapFull` once waiting longer would leave the invocation less than :data:`KEEP` seconds."""
    critical = severity not in RANKS[:-1]  # an unknown severity counts as CRITICAL: never held back
    cap = CAP if critical else CAP - RESERVED
    behind = 0.0 if critical else (len(RANKS) - 1 - RANKS.index(severity)) * STAGGER
    budget, waited = NO_DEADLINE if run.remaining is None else run.remaining() - KEEP, 0.0
    while True:
        now = run.clock().timestamp()
        second = int(now)
        try:
            if slots.take_publish_slot(table, topic, second, cap):
                return
        except Exception as exc:  # noqa: BLE001 - the counter broken: publish, never hold the alert
            LOG.error("the publish cap could not be read: publishing", extra={"topic": topic, "error": str(exc)})
            return
        pause = second + 1 - now + 0.001 + behind
        left = budget - waited if run.remaining is None else min(budget - waited, run.remaining() - KEEP)
        if pause > left:
            LOG.warning(
                "publish cap full until the invocation's end: not published now, Lambda retries the event",
                extra={"topic": topic, "cap": CAP, "severity": severity, "waited_seconds": round(waited, 3)},
            )
            raise CapFull(f"no publish slot for {topic} within the invocation ({CAP} a second; waited {waited:.1f} s)")
        run.sleep(pause)
        waited += pause
