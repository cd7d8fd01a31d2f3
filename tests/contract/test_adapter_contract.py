"""Contract tests: the exact AWS requests the guardian makes, asserted with botocore's Stubber.

The handler runs end to end with stubbed clients; every request across all clients is recorded in order, so
"StartLogging is the first network call, in the trail's home Region, naming the trail" is checked literally.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.awsrequest
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.adapters.heal import HealAdapter
from guardian.entrypoints import handler, runtime
from guardian.flows.handle_event import HealFailed
from guardian.model.refs import TrailRef
from tests.support import ACCOUNT, load_event

TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:guardian-alerts"
BUCKET = "guardian-evidence"
WEST_TRAIL = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/audit-west"


class StubbedClients:
    """A ClientProvider of stubbed clients that records (service, region, operation) of every request, in order."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        self.requests: list[tuple[str, str, str]] = []

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self.clients:
            client = self.session.client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]
            client.meta.events.register(
                "before-call.*.*",
                lambda model, **_: self.requests.append((service, region, model.name)),
            )
            self.clients[key] = client
            stubber = Stubber(client)
            stubber.activate()
            self.stubbers[key] = stubber
        return self.clients[key]

    def stub(self, service: str, region: str) -> Stubber:
        self.get(service, region)
        return self.stubbers[(service, region)]

    def cloudtrail(self, region: str) -> Any:
        return self.get("cloudtrail", region)

    def cloudtrail_lookup(self, region: str) -> Any:
        return self.get("cloudtrail", region)

    def securityhub(self, region: str) -> Any:
        return self.get("securityhub", region)

    def sns(self, region: str) -> Any:
        return self.get("sns", region)

    def s3(self, region: str | None = None) -> Any:
        return self.get("s3", region or "us-east-1")

    def s3_as(self, role_arn: str, external_id: str, region: str) -> Any:
        return self.get("s3", region)

    def logs(self, region: str) -> Any:
        return self.get("logs", region)

    def events(self, region: str) -> Any:
        return self.get("events", region)

    def cloudwatch(self) -> Any:
        return self.get("cloudwatch", "us-east-1")

    def dynamodb(self) -> Any:
        return self.get("dynamodb", "us-east-1")

    def kms(self, region: str) -> Any:
        return self.get("kms", region)

    def lambda_(self, region: str) -> Any:
        return self.get("lambda", region)

    def cloudformation(self, region: str) -> Any:
        return self.get("cloudformation", region)

    def sqs(self, region: str) -> Any:
        return self.get("sqs", region)

    def config_service(self, region: str) -> Any:
        return self.get("config", region)

    def guardduty(self, region: str) -> Any:
        return self.get("guardduty", region)

    def secretsmanager(self, region: str) -> Any:
        return self.get("secretsmanager", region)

    def iam(self) -> Any:
        return self.get("iam", "us-east-1")

    def assert_all_used(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedClients]:
    monkeypatch.setenv("GUARDIAN_TOPIC_ARN", TOPIC)
    monkeypatch.setenv("GUARDIAN_EVIDENCE_BUCKET", BUCKET)
    monkeypatch.setenv("GUARDIAN_VERIFY_DELAY_SECONDS", "0")
    provider = StubbedClients()
    monkeypatch.setattr(runtime, "clients", lambda: provider)
    yield provider
    provider.assert_all_used()


def expect_heal(stubs: StubbedClients, region: str, name: str) -> None:
    started = datetime(2026, 11, 20, 10, 0, 2, tzinfo=UTC)
    stubs.stub("cloudtrail", region).add_response("start_logging", {}, {"Name": name})
    stubs.stub("cloudtrail", region).add_response(
        "get_trail_status",
        {"IsLogging": True, "StartLoggingTime": started, "LatestDeliveryTime": started},
        {"Name": name},
    )


