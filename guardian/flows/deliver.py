"""Keep the evidence record and send the alert: the alert never waits on the evidence store, and goes out once.

1. The evidence record is written once (``IfNoneMatch``), within a time budget. If it cannot be written (the
   bucket's policy denies it, its key is disabled, S3 is down or slow) the alert goes out anyway, CRITICAL, saying
   why: breaking the evidence store first does not blind the alerts.
2. Sent already? A record that existed carries the message id of its alert in a tag. Where the record has no such
   tag (it could not be tagged, or not written), or was written by this call for an event old enough to be Lambda's
   retry of a delivery whose evidence write failed, the alert ledger answers: an item per evidence key in the activity
   table, signed by the guardian (an unsigned one is ignored). Where neither can be read, the alert is sent: a
   duplicate beats a lost alert.
3. The alert is published, each copy independently: the security account's copy (``centralTopicArn``) in parallel
   with the local one, never waiting on it nor skipped by it. If the local topic refuses (its policy denies the
   guardian, its key is disabled), the security account also gets a CRITICAL "alert path blocked" alert naming the
   topic and the error. If any copy is refused, :class:`AlertNotPublished` is raised, naming the event, so Lambda
   retries and the dead-letter queue keeps it; each copy is noted as it goes out, so a retry sends only what is
   still missing.
4. The record is tagged with the message id, or, where it cannot be, the ledger notes it. A failure here is logged
   and reported in the result, never raised: a published alert never turns into a dead letter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.flows.budget import evidence_budget, within
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian.flows.grouping import Plan
    from guardian.model.alert import Alert
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import AlertLedger, Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
# Lambda retries an asynchronous invocation 1 minute after it failed, then 2 (AWS-FACTS, Lambda retries); a margin for
# clock skew between CloudTrail's eventTime and the function's clock.
RETRY_AFTER_SECONDS = 45
LEDGER = "alert-ledger/"  # what a ledger entry's signature covers besides the entry: its evidence key, so named


class AlertNotPublished(RuntimeError):
    """SNS did not take the alert: raised so Lambda retries; the message names the event for the dead-letter queue."""


@dataclass(frozen=True)
class Sent:
    """What delivery did: whether this call published, the local alert's message id, and the steps that failed."""

    published: bool
    message_id: str | None
    steps_failed: tuple[str, ...] = ()
    held: bool = False  # held for its group's digest (guardian.flows.grouping), which reports the repeats
    alert: Alert | None = None  # the alert this call published, as mailed (guardian.flows.own_events)


def deliver(result: Result, aws: Delivery, config: Config, run: Invocation) -> Sent:
    """Write the evidence record once, then publish the alert unless it went out already; see the module."""
    # Imported on first use: nothing here is needed before StartLogging, so it stays off the cold-start import.
    from guardian.flows.copies import publish_copies, report_blocked  # noqa: PLC0415
    from guardian.flows.finding_batch import noted  # noqa: PLC0415 - the sweep's alerts, kept for their findings
    from guardian.flows.rate_cap import CapFull, capped  # noqa: PLC0415 - at most 5 a second to any topic
    from guardian.flows.record_signing import sign_written  # noqa: PLC0415 - a small module; KMS only after the alert
    from guardian.model.evidence import ALERT_TAG, CENTRAL_TAG, evidence_key  # noqa: PLC0415

    key = evidence_key(result)
    account = _account(aws, config)
    group = _group(result, aws, config, run)
    held = group is not None and group.holds(result, run.clock())
    written: list[dict[str, Any]] = []  # the record this call wrote, signed once its alert is out
    created, evidence_error = _write_evidence(
        result, key, aws, config, run, account=account, group=group if held else None, written=written
    )
    if held and group is not None and evidence_error is None and group.hold(result):
        LOG.info("alert held for its group's digest", extra={"evidence_key": key, "group": group.key.group_id})
        noted(result, run)
        return Sent(False, None, tuple(sign_written(key, written if created else [], aws, run)), held=True)
    failed: list[str] = []
    topics = [(ALERT_TAG, config.topic_arn)]
    if config.central_topic_arn is not None:
        topics.append((CENTRAL_TAG, config.central_topic_arn))
    retry = created is True and _may_be_a_retry(result, run)
    sent = _sent_before(key, None if retry else created, {tag for tag, _ in topics}, aws, failed)
    todo = [(tag, topic) for tag, topic in topics if tag not in sent]
    if not todo:
        LOG.info(
            "duplicate delivery: the alert went out already",
            extra={"event_id": result.event.event_id, "evidence_key": key, "message_id": sent.get(ALERT_TAG)},
        )
        return Sent(False, sent.get(ALERT_TAG), tuple(failed))
    alert = _alert(result, key, evidence_error, config, run, account=account)
    before = dict(sent)
    aws = capped(aws, config.activity_table, run)  # a copy the cap defers (CapFull) is Lambda's retry to send
    refused = publish_copies(alert, dict(todo), aws, sent)
    if ALERT_TAG in refused and config.central_topic_arn is not None and not isinstance(refused[ALERT_TAG], CapFull):
        report_blocked(result, key, alert, aws, config, run=run, account=account, sent=sent, refused=refused)
    if sent != before:  # each copy noted as it went out: a retry sends only what is still missing
        _note_sent(key, sent, created is not None, aws, failed)
    if group is not None and not refused and not group.after(result, aws, config, run, account=account):
        failed.append("group the alert's repeats")
    failed += sign_written(key, written if created else [], aws, run)  # after the alert, or its refusal
    if refused:  # the local copy first: the DLQ message names the topic the account's own team was not told by
        tag = ALERT_TAG if ALERT_TAG in refused else next(iter(refused))
        topic = dict(topics).get(tag) or config.central_topic_arn or config.topic_arn
        raise AlertNotPublished(_unpublished(result, topic, refused[tag])) from refused[tag]
    LOG.info(
        "alert published",
        extra={
            "event_id": result.event.event_id,
            "outcome": result.outcome.value,
            "severity": alert.attributes["severity"],
            "message_id": sent[ALERT_TAG],
            "evidence_key": key,
            "evidence_written": evidence_error is None,
        },
    )
    noted(result, run, alert)  # a sweep's alert: its copies, in the sweep's batch (else nothing)
    return Sent(True, sent[ALERT_TAG], tuple(failed), alert=alert)


