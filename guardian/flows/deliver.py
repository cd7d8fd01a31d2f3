"""Keep the evidence record and send the alert, exactly once per event.

Evidence is written once per event (``IfNoneMatch``), and the record is tagged with the SNS message id once the
alert is published, so a duplicate delivery re-heals harmlessly but sends no second alert; a crash between
evidence and alert leaves the record untagged, so the retry still publishes (the only case where an alert may be
sent twice).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


def deliver(result: Result, aws: Delivery, config: Config, run: Invocation) -> bool:
    """Write the evidence record once, then publish the alert unless the record's tag shows it was already sent."""
    # Imported on first use: nothing here is needed before StartLogging, so it stays off the cold-start import.
    from guardian.model.alert import build_alert  # noqa: PLC0415
    from guardian.model.evidence import ALERT_TAG, CENTRAL_TAG, evidence_key, evidence_record  # noqa: PLC0415

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
