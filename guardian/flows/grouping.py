"""Group repeats of an alert: hold those of an open window that are no more severe than it (their evidence records
still written), open a window after a first alert went out, and send each closed window's digest; see
:mod:`guardian.model.grouping` for why the opening item is signed, and :mod:`guardian.model.group_objects` for why
the held members and the flush claim are objects in the evidence bucket (the insider can write the table, not it).

:func:`plan` reads the key's opening item (one GetItem; the public key is read once per process). Where anything is
missing or wrong (no table, no signing key, an unreadable, unsigned or foreign item) the plan holds nothing: the alert
goes out at once. With no open window, the alert first claims one (:func:`claim`, one conditional PutObject): of a
flood's concurrent first alerts, one goes out and the others are held. A held alert costs one PutObject (its member
object). A more severe alert than the window's goes
out at once and raises the window to its severity (re-signed; same start), so the next ones like it are held.
:func:`after_publish` runs after the alert went out, so signing never delays an alert. A closed window's digest goes
out with the next event of its key, or with the sweep (:func:`flush_closed`: a bounded List of the last hours'
``groups/`` prefixes, after the trail checks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from guardian.flows.budget import OutOfTime, within
from guardian.flows.copies import publish_copies
from guardian.model import signing
from guardian.model.group_objects import MEMBERS, OPENING, hours_to_list, windows_of
from guardian.model.grouping import Opening, above, claim_key, group_key, may_group, member_of, opening_from
from guardian.model.results import iso
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
CLAIM_SECONDS = 2.0  # at most, for claiming a window before a first alert (a write-once S3 object)
MAX_KEYS = 50_000  # keys one sweep lists (50 ListObjectsV2 calls): a burst of 10,000 held alerts fits five times


class DigestNotPublished(RuntimeError):
    """SNS refused a digest: its window stays unflushed (``failed-<n>``), so the next event or sweep sends it."""


@dataclass(frozen=True)
class Plan:
    """What grouping knows of an alert's key: the verified opening item (None: no valid one), the table, and the
    evidence bucket (``store``) where held members go."""

    key: GroupKey
    opening: Opening | None
    groups: AlertGroups
    store: Delivery
    table: str
    minutes: int
    claimed: Opening | None = None  # the window this event's alert opens (its claim won): published, then signed
    from_claim: bool = False  # ``opening`` was read from another event's claim: its opening.json may not be there yet

    def holds(self, result: Result, moment: datetime) -> bool:
        """Whether this alert is held for the window's digest instead of published now: never one more severe
        than the window (a harmless first change must not hide a weakening in a digest of its severity)."""
        return (
            self.opening is not None
            and self.opening.holds(moment)
            and may_group(result, evidence_written=True)
            and self.opening.key.text == self.key.text
            and not above(result.severity.value, self.opening.severity)
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
        if self.from_claim:  # the claimer writes it after its alert: written here too, so the digest never lacks it
            _put(self.store, self.opening.prefix + OPENING, self.opening.document())
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
    known, now = Plan(key, opening, groups, aws, table, minutes), run.clock()
    if may_group(result, evidence_written=True) and (opening is None or not opening.holds(now)):
        try:  # no open window: this may be one of a flood's first alerts; a slow S3 must not hold it (alert at once)
            return within(CLAIM_SECONDS, lambda: claim(known, result, now), "the alert group's claim")
        except OutOfTime:
            return known
    return known


def claim(p: Plan, result: Result, now: datetime) -> Plan:
    """Before a first alert: claim the window of ``now``'s slot (a write-once object in the evidence bucket, which
    only the guardian's roles may write; :func:`~guardian.model.grouping.claim_key`). The first writer (or its
    Lambda retry) publishes and opens that window; the others of a flood are held in it. If the claim cannot be
    written or read, the alert goes out (a duplicate beats a lost alert)."""
    opening = Opening(p.key, now, p.minutes, result.event.event_id, result.severity.value)
    key = claim_key(p.key, now, p.minutes)
    try:
        if p.store.put_if_absent(key, opening.document()):
            return replace(p, claimed=opening)
        theirs = opening_from(p.groups.group_document(key) or {})
    except Exception as exc:  # noqa: BLE001 - unknown means alert now
        LOG.error("alert group not claimed: alerting at once", extra={"claim": key, "error": describe_failure(exc)})
        return p
    if theirs.key.text != p.key.text:
        return p
    if theirs.first_event_id == result.event.event_id:
        return replace(p, claimed=theirs)  # this event's own claim: a retry of the alert it could not send
    return replace(p, opening=theirs, from_claim=True) if theirs.holds(now) else p


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
    """After an alert went out: a failed heal counted in an open window, a more severe alert counted and the window
    raised to it; else the closed window's digest sent, and a new window opened (its opening object first, then the
    signed item). Raises on a failure; the caller reports it, never a published alert's retry."""
    now = run.clock()
    if p.opening is not None and p.opening.holds(now):
        if result.outcome is Outcome.HEAL_FAILED:
            _note_member(result, p, alerted=True)
        elif (
            may_group(result, evidence_written=True)
            and above(result.severity.value, p.opening.severity)
            and _note_member(result, p, alerted=True)
        ):
            _sign_opening(p.opening.raised(result.severity), p)
        return
    if not may_group(result, evidence_written=True):
        return
    if p.opening is not None:
        flush(p.opening, p.groups, aws, config, run, account=account)
    opening = p.claimed or Opening(p.key, now, p.minutes, result.event.event_id, result.severity.value)
    p.store.put_if_absent(opening.prefix + OPENING, opening.document())
    _sign_opening(opening, p)


