"""Act on a decision: heal, verify, keep evidence, alert — in that order, idempotently.

StartLogging comes first: nothing (no read, no evidence check) stands between the event and the heal.
Evidence is written once per event (``IfNoneMatch``), and the record is tagged with the SNS message id once the
alert is published, so: a duplicate delivery re-heals harmlessly but sends no second alert; a crash between
evidence and alert leaves the record untagged, so the retry still publishes (the only case where an alert may be
sent twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from guardian.errors import describe_error
from guardian.events import CloudTrailEvent, TrailRef
from guardian.logs import get_logger
from guardian.policy import Action, Decision, Heal, Outcome, Severity
from guardian.results import ActionRecord, Result, Verification, blind_window

if TYPE_CHECKING:
    from guardian.baseline import TrailState
    from guardian.config import Config
    from guardian.events import KeyRef

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
LOG = get_logger()


class Aws(Protocol):
    """What the workflow needs from AWS (implemented by :class:`guardian.aws.AwsAdapter`)."""

    sdk_versions: tuple[str, str]

    def start_logging(self, trail: TrailRef) -> None: ...
    def trail_status(self, trail: TrailRef) -> dict[str, Any]: ...
    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None: ...
    def put_if_absent(self, key: str, document: dict[str, Any]) -> bool: ...
    def key_state(self, key: KeyRef) -> str: ...
    def enable_key(self, key: KeyRef) -> None: ...
    def cancel_key_deletion(self, key: KeyRef) -> None: ...
    def record_activity(self, table: str, principal: str, key: str, expires_at: int, summary: str) -> bool: ...
    def count_activity(self, table: str, principal: str, since: str, until: str) -> int: ...
    def tag(self, key: str, name: str) -> str | None: ...
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
    def set_tag(self, key: str, name: str, value: str) -> None: ...
    def publish(self, request: dict[str, Any]) -> str: ...


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
    event: CloudTrailEvent, decision: Decision, aws: Aws, config: Config, run: Invocation
) -> tuple[Result, bool]:
    """Heal if the decision says so, then record and alert. Returns the result and whether an alert was sent."""
    heal = decision.rule.heal if decision.action is Action.HEAL and decision.rule else None
    if heal is Heal.RESTORE_KEY:
        from guardian.keys import restore_key  # noqa: PLC0415 - off the cold-start path

        result = restore_key(event, decision, aws, config, run)
        if result.outcome is Outcome.IGNORED:
            LOG.info(
                "key event not about a trail", extra={"event_id": event.event_id, "reason": result.decision.reason}
            )
            return result, False
    elif heal is Heal.RESTORE_BASELINE:
        from guardian.restore import restore_baseline  # noqa: PLC0415 - off the cold-start path

        result = restore_baseline(event, decision, aws, config, run)
    elif heal is Heal.START_LOGGING:
        result = restart_logging(event, decision, aws, config, run)
    else:
        result = Result(event=event, decision=decision, outcome=decision.outcome, severity=decision.severity)
    published = deliver(result, aws, config, run)
    if config.activity_table:
        from guardian.activity import watch_repeats  # noqa: PLC0415 - off the cold-start path

        watch_repeats(result, aws, config, run)
    if result.outcome is Outcome.EXEMPT and decision.trail and decision.trail.account_id in (None, event.account_id):
        # An exempt principal's change is approved: it becomes the baseline, so the sweep never undoes it.
        from guardian import baseline_store  # noqa: PLC0415 - not on the heal path

        key = baseline_store.approve(
            aws,
            decision.trail,
            at=run.clock(),
            by=event.actor.arn or event.actor.display,
            reason=f"{event.event_name} by an exempt principal ({decision.reason})",
        )
        LOG.info("baseline recorded after an exempt change", extra={"baseline_key": key, "event_id": event.event_id})
    if result.outcome is Outcome.HEAL_FAILED:
        raise HealFailed(
            f"could not restore logging on {decision.trail and decision.trail.identifier}: {result.diagnosis}"
        )
    return result, published


def restart_logging(event: CloudTrailEvent, decision: Decision, aws: Aws, config: Config, run: Invocation) -> Result:
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


def verify(aws: Aws, trail: TrailRef, config: Config, run: Invocation) -> Verification:
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


def diagnose(aws: Aws, trail: TrailRef, code: str, message: str) -> str:
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


def deliver(result: Result, aws: Aws, config: Config, run: Invocation) -> bool:
    """Write the evidence record once, then publish the alert unless the record's tag shows it was already sent."""
    # Imported on first use: nothing here is needed before StartLogging, so it stays off the cold-start import.
    from guardian.alerts import build_alert  # noqa: PLC0415
    from guardian.evidence import ALERT_TAG, evidence_key, evidence_record  # noqa: PLC0415

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
    if not created and aws.tag(key, ALERT_TAG):
        LOG.info(
            "duplicate delivery: evidence and alert already exist",
            extra={"event_id": result.event.event_id, "evidence_key": key},
        )
        return False
    message_id = aws.publish(alert.publish_kwargs(config.topic_arn))
    aws.set_tag(key, ALERT_TAG, message_id)
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
