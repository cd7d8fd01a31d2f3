"""At most :data:`CAP` publishes a second to any topic, whatever the load, so no email subscription is throttled or
suspended by the guardian (SNS throttles an email subscription at about 10 messages a second).

A burst of first alerts (ten trails stopped at once: ten keys, none grouped) is spread over the seconds: each publish
takes a slot in a counter shared by every invocation (the activity table's item per topic and epoch second,
conditional ADD, expiring by itself). A publish that finds its second full waits for the next one, at most
:data:`MAX_WAIT` seconds in all and never into the last :data:`KEEP` seconds of the invocation; past that it is
published anyway and logged: a late alert beats a lost one, and an alert over the cap beats a late one past the
budget. Where the counter cannot be read or written, the alert is published (logged).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian.ports.calls import AlertLedger, Delivery
    from guardian.ports.groups import AlertGroups
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
CAP = 5  # publishes per topic per second
MAX_WAIT = 3.0  # seconds one publish may wait for a free second, in all
KEEP = 10.0  # seconds of the invocation never spent waiting (the alert reserve's share that publishes)


class Capped:
    """A :class:`~guardian.ports.calls.Delivery` whose ``publish`` takes a slot first; every other call passes."""

    def __init__(self, aws: Delivery, slots: AlertGroups, table: str, run: Invocation) -> None:
        self._aws, self._slots, self._table, self._run = aws, slots, table, run
        self.sdk_versions = aws.sdk_versions

    def put_if_absent(self, key: str, document: dict[str, Any]) -> bool:
        return self._aws.put_if_absent(key, document)

    def tags(self, key: str) -> dict[str, str]:
        return self._aws.tags(key)

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        self._aws.set_tags(key, tags)

    def ledger(self) -> AlertLedger:
        return self._aws.ledger()

    def account_alias(self) -> str | None:
        return self._aws.account_alias()

    def publish(self, request: dict[str, Any]) -> str:
        wait_for_slot(str(request["TopicArn"]), self._slots, self._table, self._run)
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


def wait_for_slot(topic: str, slots: AlertGroups, table: str, run: Invocation) -> None:
    """Return once a slot in the current second is taken, or once waiting longer would pass the budget (logged)."""
    left = None if run.remaining is None else run.remaining() - KEEP
    budget = MAX_WAIT if left is None else max(min(MAX_WAIT, left), 0.0)
    waited = 0.0
    while True:
        now = run.clock().timestamp()
        second = int(now)
        try:
            if slots.take_publish_slot(table, topic, second, CAP):
                return
        except Exception as exc:  # noqa: BLE001 - the counter broken: publish, never hold the alert
            LOG.error("the publish cap could not be read: publishing", extra={"topic": topic, "error": str(exc)})
            return
        pause = second + 1 - now + 0.001
        if waited + pause > budget:
            LOG.warning(
                "publishing over the cap: waiting longer would pass the alert's budget",
                extra={"topic": topic, "cap": CAP, "waited_seconds": round(waited, 3)},
            )
            return
        run.sleep(pause)
        waited += pause
