"""Act on a decision: heal, verify, keep evidence, alert — in that order, idempotently.

StartLogging comes first: nothing (no read, no evidence check) stands between the event and the heal.
Evidence is written once per event (``IfNoneMatch``), and the record is tagged with the SNS message id once the
alert is published, so: a duplicate delivery re-heals harmlessly but sends no second alert; a crash between
evidence and alert leaves the record untagged, so the retry still publishes (the only case where an alert may be
sent twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from guardian.errors import describe_error
from guardian.events import CloudTrailEvent, TrailRef
from guardian.logs import get_logger
from guardian.policy import Action, Decision, Heal, Outcome, Severity, Subject
from guardian.results import ActionRecord, Result, Verification, blind_window

if TYPE_CHECKING:
    from guardian.baseline import TrailState
    from guardian.bucket import BucketState
    from guardian.config import Config
    from guardian.events import KeyRef, ResourceRef
    from guardian.log_group import LogGroupState
    from guardian.resources import Guarded

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
LOG = get_logger()


class HealAws(Protocol):
    """The heal path: what StopLogging → StartLogging → verify → evidence → alert needs
    (:class:`guardian.aws.AwsAdapter`); ``full()`` gives every other call."""

    sdk_versions: tuple[str, str]

    def start_logging(self, trail: TrailRef) -> None: ...
    def trail_status(self, trail: TrailRef) -> dict[str, Any]: ...
    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None: ...
    def put_if_absent(self, key: str, document: dict[str, Any]) -> bool: ...
    def tags(self, key: str) -> dict[str, str]: ...
    def set_tags(self, key: str, tags: dict[str, str]) -> None: ...
    def publish(self, request: dict[str, Any]) -> str: ...
    def full(self) -> Aws: ...


class Aws(HealAws, Protocol):
    """Every call the workflow and the restores make (:class:`guardian.aws_full.FullAdapter`)."""

    def key_state(self, key: KeyRef) -> str: ...
    def enable_key(self, key: KeyRef) -> None: ...
    def cancel_key_deletion(self, key: KeyRef) -> None: ...
    def record_activity(self, table: str, principal: str, key: str, expires_at: int, summary: str) -> bool: ...
    def count_activity(self, table: str, principal: str, since: str, until: str) -> int: ...
    def create_trail(self, state: TrailState) -> None: ...
    def update_trail(self, state: TrailState, *, clear_prefix: bool) -> None: ...
    def put_event_selectors(self, state: TrailState) -> None: ...
    def put_insight_selectors(self, state: TrailState) -> None: ...
    def add_tags(self, state: TrailState, tags: list[tuple[str, str]]) -> None: ...
    def start_trail(self, state: TrailState) -> None: ...
    def trail_state(self, region: str, name: str) -> TrailState | None: ...
    def read_json(self, key: str) -> dict[str, Any] | None: ...
    def write_json(self, key: str, document: dict[str, Any]) -> None: ...
    def list_keys(self, prefix: str) -> list[str]: ...
    def bucket_state(self, name: str, region: str | None = None) -> BucketState: ...
    def create_bucket(self, state: BucketState) -> None: ...
    def put_bucket_policy(self, state: BucketState) -> None: ...
    def put_bucket_lifecycle(self, state: BucketState) -> None: ...
    def put_bucket_versioning(self, state: BucketState) -> None: ...
    def put_public_access_block(self, state: BucketState) -> None: ...
    def put_bucket_acl(self, state: BucketState) -> None: ...
    def log_group_state(self, region: str, name: str) -> LogGroupState: ...
    def create_log_group(self, state: LogGroupState) -> None: ...
    def put_retention(self, state: LogGroupState) -> None: ...
    def associate_log_key(self, state: LogGroupState) -> None: ...
    def data_store_status(self, store: ResourceRef) -> str: ...
    def start_ingestion(self, store: ResourceRef) -> None: ...
    def restore_data_store(self, store: ResourceRef) -> None: ...


@dataclass(frozen=True)
class Invocation:
    """What one run of a function brings besides its configuration: the time, a way to wait, and who it is."""

    clock: Clock
    sleep: Sleep
    function_name: str | None = None
    request_id: str | None = None


class HealFailed(RuntimeError):
    """Raised after the CRITICAL alert, so Lambda retries the event and the dead-letter queue keeps it."""


def handle(
    event: CloudTrailEvent, decision: Decision, aws: HealAws, config: Config, run: Invocation
) -> tuple[Result, bool]:
    """Heal if the decision says so, then record and alert. Returns the result and whether an alert was sent."""
    heal = decision.rule.heal if decision.action is Action.HEAL and decision.rule else None
    guarded: Guarded | None = None
    key_trails: list[TrailState] = []
    if decision.rule is not None and decision.rule.scoped and decision.alerts:
        scoped = _in_scope(event, decision, aws.full())
        if scoped is None:
            LOG.info(
                "event not about a protected trail's resource: ignored",
                extra={"event_id": event.event_id, "event_name": event.event_name},
            )
            return Result(event, decision, Outcome.IGNORED, Severity.INFO), False
        decision, guarded, key_trails = scoped
    result = _act(event, decision, aws, config, run, heal=heal, guarded=guarded, key_trails=key_trails)
    published = deliver(result, aws, config, run)
    if config.activity_table:
        from guardian.activity import watch_repeats  # noqa: PLC0415 - off the cold-start path

        watch_repeats(result, aws.full(), config, run)
    if result.outcome is Outcome.EXEMPT:
        _approve(event, decision, aws.full(), run, guarded)
    if result.outcome is Outcome.HEAL_FAILED:
        what = result.decision.trail.identifier if result.decision.trail else "an unidentified trail"
        raise HealFailed(f"could not undo {event.event_name} on {what}: {result.diagnosis}")
    return result, published


def _act(
    event: CloudTrailEvent,
    decision: Decision,
    aws: HealAws,
    config: Config,
    run: Invocation,
    *,
    heal: Heal | None,
    guarded: Guarded | None,
    key_trails: list[TrailState],
) -> Result:
    """The heal a row names; heavier restores are imported on first use (off the cold-start path)."""
    if heal is Heal.START_LOGGING:
        return restart_logging(event, decision, aws, config, run)
    if heal is Heal.RESTORE_KEY:
        from guardian.keys import restore_key  # noqa: PLC0415

        return restore_key(event, decision, aws.full(), config, run, trails=key_trails)
    if heal is Heal.RESTORE_BASELINE:
        from guardian.restore import restore_baseline  # noqa: PLC0415

        return restore_baseline(event, decision, aws.full(), config, run)
    if heal is Heal.RESTORE_RESOURCE and guarded is not None:
        from guardian.resources import restore_resource  # noqa: PLC0415

        return restore_resource(event, decision, aws.full(), config, run, guarded=guarded)
    if heal in (Heal.START_INGESTION, Heal.RESTORE_DATA_STORE):
        from guardian.lake import heal_data_store  # noqa: PLC0415

        return heal_data_store(event, decision, aws.full(), config, run)
    return Result(event=event, decision=decision, outcome=decision.outcome, severity=decision.severity)


def _approve(event: CloudTrailEvent, decision: Decision, aws: Aws, run: Invocation, guarded: Guarded | None) -> None:
    """An exempt principal's change is approved: the trail, bucket or log group as it is now becomes its baseline,
    so the sweep never undoes it."""
    reason = f"{event.event_name} by an exempt principal ({decision.reason})"
    by = event.actor.arn or event.actor.display
    if guarded is not None:
        from guardian.resources import approve  # noqa: PLC0415 - not on the heal path

        key = approve(aws, guarded, event, reason, run.clock())
    elif decision.trail and decision.trail.account_id in (None, event.account_id) and decision.rule:
        if decision.rule.about is not Subject.TRAIL:
            return
        from guardian import baseline_store  # noqa: PLC0415 - not on the heal path

        key = baseline_store.approve(aws, decision.trail, at=run.clock(), by=by, reason=reason)
    else:
        return
    LOG.info("baseline recorded after an exempt change", extra={"baseline_key": key, "event_id": event.event_id})


def _in_scope(
    event: CloudTrailEvent, decision: Decision, aws: Aws
) -> tuple[Decision, Guarded | None, list[TrailState]] | None:
    """For a key, bucket or log group: the decision naming the protected trail it serves, with the guarded bucket
    or log group, or the trails a key encrypts; None if it serves none (none of the guardian's business)."""
    assert decision.rule is not None
    if decision.rule.about is Subject.KEY:
        from guardian.keys import trails_protected_by  # noqa: PLC0415

        trails = trails_protected_by(aws, event.key) if event.key else []
        if not trails:
            return None
        first = trails[0]
        ref = TrailRef(first.name, first.home_region, event.key.account_id if event.key else None, first.arn, first.arn)
        return replace(decision, trail=ref), None, trails
    from guardian.resources import guarded_by_event, trail_ref  # noqa: PLC0415

    guarded = guarded_by_event(aws, event, decision.rule.about)
    if guarded is None:
        return None
    return replace(decision, trail=trail_ref(guarded)), guarded, []


def restart_logging(
    event: CloudTrailEvent, decision: Decision, aws: HealAws, config: Config, run: Invocation
) -> Result:
    trail, clock = decision.trail, run.clock
    assert trail is not None
    started = clock()
    try:
        aws.start_logging(trail)
    except (ClientError, BotoCoreError) as exc:
        code, message = describe_error(exc)
        LOG.error("StartLogging failed", extra={"trail": trail.identifier, "region": trail.region, "error_code": code})
        action = ActionRecord("StartLogging", trail.region, trail.identifier, started, clock(), False, code, message)
        return Result(
            event=event,
            decision=decision,
            outcome=Outcome.HEAL_FAILED,
            severity=Severity.CRITICAL,
            actions=(action,),
            diagnosis=diagnose(aws, trail, code, message),
        )
    action = ActionRecord("StartLogging", trail.region, trail.identifier, started, clock(), True)
    LOG.info("StartLogging succeeded", extra={"trail": trail.identifier, "region": trail.region})
    verification = verify(aws, trail, config, run)
    if not verification.is_logging:
        why = (
            f"GetTrailStatus failed: {verification.error_code}: {verification.error_message}"
            if verification.error_code
            else "StartLogging succeeded but GetTrailStatus still reports IsLogging false "
            f"after {verification.checks} checks"
        )
        return Result(
            event=event,
            decision=decision,
            outcome=Outcome.HEAL_FAILED,
            severity=Severity.CRITICAL,
            actions=(action,),
            verification=verification,
            diagnosis=why,
        )
    return Result(
        event=event,
        decision=decision,
        outcome=Outcome.HEALED,
        severity=decision.severity,
        actions=(action,),
        verification=verification,
        blind_window_seconds=blind_window(event.event_time, verification),
    )


def verify(aws: HealAws, trail: TrailRef, config: Config, run: Invocation) -> Verification:
    """GetTrailStatus until IsLogging is true, with exponential backoff, at most ``verify_attempts`` times."""
    attempts, delay, clock, sleep = config.verify_attempts, config.verify_delay_seconds, run.clock, run.sleep
    status: dict[str, Any] = {}
    for check in range(1, attempts + 1):
        try:
            status = aws.trail_status(trail)
        except (ClientError, BotoCoreError) as exc:
            code, message = describe_error(exc)
            return Verification(
                is_logging=None, checks=check, checked_at=clock(), error_code=code, error_message=message
            )
        if status.get("IsLogging"):
            return _verification(status, check, clock())
        if check < attempts:
            sleep(delay * 2 ** (check - 1))
    return _verification(status, attempts, clock())


def _verification(status: dict[str, Any], checks: int, checked_at: datetime) -> Verification:
    return Verification(
        is_logging=bool(status.get("IsLogging")),
        checks=checks,
        checked_at=checked_at,
        start_logging_time=status.get("StartLoggingTime"),
        stop_logging_time=status.get("StopLoggingTime"),
        latest_delivery_time=status.get("LatestDeliveryTime"),
        latest_delivery_error=status.get("LatestDeliveryError") or None,
    )


def diagnose(aws: HealAws, trail: TrailRef, code: str, message: str) -> str:
    """Say in words why StartLogging failed, reading the trail's state where possible (best effort)."""
    if code in ("AccessDenied", "AccessDeniedException"):
        return (
            f"{code}: the guardian's role may not call StartLogging on {trail.identifier} "
            "(a service control policy, permissions boundary or edited role?)"
        )
    try:
        described = aws.describe_trail(trail)
    except (ClientError, BotoCoreError) as exc:
        other_code, other_message = describe_error(exc)
        return f"{code}: {message} (DescribeTrails also failed: {other_code}: {other_message})"
    if described is None:
        return f"{code}: trail {trail.identifier} no longer exists in {trail.region} (deleted?)"
    home = described.get("HomeRegion")
    if home and home != trail.region:
        return f"{code}: {trail.identifier} is a shadow trail here; its home Region is {home}"
    return f"{code}: {message}"


def deliver(result: Result, aws: HealAws, config: Config, run: Invocation) -> bool:
    """Write the evidence record once, then publish the alert unless the record's tag shows it was already sent."""
    # Imported on first use: nothing here is needed before StartLogging, so it stays off the cold-start import.
    from guardian.alerts import build_alert  # noqa: PLC0415
    from guardian.evidence import ALERT_TAG, CENTRAL_TAG, evidence_key, evidence_record  # noqa: PLC0415

    key = evidence_key(result)
    alert = build_alert(
        result, evidence_bucket=config.evidence_bucket, evidence_key=key, function_name=run.function_name
    )
    boto3_version, botocore_version = aws.sdk_versions
    record = evidence_record(
        result,
        written_at=run.clock(),
        topic_arn=config.topic_arn,
        alert_subject=alert.subject,
        function_name=run.function_name,
        request_id=run.request_id,
        boto3_version=boto3_version,
        botocore_version=botocore_version,
    )
    created = aws.put_if_absent(key, record)
    central = config.central_topic_arn
    tags = {} if created else aws.tags(key)  # a new record has none: no read on the first delivery
    if ALERT_TAG in tags and (central is None or CENTRAL_TAG in tags):
        LOG.info(
            "duplicate delivery: evidence and alert already exist",
            extra={"event_id": result.event.event_id, "evidence_key": key},
        )
        return False
    if ALERT_TAG not in tags:
        tags[ALERT_TAG] = aws.publish(alert.publish_kwargs(config.topic_arn))
        aws.set_tags(key, tags)
    if central is not None and CENTRAL_TAG not in tags:
        # The security account's copy: published after the local one, and tagged separately, so a retry sends
        # whichever of the two is still missing and never the other twice.
        tags[CENTRAL_TAG] = aws.publish(alert.publish_kwargs(central))
        aws.set_tags(key, tags)
    message_id = tags[ALERT_TAG]
    LOG.info(
        "alert published",
        extra={
            "event_id": result.event.event_id,
            "outcome": result.outcome.value,
            "severity": result.severity.value,
            "message_id": message_id,
            "evidence_key": key,
        },
    )
    return True