def expect_delivery(stubs: StubbedClients, key: str, subject: str) -> None:
    """The account's alias (for the subject), the evidence record, the alert, its tag."""
    s3, sns = stubs.stub("s3", "us-east-1"), stubs.stub("sns", "us-east-1")
    stubs.stub("iam", "us-east-1").add_response(
        "list_account_aliases", {"AccountAliases": ["prod-main"], "IsTruncated": False}
    )
    s3.add_response(
        "put_object",
        {},
        {"Bucket": BUCKET, "Key": key, "Body": ANY, "ContentType": "application/json", "IfNoneMatch": "*"},
    )
    sns.add_response(
        "publish",
        {"MessageId": "m-1"},
        {"TopicArn": TOPIC, "Subject": subject, "Message": ANY, "MessageAttributes": ANY},
    )
    s3.add_response(
        "put_object_tagging",
        {},
        {"Bucket": BUCKET, "Key": key, "Tagging": {"TagSet": [{"Key": "guardian-alert-message-id", "Value": "m-1"}]}},
    )


def test_stop_logging_by_arn_heals_in_the_arns_home_region_first(stubs: StubbedClients) -> None:
    expect_heal(stubs, "us-west-2", WEST_TRAIL)
    key = "evidence/2026/11/20/0a000003-1111-4111-8111-000000000003.json"
    expect_delivery(
        stubs, key, "[HIGH] 123456789012 CloudTrail logging stopped on trail audit-west by mallory — restored in 2.0 s"
    )
    result = handler.lambda_handler(load_event("stop_logging_arn_home_elsewhere"), None)
    assert result["outcome"] == "healed"
    assert stubs.requests == [
        ("cloudtrail", "us-west-2", "StartLogging"),
        ("cloudtrail", "us-west-2", "GetTrailStatus"),
        ("iam", "us-east-1", "ListAccountAliases"),  # the account's alias, for the subject (read once an hour)
        ("s3", "us-east-1", "PutObject"),
        ("sns", "us-east-1", "Publish"),
        ("s3", "us-east-1", "PutObjectTagging"),
    ]


def test_stop_logging_by_name_heals_in_the_region_of_the_call(stubs: StubbedClients) -> None:
    expect_heal(stubs, "us-east-1", "management-trail")
    expect_delivery(
        stubs,
        "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json",
        "[HIGH] 123456789012 CloudTrail logging stopped on trail management-… by mallory — restored in 2.0 s",
    )
    handler.lambda_handler(load_event("stop_logging"), None)
    assert stubs.requests[0] == ("cloudtrail", "us-east-1", "StartLogging")


@pytest.mark.parametrize("describe_says", ["empty list", "TrailNotFoundException"])
def test_heal_failure_is_diagnosed_recorded_alerted_then_raised(stubs: StubbedClients, describe_says: str) -> None:
    ct = stubs.stub("cloudtrail", "us-east-1")
    ct.add_client_error(
        "start_logging", "TrailNotFoundException", "Unknown trail", expected_params={"Name": "management-trail"}
    )
    describe_params = {"trailNameList": ["management-trail"], "includeShadowTrails": True}
    if describe_says == "empty list":
        ct.add_response("describe_trails", {"trailList": []}, describe_params)
    else:
        ct.add_client_error(
            "describe_trails", "TrailNotFoundException", "Unknown trail", expected_params=describe_params
        )
    captured: dict[str, Any] = {}
    stubs.get("sns", "us-east-1").meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: captured.update(params)
    )
    key = "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.heal-failed.json"
    expect_delivery(
        stubs,
        key,
        "[CRITICAL] 123456789012 CloudTrail logging stopped on trail management-tr… by mallory — HEAL FAILED",
    )
    with pytest.raises(HealFailed):
        handler.lambda_handler(load_event("stop_logging"), None)
    assert [r[2] for r in stubs.requests] == [
        "StartLogging",
        "DescribeTrails",
        "ListAccountAliases",
        "PutObject",
        "Publish",
        "PutObjectTagging",
    ]
    assert "no longer exists in us-east-1" in json.loads(captured["Message"])["action"]["diagnosis"]


def test_alert_message_attributes_and_json_body(stubs: StubbedClients) -> None:
    s3, sns = stubs.stub("s3", "us-east-1"), stubs.stub("sns", "us-east-1")
    s3.add_response("put_object", {}, None)
    captured: dict[str, Any] = {}
    sns.add_response("publish", {"MessageId": "m-2"}, None)
    s3.add_response("put_object_tagging", {}, None)
    stubs.get("sns", "us-east-1").meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: captured.update(params)
    )
    handler.lambda_handler(load_event("add_tags"), None)
    assert captured["MessageAttributes"] == {
        "severity": {"DataType": "String", "StringValue": "LOW"},
        "event_name": {"DataType": "String", "StringValue": "AddTags"},
        "outcome": {"DataType": "String", "StringValue": "alerted"},
    }
    body = json.loads(captured["Message"])
    assert body["schema"] == "cloudtrail-guardian/alert"
    assert body["action"]["taken"] is None
    assert not [r for r in stubs.requests if r[0] == "cloudtrail"]


