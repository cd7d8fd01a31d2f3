"""Each AWS call of the heal and restore paths failing in turn (issue 9), below botocore's retries: throttling, a 5xx,
AccessDenied, a connection error, a timeout. Lambda's own retries are played out (the first delivery and two
retries). Whatever fails, exactly one alert goes out, and the handler raises only what the docs say it raises.

The lists of calls are checked against the calls the paths really make, so a new call cannot escape the matrix.
"""

from __future__ import annotations

from typing import Any

import pytest

from guardian.entrypoints import handler
from guardian.flows.deliver import AlertNotPublished
from guardian.flows.handle_event import HealFailed
from tests.faults import KINDS, Faults
from tests.integration.conftest import TRAIL as SWEPT_TRAIL
from tests.integration.conftest import Account
from tests.integration.world import LambdaContext, World, message_of
from tests.support import load_event

HEAL_PATH = (
    "cloudtrail.StartLogging",
    "cloudtrail.GetTrailStatus",
    "iam.ListAccountAliases",
    "s3.PutObject",
    "sns.Publish",
    "s3.PutObjectTagging",
    "dynamodb.GetItem",  # the alert ledger, read where a record this call wrote may follow an alert (a retry)
    "dynamodb.PutItem",
    "dynamodb.Query",
    "dynamodb.UpdateItem",  # the publish cap's counter (guardian.flows.rate_cap): broken, the alert goes out
    # After the alert: the blind window read back (guardian.flows.blind_window), signed and kept
    "cloudtrail.DescribeTrails",
    "cloudtrail.LookupEvents",
    "kms.Sign",
    # After the alert: its copy as a Security Hub finding (guardian.flows.security_hub), with the record's SHA-256
    # read from its signature sidecar
    "securityhub.GetFindings",
    "s3.GetObject",
)
RESTORE_PATH = (
    "s3.GetObject",
    "kms.GetPublicKey",
    "cloudtrail.DescribeTrails",
    "cloudtrail.GetEventSelectors",
    "cloudtrail.GetInsightSelectors",
    "cloudtrail.ListTags",
    "cloudtrail.CreateTrail",
    "cloudtrail.StartLogging",
    "cloudtrail.PutEventSelectors",
    "cloudtrail.PutInsightSelectors",
    "cloudtrail.GetTrailStatus",
    "iam.ListAccountAliases",
    "s3.PutObject",
    "sns.Publish",
    "s3.PutObjectTagging",
    # After the alert: the record's signature (guardian.flows.record_signing), the blind window read back, the
    # Security Hub finding (its GetObject, the sidecar's SHA-256, is s3.GetObject above)
    "kms.Sign",
    "cloudtrail.LookupEvents",
    "securityhub.GetFindings",
)
# Every kind on the reads the restore starts with and on the call that recreates the trail; on the others, one kind of
# each class the flows see once botocore gives up (ClientError: AccessDenied; BotoCoreError: a timeout). Each restore
# case needs an account with signed baselines (0.8 s): all 70 would double the suite's time for no new path.
RESTORE_EVERY_KIND = ("s3.GetObject", "cloudtrail.DescribeTrails", "cloudtrail.CreateTrail")
RESTORE_CASES = [
    (operation, kind)
    for operation in RESTORE_PATH
    for kind in (KINDS if operation in RESTORE_EVERY_KIND else ("denied", "timeout"))
]
LAMBDA_ATTEMPTS = 3  # the first delivery and Lambda's two retries (retryAttempts 2)
# What botocore retries, one of each class: a throttling error (ClientError) and a connection error (BotoCoreError).
# That a 5xx and a timeout are retried too shows in the cases failing for good: six attempts each.
RETRIED = ("throttle", "connection")


def deliveries(invoke: Any, event: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Exception]]:
    """Deliver as Lambda does: again after each raise, up to three times. The last answer, and what was raised."""
    raised: list[Exception] = []
    for _ in range(LAMBDA_ATTEMPTS):
        try:
            return invoke(event), raised
        except (HealFailed, AlertNotPublished) as exc:  # the documented retry raises; anything else fails the test
            raised.append(exc)
    return None, raised