def _account(aws: Delivery, config: Config) -> str:
    """The account as subjects name it: its id, and its alias where it can be read."""
    from guardian.model.subjects import account_label  # noqa: PLC0415

    return account_label(config.account_id, aws.account_alias())


def _write_evidence(
    result: Result,
    key: str,
    aws: Delivery,
    config: Config,
    run: Invocation,
    *,
    account: str,
    group: Plan | None = None,
    written: list[dict[str, Any]],
) -> tuple[bool | None, str | None]:
    """(created, error): True if this call wrote the record (kept in ``written``), False if it existed, None with the
    reason if neither. A record whose alert is held for its ``group``'s digest names the group (``alert_group``)."""
    from guardian.model.evidence import evidence_record  # noqa: PLC0415

    def write() -> bool:
        from guardian.model.subjects import subject  # noqa: PLC0415

        boto3_version, botocore_version = aws.sdk_versions
        record = evidence_record(
            result,
            written_at=run.clock(),
            topic_arn=config.topic_arn,
            alert_subject=subject(result, account),
            function_name=run.function_name,
            request_id=run.request_id,
            boto3_version=boto3_version,
            botocore_version=botocore_version,
        )
        if group is not None:
            record["alert_group"] = group.note()
        written.append(record)
        return aws.put_if_absent(key, record)

    try:
        return within(evidence_budget(run), write, "the evidence write"), None
    except Exception as exc:  # noqa: BLE001 - whatever broke the evidence store, the alert still goes out
        error = describe_failure(exc)
        LOG.error(
            "evidence record not written: the alert goes out without it",
            extra={"event_id": result.event.event_id, "evidence_key": key, "error": error},
        )
        return None, error


def _group(result: Result, aws: Delivery, config: Config, run: Invocation) -> Plan | None:
    """The alert's group (guardian.flows.grouping), where grouping is on."""
    if config.activity_table is None or config.alert_group_minutes <= 0:
        return None
    from guardian.flows.grouping import plan  # noqa: PLC0415 - where grouping is on

    return plan(result, aws, config, run)


def _may_be_a_retry(result: Result, run: Invocation) -> bool:
    """A record this call created may still follow an alert sent without one: a delivery whose evidence write failed
    noted its alert in the ledger only, and Lambda retries it a minute later at the earliest (then two). A record
    created for an event younger than that is a first delivery: no ledger read delays its alert."""
    at = result.event.event_time
    return at is None or (run.clock() - at).total_seconds() >= RETRY_AFTER_SECONDS