def test_duplicate_evidence_already_alerted_sends_nothing(stubs: StubbedClients) -> None:
    expect_heal(stubs, "us-east-1", "management-trail")
    stubs.stub("iam", "us-east-1").add_response("list_account_aliases", {"AccountAliases": [], "IsTruncated": False})
    s3 = stubs.stub("s3", "us-east-1")
    s3.add_client_error(
        "put_object",
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        http_status_code=412,
    )
    s3.add_response(
        "get_object_tagging",
        {"TagSet": [{"Key": "guardian-alert-message-id", "Value": "m-0"}]},
        {"Bucket": BUCKET, "Key": "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json"},
    )
    result = handler.lambda_handler(load_event("stop_logging"), None)
    assert result["alert_published"] is False
    assert [r[2] for r in stubs.requests] == [
        "StartLogging",
        "GetTrailStatus",
        "ListAccountAliases",
        "PutObject",
        "GetObjectTagging",
    ]


def test_evidence_read_errors_are_raised_not_swallowed() -> None:
    provider = StubbedClients()
    adapter = HealAdapter(provider, topic_arn=TOPIC, topic_region="us-east-1", evidence_bucket=BUCKET)
    provider.stub("s3", "us-east-1").add_client_error("get_object_tagging", "AccessDenied", "Forbidden", 403)
    with pytest.raises(ClientError, match="Forbidden"):
        adapter.tags("evidence/x.json")


