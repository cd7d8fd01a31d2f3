"""Group repeats of an alert: hold those of an open window (their evidence records still written), open a window after
a first alert went out, and send each closed window's digest; see :mod:`guardian.model.grouping` for why the
opening item is signed and what the insider can and cannot do with the table.

:func:`plan` reads the key's opening item (one GetItem; the public key is read once per process). Where anything is
missing or wrong (no table, no signing key, an unreadable, unsigned or foreign item) the plan holds nothing: the alert
goes out at once. :func:`after_publish` runs after the alert went out, so signing never delays an alert. A closed
window's digest goes out with the next event of its key, or with the sweep (:func:`flush_closed`: one Query of the
groups' partition per sweep).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guardian.flows.copies import publish_copies
from guardian.model import signing
from guardian.model.grouping import Opening, group_key, may_group, member_from, member_of, opening_from
from guardian.model.rules import Outcome
from guardian.ports.errors import describe_failure
from guardian.ports.groups import AlertGroups

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.grouping import GroupKey
    from guardian.model.results import Result
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class DigestNotPublished(RuntimeError):
    """SNS refused a digest: its window stays unflushed, so the next event of the key or the next sweep sends it."""


@dataclass(frozen=True)
class Plan:
    """What grouping knows of an alert's key: the verified opening item (None: no valid one) and the table."""

    key: GroupKey
    opening: Opening | None
    flushed: bool
    groups: AlertGroups
    table: str
    minutes: int

    def holds(self, result: Result, moment: datetime) -> bool:
        """Whether this alert is held for the window's digest instead of published now."""
        return (
            self.opening is not None
            and self.opening.holds(moment)
            and may_group(result, evidence_written=True)
            and self.opening.key.text == self.key.text
        )

    def note(self) -> dict[str, str]:
        """What a held alert's evidence record says of its group (``alert_group``)."""
        o = self.opening
        assert o is not None
        return {"id": o.key.group_id, "window_start": o.start_text, "alerted_event_id": o.first_event_id}

    def hold(self, result: Result) -> bool:
        """Count a held alert in its window (its opener redelivered counts nothing); False if it could not be
        counted, and the alert must go out after all."""
        assert self.opening is not None
        return result.event.event_id == self.opening.first_event_id or _note_member(result, self)

    def after(self, result: Result, aws: Delivery, config: Config, run: Invocation, *, account: str) -> bool:
        """:func:`after_publish` within the time after the alert; False if it failed (logged, never raised)."""
        from guardian.flows.budget import after_alert_budget, within  # noqa: PLC0415

        try:
            within(
                after_alert_budget(run), lambda: after_publish(result, self, aws, config, run, account=account), "group"
            )
        except Exception as exc:  # noqa: BLE001 - after the alert: reported, never raised
            LOG.error("could not group the alert's repeats", extra={"group": self.key.group_id, "error": str(exc)})
            return False
        return True


def plan(result: Result, aws: Delivery, config: Config, run: Invocation) -> Plan | None:
    """The key's group, or None where grouping is off (no table, a window of 0 minutes, an alert never grouped)."""
    minutes, table = config.alert_group_minutes, config.activity_table
    key = group_key(result)
    if table is None or minutes <= 0 or key is None:
        return None
    if not may_group(result, evidence_written=True) and result.outcome is not Outcome.HEAL_FAILED:
        return None
    try:
        groups = aws.ledger()
        if not isinstance(groups, AlertGroups) or not groups.signing_key:
            return None
        found = groups.group_item(table, key.group_id)
        opening = verified(found["document"], groups) if found else None
    except Exception as exc:  # noqa: BLE001 - unknown means alert now: a duplicate beats a lost alert
        LOG.error("alert group not read: alerting at once", extra={"group": key.group_id, "error": str(exc)})
        return None
    if opening is not None and opening.key.text != key.text:
        opening = None
    return Plan(key, opening, bool(found and found["flushed"]), groups, table, minutes)


def verified(document: dict[str, object], groups: AlertGroups) -> Opening | None:
    """The opening item, if the guardian signed it for its own key and window; else None (logged)."""
    try:
        opening = opening_from(document)
        signing.verify(opening.signed_as, document, groups.public_key(), key_id=groups.signing_key or "")
    except (ValueError, signing.SignatureError) as exc:
        LOG.error("alert group item not signed by the guardian: ignored", extra={"error": str(exc)})
        return None
    return opening


