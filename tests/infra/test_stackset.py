"""`make stackset`: a self-contained template (inline code, no bootstrap, parameters) that creates the guardian in
its home Region and only a forwarder elsewhere. Deployed into moto's CloudFormation in two Regions; its inline
loader is run to prove it carries and imports the package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.errors import SettingsError
from infra.stackset import STACK_ID, build_stackset_app
from simulation.moto_server import kms_key_specs

pytestmark = [pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("stackset")
    assembly = build_stackset_app({"stackName": "CloudTrailGuardian"}, str(outdir)).synth()  # cdk-nag runs
    document: dict[str, Any] = assembly.get_stack_artifact(STACK_ID).template
    return document


def test_it_needs_no_bootstrap_and_no_asset_bucket(template: dict[str, Any]) -> None:
    text = json.dumps(template)
    assert "Rules" not in template  # no CheckBootstrapVersion
    assert "BootstrapVersion" not in template.get("Parameters", {})
    assert "cdk-hnb659fds-assets" not in text
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert sorted(f["Properties"]["Handler"] for f in functions) == ["index.lambda_handler", "index.sweep_handler"]
    assert all("ZipFile" in f["Properties"]["Code"] for f in functions)
    assert set(template["Parameters"]) == {
        "HomeRegion",
        "Regions",
        "AlertEmail",
        "ConsoleReadAccount",
        "ConsoleReaders",
    }


def test_the_guardian_is_created_in_the_home_region_and_a_forwarder_everywhere_else(template: dict[str, Any]) -> None:
    conditions = {lid: r.get("Condition") for lid, r in template["Resources"].items()}
    forwarder = {lid for lid in conditions if lid.startswith("Forwarder")}
    assert forwarder
    assert {conditions[lid] for lid in forwarder} == {"IsNotHomeRegion"}  # no topic of its own: alerts go home
    reader = {lid for lid in conditions if lid.startswith("ConsoleRead")}  # the console's role: at home, if named
    assert {conditions[lid] for lid in reader} == {"HasConsoleReader"}
    assert {conditions[lid] for lid in conditions.keys() - forwarder - reader} == {
        "IsHomeRegion",
        "IsHomeRegionWithEmail",
    }
    assert template["Outputs"]["ConsoleReadRole"]["Condition"] == "HasConsoleReader"
    assert template["Conditions"]["HasConsoleReader"] == {
        "Fn::And": [{"Condition": "IsHomeRegion"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleReadAccount"}, ""]}]}]
    }
    assert template["Conditions"]["IsHomeRegion"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "HomeRegion"}]}


def test_console_readers_narrow_the_read_roles_trust_and_empty_leaves_the_account(template: dict[str, Any]) -> None:
    [role] = [
        r for lid, r in template["Resources"].items() if lid.startswith("ConsoleRead") and r["Type"] == "AWS::IAM::Role"
    ]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {
        "Fn::If": [
            "HasConsoleReaders",
            {"ArnEquals": {"aws:PrincipalArn": {"Ref": "ConsoleReaders"}}},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert template["Parameters"]["ConsoleReaders"]["Type"] == "CommaDelimitedList"
    assert template["Conditions"]["HasConsoleReaders"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ConsoleReaders"}]}, ""]}]
    }


def inline_source(template: dict[str, Any]) -> str:
    [source] = {
        r["Properties"]["Code"]["ZipFile"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    return str(source)


def test_the_inline_loader_unpacks_and_imports_the_guardian(template: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "index.py").write_text(inline_source(template))
    probe = "import index, guardian; print(index.lambda_handler.__module__, guardian.__file__)"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert run.returncode == 0, run.stderr
    module, location = run.stdout.split()
    assert module == "guardian.entrypoints.handler"
    assert location.startswith("/tmp/cloudtrail-guardian-")  # unpacked, not this checkout's package


def stack_set_instance(template: dict[str, Any], region: str) -> list[tuple[str, str]]:
    cfn = boto3.client("cloudformation", region_name=region)
    cfn.create_stack(
        StackName="StackSet-CloudTrailGuardian-instance",
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "HomeRegion", "ParameterValue": "us-east-1"},
            {"ParameterKey": "Regions", "ParameterValue": "us-east-1,us-west-2"},
            {"ParameterKey": "AlertEmail", "ParameterValue": "soc@example.com"},
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    summaries = cfn.list_stack_resources(StackName="StackSet-CloudTrailGuardian-instance")["StackResourceSummaries"]
    return sorted((r["ResourceType"], r["LogicalResourceId"]) for r in summaries if r.get("ResourceType"))


def test_a_stack_instance_in_each_region_creates_what_its_region_needs(template: dict[str, Any]) -> None:
    with mock_aws(), kms_key_specs():
        home = stack_set_instance(template, "us-east-1")
        other = stack_set_instance(template, "us-west-2")
        print("\n".join(f"us-east-1: {t} {lid}" for t, lid in home))
        print("\n".join(f"us-west-2: {t} {lid}" for t, lid in other))
        home_types = {t for t, _ in home}
        assert {"AWS::Lambda::Function", "AWS::SNS::Topic", "AWS::S3::Bucket", "AWS::Events::Rule"} <= home_types
        assert not any(lid.startswith("Forwarder") for _, lid in home)
        not_modelled = {
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::CloudWatch::Alarm",
            "AWS::SNS::Subscription",
        }
        forwarder = {
            lid
            for lid, r in template["Resources"].items()
            if lid.startswith("Forwarder") and r["Type"] not in not_modelled  # moto's CloudFormation skips these
        }
        assert {lid for _, lid in other} == forwarder
        sweep = boto3.client("lambda", region_name="us-east-1")
        [name] = [
            f["FunctionName"] for f in sweep.list_functions()["Functions"] if f["FunctionName"].endswith("-sweep")
        ]
        variables = sweep.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        assert json.loads(variables["GUARDIAN_SWEEP_REGIONS"]) == ["us-east-1", "us-west-2"]
    # moto's CloudFormation does not create SNS subscriptions: the email one is asserted on the template.
    # One, for the guardian's topic in the home Region: a forwarder has no topic (its alerts go home, issue 23).
    subscriptions = {
        r["Condition"]: r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    }
    assert set(subscriptions) == {"IsHomeRegionWithEmail"}
    for subscription in subscriptions.values():
        assert (subscription["Protocol"], subscription["Endpoint"]) == ("email-json", {"Ref": "AlertEmail"})


def test_a_stack_name_too_long_for_the_named_buckets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="too long for a StackSet"):
        build_stackset_app({"stackName": "A" + "b" * 30}, str(tmp_path))