class RawBody:
    """The minimum of a urllib3 response that botocore reads a body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self._body


def test_a_throttled_start_logging_is_left_to_the_guardian_and_a_5xx_is_retried_by_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CloudTrail's write quota is 1 a second: botocore's own retries of a throttled write would multiply the
    guardian's paced ones (guardian.flows.budget.quota_write), so the SDK gives a throttle back at once; any other
    transient error keeps the SDK's retries."""
    monkeypatch.setattr("random.random", lambda: 0.0)  # no jitter wait in the retry backoff
    clients = Boto3Clients()
    client = clients.cloudtrail("us-east-1")
    attempts: list[str] = []
    errors: list[str] = []

    def respond(request: botocore.awsrequest.AWSPreparedRequest, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        attempts.append(target.decode() if isinstance(target, bytes) else target)
        error = errors[len(attempts) - 1] if len(attempts) <= len(errors) else None
        body = {"throttle": b'{"__type":"ThrottlingException","message":"Rate exceeded"}', "5xx": b"{}"}
        headers = botocore.awsrequest.HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        status = {"throttle": 400, "5xx": 500}.get(error or "", 200)
        return botocore.awsrequest.AWSResponse(request.url, status, headers, RawBody(body.get(error or "", b"{}")))

    client.meta.events.register("before-send.cloudtrail.StartLogging", respond)
    adapter = HealAdapter(clients, topic_arn=TOPIC, topic_region="us-east-1", evidence_bucket=BUCKET)
    trail = TrailRef(name="management-trail", region="us-east-1", account_id=ACCOUNT, given="management-trail")
    errors = ["throttle"]
    with pytest.raises(botocore.exceptions.ClientError, match="ThrottlingException"):
        adapter.start_logging(trail)
    assert len(attempts) == 1
    attempts.clear()
    errors = ["5xx"]
    adapter.start_logging(trail)
    assert len(attempts) == 2
    assert attempts[0].endswith("StartLogging")


def test_configuration_is_read_once_and_again_only_when_the_environment_changes(
    stubs: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = runtime.config()
    assert runtime.config() is first  # parsed once while the environment stays the same
    s3, sns = stubs.stub("s3", "us-east-1"), stubs.stub("sns", "us-east-1")
    s3.add_response(
        "put_object",
        {},
        {"Bucket": "other-evidence", "Key": ANY, "Body": ANY, "ContentType": "application/json", "IfNoneMatch": "*"},
    )
    sns.add_response("publish", {"MessageId": "m-3"}, None)
    s3.add_response("put_object_tagging", {}, {"Bucket": "other-evidence", "Key": ANY, "Tagging": ANY})
    monkeypatch.setenv("GUARDIAN_EVIDENCE_BUCKET", "other-evidence")
    handler.lambda_handler(load_event("add_tags"), None)
    assert runtime.config() is not first
    assert runtime.config().evidence_bucket == "other-evidence"


def test_clients_are_kept_warm_and_renewed_when_the_endpoint_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    first = runtime.clients()
    assert runtime.clients() is first
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    renewed = runtime.clients()
    assert renewed is not first
    assert renewed.cloudtrail("us-east-1").meta.endpoint_url == "http://127.0.0.1:5999"


# -- CloudTrail Lake (moto does not model event data stores: the exact calls are asserted here) ---------------------

STORE = f"arn:aws:cloudtrail:eu-central-1:{ACCOUNT}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"


def lake_event(name: str, event_id: str) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["detail"].update(eventName=name, eventID=event_id, requestParameters={"eventDataStore": STORE})
    return event


def expect_store_status(stubs: StubbedClients, *statuses: str) -> None:
    for status in statuses:
        stubs.stub("cloudtrail", "eu-central-1").add_response(
            "get_event_data_store", {"EventDataStoreArn": STORE, "Status": status}, {"EventDataStore": STORE}
        )


def expect_any_delivery(stubs: StubbedClients) -> None:
    s3, sns = stubs.stub("s3", "us-east-1"), stubs.stub("sns", "us-east-1")
    s3.add_response("put_object", {}, None)
    sns.add_response("publish", {"MessageId": "m-lake"}, None)
    s3.add_response("put_object_tagging", {}, None)


@pytest.mark.threat("lake")
def test_stopped_lake_ingestion_is_started_in_the_stores_region(stubs: StubbedClients) -> None:
    expect_store_status(stubs, "STOPPED_INGESTION")
    stubs.stub("cloudtrail", "eu-central-1").add_response(
        "start_event_data_store_ingestion", {}, {"EventDataStore": STORE}
    )
    expect_store_status(stubs, "STARTING_INGESTION")
    expect_any_delivery(stubs)
    result = handler.lambda_handler(lake_event("StopEventDataStoreIngestion", "lake-1"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    lake_calls = [r for r in stubs.requests if r[0] == "cloudtrail"]
    assert lake_calls == [
        ("cloudtrail", "eu-central-1", "GetEventDataStore"),
        ("cloudtrail", "eu-central-1", "StartEventDataStoreIngestion"),
        ("cloudtrail", "eu-central-1", "GetEventDataStore"),
    ]


@pytest.mark.threat("lake")
def test_deleted_event_data_store_is_restored_while_pending_deletion(stubs: StubbedClients) -> None:
    expect_store_status(stubs, "PENDING_DELETION")
    stubs.stub("cloudtrail", "eu-central-1").add_response(
        "restore_event_data_store", {"EventDataStoreArn": STORE, "Status": "ENABLED"}, {"EventDataStore": STORE}
    )
    expect_store_status(stubs, "ENABLED")
    expect_any_delivery(stubs)
    result = handler.lambda_handler(lake_event("DeleteEventDataStore", "lake-2"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")


def test_a_restore_that_fails_alerts_critical_and_raises_for_retry(stubs: StubbedClients) -> None:
    expect_store_status(stubs, "PENDING_DELETION")
    stubs.stub("cloudtrail", "eu-central-1").add_client_error(
        "restore_event_data_store", "EventDataStoreMaxLimitExceededException", "too many stores"
    )
    expect_any_delivery(stubs)
    with pytest.raises(HealFailed, match="RestoreEventDataStore failed: EventDataStoreMaxLimitExceededException"):
        handler.lambda_handler(lake_event("DeleteEventDataStore", "lake-3"), None)


def test_a_store_already_ingesting_is_alerted_not_touched(stubs: StubbedClients) -> None:
    expect_store_status(stubs, "ENABLED")
    expect_any_delivery(stubs)
    result = handler.lambda_handler(lake_event("StopEventDataStoreIngestion", "lake-4"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "LOW")
    assert ("cloudtrail", "eu-central-1", "StartEventDataStoreIngestion") not in stubs.requests