def after_publish(result: Result, p: Plan, aws: Delivery, config: Config, run: Invocation, *, account: str) -> None:
    """After an alert went out: a failed heal counted in an open window; else the closed window's digest sent, and
    a new window opened (signed). Raises on a failure; the caller reports it, never a published alert's retry."""
    now = run.clock()
    if p.opening is not None and p.opening.holds(now):
        if result.outcome is Outcome.HEAL_FAILED:
            _note_member(result, p)
        return
    if not may_group(result, evidence_written=True):
        return
    if p.opening is not None and not p.flushed:
        flush(p.opening, p.groups, aws, config, run, table=p.table, account=account)
    opening = Opening(p.key, now, p.minutes, result.event.event_id, result.severity.value)
    document = opening.document()
    signature = p.groups.sign(signing.digest(opening.signed_as, document))
    signed = signing.signed(document, key_id=p.groups.signing_key or "", signature=signature)
    p.groups.put_group_item(p.table, p.key.group_id, signed, opening.expires_at())


def flush(
    opening: Opening, groups: AlertGroups, aws: Delivery, config: Config, run: Invocation, *, table: str, account: str
) -> bool:
    """Send a closed window's digest once (claimed first: the sweep and an event may both try). False if another
    call claimed it, or the window held no repeat."""
    from guardian.model.evidence import ALERT_TAG, CENTRAL_TAG  # noqa: PLC0415
    from guardian.model.group_digest import digest_alert  # noqa: PLC0415

    if not groups.claim_group(table, opening.key.group_id, opening.start_text):
        return False
    try:
        members = [m for m in map(member_from, groups.group_members(table, opening.members_partition)) if m]
        if not any(m.outcome != Outcome.HEAL_FAILED.value for m in members):
            return False  # no repeat held: every alert of the window went out on its own
        alert = digest_alert(
            opening, members, account=account, function_name=run.function_name, repeat_threshold=config.repeat_threshold
        )
        topics = {ALERT_TAG: config.topic_arn}
        if config.central_topic_arn is not None:
            topics[CENTRAL_TAG] = config.central_topic_arn
        refused = publish_copies(alert, topics, aws, {})
    except Exception:
        groups.release_group(table, opening.key.group_id)
        raise
    if refused:
        groups.release_group(table, opening.key.group_id)
        tag, exc = next(iter(refused.items()))
        raise DigestNotPublished(f"digest of alert group {opening.key.group_id} refused ({tag}): {exc}") from exc
    LOG.info("alert group digest published", extra={"group": opening.key.group_id, "count": len(members)})
    return True


def flush_closed(aws: Delivery, config: Config, run: Invocation) -> int:
    """The sweep's part: every closed window not yet flushed gets its digest (one Query finds them). Returns how
    many digests went out; a refused one is logged, and sent by the next sweep."""
    from guardian.flows.rate_cap import capped  # noqa: PLC0415
    from guardian.model.subjects import account_label  # noqa: PLC0415

    table = config.activity_table
    if table is None:
        return 0
    groups = aws.ledger()
    if not isinstance(groups, AlertGroups) or not groups.signing_key:
        return 0
    aws, account = capped(aws, table, run), account_label(config.account_id, aws.account_alias())
    now, sent = run.clock(), 0
    for item in groups.open_groups(table):
        opening = verified(item["document"], groups)
        if opening is None or opening.end > now:
            continue
        try:
            sent += flush(opening, groups, aws, config, run, table=table, account=account)
        except Exception as exc:  # noqa: BLE001 - the other windows still flush; the next sweep tries again
            LOG.error("alert group digest not sent", extra={"group": opening.key.group_id, "error": str(exc)})
    return sent


def _note_member(result: Result, p: Plan) -> bool:
    assert p.opening is not None
    member = member_of(result)
    try:
        p.groups.put_group_member(
            p.table, p.opening.members_partition, member.sort_key(), member.to_json(), p.opening.expires_at()
        )
    except Exception as exc:  # noqa: BLE001 - not counted means alerted: a duplicate beats a lost alert
        LOG.error("alert not counted in its group: alerting at once", extra={"error": describe_failure(exc)})
        return False
    return True