def assert_one_alert_or_sns_down(
    operation: str, alerts: list[dict[str, Any]], raised: list[Exception], event_id: str
) -> None:
    if operation == "sns.Publish":  # SNS itself down: no alert can go out; every delivery raises, naming the event
        assert alerts == []
        assert len(raised) == LAMBDA_ATTEMPTS
        assert all(isinstance(r, AlertNotPublished) and event_id in str(r) for r in raised)
        return
    assert len(alerts) == 1, [a["Subject"] for a in alerts]
    assert all(isinstance(r, HealFailed) for r in raised)  # only a failed heal is retried; the alert is not repeated
    if raised:
        assert message_of(alerts[0])["outcome"] == "heal_failed"
    if operation == "s3.PutObject":
        alert = message_of(alerts[0])
        assert (alert["severity"], alert["evidence"]["written"]) == ("CRITICAL", False)


def test_the_matrix_covers_every_call_of_both_paths(world: World, faults: Faults) -> None:
    world.invoke(load_event("stop_logging"))
    assert set(faults.requests) == set(HEAL_PATH)


def test_the_restore_matrix_covers_every_call_of_the_restore(account: Account, faults: Faults) -> None:
    account.ct().delete_trail(Name=SWEPT_TRAIL)
    faults.clear()
    handler.lambda_handler(deleted(), LambdaContext())
    assert set(faults.requests) == set(RESTORE_PATH)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation", HEAL_PATH)
def test_a_heal_call_failing_for_good_still_sends_exactly_one_alert(
    world: World, faults: Faults, operation: str, kind: str
) -> None:
    event = load_event("stop_logging")
    faults.add(operation, kind)
    _, raised = deliveries(world.invoke, event)
    faults.faults.clear()
    assert_one_alert_or_sns_down(operation, world.alerts(), raised, event["detail"]["eventID"])
    assert world.is_logging() is (operation != "cloudtrail.StartLogging")
    if kind != "denied":  # botocore's six attempts (AccessDenied is not retried); the alias's two, kept short
        assert faults.requests[operation] >= (2 if operation == "iam.ListAccountAliases" else 6)


@pytest.mark.parametrize("kind", RETRIED)
@pytest.mark.parametrize("operation", HEAL_PATH)
def test_a_heal_call_failing_once_is_retried_by_the_sdk_and_heals(
    world: World, faults: Faults, operation: str, kind: str
) -> None:
    faults.add(operation, kind, times=1)
    answer, raised = deliveries(world.invoke, load_event("stop_logging"))
    assert raised == []
    assert answer is not None
    assert (answer["outcome"], answer["steps_failed"]) == ("healed", [])
    assert faults.requests[operation] >= 2  # the first attempt failed, the SDK tried again
    assert len(world.alerts()) == 1


def deleted() -> dict[str, Any]:
    """The DeleteTrail event, delivered to a new Lambda environment: the public key is read again, as at a cold
    start (the account's first sweep, which wrote the first digest, has it cached in this process)."""
    from guardian.adapters import services  # noqa: PLC0415

    services._PUBLIC_KEYS.clear()
    event = load_event("delete_trail")
    event["detail"]["requestParameters"] = {"name": SWEPT_TRAIL}
    return event


@pytest.mark.parametrize(("operation", "kind"), RESTORE_CASES)
def test_a_restore_call_failing_for_good_still_sends_exactly_one_alert(
    account: Account, faults: Faults, operation: str, kind: str
) -> None:
    account.alerts()
    account.ct().delete_trail(Name=SWEPT_TRAIL)
    event = deleted()
    faults.add(operation, kind)
    _, raised = deliveries(lambda e: handler.lambda_handler(e, LambdaContext()), event)
    faults.clear()
    assert_one_alert_or_sns_down(operation, account.alerts(), raised, event["detail"]["eventID"])


def test_a_retry_whose_first_delivery_wrote_no_evidence_sends_no_second_alert(world: World, faults: Faults) -> None:
    """The heal fails on every delivery; the first one's evidence write fails too, so its alert is noted in the
    ledger only. Lambda's retry writes the record, finds the ledger's entry and sends nothing more (issue 21)."""
    event = load_event("stop_logging")
    faults.add("cloudtrail.StartLogging", "denied")
    faults.add("s3.PutObject", "denied", times=1)
    _, raised = deliveries(world.invoke, event)
    alerts = world.alerts()
    assert len(raised) == LAMBDA_ATTEMPTS
    assert len(alerts) == 1, [a["Subject"] for a in alerts]
    assert message_of(alerts[0])["evidence"]["written"] is False
    assert faults.requests["dynamodb.GetItem"] >= 1  # the retries read the ledger