def _sign_opening(opening: Opening, p: Plan) -> None:
    document = opening.document()
    signature = p.groups.sign(signing.digest(opening.signed_as, document))
    signed = signing.signed(document, key_id=p.groups.signing_key or "", signature=signature)
    p.groups.put_group_item(p.table, p.key.group_id, signed, opening.expires_at())


def flush(
    opening: Opening, groups: AlertGroups, aws: Delivery, config: Config, run: Invocation, *, account: str
) -> bool:
    """Send a window's digest once, built from its objects in the evidence bucket (claimed first, write-once: the
    sweep and an event may both try). False if it was sent or claimed already, or the window held no repeat."""
    from guardian.model.evidence import ALERT_TAG, CENTRAL_TAG  # noqa: PLC0415
    from guardian.model.group_digest import digest_alert  # noqa: PLC0415

    window = windows_of(groups.group_keys(opening.prefix, MAX_KEYS)).get(opening.prefix)
    if window is None or window.flushed or not window.held:
        return False  # no repeat held: every alert of the window went out on its own
    claim, failed = window.attempt()
    if not aws.put_if_absent(claim, {"claimed_at": iso(run.clock())}):
        return False
    try:
        alert = digest_alert(
            opening,
            window.members,
            account=account,
            function_name=run.function_name,
            repeat_threshold=config.repeat_threshold,
        )
        topics = {ALERT_TAG: config.topic_arn}
        if config.central_topic_arn is not None:
            topics[CENTRAL_TAG] = config.central_topic_arn
        refused = publish_copies(alert, topics, aws, {})
    except Exception:
        _release(aws, failed, run)
        raise
    if refused:
        _release(aws, failed, run)
        tag, exc = next(iter(refused.items()))
        raise DigestNotPublished(f"digest of alert group {opening.key.group_id} refused ({tag}): {exc}") from exc
    LOG.info("alert group digest published", extra={"group": opening.key.group_id, "count": len(window.members)})
    return True


def _release(aws: Delivery, failed: str, run: Invocation) -> None:
    """Say the claimed attempt was refused (write-once too), so the next event or sweep takes the next claim."""
    try:
        aws.put_if_absent(failed, {"failed_at": iso(run.clock())})
    except Exception as exc:  # noqa: BLE001 - the digest's own failure is what is raised
        LOG.error("could not release an alert group's claim", extra={"key": failed, "error": describe_failure(exc)})


def flush_closed(aws: Delivery, config: Config, run: Invocation, *, share: float = 1.0) -> int:
    """The sweep's part: every closed window of the last hours not yet flushed gets its digest, found by listing
    the evidence bucket's ``groups/`` prefixes (the table is only a hint: deleting its items hides nothing). Bounded
    by :data:`MAX_KEYS` keys listed and by ``share`` of the invocation's remaining time. Returns how many digests
    went out; a refused one is logged, and sent by the next sweep."""
    from guardian.flows.rate_cap import capped  # noqa: PLC0415
    from guardian.model.subjects import account_label  # noqa: PLC0415

    table, minutes = config.activity_table, config.alert_group_minutes
    if table is None or minutes <= 0:
        return 0
    groups = aws.ledger()
    if not isinstance(groups, AlertGroups):
        return 0
    left = None if run.remaining is None else run.remaining() * (1 - share)

    def out_of_time() -> bool:
        return left is not None and run.remaining is not None and run.remaining() < left

    now, keys = run.clock(), list[str]()
    for prefix in hours_to_list(now, minutes):
        if out_of_time() or len(keys) >= MAX_KEYS:
            LOG.warning("alert groups not all listed: the next sweep goes on", extra={"prefix": prefix})
            break
        keys += groups.group_keys(prefix, MAX_KEYS - len(keys))
    aws, account, sent = capped(aws, table, run), account_label(config.account_id, aws.account_alias()), 0
    for window in windows_of(keys).values():
        if window.flushed or not window.held:
            continue
        if out_of_time():
            LOG.warning("alert group digests left for the next sweep: out of time")
            break
        try:
            opening = opening_from(groups.group_document(window.prefix + OPENING) or {})
            if opening.prefix != window.prefix or opening.end > now:
                continue
            sent += flush(opening, groups, aws, config, run, account=account)
        except Exception as exc:  # noqa: BLE001 - the other windows still flush; the next sweep tries again
            LOG.error("alert group digest not sent", extra={"window": window.prefix, "error": describe_failure(exc)})
    return sent


def _put(store: Delivery, key: str, document: dict[str, object]) -> None:
    try:
        store.put_if_absent(key, document)
    except Exception as exc:  # noqa: BLE001 - the claimer writes it too
        LOG.error("alert group opening not written", extra={"key": key, "error": describe_failure(exc)})


def _note_member(result: Result, p: Plan, *, alerted: bool = False) -> bool:
    """One write-once object per event in the window's prefix (a redelivery writes the same name: counted once)."""
    assert p.opening is not None
    member = member_of(result, alerted=alerted)
    try:
        p.store.put_if_absent(f"{p.opening.prefix}{MEMBERS}{member.name()}", {})
    except Exception as exc:  # noqa: BLE001 - not counted means alerted: a duplicate beats a lost alert
        LOG.error("alert not counted in its group: alerting at once", extra={"error": describe_failure(exc)})
        return False
    return True
