"""``cisAlarms``: the CIS "Monitoring" metric filters and alarms in the template, on the sentinel trail's own log
group or on the one ``cisLogGroup`` names, alarming to the guardian's topic and kept by the guardian."""

from __future__ import annotations

from typing import Any

import pytest

from infra.cis_alarms import CONTROLS, NAMESPACE, alarm_names
from tests.infra.conftest import synth_template
from tests.infra.test_template import logical_id
from tests.support import named_by, sweep_alarms

pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def cis(channels_synth: tuple[Any, Any]) -> tuple[Any, Any]:
    return channels_synth  # cisAlarms, beside the webhooks and severities (one synth for all three)


def test_every_control_has_its_filter_with_the_benchmarks_pattern(cis: tuple[Any, Any]) -> None:
    template, _ = cis
    filters = list(template.find_resources("AWS::Logs::MetricFilter").values())
    by_metric = {f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"] for f in filters}
    assert set(by_metric) == {c.slug for c in CONTROLS}
    for control in CONTROLS:
        props = by_metric[control.slug]
        assert props["FilterPattern"] == control.pattern
        assert props["MetricTransformations"][0]["MetricNamespace"] == NAMESPACE
        assert props["MetricTransformations"][0]["MetricValue"] == "1"
    assert {c.security_hub for c in CONTROLS} - {None} == {f"CloudWatch.{n}" for n in range(1, 15)}


def test_the_filters_read_the_sentinel_trails_own_log_group(cis: tuple[Any, Any]) -> None:
    template, _ = cis
    group = logical_id(template, "AWS::Logs::LogGroup", containing="Sentinel")
    [trail] = template.find_resources("AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [group, "Arn"]}
    assert trail["Properties"]["IsMultiRegionTrail"] is True
    for f in template.find_resources("AWS::Logs::MetricFilter").values():
        assert f["Properties"]["LogGroupName"] == {"Ref": group}


def test_each_alarm_notifies_the_topic_on_any_occurrence(cis: tuple[Any, Any]) -> None:
    template, _ = cis
    topic = logical_id(template, "AWS::SNS::Topic", containing="Alerts")
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == NAMESPACE
    }
    assert sorted(alarms) == sorted(alarm_names("CloudTrailGuardian"))
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": topic}]
        assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert (props["Statistic"], props["Period"], props["TreatMissingData"]) == ("Sum", 300, "notBreaching")
    assert "CloudTrailGuardian-cis-4-3-root-account-usage" in alarms
    assert alarms["CloudTrailGuardian-cis-4-3-root-account-usage"]["AlarmDescription"].startswith(
        "CIS AWS Foundations 4.3, Security Hub CloudWatch.1:"
    )


def test_the_guardian_keeps_the_cis_alarms_as_its_own(cis: tuple[Any, Any]) -> None:
    template, _ = cis
    names = alarm_names("CloudTrailGuardian")
    rules = {r["Properties"]["Name"]: r for r in template.find_resources("AWS::Events::Rule").values()}
    detail = rules["CloudTrailGuardian-guard-cloudwatch"]["Properties"]["EventPattern"]["detail"]
    by_name = next(o["requestParameters"]["alarmName"] for o in detail["$or"] if "alarmName" in o["requestParameters"])
    assert all(named_by(by_name, n) for n in names)  # self-protection
    assert sweep_alarms(template) >= set(names)  # the sweep re-enables their actions


def test_a_named_log_group_is_read_instead_and_the_sentinel_stays_out_of_cloudwatch_logs() -> None:
    template, _ = synth_template({"cisAlarms": "true", "cisLogGroup": "aws-controltower/CloudTrailLogs"})
    for f in template.find_resources("AWS::Logs::MetricFilter").values():
        assert f["Properties"]["LogGroupName"] == "aws-controltower/CloudTrailLogs"
    [trail] = template.find_resources("AWS::CloudTrail::Trail").values()
    assert "CloudWatchLogsLogGroupArn" not in trail["Properties"]


def test_off_by_default(default_synth: Any) -> None:
    template, _ = default_synth
    assert template.find_resources("AWS::Logs::MetricFilter") == {}


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"cisAlarms": "true", "sentinelTrail": "false"}, "cisAlarms needs a log group to read"),
        ({"cisAlarms": "yes please"}, "cisAlarms must be true or false"),
        ({"cisAlarms": "true", "cisLogGroup": "bad group name!"}, "cisLogGroup must be a CloudWatch Logs group name"),
    ],
)
def test_bad_cis_settings_are_named(context: dict[str, str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        synth_template(context)