def _sent_before(key: str, created: bool | None, wanted: set[str], aws: Delivery, failed: list[str]) -> dict[str, str]:
    """The alerts already sent for this record, by tag: none for a record this call created; the record's tags for
    one that existed; the ledger where those do not show every alert sent (or, ``created`` None, where the record
    may be newer than an alert sent without it: a retry)."""
    if created is True:
        return {}  # a new record: the first delivery, no read needed
    sent: dict[str, str] = {}
    if created is False:
        try:
            sent = aws.tags(key)
        except Exception as exc:  # noqa: BLE001 - unknown means the ledger decides, or the alert is sent
            _failed("read the evidence record's tags", key, exc, failed)
        if wanted <= set(sent):
            return sent
    try:
        return {**_ledger_says(key, aws.ledger()), **sent}
    except Exception as exc:  # noqa: BLE001 - unknown means send: a duplicate beats a lost alert
        _failed("read the alert ledger", key, exc, failed)
        return sent


def _note_sent(key: str, sent: dict[str, str], tag_it: bool, aws: Delivery, failed: list[str]) -> None:
    """Note which alerts went out: on the record's tags, else (or if tagging fails) in the ledger."""
    if tag_it:
        try:
            aws.set_tags(key, dict(sent))
        except Exception as exc:  # noqa: BLE001 - after the alert: reported, never raised
            _failed("tag the evidence record", key, exc, failed)
        else:
            return
    try:
        _ledger_note(key, dict(sent), aws.ledger())
    except Exception as exc:  # noqa: BLE001 - after the alert: reported, never raised
        _failed("note the alert in the ledger", key, exc, failed)


def _ledger_says(key: str, ledger: AlertLedger) -> dict[str, str]:
    """The alerts the ledger says went out: only from an entry the guardian signed. Anyone who may write the table
    could otherwise silence an alert by writing its entry first."""
    from guardian.model import signing  # noqa: PLC0415 - the rare path

    entry = ledger.ledger_entry(key)
    if entry is None:
        return {}
    try:
        signing.verify(LEDGER + key, entry, ledger.public_key(), key_id=ledger.signing_key or "")
    except signing.SignatureError as exc:
        LOG.error(
            "alert ledger entry not signed by the guardian: ignored", extra={"evidence_key": key, "error": str(exc)}
        )
        return {}
    sent = entry.get("sent")
    return {str(k): str(v) for k, v in sent.items()} if isinstance(sent, dict) else {}


def _ledger_note(key: str, sent: dict[str, str], ledger: AlertLedger) -> None:
    """Note which alerts went out, signed by the guardian's key (as a baseline is)."""
    from guardian.model import signing  # noqa: PLC0415 - the rare path

    if ledger.signing_key is None:
        raise RuntimeError("no signing key (GUARDIAN_SIGNING_KEY_ARN): the ledger keeps only signed entries")
    entry = {"evidence_key": key, "sent": sent}
    signature = ledger.sign(signing.digest(LEDGER + key, entry))
    ledger.put_ledger_entry(key, signing.signed(entry, key_id=ledger.signing_key, signature=signature))


def _alert(
    result: Result, key: str, evidence_error: str | None, config: Config, run: Invocation, *, account: str
) -> Alert:
    """The full alert, or, if building it fails (a fault in the guardian's own code), the fallback alert."""
    from guardian.model.alert import build_alert, fallback_alert  # noqa: PLC0415

    try:
        return build_alert(
            result,
            evidence_bucket=config.evidence_bucket,
            evidence_key=key,
            function_name=run.function_name,
            evidence_error=evidence_error,
            account=account,
        )
    except Exception as exc:
        LOG.exception("the alert could not be built: sending the fallback alert", extra={"evidence_key": key})
        return fallback_alert(
            event_id=result.event.event_id,
            event_name=result.event.event_name,
            outcome=result.outcome.value,
            problem=f"building the alert failed ({describe_failure(exc)}); outcome {result.outcome.value}",
            function_name=run.function_name,
            account=account,
        )


def _failed(step: str, key: str, exc: BaseException, failed: list[str]) -> None:
    LOG.error("could not " + step, extra={"evidence_key": key, "step": step, "error": describe_failure(exc)})
    failed.append(step)


def _unpublished(result: Result, topic: str, exc: BaseException) -> str:
    """For the dead-letter queue's ErrorMessage (its first 256 bytes matter): the event first, then the error."""
    from guardian.model.safe import cut, text  # noqa: PLC0415

    e, trail = result.event, result.decision.trail
    where = f" on {cut(text(trail.name), 64)}" if trail else ""
    return (
        f"alert NOT published for {cut(text(e.event_name or 'event'), 64)} {cut(text(e.event_id), 80)}{where} "
        f"({result.outcome.value}) to {topic}: {describe_failure(exc)}"
    )
