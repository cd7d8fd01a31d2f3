"""The sweep of one Region's trails: each protected trail compared with its baseline, and healed through the same
restore engine as the event path; a trail seen for the first time gets a baseline (protected trails always log).

In few requests (the README states the budget): one DescribeTrails for every trail's settings, one ListObjectsV2 for
every baseline's name and ETag, one read of the Region's baseline index (:mod:`guardian.model.baseline_index`) in
place of one per trail, ListTags for 20 trails at a time; then per trail GetTrailStatus, and GetEventSelectors or
GetInsightSelectors only where DescribeTrails says the trail has some. Once a heal's write is throttled in a Region
(a burst is on), the sweep's writes there are paced (:class:`guardian.flows.budget.Pacer`); if it was its first
write there, its restores of settings are deferred, and alerted. A trail stopped moments ago is looked at again
(:mod:`guardian.flows.sweep_left`). The trails are checked at once on the sweep's bounded pool; their buckets, log
groups and keys follow, once each, in :func:`guardian.flows.sweep.run_sweep`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from guardian.flows import baselines
from guardian.flows.approvals import Verdict, settle_trail
from guardian.flows.blind_window import recover
from guardian.flows.budget import LeftToEventPath, Pacer, event_path_owns
from guardian.flows.deliver import deliver
from guardian.flows.history import ACTOR_LOOKBACK, actor_of, attributed
from guardian.flows.mode_tag import report_ignored_tag
from guardian.flows.observe import heals_state, observed, undoing
from guardian.flows.restore_trail import Restoration, as_result, restore
from guardian.flows.sweep_checks import check_resource, report_below_floor, report_delivery_error, report_refused
from guardian.flows.sweep_left import DEFERRED, report_deferred, settle_left
from guardian.flows.workers import PER_REGION
from guardian.model.baseline_index import DELETED, IndexEntry, current_documents
from guardian.model.baselines import trail_key
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.floor import raise_to_floor
from guardian.model.mode import ignored_tag
from guardian.model.refs import TrailRef
from guardian.model.results import iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity, Subject
from guardian.model.trail import TrailState
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian.flows.workers import Workers
    from guardian.model.changes import Change
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
LEFT = "left_to_event_path"  # a trail stopped moments ago and again since: the newest stop's (alerted HIGH)
CHANGE_CALLS = ("UpdateTrail", "PutEventSelectors", "PutInsightSelectors", "StopLogging", "DeleteTrail")


@dataclass(frozen=True)
class TrailCheck:
    region: str
    name: str
    status: str  # in_baseline, baseline_recorded, strengthened, healed, heal_failed, not_protected, retired, LEFT,
    # DEFERRED
    changes: tuple[Change, ...] = ()
    protected: TrailState | None = None  # the trail as it must be: its bucket, log group and key are checked next
    # The baseline's newest version as read (verified), for the Region's index; None if there was none to keep.
    indexed: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    stopped_at: datetime | None = field(default=None, compare=False)  # the StopLoggingTime of a trail left at first


def check_region(
    aws: Everything, config: Config, region: str, work: Workers, *, started: datetime, run: Invocation
) -> list[TrailCheck]:
    """Every trail of this account homed in ``region`` (in organization mode also the management account's
    organization trails) and every trail with a baseline there."""
    reading = work.submit(lambda: {str(t["Name"]): t for t in aws.list_trails(region)})
    listing = work.submit(lambda: baselines.listed_in(aws, region))
    index, refused = baselines.load_index(aws, region)  # the three reads go out together
    described, listed = reading.result(), listing.result()
    if refused is not None:
        report_refused(aws, config, refused, None, started=started, run=run)
    indexed = current_documents(index, listed)
    for name in sorted(set(index) - set(listed)):  # the guardian never deletes a baseline: someone else did
        marker = f"delete-marker-{started:%Y%m%dT%H%M%S}"  # one alert per deletion seen
        gone = baselines.Refused(trail_key(region, name), marker, DELETED, dict(index[name].document))
        report_refused(aws, config, gone, _ref(config, region, name, None), started=started, run=run)
        indexed[name] = index[name].document
    accounts = {config.account_id, *config.trail_accounts}
    own = {name for name, t in described.items() if _account(str(t.get("TrailARN", ""))) in accounts}
    names = sorted(own | set(listed) | set(indexed))
    arns = [str(described[name]["TrailARN"]) for name in names if name in described]
    # Submitted before the trails, so it has started before any of them waits for it (the pool takes work in order).
    tag_reads = work.submit(lambda: aws.trail_tags(region, arns) if arns else {})
    pace = Pacer(run)  # the Region's heals share CloudTrail's write quota with the event path: paced in a burst
    deferred = {name for name, entry in index.items() if entry.deferred}  # by the last sweep: restored, paced

    def one(name: str) -> TrailCheck:
        trail = described.get(name)
        found = None
        if trail is not None:
            arn = str(trail["TrailARN"])
            found = aws.trail_state_of(region, trail, lambda: tag_reads.result().get(arn, ()))
        kwargs: Any = {"indexed": indexed.get(name), "started": started, "run": run, "pace": pace}
        return check_trail(aws, config, region, name, found=found, insist=name in deferred, **kwargs)

    def again(c: TrailCheck, fresh: TrailState | None) -> TrailCheck:  # a trail left at first, as found now
        kwargs: Any = {"indexed": c.indexed, "started": started, "run": run, "pace": pace, "owned": False}
        return check_trail(aws, config, region, c.name, found=fresh, **kwargs)

    checks = settle_left(
        aws, config, work.map(one, names, limit=PER_REGION), work, started=started, run=run, again=again
    )
    marks = {c.name: iso(started) for c in checks if c.status == DEFERRED}  # for the next sweep to insist on
    entries = {
        c.name: IndexEntry(listed[c.name], c.indexed, marks.get(c.name))
        for c in checks
        if c.indexed and c.name in listed
    }
    if entries != index:
        baselines.write_index(aws, region, entries, at=run.clock())
    return checks


def check_trail(
    aws: Everything,
    config: Config,
    region: str,
    name: str,
    *,
    found: TrailState | None,
    indexed: Mapping[str, Any] | None,
    started: datetime,
    run: Invocation,
    pace: Pacer | None = None,
    owned: bool = True,
    insist: bool = False,
) -> TrailCheck:
    """Hold one trail (``found`` as read live, None if it does not exist) to its baseline (``indexed``: as the
    Region's index holds it, else read). ``owned``: a stop moments old is left to the event path (not when looking
    again); ``insist``: a restore the last sweep deferred, made paced, never deferred again."""
    checked = baselines.load_checked(aws, region, name, indexed=indexed, sentinel=config.sentinel)
    baseline = _baseline_for(aws, config, checked, _ref(config, region, name, found), found, started=started, run=run)
    if isinstance(baseline, TrailCheck):
        return baseline
    if found is None:  # CreateTrail needs the trail's bucket: bring it back first if it is gone too
        bucket = (Subject.BUCKET, baseline.s3_bucket, None)
        if baselines.load_resource(aws, Subject.BUCKET, baseline.s3_bucket, None) is not None:
            check_resource(aws, config, bucket, {baseline.arn}, started=started, run=run)
    if found is not None and ignored_tag(config.mode, found.tags):
        report_ignored_tag(aws, config, found, started=started, run=run)
    if owned and found and baseline.logging and not found.logging and event_path_owns(found.stopped_at, run.clock()):
        LOG.info("sweep: trail stopped moments ago, looked at again later", extra={"trail": found.arn})
        return TrailCheck(region, name, LEFT, protected=baseline, indexed=checked.document, stopped_at=found.stopped_at)
    try:
        with undoing(run, heal=heals_state(config, found or baseline)):  # observe: writes recorded unless it heals
            restoration = restore(aws, baseline, found, config, run, pace=pace.insisting() if pace and insist else pace)
    except LeftToEventPath as exc:  # its first write in the Region was throttled: a burst is on; alerted all the same
        LOG.warning("sweep: restore deferred", extra={"trail": baseline.arn, "why": str(exc)})
        report_deferred(aws, config, baseline, found, insisted=insist, started=started, run=run)
        return TrailCheck(region, name, DEFERRED, protected=baseline, indexed=checked.document)
    status: str | None = None
    if restoration.needed:
        actor = _actor(aws, baseline, restoration, started, run)
        result = sweep_result(restoration, account_id=config.account_id, detected_at=started, checked_at=run.clock())
        result = observed(replace(result, event=attributed(result.event, actor)), run)
        deliver(result, aws, config, run)
        if restoration.verified and (restoration.found is None or not restoration.found.logging):
            _recover(aws, config, result, restoration, actor=actor, started=started, run=run)  # after the alert
        status = "healed" if restoration.verified else "heal_failed"
        status = "observed" if result.outcome is Outcome.OBSERVED else status
        LOG.log(
            logging.INFO if restoration.verified else logging.ERROR,
            f"sweep {status}",
            extra={"trail": baseline.arn, "region": region},
        )
        if not restoration.verified:
            return TrailCheck(region, name, status, restoration.changes, restoration.target)
    kept = restoration.kept
    if kept:
        reason = f"strengthening kept: {', '.join(c.field for c in kept)}"
        baselines.record(
            aws, region, name, restoration.target, at=run.clock(), by="sweep", reason=reason, sentinel=config.sentinel
        )
        status = status or "strengthened"
    live = restoration.after or found
    if live is not None and live.delivery_error:
        report_delivery_error(aws, config, live, started=started, run=run)
    # The live digest delivery time goes with it: the trail's log files are validated against it (log_files).
    delivered = live.digest_delivered_at if live is not None else None
    target = replace(restoration.target, digest_delivered_at=delivered)
    return TrailCheck(region, name, status or "in_baseline", restoration.changes, target, indexed=checked.document)


def _baseline_for(
    aws: Everything,
    config: Config,
    checked: baselines.Checked,
    ref: TrailRef,
    found: TrailState | None,
    *,
    started: datetime,
    run: Invocation,
) -> TrailState | TrailCheck:
    """The baseline to hold the trail to, or the check's result when there is nothing to hold it to. A stored
    version that fails verification, or lies below the floor, is alerted and mended first."""
    region, name = ref.region, ref.name
    stored = checked.state
    if checked.refused is not None:
        report_refused(aws, config, checked.refused, ref, started=started, run=run)
    if checked.below_floor and isinstance(stored, TrailState):
        report_below_floor(aws, config, stored, checked.below_floor, ref, started=started, run=run)
    if checked.pending is not None and not isinstance(stored, baselines.Missing):
        settled = settle_trail(aws, config, checked.pending, stored, ref, started=started, run=run)
        if settled is Verdict.WAITING:  # an exempt change CloudTrail has not confirmed yet: left as it is, for now
            return TrailCheck(region, name, settled.value, indexed=checked.document)
        stored = baselines.load(aws, region, name, sentinel=config.sentinel)
    if isinstance(stored, baselines.Retired):
        if found is None:
            return TrailCheck(region, name, "retired", indexed=checked.document)
        stored = baselines.Missing()  # created again after an approved deletion: a new trail
    if isinstance(stored, TrailState):
        # Judged on the baseline, so removing the protection tag does not unprotect a trail.
        if config.protects(stored.name, stored.tags):
            return stored
        return TrailCheck(region, name, "not_protected", indexed=checked.document)
    if found is None:
        return TrailCheck(region, name, "retired")
    if not config.protects(found.name, found.tags):
        return TrailCheck(region, name, "not_protected")
    baseline = raise_to_floor(found, config.sentinel)  # a protected trail logs, and records management events
    first = "first seen by the sweep"
    baselines.record(aws, region, name, baseline, at=run.clock(), by="sweep", reason=first, sentinel=config.sentinel)
    return baseline if baseline != found else TrailCheck(region, name, "baseline_recorded", protected=baseline)


def _ref(config: Config, region: str, name: str, found: TrailState | None) -> TrailRef:
    arn = found.arn if found else f"arn:aws:cloudtrail:{region}:{config.account_id}:trail/{name}"
    return TrailRef(name=name, region=region, account_id=config.account_id, given=arn, arn=arn)


def sweep_result(restoration: Restoration, *, account_id: str, detected_at: datetime, checked_at: datetime) -> Result:
    """The Result of a heal the sweep made: a record of what it found, in place of a CloudTrail event."""
    target = restoration.target
    event, trail = sweep_event(
        target,
        account_id=account_id,
        detected_at=detected_at,
        details={"deleted": restoration.recreated, "changes": [c.to_json() for c in restoration.changes]},
    )
    severity = Severity.CRITICAL if restoration.recreated or not restoration.verified else SWEEP_RULE.severity
    reason = (
        "healed by sweep — the change was not seen as an event; the trail was deleted and is recreated from "
        "its baseline"
        if restoration.recreated
        else "healed by sweep — the change was not seen as an event"
    )
    decision = Decision(Action.HEAL, Outcome.HEALED, severity, reason, SWEEP_RULE, trail)
    return as_result(restoration, event, decision, severity=severity, checked_at=checked_at)


def _actor(
    aws: Everything, trail: TrailState, restoration: Restoration, started: datetime, run: Invocation
) -> dict[str, Any]:
    """Who made the change the sweep found, as CloudTrail's Event history recorded it, else ``not recorded``."""
    found = restoration.found
    names = ("DeleteTrail",) if found is None else ("StopLogging",) if not found.logging else CHANGE_CALLS
    about = (trail.name, trail.arn)
    return actor_of(aws, trail.home_region, "cloudtrail.amazonaws.com", names, about, until=started, run=run)


def _recover(
    aws: Everything,
    config: Config,
    result: Result,
    restoration: Restoration,
    *,
    actor: Mapping[str, Any],
    started: datetime,
    run: Invocation,
) -> None:
    """The trail's blind window, from the call that stopped or deleted it (else CloudTrail's StopLoggingTime, else the
    hour before the sweep), kept beside the record; a failure is logged: the heal and its alert are done."""
    at, found = actor.get("event_time"), restoration.found
    start = (
        datetime.fromisoformat(at.replace("Z", "+00:00"))
        if isinstance(at, str)
        else (found.stopped_at if found is not None else None) or started - ACTOR_LOOKBACK
    )
    try:
        recover(result, aws, config, run, start=start, multi_region=restoration.target.multi_region)
    except Exception as exc:  # noqa: BLE001 - after the alert: reported, never raised
        LOG.error("blind window not recovered", extra={"trail": restoration.target.arn, "error": describe_failure(exc)})


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""
