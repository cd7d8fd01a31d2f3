"""Copy a published alert into the account's Security Hub as one ASFF finding (:mod:`guardian.model.asff`).

A step after the alert (:func:`guardian.flows.after_alert.steps_after`): it never delays the alert, and a failure is
reported by name, never raised. The finding is an informational copy for the tools that already read Security Hub:
the security team's alert path stays SNS, since anyone with ``securityhub:*`` in the account can archive a finding.

One finding per (account, Region, generator, resource; a record the guardian made, filed as the sweep files it:
:mod:`guardian.model.finding_generator`): a repeat updates it (``guardian/count``, ``UpdatedAt``), its count kept
atomically in the activity table (:mod:`guardian.flows.finding_counts`: a burst ends at its true count); an alert
held for its group's digest counts too, so the group's finding shows every repeat. BatchImportFindings cannot
change a finding's Workflow once it exists, so the status the
outcome calls for (RESOLVED once healed and verified, NOTIFIED when the heal failed) is set with BatchUpdateFindings;
a finding someone SUPPRESSED is left so.

Where Security Hub is not enabled (InvalidAccess), findings are off: noted once in the log, then not asked again in
this process for :data:`RECHECK` (no error per alert, no alert storm).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from guardian.flows import finding_counts
from guardian.model.finding_generator import generator
from guardian.ports.findings import SecurityHubCalls, SecurityHubOff

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

from guardian.flows.sidecars import signed_sha256

LOG = logging.getLogger(__name__)
RECHECK = timedelta(hours=1)
_LOCK = threading.Lock()
_OFF_UNTIL: dict[tuple[str, str], datetime] = {}  # (account, Region): not enabled, noted; asked again after RECHECK


def forget() -> None:
    """Forget which accounts had Security Hub off (tests, and the simulation between acts)."""
    with _LOCK:
        _OFF_UNTIL.clear()


def wanted(result: Result, config: Config) -> bool:
    """A finding for every published alert but an operator's purpose (a self-test, an approval): not tampering."""
    return config.security_hub and result.purpose is None


def copy_to_security_hub(result: Result, aws: Everything, config: Config, run: Invocation) -> str:
    """Import (or update) the alert's finding; what happened: "imported", "updated", "off" or "not enabled"."""
    if not wanted(result, config) or not isinstance(aws, SecurityHubCalls):
        return "off"
    from guardian.model.alert import summary  # noqa: PLC0415 - after the alert only
    from guardian.model.asff import build_finding  # noqa: PLC0415
    from guardian.model.evidence import evidence_key  # noqa: PLC0415

    where, now = (config.account_id, config.topic_region), run.clock()
    with _LOCK:
        until = _OFF_UNTIL.get(where)
    if until is not None and now < until:
        return "not enabled"
    key = evidence_key(result)
    build = partial(
        build_finding,
        result,
        account=config.account_id,
        home_region=config.topic_region,
        now=now,
        generator=generator(result),
        evidence_key=key,
        evidence_sha256=signed_sha256(key, aws, "Security Hub"),
        summary=summary(result),
    )
    try:
        made = build(count=1)
        goal, read = made.workflow, partial(_read, aws, config.topic_region)
        [t] = finding_counts.tally({made.id: (1, goal)}, aws, config.activity_table, now, read=read).values()
        made, updated = build(count=t.count, created_at=t.created_at), t.count > 1
        aws.import_finding(config.topic_region, t.marked(made.document))
        for _ in range(finding_counts.RECHECKS):  # another copy counted past this one: its count, whoever lands last
            kept = {made.id: t.count} if t.kept else {}  # an item not the guardian's: counted from Security Hub
            ahead = finding_counts.behind(aws, config.activity_table, kept).get(made.id)
            if ahead is None:
                break
            t = replace(t, count=ahead)
            made = build(count=ahead, created_at=t.created_at, now=run.clock())
            aws.import_finding(config.topic_region, t.marked(made.document))
        if t.workflow_to_set(goal):
            aws.set_workflow(config.topic_region, made.id, made.product_arn, goal)
        finding_counts.note_workflows(aws, config.activity_table, {made.id: goal}, {made.id: t})
    except SecurityHubOff as exc:
        with _LOCK:
            _OFF_UNTIL[where] = now + RECHECK
        LOG.warning(
            "Security Hub is not enabled here: findings off (alerts are unaffected)",
            extra={"region": config.topic_region, "error": str(exc)[:300]},
        )
        return "not enabled"
    LOG.info(
        "alert copied to Security Hub",
        extra={
            "finding_id": made.id,
            "workflow": made.workflow,
            "count": made.document["ProductFields"]["guardian/count"],
        },
    )
    return "updated" if updated else "imported"


def _read(aws: SecurityHubCalls, region: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """GetFindings of the one finding (the event path copies one at a time)."""
    found = {i: aws.existing_finding(region, i) for i in ids}
    return {i: f for i, f in found.items() if f is not None}
