"""``securityLake``: checked at synth; on, ``ocsf`` is on for both functions, the sweep alone gets the setting (its
window 5 minutes at least) and, in a policy of its own, AssumeRole on the source's provider role only, and the list
and read of ``ocsf/detection-finding/`` in the guardian's bucket; every call the sweep then makes is granted."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler, runtime, sweep
from guardian.model import lake_delivery
from infra.errors import SettingsError
from infra.settings import GuardianSettings
from tests.infra.conftest import synth_template
from tests.infra.test_iam_covers_calls import granted, recorded, uncovered  # noqa: F401 - recorded is a fixture
from tests.support import load_event

pytestmark = pytest.mark.synth
LAKE = "aws-security-data-lake-us-east-1-k3x9a7b2c4d6"
ROLE = "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-cloudtrail-guardian-us-east-1"
SETTING = {"location": f"s3://{LAKE}/ext/cloudtrail-guardian/", "roleArn": ROLE, "externalId": "ext-7f3a"}
SIDS = {"WriteAsTheCustomSourcesProviderRole", "ListOcsfFindings", "ReadOcsfFindings"}


@pytest.fixture(scope="module")
def lake_synth() -> tuple[Any, Any]:
    return synth_template({"securityLake": json.dumps(SETTING), "sweepMinutes": "2"})


def variables(template: Any, name: str) -> dict[str, Any]:
    [found] = [
        f["Properties"]["Environment"]["Variables"]
        for logical, f in template.find_resources("AWS::Lambda::Function").items()
        if name in logical
    ]
    return dict(found)


def test_the_setting_turns_ocsf_on_and_is_checked() -> None:
    on = GuardianSettings.from_context({"securityLake": SETTING}.get)
    assert on.ocsf is True
    assert on.security_lake == {**SETTING, "region": "us-east-1"}
    assert GuardianSettings.from_context(dict[str, Any]().get).security_lake is None
    with pytest.raises(SettingsError, match="securityLake roleArn"):
        GuardianSettings.from_context({"securityLake": {**SETTING, "roleArn": "AmazonSecurityLake"}}.get)


def test_the_sweep_alone_writes_into_the_lake_as_the_provider_role(lake_synth: tuple[Any, Any]) -> None:
    template, _ = lake_synth
    sweep_variables, remediation = variables(template, "Sweep"), variables(template, "Remediation")
    # The setting in the remediation function's environment (the sweep's holds near Lambda's 4 KB), read by the sweep.
    assert json.loads(remediation["GUARDIAN_SECURITY_LAKE"]) == {**SETTING, "region": "us-east-1", "minutes": 5}
    assert sweep_variables["GUARDIAN_SECURITY_LAKE"] == "remediation"
    assert remediation["GUARDIAN_OCSF"] == sweep_variables["GUARDIAN_OCSF"] == "1"
    # the sweep's role, for the provider role's trust policy (in place of the whole account)
    [sweep_role] = [lid for lid in template.find_resources("AWS::IAM::Role") if lid.startswith("SweepRole")]
    assert template.find_outputs("SweepRoleArn")["SweepRoleArn"]["Value"] == {"Fn::GetAtt": [sweep_role, "Arn"]}
    found = {
        s["Sid"]: (s, p["Properties"]["Roles"])
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") in SIDS
    }
    assert set(found) == SIDS
    assert len({json.dumps(roles) for _, roles in found.values()}) == 1  # one role: the sweep's
    assume, _ = found["WriteAsTheCustomSourcesProviderRole"]
    assert (assume["Action"], assume["Resource"]) == ("sts:AssumeRole", ROLE)
    listing, _ = found["ListOcsfFindings"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["ocsf/detection-finding/*"]}}
    reading, _ = found["ReadOcsfFindings"]
    assert reading["Action"] == "s3:GetObject"
    assert json.dumps(reading["Resource"]).endswith('"/ocsf/detection-finding/*"]]}')


def test_every_call_the_lake_copy_makes_is_granted(
    recorded: set[str],  # noqa: F811 - the fixture
    lake_synth: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template, _ = lake_synth
    boto3.client("s3").create_bucket(Bucket=LAKE)
    monkeypatch.setenv("GUARDIAN_OCSF", "1")
    monkeypatch.setenv("GUARDIAN_SECURITY_LAKE", json.dumps({**SETTING, "minutes": 5}))
    runtime.reset()
    boto3.client("cloudtrail").stop_logging(Name="management-trail")
    handler.lambda_handler(load_event("stop_logging"), None)  # its finding, in the guardian's bucket
    written = lake_delivery.windows
    monkeypatch.setattr(
        lake_delivery, "windows", lambda now, minutes, count=3: written(now + timedelta(minutes=10), minutes, count)
    )
    recorded.clear()
    summary = sweep.lambda_handler({}, None)
    assert summary["security_lake"]["objects"] == 1
    assert {"sts:AssumeRole", "s3:ListBucket", "s3:GetObject"} <= recorded
    assert uncovered(recorded, granted(template, "SweepRole")) == set()
