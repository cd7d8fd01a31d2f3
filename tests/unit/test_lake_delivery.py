"""Where and when the OCSF findings go into a Security Lake custom source (guardian.model.lake_delivery), and the
stack's check of the setting (infra.security_lake) held alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from guardian.flows.lake_delivery import deliver_to_lake
from guardian.model import lake_delivery as model
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from infra import security_lake as infra_lake
from infra.errors import SettingsError

LOCATION = "s3://aws-security-data-lake-eu-west-1-abcd1234efgh/ext/cloudtrail-guardian/"
ROLE = "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-cloudtrail-guardian-eu-west-1"
SETTING = {"location": LOCATION, "roleArn": ROLE, "externalId": "guardian-7f3a"}


def target_text(**changed: Any) -> str:
    return json.dumps({**SETTING, "minutes": 5, **changed})


def test_the_target_is_read_with_the_region_from_the_lakes_bucket_name() -> None:
    target = model.parse_target(target_text())
    assert target == model.LakeTarget(
        "aws-security-data-lake-eu-west-1-abcd1234efgh", "ext/cloudtrail-guardian/", "eu-west-1", ROLE,
        "guardian-7f3a", 5,
    )  # fmt: skip
    versioned = model.parse_target(target_text(location=LOCATION + "1.0/", region="eu-west-1"))
    assert versioned.prefix == "ext/cloudtrail-guardian/1.0/"


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"location": "s3://my-bucket/findings/"}, "location must be s3://<lake bucket>/ext/<source name>/"),
        ({"roleArn": "arn:aws:iam::123456789012:user/x"}, "roleArn must be an IAM role ARN"),
        ({"externalId": "x"}, "externalId must be 2 to 1,224"),
        ({"minutes": 1}, "minutes must be a whole number from 5 to 1440"),
        ({"location": "s3://some-other-bucket/ext/s/"}, "region is missing"),
        ({"colour": "blue"}, "unknown key"),
    ],
)
def test_a_wrong_target_is_named(changed: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.parse_target(target_text(**changed))
    with pytest.raises(ValueError, match="not JSON"):
        model.parse_target("{location")


ENVIRON = {"GUARDIAN_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alerts", "GUARDIAN_EVIDENCE_BUCKET": "evidence"}
OWN = json.dumps(["CloudTrailGuardian-remediation", "CloudTrailGuardian-sweep"])


class Functions:
    """The calls the delivery makes, with the remediation function's environment; the rest refused."""

    def __init__(self, variables: dict[str, str]) -> None:
        self.variables, self.reads = variables, list[str]()

    def function_config(self, name: str) -> dict[str, Any]:
        self.reads.append(name)
        return {"Environment": {"Variables": self.variables}}

    def ocsf_folders(self, prefix: str) -> list[str]:
        return []

    def ocsf_listing(self, prefix: str, limit: int) -> list[tuple[str, datetime]]:
        raise RuntimeError("listed " + prefix)

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        raise AssertionError(key)

    def put_lake_object(self, target: model.LakeTarget, key: str, body: bytes) -> None:
        raise AssertionError(key)


def run() -> Invocation:
    return Invocation(lambda: datetime(2026, 12, 7, 12, 7, tzinfo=UTC), lambda _: None)


def test_the_setting_is_read_where_it_is_used_and_a_wrong_one_is_named() -> None:
    """The configuration keeps the text (no cold start reads it); the sweep's delivery names what is wrong."""
    assert Config.from_env(ENVIRON).security_lake is None
    wrong = Config.from_env({**ENVIRON, "GUARDIAN_SECURITY_LAKE": target_text(roleArn="nobody")})
    assert wrong.security_lake == target_text(roleArn="nobody")
    done = deliver_to_lake(Functions({}), wrong, run())
    assert done.failed == 1
    assert done.note is not None
    assert "roleArn must be an IAM role ARN" in done.note


