"""The decision table: every fixture and every published record gets an asserted decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guardian.model.decide import Exemption, PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.refs import CLOUDTRAIL_SOURCE, KMS_SOURCE, LOGS_SOURCE, S3_SOURCE
from guardian.model.rules import RULES, Action, Heal, Outcome, Severity, Subject
from tests.support import (
    ACCOUNT,
    CORPUS_DIR,
    EXEMPT_PATTERN,
    GUARDIAN_ROLE_ARN,
    corpus_files,
    corpus_id,
    fixture_names,
    load_event,
    require_corpus,
)

CONTEXT = PolicyContext(account_id=ACCOUNT, self_role_arn=GUARDIAN_ROLE_ARN, exempt_principals=(EXEMPT_PATTERN,))

FIXTURE_DECISIONS = {
    "stop_logging": (Action.HEAL, Outcome.HEALED, Severity.HIGH),
    "stop_logging_console_arn": (Action.HEAL, Outcome.HEALED, Severity.HIGH),
    "stop_logging_arn_home_elsewhere": (Action.HEAL, Outcome.HEALED, Severity.HIGH),
    "stop_logging_access_denied": (Action.ALERT, Outcome.ATTEMPT_FAILED, Severity.MEDIUM),
    "stop_logging_org_trail_member": (Action.ALERT, Outcome.NOT_HEALABLE, Severity.CRITICAL),
    "stop_logging_exempt_ci": (Action.ALERT, Outcome.EXEMPT, Severity.HIGH),
    "stop_logging_by_guardian": (Action.ALERT, Outcome.OWN_ACTION, Severity.HIGH),
    "stop_logging_parameters_omitted": (Action.ALERT, Outcome.UNIDENTIFIED_TRAIL, Severity.HIGH),
    "start_logging_by_guardian": (Action.ALERT, Outcome.OWN_ACTION, Severity.INFO),
    "start_logging": (Action.ALERT, Outcome.ALERTED, Severity.LOW),
    "delete_trail": (Action.HEAL, Outcome.HEALED, Severity.HIGH),
    "update_trail": (Action.HEAL, Outcome.HEALED, Severity.HIGH),
    "put_event_selectors": (Action.HEAL, Outcome.HEALED, Severity.HIGH),
    "put_insight_selectors": (Action.HEAL, Outcome.HEALED, Severity.MEDIUM),
    "remove_tags": (Action.HEAL, Outcome.HEALED, Severity.MEDIUM),
    "add_tags": (Action.ALERT, Outcome.ALERTED, Severity.LOW),
    "create_trail": (Action.ALERT, Outcome.ALERTED, Severity.LOW),
    # Not the table's: the decision table ignores it; a watch rule alerts on it (tests/integration/test_watch_moto.py).
    "guardduty_delete_detector": (Action.IGNORE, Outcome.IGNORED, Severity.INFO),
}

_HEALED = ("heal", "healed", "HIGH")
_ALERT_HIGH = ("alert", "alerted", "HIGH")
_RESTORE_HIGH = ("heal", "healed", "HIGH")  # back to the baseline (the workflow alerts only if there is none)
_ALERT_LOW = ("alert", "alerted", "LOW")
_ATTEMPT = ("alert", "attempt_failed", "MEDIUM")
_IGNORED = ("ignore", "ignored", "INFO")
_KEY = ("heal", "healed", "CRITICAL")  # put the key back if it encrypts a trail (checked when acting)
_REJECTED = ("reject", "rejected", "INFO")
# A trail's bucket or log group: put back to its baseline (the workflow acts and alerts only if a protected trail
# delivers to it, and keeps a strengthening change such as versioning enabled or a lifecycle removed).
_BUCKET_HIGH = ("heal", "healed", "HIGH")
_BUCKET_CRITICAL = ("heal", "healed", "CRITICAL")  # deleted bucket or policy: CloudTrail can no longer deliver
_GROUP = ("heal", "healed", "HIGH")
# Reviewed by hand, record by record. KMS key, S3 and logs events are acted on only once the resource is found to
# serve a protected trail; records that are not API calls (Insights, service events, sign-in, native events) are
# rejected because the rule never sends them.
CORPUS_DECISIONS = {
    "aws-docs/cloudtrail-insight.UpdateInstanceInformation.Start.json": _REJECTED,
    "aws-docs/cloudtrail.StartLogging.console.json": _ALERT_LOW,
    "aws-docs/cloudtrail.UpdateTrail.TrailNotFoundException.json": _ATTEMPT,
    "aws-docs/eventbridge-native.kms.KMS-CMK-Deletion.json": _REJECTED,
    "aws-docs/eventbridge.s3.CreateBucket.Root.json": _IGNORED,
    "aws-docs/eventbridge.signin.ConsoleLogin.Root.json": _REJECTED,
    "aws-docs/kms.CancelKeyDeletion.json": _IGNORED,
    "aws-docs/kms.DeleteKey.AwsServiceEvent.custom-key-store.json": _REJECTED,
    "aws-docs/kms.DeleteKey.AwsServiceEvent.json": _REJECTED,
    "aws-docs/kms.DisableKey.json": _KEY,
    "aws-docs/kms.EnableKey.json": _IGNORED,
    "aws-docs/kms.PutKeyPolicy.json": _KEY,
    "aws-docs/kms.RotateKey.AwsServiceEvent.json": _REJECTED,
    "aws-docs/kms.ScheduleKeyDeletion.custom-key-store.json": _KEY,
    "aws-docs/kms.ScheduleKeyDeletion.multi-region-with-replicas.json": _KEY,
    "aws-docs/kms.ScheduleKeyDeletion.single-region.json": _KEY,
    "aws-docs/s3.DeleteBucketPolicy.json": _BUCKET_CRITICAL,
    "cloud-custodian/eventbridge.elasticloadbalancing.AddTags.json": _IGNORED,
    "elastic-integrations/cloudtrail.UpdateTrail.console.json": _RESTORE_HIGH,
    "elastic-integrations/kms.DisableKey.json": _KEY,
    "elastic-integrations/kms.ScheduleKeyDeletion.json": _KEY,
    "elastic-integrations/logs.DeleteLogGroup.json": _GROUP,
    "elastic-integrations/logs.DeleteLogStream.json": _ALERT_HIGH,  # acted on if the group serves a protected trail
    "elastic-integrations/s3.PutBucketLogging.LoggingEnabled.json": _IGNORED,
    "elastic-integrations/s3.PutBucketVersioning.Enabled.json": _BUCKET_HIGH,
    "elastic-integrations/ssm.UpdateInstanceInformation.aws-us-gov.json": _IGNORED,
    "invictus-aws-dataset/cloudtrail.CreateTrail.1.json": _ALERT_LOW,
    "invictus-aws-dataset/cloudtrail.CreateTrail.2.json": _ALERT_LOW,
    "invictus-aws-dataset/cloudtrail.DeleteTrail.1.json": _RESTORE_HIGH,
    "invictus-aws-dataset/cloudtrail.DeleteTrail.2.json": _RESTORE_HIGH,
    "invictus-aws-dataset/cloudtrail.DeleteTrail.TrailNotFoundException.json": _ATTEMPT,
    "invictus-aws-dataset/cloudtrail.PutEventSelectors.disable-management-events.json": _RESTORE_HIGH,
    "invictus-aws-dataset/cloudtrail.PutEventSelectors.restore-all-management-events.json": _RESTORE_HIGH,
    "invictus-aws-dataset/cloudtrail.StartLogging.1.json": _ALERT_LOW,
    "invictus-aws-dataset/cloudtrail.StartLogging.2.json": _ALERT_LOW,
    "invictus-aws-dataset/cloudtrail.StartLogging.TrailNotFoundException.json": _ATTEMPT,
    "invictus-aws-dataset/cloudtrail.StopLogging.TrailNotFoundException.1.json": _ATTEMPT,
    "invictus-aws-dataset/cloudtrail.StopLogging.TrailNotFoundException.2.json": _ATTEMPT,
    "invictus-aws-dataset/cloudtrail.StopLogging.TrailNotFoundException.3.json": _ATTEMPT,
    "invictus-aws-dataset/logs.CreateLogGroup.json": _IGNORED,
    "invictus-aws-dataset/logs.DeleteLogGroup.json": _GROUP,
    "invictus-aws-dataset/organizations.LeaveOrganization.AccessDenied.json": ("alert", "attempt_failed", "HIGH"),
    "invictus-aws-dataset/s3.DeleteBucket.BucketNotEmpty.json": _ATTEMPT,
    "invictus-aws-dataset/s3.DeleteBucket.trail-bucket.1.json": _BUCKET_CRITICAL,
    "invictus-aws-dataset/s3.DeleteBucket.trail-bucket.2.json": _BUCKET_CRITICAL,
    "invictus-aws-dataset/s3.DeleteBucketLifecycle.json": ("heal", "healed", "LOW"),
    "invictus-aws-dataset/s3.DeleteBucketPolicy.json": _BUCKET_CRITICAL,
    "invictus-aws-dataset/s3.GetBucketAcl.AWSService-cloudtrail.json": _IGNORED,
    "invictus-aws-dataset/s3.PutBucketLifecycle.expire-1-day.json": _BUCKET_HIGH,
    "invictus-aws-dataset/s3.PutBucketPolicy.cloudtrail-bucket-policy.1.json": _BUCKET_HIGH,
    "invictus-aws-dataset/s3.PutBucketPolicy.cloudtrail-bucket-policy.2.json": _BUCKET_HIGH,
    "invictus-aws-dataset/s3.PutBucketPolicy.external-account-access.json": _BUCKET_HIGH,
    "stratus-red-team/cloudtrail.DeleteTrail.json": _RESTORE_HIGH,
    "stratus-red-team/cloudtrail.PutEventSelectors.disable-management-events.json": _RESTORE_HIGH,
    "stratus-red-team/cloudtrail.StopLogging.json": _HEALED,
    "stratus-red-team/organizations.LeaveOrganization.AccessDenied.json": ("alert", "attempt_failed", "HIGH"),
}


def test_every_fixture_has_an_expected_decision() -> None:
    assert sorted(FIXTURE_DECISIONS) == fixture_names()


@pytest.mark.parametrize("name", sorted(FIXTURE_DECISIONS))
def test_fixture_decision(name: str) -> None:
    decision = decide(parse_event(load_event(name)), CONTEXT)
    assert (decision.action, decision.outcome, decision.severity) == FIXTURE_DECISIONS[name]


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_published_record_decision(path: Path) -> None:
    event = parse_event(json.loads(path.read_text()))
    # Each record is judged from inside the account that recorded it, as a guardian deployed there would see it.
    decision = decide(event, PolicyContext(account_id=event.account_id))
    assert (decision.action.value, decision.outcome.value, decision.severity.value) == CORPUS_DECISIONS[corpus_id(path)]


def test_every_published_record_has_a_reviewed_decision() -> None:
    require_corpus()
    assert sorted(CORPUS_DECISIONS) == sorted(corpus_id(p) for p in corpus_files())


def test_what_each_row_heals_and_every_rule_event_is_in_the_table() -> None:
    def heals(heal: Heal) -> set[str]:
        return {name for name, rule in RULES.items() if rule.heal is heal}

    assert heals(Heal.START_LOGGING) == {"StopLogging"}
    assert heals(Heal.RESTORE_BASELINE) == {
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
        "PutInsightSelectors",
        "RemoveTags",
    }
    assert heals(Heal.RESTORE_KEY) == {"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"}
    assert heals(Heal.RESTORE_RESOURCE) == {
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutBucketLifecycle",
        "DeleteBucketLifecycle",
        "PutBucketVersioning",
        "PutBucketAcl",
        "PutBucketPublicAccessBlock",
        "DeleteBucketPublicAccessBlock",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
        "DeleteBucket",
        "DeleteLogGroup",
        "PutRetentionPolicy",
        "PutTransformer",  # a transformer put on a trail's log group: taken off (review 3)
        "AssociateKmsKey",  # a key put on a trail's log group: taken off on the event (issue 20)
        "DisassociateKmsKey",
    }
    assert heals(Heal.START_INGESTION) == {"StopEventDataStoreIngestion"}
    assert heals(Heal.RESTORE_DATA_STORE) == {"DeleteEventDataStore"}
    assert heals(Heal.RESTORE_STORE_SETTINGS) == {"UpdateEventDataStore"}
    assert {name for name, rule in RULES.items() if rule.heal is None} == {
        "StartLogging",
        "CreateTrail",
        "AddTags",
        "LeaveOrganization",
        *("DeleteMetricFilter", "PutMetricFilter", "DeleteSubscriptionFilter", "PutSubscriptionFilter"),  # alerted
        *("PutBucketOwnershipControls", "PutObjectLockConfiguration"),  # alerted
        *("CreateGrant", "RetireGrant", "RevokeGrant"),  # alerted: a trail key's grants
        *("PutBucketIntelligentTieringConfiguration", "DeleteBucketIntelligentTieringConfiguration"),  # archive tiers
        *("DeleteLogStream", "PutDataProtectionPolicy", "DeleteDataProtectionPolicy"),  # alerted (issue 20 review)
        *("PutAccountPolicy", "DeleteAccountPolicy"),  # alerted: an account-wide policy may be the team's (review 3)
    }


def test_each_row_is_about_the_service_that_records_it() -> None:
    by_subject = {
        Subject.TRAIL: CLOUDTRAIL_SOURCE,
        Subject.DATA_STORE: CLOUDTRAIL_SOURCE,
        Subject.KEY: KMS_SOURCE,
        Subject.BUCKET: S3_SOURCE,
        Subject.LOG_GROUP: LOGS_SOURCE,
        Subject.LOG_POLICY: LOGS_SOURCE,
        Subject.ACCOUNT: "organizations.amazonaws.com",
    }
    for name, rule in RULES.items():
        assert rule.source == by_subject[rule.about], name
    assert {n for n, r in RULES.items() if r.scoped} == {
        n for n, r in RULES.items() if r.about in (Subject.KEY, Subject.BUCKET, Subject.LOG_GROUP, Subject.LOG_POLICY)
    }


def test_high_severity_rows_match_the_issue() -> None:
    high_or_worse = {n for n, r in RULES.items() if r.severity in (Severity.HIGH, Severity.CRITICAL)}
    assert {"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"} <= high_or_worse
    # Everything that stops logs from arriving or being kept is CRITICAL.
    assert {n for n, r in RULES.items() if r.severity is Severity.CRITICAL} == {
        "DisableKey",
        "ScheduleKeyDeletion",
        "PutKeyPolicy",
        "DeleteBucketPolicy",
        "DeleteBucket",
        "DeleteEventDataStore",
        "LeaveOrganization",
    }
    assert RULES["StartLogging"].own_severity is Severity.INFO


def test_heal_targets_the_home_region_from_the_arn() -> None:
    decision = decide(parse_event(load_event("stop_logging_arn_home_elsewhere")), CONTEXT)
    assert decision.trail is not None
    assert decision.trail.region == "us-west-2"
    assert "us-west-2" in decision.reason


def test_not_healable_alert_names_the_account_and_region_where_it_must_be_healed() -> None:
    decision = decide(parse_event(load_event("stop_logging_org_trail_member")), CONTEXT)
    assert "account 999999999999" in decision.reason
    assert "Region us-east-1" in decision.reason


def test_exemption_matches_the_session_issuer_role() -> None:
    decision = decide(parse_event(load_event("stop_logging_exempt_ci")), CONTEXT)
    assert EXEMPT_PATTERN in decision.reason
    no_exemptions = PolicyContext(account_id=ACCOUNT, self_role_arn=GUARDIAN_ROLE_ARN)
    assert decide(parse_event(load_event("stop_logging_exempt_ci")), no_exemptions).action is Action.HEAL


def test_without_a_self_role_the_guardians_own_stop_would_be_healed() -> None:
    decision = decide(parse_event(load_event("stop_logging_by_guardian")), PolicyContext(account_id=ACCOUNT))
    assert decision.action is Action.HEAL


def test_a_tamper_event_in_an_unexpected_envelope_is_still_acted_on() -> None:
    raw = load_event("stop_logging")
    raw["detail-type"] = "Something Else"
    assert decide(parse_event(raw), CONTEXT).action is Action.HEAL


def test_not_a_cloudtrail_api_call_is_rejected_with_the_detail_type() -> None:
    raw = load_event("start_logging")
    raw["detail-type"] = "AWS Console Sign In via CloudTrail"
    raw["detail"]["eventSource"] = "signin.amazonaws.com"
    decision = decide(parse_event(raw), CONTEXT)
    assert decision.action is Action.REJECT
    assert "AWS Console Sign In via CloudTrail" in decision.reason


def test_event_name_outside_the_table_is_ignored() -> None:
    raw = load_event("start_logging")
    raw["detail"]["eventName"] = "GetTrailStatus"
    decision = decide(parse_event(raw), CONTEXT)
    assert (decision.action, decision.reason) == (Action.IGNORE, "GetTrailStatus is not in the decision table")


def test_the_sweeps_own_restores_are_recognised_as_the_guardians() -> None:
    sweep_role = "arn:aws:iam::123456789012:role/CloudTrailGuardian-SweepRole"
    raw = load_event("update_trail")
    raw["detail"]["userIdentity"]["sessionContext"] = {"sessionIssuer": {"arn": sweep_role}}
    context = PolicyContext(account_id=ACCOUNT, self_role_arn=GUARDIAN_ROLE_ARN, other_guardian_roles=(sweep_role,))
    decision = decide(parse_event(raw), context)
    assert (decision.outcome, decision.severity) == (Outcome.OWN_ACTION, Severity.INFO)


@pytest.mark.parametrize(
    ("until", "outcome"),
    [
        ("2026-11-20T10:00:01Z", Outcome.EXEMPT),  # the change (10:00:00) was made while the exemption held
        ("2026-11-20T10:00:00Z", Outcome.HEALED),
    ],  # expired at the very moment of the change: ignored
)
def test_an_exemption_holds_until_its_expiry_judged_at_the_events_time(until: str, outcome: Outcome) -> None:
    moment = datetime.fromisoformat(until.replace("Z", "+00:00"))
    context = PolicyContext(account_id=ACCOUNT, exempt_principals=(Exemption(EXEMPT_PATTERN, moment),))
    decision = decide(parse_event(load_event("stop_logging_exempt_ci")), context)
    assert decision.outcome is outcome
    if outcome is Outcome.HEALED:
        assert decision.reason.endswith(
            f"; the exemption {EXEMPT_PATTERN!r} expired at 2026-11-20T10:00:00Z, so it was ignored"
        )
    else:
        assert "until 2026-11-20T10:00:01Z" in decision.reason


def test_an_exemption_still_in_force_wins_over_an_expired_one() -> None:
    expired = Exemption(EXEMPT_PATTERN, datetime(2020, 1, 1, tzinfo=UTC))
    context = PolicyContext(account_id=ACCOUNT, exempt_principals=(expired, "glob:arn:aws:iam::*:role/ci-deployer"))
    assert decide(parse_event(load_event("stop_logging_exempt_ci")), context).outcome is Outcome.EXEMPT


def test_leaving_the_organization_is_a_critical_alert_that_names_no_trail() -> None:
    corpus_record = CORPUS_DIR / "stratus-red-team" / "organizations.LeaveOrganization.AccessDenied.json"
    if not corpus_record.exists():
        pytest.skip(f"the CloudTrail corpus is not at {CORPUS_DIR}")
    raw = json.loads(corpus_record.read_text())
    del raw["errorCode"], raw["errorMessage"]  # as if it had succeeded
    event = parse_event(raw)
    decision = decide(event, PolicyContext(account_id=event.account_id))
    assert (decision.action, decision.outcome, decision.severity, decision.trail) == (
        Action.ALERT,
        Outcome.ALERTED,
        Severity.CRITICAL,
        None,
    )
    assert decision.reason == "alert only: this cannot be undone from here"


def test_a_name_from_another_service_does_not_match_a_cloudtrail_row() -> None:
    raw = load_event("stop_logging")
    raw["detail"]["eventSource"] = "organizations.amazonaws.com"
    assert decide(parse_event(raw), CONTEXT).action is Action.IGNORE


def test_organization_mode_heals_the_management_accounts_trail_and_members_escalate() -> None:
    event = parse_event(load_event("stop_logging_org_trail_member"))  # an organization trail of 999999999999
    member = decide(event, CONTEXT)
    assert (member.action, member.outcome, member.severity) == (Action.ALERT, Outcome.NOT_HEALABLE, Severity.CRITICAL)
    assert "account 999999999999" in member.reason  # the alert names the management account
    delegated = PolicyContext(account_id=ACCOUNT, self_role_arn=GUARDIAN_ROLE_ARN, trail_accounts=("999999999999",))
    healed = decide(event, delegated)
    assert (healed.action, healed.outcome) == (Action.HEAL, Outcome.HEALED)
    assert healed.trail is not None
    assert (healed.trail.account_id, healed.trail.region) == ("999999999999", "us-east-1")


def test_a_forwarded_event_is_decided_exactly_like_a_local_one() -> None:
    """EventBridge forwards an event to another Region's bus unchanged; moto's copy loses `account` and takes the
    destination `region`. The decision reads only the CloudTrail record, so all three are the same."""
    local = load_event("stop_logging_arn_home_elsewhere")
    as_aws_forwards = json.loads(json.dumps(local))
    as_moto_forwards = {k: v for k, v in local.items() if k != "account"} | {"region": "eu-central-1"}
    decisions = [decide(parse_event(e), CONTEXT) for e in (local, as_aws_forwards, as_moto_forwards)]
    assert decisions[0] == decisions[1] == decisions[2]
    assert decisions[0].trail is not None
    assert decisions[0].trail.region == "us-west-2"  # healed in the trail's home Region, wherever it arrived
    parsed = [parse_event(e) for e in (local, as_moto_forwards)]
    assert parsed[0].account_id == parsed[1].account_id == ACCOUNT  # recipientAccountId, not the envelope
