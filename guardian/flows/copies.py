"""Each copy of an alert sent on its own: the account's topic and the security account's never wait on each other,
and a local topic that refuses the guardian is reported to the security account ("alert path blocked").

An insider can break the local topic (a policy that denies the guardian, a disabled key); the security account's
topic is out of their reach. So its copy goes out in parallel with the local one, whatever the local one does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian.model.alert import Alert
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


def publish_copies(alert: Alert, todo: dict[str, str], aws: Delivery, sent: dict[str, str]) -> dict[str, Exception]:
    """Publish each copy still to send (tag -> topic; the first in this thread, the others each in its own), so
    none waits on or is skipped by another. ``sent`` gains what went out; the answer is each refusal, by tag."""
    import threading  # noqa: PLC0415 - loaded already by the time budgets; kept off this module's import

    refused: dict[str, Exception] = {}

    def one(tag: str, topic: str) -> None:
        try:
            sent[tag] = aws.publish(alert.publish_kwargs(topic))
        except Exception as exc:  # noqa: BLE001 - every copy is tried; the caller raises for the refused ones
            refused[tag] = exc

    first, *rest = todo
    others = [threading.Thread(target=one, args=(tag, todo[tag]), name=f"guardian: publish {tag}") for tag in rest]
    for thread in others:
        thread.start()
    one(first, todo[first])
    for thread in others:
        thread.join()
    return refused


def report_blocked(
    result: Result,
    key: str,
    alert: Alert,
    aws: Delivery,
    config: Config,
    *,
    run: Invocation,
    account: str,
    sent: dict[str, str],
    refused: dict[str, Exception],
) -> None:
    """The local topic refused the alert (``refused``'s local entry): tell the security account, CRITICAL, naming
    the topic and the error; once per alert (``sent`` notes it), so a retry refused again does not repeat it."""
    from guardian.model.evidence import ALERT_TAG  # noqa: PLC0415 - the rare path
    from guardian.model.path_blocked import BLOCKED_TAG, blocked_alert  # noqa: PLC0415

    error = describe_failure(refused[ALERT_TAG])
    LOG.error(
        "the local alerts topic refused the alert: reporting it to the security account",
        extra={"event_id": result.event.event_id, "topic": config.topic_arn, "error": error},
    )
    if BLOCKED_TAG in sent or config.central_topic_arn is None:
        return
    notice = blocked_alert(
        topic_arn=config.topic_arn,
        error=error,
        event_id=result.event.event_id,
        event_name=result.event.event_name,
        severity=alert.attributes.get("severity", ""),
        evidence_key=key,
        function_name=run.function_name,
        account=account,
    )
    try:
        sent[BLOCKED_TAG] = aws.publish(notice.publish_kwargs(config.central_topic_arn))
    except Exception as exc:  # noqa: BLE001 - raised with the other refusals: the retry tries again
        refused[BLOCKED_TAG] = exc