def test_the_sweep_reads_the_setting_from_the_remediation_functions_environment() -> None:
    """The sweep's environment says ``remediation`` (near Lambda's 4 KB): read there, once a run."""
    config = Config.from_env({**ENVIRON, "GUARDIAN_SECURITY_LAKE": "remediation", "GUARDIAN_OWN_FUNCTIONS": OWN})
    calls = Functions({"GUARDIAN_SECURITY_LAKE": target_text()})
    done = deliver_to_lake(calls, config, run())
    assert calls.reads == ["CloudTrailGuardian-remediation"]
    assert done.note == "RuntimeError: listed " + model.source_prefix("eu-west-1", "123456789012", "20261207")
    for variables in ({}, {"GUARDIAN_SECURITY_LAKE": "remediation"}):
        done = deliver_to_lake(Functions(variables), config, run())
        assert done.failed == 1
        assert "the remediation function (CloudTrailGuardian-remediation) names no Security Lake" in str(done.note)


def test_windows_are_the_last_three_completed_aligned_to_the_epoch() -> None:
    now = datetime(2026, 12, 7, 12, 7, 31, tzinfo=UTC)

    def at(hour: int, minute: int) -> datetime:
        return datetime(2026, 12, 7, hour, minute, tzinfo=UTC)

    assert model.windows(now, 5) == [(at(11, 50), at(11, 55)), (at(11, 55), at(12, 0)), (at(12, 0), at(12, 5))]
    assert model.windows(at(12, 5), 5)[-1] == (at(12, 0), at(12, 5))  # a window ends when its end has come
    assert model.windows(now, 60, 1) == [(at(11, 0), at(12, 0))]


def test_the_days_listed_reach_back_over_midnight() -> None:
    spans = model.windows(datetime(2026, 12, 7, 0, 11, tzinfo=UTC), 5)  # 23:55 to 00:10
    assert model.source_days(spans) == ["20261206", "20261207"]
    assert model.source_days(model.windows(datetime(2026, 12, 7, 0, 6, tzinfo=UTC), 5, 1)) == ["20261206", "20261207"]
    assert model.source_days(model.windows(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), 5)) == ["20261207"]


def test_only_the_guardians_own_finding_keys_have_a_partition() -> None:
    key = "ocsf/detection-finding/region=eu-west-1/accountId=123456789012/eventDay=20261207/evidence-x.json"
    assert model.partition_of(key) == ("eu-west-1", "123456789012")
    assert model.source_prefix("eu-west-1", "123456789012", "20261207") == key.rsplit("/", 1)[0] + "/"
    for other in (
        "ocsf/detection-finding/region=eu-west-1/accountId=1234/eventDay=20261207/x.json",
        "ocsf/detection-finding/region=eu-west-1/accountId=123456789012/eventDay=20261207/a/b.json",
        "evidence/2026/12/07/x.json",
    ):
        assert model.partition_of(other) is None


def test_the_lake_key_is_the_findings_day_and_the_window() -> None:
    target = model.parse_target(target_text())
    moment = int(datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
    key = model.lake_key(target, "us-east-1", "123456789012", moment, datetime(2026, 12, 6, 23, 55, tzinfo=UTC))
    assert key == (
        "ext/cloudtrail-guardian/region=us-east-1/accountId=123456789012/eventDay=20261206/"
        "cloudtrail-guardian-20261206T2355Z.parquet"
    )


def test_the_stack_checks_the_setting_as_the_sweep_reads_it() -> None:
    """infra never imports guardian: its copies of the patterns are held equal here, and what it writes is read."""
    for name in ("LOCATION", "ROLE_ARN", "EXTERNAL_ID", "REGION", "LAKE_BUCKET"):
        assert getattr(infra_lake, name).pattern == getattr(model, name).pattern, name
    assert infra_lake.MIN_MINUTES == model.MIN_MINUTES
    written = infra_lake.security_lake_setting(json.dumps({**SETTING, "location": LOCATION.rstrip("/")}))
    assert written == {**SETTING, "region": "eu-west-1"}
    assert model.parse_target(json.dumps({**(written or {}), "minutes": 5})).region == "eu-west-1"
    assert infra_lake.security_lake_setting(None) is None
    assert infra_lake.security_lake_setting("") is None
    with pytest.raises(SettingsError, match=r"provider\.location"):
        infra_lake.security_lake_setting({**SETTING, "location": "s3://bucket/"})
    with pytest.raises(SettingsError, match="unknown key"):
        infra_lake.security_lake_setting({**SETTING, "minutes": 5})
    with pytest.raises(SettingsError, match="region is needed"):
        infra_lake.security_lake_setting({**SETTING, "location": "s3://my-lake/ext/src/"})
