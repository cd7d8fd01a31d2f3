"""``guardian status --org`` and ``incidents --org`` over an organization in moto: three accounts in two Regions each
(moto keeps each account's state apart by the assumed role's credentials), one whose read-only role is missing,
which is named as unread, never skipped."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from moto import mock_aws

from guardian.model import iam_eval
from guardian_console import org, org_clients, org_status
from guardian_console.cli import main
from guardian_console.errors import ConsoleError
from guardian_console.status import Status
from infra.console_read import READS

REGIONS = ("us-east-1", "eu-west-1")
STACK = "CloudTrailGuardian"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def template(name: str, **outputs: str) -> str:
    """A stack of one resource (an SSM parameter: moto's CloudFormation wants one) and the guardian's outputs."""
    marker = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"{name}-marker", "Type": "String", "Value": "x"}}
    document = {"Description": org.DESCRIPTION, "Resources": {"Marker": marker}}
    return json.dumps({**document, "Outputs": {k: {"Value": v} for k, v in outputs.items()}})


@dataclass(frozen=True)
class Org:
    management: str
    healthy: str  # every trail logging
    stopped: str  # its eu-west-1 trail is not logging
    no_role: str  # its read-only role is missing: AssumeRole is denied
    closed: str  # a suspended account: not listed


def assumed(account: str, region: str) -> Any:
    sts = boto3.client("sts", region_name=region)
    arn = f"arn:aws:iam::{account}:role/{org.read_role(STACK)}"
    c = sts.assume_role(RoleArn=arn, RoleSessionName="setup")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name=region,
    )


def deploy(account: str, region: str, *, logging: bool, incident_day: str | None = None, stack: str = STACK) -> None:
    """What the console reads of a guardian, as its stack's outputs name it: the functions (their environment), the
    evidence bucket, the dead-letter queue, one protected trail."""
    session = assumed(account, region)
    iam = session.client("iam")
    role_name = f"guardian-{region}"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3 = session.client("s3")
    bucket = f"evidence-{account}-{region}"
    s3.create_bucket(Bucket=bucket, **_location(region))
    queue = session.client("sqs").create_queue(QueueName=f"{STACK}-dead-letters")["QueueUrl"]
    topic = session.client("sns").create_topic(Name=f"{STACK}-alerts")["TopicArn"]
    kms = session.client("kms")
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["Arn"]  # infra/signing_key.py's
    variables = {
        "GUARDIAN_SWEEP_REGIONS": json.dumps([region]),
        "GUARDIAN_TOPIC_ARN": topic,
        "GUARDIAN_EVIDENCE_BUCKET": bucket,
    }
    functions = {}
    for kind in ("sweep", "remediation"):
        name = f"{STACK}-{kind}"
        session.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Environment={"Variables": variables},
        )
        functions[kind] = name
    trail = f"audit-{region}"
    cloudtrail = session.client("cloudtrail")
    cloudtrail.create_trail(Name=trail, S3BucketName=bucket)
    if logging:
        cloudtrail.start_logging(Name=trail)
    outputs = {
        "EvidenceBucketName": bucket,
        "AlertsTopicArn": topic,
        "RemediationFunctionName": functions["remediation"],
        "SweepFunctionName": functions["sweep"],
        "DeadLetterQueueUrl": queue,
        "SigningKeyArn": key,
    }
    session.client("cloudformation").create_stack(StackName=stack, TemplateBody=template(stack, **outputs))
    if incident_day:
        record = _record(account, region, incident_day)
        s3.put_object(Bucket=bucket, Key=f"evidence/{incident_day[:10].replace('-', '/')}/{region}.json", Body=record)


def _location(region: str) -> dict[str, Any]:
    return {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}


def _record(account: str, region: str, time: str) -> bytes:
    return json.dumps(
        {
            "schema": "cloudtrail-guardian/evidence",
            "schema_version": "1.2",
            "outcome": "healed",
            "severity": "HIGH",
            "when": {"event_time": time},
            "written_at": time,
            "who": {"arn": f"arn:aws:iam::{account}:user/mallory"},
            "where": {"region": region, "account": account},
            "what": {"event_name": "StopLogging"},
            "trail": {"name": f"audit-{region}"},
            "actions": [{"action": "StartLogging"}],
            "verification": {"is_logging": True, "checks": 1},
            "detected_by": "event",
            "guardian": {"version": "0.1.0"},
        }
    ).encode()


def deny_assume_role(session: Any, account: str) -> None:
    """AWS answers AccessDenied when the role does not exist or does not trust the caller (moto assumes any)."""

    class Refusal:
        status_code = 403

    def before(params: dict[str, Any], **_: Any) -> Any:
        if f":{account}:" in params["body"]["RoleArn"]:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"}}
            return Refusal(), error
        return None

    session.events.register("before-call.sts.AssumeRole", before)


@pytest.fixture
def organization(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)  # no cdk.json: the accounts' Region is --region or --regions
    with mock_aws():
        orgs = boto3.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        management = boto3.client("sts").get_caller_identity()["Account"]
        ids = []
        for n in range(4):
            created = orgs.create_account(Email=f"a{n}@example.com", AccountName=f"a{n}")["CreateAccountStatus"]
            ids.append(created["AccountId"])
        healthy, stopped, no_role, closed = ids
        orgs.close_account(AccountId=closed)
        for region in REGIONS:
            deploy(healthy, region, logging=True, incident_day="2026-11-19T08:00:00Z")
            deploy(stopped, region, logging=region == "us-east-1", incident_day="2026-11-20T09:00:00Z")
        yield Org(management, healthy, stopped, no_role, closed)


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch, organization: Org) -> Any:
    """The console's own session, as org_status makes it: AssumeRole into the role-less account is denied."""
    made = boto3.session.Session

    def session(*args: Any, **kwargs: Any) -> Any:
        found = made(*args, **kwargs)
        deny_assume_role(found, organization.no_role)
        return found

    monkeypatch.setattr(boto3.session, "Session", session)
    return made(region_name="us-east-1")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args), now=NOW)
    out, err = capsys.readouterr()
    return status, out, err


def test_the_organizations_active_accounts_are_the_targets_each_in_the_regions_asked(organization: Org) -> None:
    args = _args(regions="us-east-1,eu-west-1")
    found = org.targets(args, boto3.session.Session(region_name="us-east-1"))
    accounts = sorted({organization.management, organization.healthy, organization.stopped, organization.no_role})
    assert found == [org.Target(a, r) for a in accounts for r in sorted(REGIONS)]  # the closed account is not read


def test_outside_the_management_or_a_delegated_administrator_account_listing_is_refused_naming_the_permission(
    organization: Org,
) -> None:
    member = assumed(organization.healthy, "us-east-1")  # moto lists for a member too; AWS refuses

    class Refusal:
        status_code = 400

    error = {"Error": {"Code": "AccessDeniedException", "Message": "not the management account"}}
    member.events.register("before-call.organizations.ListAccounts", lambda **_: (Refusal(), error))
    with pytest.raises(ConsoleError, match="delegated administrator account, with organizations:ListAccounts"):
        org.targets(_args(), member)


def environments(*entries: tuple[str, str]) -> list[dict[str, str]]:
    return [{"account": account, "region": region} for account, region in entries]


def write_cdk_json(*entries: tuple[str, str]) -> None:
    """The deployment's cdk.json in the working directory (the fixture's tmp_path)."""
    Path("cdk.json").write_text(json.dumps({"context": {"environments": environments(*entries)}}))


def test_accounts_from_environments_are_its_entries_each_in_its_regions_not_the_organizations(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    o = organization
    given = json.dumps(environments((o.healthy, "us-east-1"), (o.healthy, "eu-west-1"), (o.stopped, "eu-west-1")))
    write_cdk_json((o.no_role, "us-east-1"))  # -c, as given to cdk deploy, is the deployment's: not cdk.json's
    status, out, _ = run(capsys, "status", "--org", "--accounts-from", "environments", "-c", f"environments={given}")
    rows = {tuple(line.split()[:3]) for line in out.splitlines()[1:]} & {
        (a, r, c) for a in (o.healthy, o.stopped, o.no_role) for r in REGIONS for c in ("0/1", "1/1")
    }
    assert rows == {(o.healthy, "eu-west-1", "1/1"), (o.healthy, "us-east-1", "1/1"), (o.stopped, "eu-west-1", "0/1")}
    assert "2 of 2 accounts read, 0 unread" in out  # Organizations lists 4: not read
    assert status == 1


def test_cdk_json_environments_are_read_when_no_c_names_them(organization: Org) -> None:
    o = organization
    write_cdk_json((o.stopped, "eu-west-1"), (o.healthy, "us-east-1"))
    found = org.targets(_args(accounts_from="environments"), boto3.session.Session(region_name="us-east-1"))
    assert found == sorted([org.Target(o.healthy, "us-east-1"), org.Target(o.stopped, "eu-west-1")], key=str)
    wider = org.targets(_args(accounts_from="environments", regions="ap-south-1"), boto3.session.Session())
    assert wider == [org.Target(a, "ap-south-1") for a in sorted((o.healthy, o.stopped))]  # --regions: these


def refuse_list_accounts(session: Any) -> None:
    """AWS's answer to ListAccounts outside the management or a delegated administrator account."""

    class Refusal:
        status_code = 400

    error = {"Error": {"Code": "AccessDeniedException", "Message": "not the management account"}}
    session.events.register("before-call.organizations.ListAccounts", lambda **_: (Refusal(), error))


def test_where_organizations_cannot_be_read_the_accounts_of_environments_are_read_with_a_note(
    organization: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    member = assumed(organization.healthy, "us-east-1")  # a member account: AWS refuses it ListAccounts
    refuse_list_accounts(member)
    write_cdk_json((organization.healthy, "eu-west-1"), (organization.healthy, "us-east-1"))
    found, note = org.chosen(_args(), member)
    assert found == [org.Target(organization.healthy, r) for r in sorted(REGIONS)]
    assert note == (
        "accounts from environments: Organizations could not be read (cannot list the organization's accounts: "
        "AccessDeniedException (run in the management or a delegated administrator account, with "
        "organizations:ListAccounts; or pass --accounts))"
    )
    assert org.chosen(_args(accounts_from="environments"), member) == (found, None)  # asked for: no note
    with pytest.raises(ConsoleError, match="organizations:ListAccounts"):  # asked for Organizations': refused
        org.targets(_args(accounts_from="organizations"), member)


def test_the_fallback_to_environments_heads_every_org_output_and_exits_1_unless_asked_for(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """environments may be edited by the repository or CI: an account left out is neither read nor named, so the
    fallback is said in the output (not stderr alone) and the run is partial."""
    monkeypatch.setattr(org_status, "status", lambda *_, **__: Status())  # a guardian with nothing wrong
    made = boto3.session.Session

    def member(*args: Any, **kwargs: Any) -> Any:
        found = made(*args, **kwargs)
        refuse_list_accounts(found)
        return found

    monkeypatch.setattr(boto3.session, "Session", member)
    write_cdk_json((organization.healthy, "us-east-1"))
    note = "accounts from environments: Organizations could not be read (cannot list the organization's accounts"

    status, out, err = run(capsys, "status", "--org")
    assert (status, out.splitlines()[0].startswith(note), "all is well" in out) == (1, True, False)  # was 0, silent
    assert "reading those of environments" not in err
    status, out, _ = run(capsys, "status", "--org", "--json")
    assert (status, json.loads(out)["note"].startswith(note)) == (1, True)
    status, out, _ = run(capsys, "incidents", "--org", "--since", "2d")
    assert (status, out.splitlines()[0].startswith(note)) == (1, True)
    status, out, _ = run(capsys, "status", "--org", "--accounts-from", "environments")  # the operator's choice
    assert (status, out.rstrip().endswith("all is well"), note in out) == (0, True, False)


@pytest.mark.parametrize(
    ("context", "refused"),
    [
        ([], "no accounts in environments"),
        (['environments=[{"account": "1234", "region": "us-east-1"}]'], "-c environments must be a list of"),
        (["environments={"], "-c environments is not valid JSON"),
    ],
)
def test_accounts_from_environments_without_valid_entries_is_refused_naming_the_fix(
    organization: Org, context: list[str], refused: str
) -> None:
    with pytest.raises(ConsoleError, match=refused):
        org.targets(_args(accounts_from="environments", context=context), boto3.session.Session())


def test_status_org_is_one_table_with_totals_and_the_unread_account_named(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    o = organization
    accounts = f"{o.healthy},{o.stopped},{o.no_role}"
    status, out, err = run(capsys, "status", "--org", "--accounts", accounts, "--regions", ",".join(REGIONS))
    assert status == 1
    table = out.splitlines()
    assert table[0].split() == ["account", "region", "trails", "logging", "at", "baseline", "last", "sweep", "mode",
                                "problems"]  # fmt: skip
    rows = {tuple(line.split()[:3]) for line in table[1:5]}
    assert rows == {(a, r, "1/1") for a in (o.healthy,) for r in REGIONS} | {
        (o.stopped, "eu-west-1", "0/1"),
        (o.stopped, "us-east-1", "1/1"),
    }
    assert "2 of 3 accounts read, 1 unread, 2 with a problem" in out
    assert f"  - {o.stopped} eu-west-1: trail audit-eu-west-1 (eu-west-1): not logging" in out
    assert f"  - {o.no_role} eu-west-1: cannot assume arn:aws:iam::{o.no_role}:role/{STACK}-console-read" in out
    assert err == ""  # not a terminal: no progress line


def test_status_org_json_has_every_account_totals_and_unread(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    o = organization
    status, out, _ = run(capsys, "status", "--org", "--json", "--accounts", f"{o.healthy},{o.no_role}")
    document = json.loads(out)
    assert status == 1
    assert [(a["account"], a["region"]) for a in document["accounts"]] == [(o.healthy, "us-east-1")]
    assert document["totals"] == {"accounts": 2, "accounts_read": 1, "accounts_with_a_problem": 1,
                                  "accounts_unread": 1}  # fmt: skip
    assert document["unread"] == [{"account": o.no_role, "region": "us-east-1", "why": document["unread"][0]["why"]}]
    assert "AccessDenied" in document["unread"][0]["why"]


def test_an_account_without_the_stack_is_unread_with_why(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "status", "--org", "--json", "--accounts", organization.management)
    assert status == 1
    [unread] = json.loads(out)["unread"]
    assert unread["account"] == organization.management
    assert f"stack {STACK} not found in us-east-1" in unread["why"]


def test_incidents_org_merges_every_accounts_newest_first_with_the_account(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    o = organization
    accounts = f"{o.healthy},{o.stopped},{o.no_role}"
    status, out, _ = run(
        capsys, "incidents", "--org", "--since", "7d", "--accounts", accounts, "--regions", "eu-west-1,us-east-1"
    )
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["time", "account", "region"]
    assert [tuple(line.split()[:3]) for line in lines[1:5]] == [
        ("2026-11-20T09:00:00Z", o.stopped, "eu-west-1"),
        ("2026-11-20T09:00:00Z", o.stopped, "us-east-1"),
        ("2026-11-19T08:00:00Z", o.healthy, "eu-west-1"),
        ("2026-11-19T08:00:00Z", o.healthy, "us-east-1"),
    ]
    assert "2 of 3 accounts read, 1 unread" in out
    assert status == 1  # an account unread


def test_progress_is_one_rewritten_line_on_a_terminal_only(organization: Org, base: Any) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    o = organization
    targets = [org.Target(a, "us-east-1") for a in (o.healthy, o.stopped, o.no_role)]
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        run_ = org.over_org(targets, lambda a: a.deployed.account, role="r", base_session=base, progress=stream)
        assert [v for _, v in run_.results] == sorted([o.healthy, o.stopped])
    assert terminal.getvalue().endswith("\r3/3 accounts read, 1 unread\n")
    assert "\n" not in terminal.getvalue()[:-1]
    assert pipe.getvalue() == ""


def test_the_role_is_assumed_once_per_account_across_its_regions(organization: Org, base: Any) -> None:
    calls: list[str] = []
    base.events.register("before-call.sts.AssumeRole", lambda params, **_: calls.append(params["body"]["RoleArn"]))
    targets = [org.Target(organization.healthy, r) for r in REGIONS]
    found = org.over_org(targets, lambda a: a.deployed.region, role="r", base_session=base, workers=2)
    assert [v for _, v in found.results] == sorted(REGIONS)
    assert len(calls) == 1


def _args(**given: Any) -> Any:
    import argparse  # noqa: PLC0415

    defaults = {"accounts": None, "regions": None, "region": None, "stack": STACK}
    return argparse.Namespace(**{**defaults, **given})


NO_PERMISSION = {"sts:GetCallerIdentity"}  # AWS answers it to anyone
SECURITY = "999988887777"
PERIOD = ("--from", "2026-11-19", "--to", "2026-11-20")


@pytest.fixture(scope="module")
def read_role() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The read role's policy statements and the template's outputs, as synthesized (intrinsics unresolved)."""
    from tests.infra.conftest import synth_template  # noqa: PLC0415 - jsii: only for the tests that need it

    central = f"arn:aws:sns:us-east-1:{SECURITY}:central"
    document = synth_template({"securityAccount": SECURITY, "centralTopicArn": central})[0].to_json()
    resources = document["Resources"]
    [role] = [k for k, r in resources.items() if r["Properties"].get("RoleName") == org.read_role(STACK)]
    statements = [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    return statements, {k: v["Value"] for k, v in document["Outputs"].items()}


def resolved(value: Any, names: dict[str, str]) -> Any:
    """``value`` with Ref, Fn::GetAtt and Fn::Join resolved from ``names`` (a name not there: KeyError, named)."""
    if isinstance(value, list):
        return [resolved(v, names) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return names[value["Ref"]]
    if "Fn::GetAtt" in value:
        return names[".".join(value["Fn::GetAtt"])]
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolved(p, names) for p in parts)
    return {k: resolved(v, names) for k, v in value.items()}


def stack_names(outputs: dict[str, Any], account: str, region: str) -> dict[str, str]:
    """What the template's references are in the fixture's stack of ``account`` and ``region``: its pseudo
    parameters, and the resources its outputs name (the evidence bucket, signing key and dead-letter queue)."""
    cloudformation = assumed(account, region).client("cloudformation")
    [stack] = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    deployed = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    queue = deployed["DeadLetterQueueUrl"].rsplit("/", 1)[1]
    return {
        "AWS::Partition": "aws",
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackId": stack["StackId"],
        "AWS::StackName": STACK,
        outputs["EvidenceBucketName"]["Ref"] + ".Arn": f"arn:aws:s3:::{deployed['EvidenceBucketName']}",
        ".".join(outputs["SigningKeyArn"]["Fn::GetAtt"]): deployed["SigningKeyArn"],
        outputs["DeadLetterQueueUrl"]["Ref"] + ".Arn": f"arn:aws:sqs:{region}:{account}:{queue}",
    }


Call = tuple[str, str, str, str, str, dict[str, Any]]  # account, the stack's Region, the client's, service, ...


def iam_requests(call: Call, stack_ids: dict[str, str]) -> list[tuple[str, str]]:
    """The IAM action and resources AWS authorizes a call as (the Service Authorization Reference); an unknown call
    fails the test, so that none is allowed unexamined."""
    account, _, region, service, operation, params = call
    bucket = f"arn:aws:s3:::{params.get('Bucket')}"
    arn = f"{region}:{account}"
    trail = str(params.get("Name") or params.get("TrailName") or (params.get("ResourceIdList") or [""])[0])
    alarms = params.get("AlarmNames") or [str(params.get("AlarmNamePrefix", "")) + "*"]
    found = {
        ("cloudformation", "DescribeStacks"): stack_ids.get(str(params.get("StackName"))),
        ("cloudformation", "GetTemplate"): stack_ids.get(str(params.get("StackName"))),
        ("cloudformation", "ListStacks"): "*",
        ("lambda", "GetFunctionConfiguration"): f"arn:aws:lambda:{arn}:function:{params.get('FunctionName')}",
        ("s3", "ListObjectsV2"): bucket,
        ("s3", "ListObjectVersions"): bucket,
        ("s3", "GetObjectLockConfiguration"): bucket,
        ("s3", "GetObject"): f"{bucket}/{params.get('Key')}",
        ("s3", "HeadObject"): f"{bucket}/{params.get('Key')}",
        ("s3", "GetObjectRetention"): f"{bucket}/{params.get('Key')}",
        ("kms", "GetPublicKey"): str(params.get("KeyId")),
        ("cloudwatch", "GetMetricStatistics"): "*",
        ("cloudwatch", "DescribeAlarms"): [f"arn:aws:cloudwatch:{arn}:alarm:{a}" for a in alarms],
        ("sqs", "GetQueueAttributes"): f"arn:aws:sqs:{arn}:{str(params.get('QueueUrl')).rsplit('/', 1)[-1]}",
        ("cloudtrail", "DescribeTrails"): "*",
        ("cloudtrail", "GetTrailStatus"): trail
        if trail.startswith("arn:")
        else f"arn:aws:cloudtrail:{arn}:trail/{trail}",
        ("eventbridge", "ListRules"): f"arn:aws:events:{arn}:rule/*",
        ("eventbridge", "DescribeRule"): f"arn:aws:events:{arn}:rule/{params.get('Name')}",
        ("eventbridge", "ListTargetsByRule"): f"arn:aws:events:{arn}:rule/{params.get('Rule')}",
        ("securityhub", "DescribeHub"): str(params.get("HubArn") or f"arn:aws:securityhub:{arn}:hub/default"),
    }
    for same in ("GetEventSelectors", "GetInsightSelectors", "ListTags"):
        found[("cloudtrail", same)] = found[("cloudtrail", "GetTrailStatus")]
    assert found.get((service, operation)), f"no IAM resource known for {service}:{operation} {params}: add it"
    versioned = service == "s3" and operation in ("GetObject", "HeadObject") and params.get("VersionId")
    actions = {"ListObjectsV2": "ListBucket", "ListObjectVersions": "ListBucketVersions", "HeadObject": "GetObject",
               "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration"}  # fmt: skip
    action = "GetObjectVersion" if versioned else actions.get(operation, operation) if service == "s3" else operation
    prefix = {"eventbridge": "events"}.get(service, service)
    resources = found[(service, operation)]
    return [(f"{prefix}:{action}", str(r)) for r in (resources if isinstance(resources, list) else [resources])]


def calls_through_the_role(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every call made with the role's credentials: (account, the stack's Region, the client's, service, operation,
    parameters)."""
    calls: list[Call] = []
    accounts: dict[str, str] = {}
    made = org_clients.TargetSession.client

    def client(session: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        found = made(session, service, *args, **kwargs)
        if getattr(found, "_recorded", False):
            return found
        key = session._keys["aws_access_key_id"]
        if key not in accounts:  # moto names the assumed role's account to its credentials
            accounts[key] = boto3.client("sts", region_name="us-east-1", **session._keys).get_caller_identity()[
                "Account"
            ]
        where = (accounts[key], session.region_name, found.meta.region_name)

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((*where, model.service_model.service_id.hyphenize(), model.name, dict(params)))

        found.meta.events.register("before-parameter-build.*.*", record)
        found._recorded = True
        return found

    monkeypatch.setattr(org_clients.TargetSession, "client", client)
    return calls


@pytest.mark.synth
def test_the_read_roles_policy_allows_every_call_each_org_command_makes_through_it(
    organization: Org,
    base: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    read_role: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    """status, incidents, report and verify --org, each call through the role checked against the role's policy in
    the synthesized template, its references resolved to the fixture's stack, for the call's resource."""
    calls = calls_through_the_role(monkeypatch)
    o, regions = organization, ",".join(REGIONS)
    accounts = ("--accounts", f"{o.healthy},{o.stopped}", "--regions", regions)
    for command in (("status",), ("incidents",), ("report", *PERIOD, "--format", "json"), ("verify", *PERIOD)):
        _, out, err = run(capsys, command[0], "--org", *accounts, *command[1:])
        assert "NOT READ" not in out, err
        assert '"unread": []' in out if command[0] == "report" else "2 of 2 accounts read" in out
    statements, outputs = read_role
    targets = {(a, r) for a in (o.healthy, o.stopped) for r in REGIONS}
    names = {t: stack_names(outputs, *t) for t in targets}
    stack_ids = {STACK: "*"} | {n["AWS::StackId"]: n["AWS::StackId"] for n in names.values()}
    refused = []
    checked = [c for c in calls if f"{c[3]}:{c[4]}" not in NO_PERMISSION]
    for call in checked:
        account, region = call[:2]
        policy = resolved(statements, names[(account, region)])
        principal = f"arn:aws:iam::{account}:role/{org.read_role(STACK)}"
        for action, resource in iam_requests(call, stack_ids | {STACK: names[(account, region)]["AWS::StackId"]}):
            if not iam_eval.allowed(policy, iam_eval.Request(principal, action, resource)):
                refused.append(f"{action} on {resource}")
    wanted = {"DescribeStacks", "GetTrailStatus", "GetObject", "GetPublicKey", "ListObjectVersions", "GetTemplate",
              "GetObjectLockConfiguration"}  # fmt: skip  # report's and verify's reads among them
    assert wanted <= {operation for *_, operation, _ in calls}
    assert sorted(set(refused)) == []
    assert {a for c in checked for a, _ in iam_requests(c, {STACK: "*"})} <= set(READS)


def test_all_well_everywhere_is_exit_0_and_says_so(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(org_status, "status", lambda *_, **__: Status())  # a guardian with nothing wrong
    o = organization
    status, out, _ = run(capsys, "status", "--org", "--accounts", f"{o.healthy},{o.stopped}")
    assert status == 0
    assert out.rstrip().endswith("2 of 2 accounts read, 0 unread\n\nall is well")


def test_a_stackset_instance_is_found_by_its_template_and_two_are_refused_named(organization: Org, base: Any) -> None:
    o = organization
    deploy(o.management, "us-east-1", logging=True, stack="StackSet-guardian-0a1b2c3d")  # StackSet-<set>-<id>
    targets = [org.Target(o.management, "us-east-1")]

    def stacks() -> org.OrgRun[str]:
        return org.over_org(targets, lambda a: a.deployed.stack, role="r", base_session=base)

    assert [v for _, v in stacks().results] == ["StackSet-guardian-0a1b2c3d"]
    cloudformation = assumed(o.management, "us-east-1").client("cloudformation")
    cloudformation.create_stack(StackName="StackSet-evil-1", TemplateBody=template("evil-1"))  # no outputs
    assert [v for _, v in stacks().results] == ["StackSet-guardian-0a1b2c3d"]
    real = cloudformation.describe_stacks(StackName="StackSet-guardian-0a1b2c3d")["Stacks"][0]["Outputs"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in real}
    cloudformation.create_stack(StackName="StackSet-evil-2", TemplateBody=template("evil-2", **outputs))
    again = stacks()  # AWS would refuse the role DescribeStacks of another stack; moto does not: refused, named
    assert again.results == []
    assert "several guardian stacks: StackSet-guardian-0a1b2c3d, StackSet-evil-2" in again.unread[0].why


def test_throttling_after_retries_and_a_timeout_are_unread_with_why(organization: Org, base: Any) -> None:
    from botocore.exceptions import ClientError, ReadTimeoutError  # noqa: PLC0415

    o = organization
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetTrailStatus")

    def read(account: Any) -> str:
        if account.deployed.account == o.healthy:
            raise throttled
        raise ReadTimeoutError(endpoint_url="https://cloudtrail.us-east-1.amazonaws.com")

    targets = [org.Target(a, "us-east-1") for a in (o.healthy, o.stopped)]
    found = org.over_org(targets, read, role="r", base_session=base)
    assert found.results == []
    why = {u.account: u.why for u in found.unread}
    assert why[o.healthy] == f"throttled after {org_clients.ATTEMPTS} attempts: ThrottlingException"
    assert why[o.stopped].startswith("ReadTimeoutError: Read timeout on endpoint URL")


def test_incidents_org_json_has_the_account_of_each_and_the_unread(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    o = organization
    status, out, _ = run(capsys, "incidents", "--org", "--json", "--accounts", f"{o.healthy},{o.no_role}")
    document = json.loads(out)
    assert status == 1
    assert [(i["time"], i["account"], i["region"]) for i in document["incidents"]] == [
        ("2026-11-19T08:00:00Z", o.healthy, "us-east-1")
    ]
    assert [u["account"] for u in document["unread"]] == [o.no_role]
    assert document["totals"]["accounts_unread"] == 1


def calls_of_the_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every call the reads make through the role's sessions, by operation."""
    calls: Counter[str] = Counter()
    made = org_clients.Shared.session

    def recording(shared: Any, credentials: Any, region: str) -> Any:
        session = made(shared, credentials, region)
        session.events.register("before-call.*.*", lambda model, **_: calls.update([model.name]))
        return session

    monkeypatch.setattr(org_clients.Shared, "session", recording)
    return calls


def test_status_org_reads_the_rules_states_with_list_rules_not_each_rule_and_its_targets(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    o = organization
    session = assumed(o.healthy, "us-east-1")
    events = session.client("events")
    names = [f"{STACK}-rule-{n:03d}" for n in range(105)]  # two pages of ListRules (100 a page)
    for name in names[:-1]:
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
    events.disable_rule(Name=names[7])
    events.put_rule(Name=f"x{names[3]}", EventPattern=json.dumps({"source": ["aws.s3"]}))  # not the prefix's
    function = session.client("lambda")
    variables = function.get_function_configuration(FunctionName=f"{STACK}-sweep")["Environment"]["Variables"]
    own = json.dumps({"prefix": f"{STACK}-rule-", "names": [n.removeprefix(f"{STACK}-rule-") for n in names]})
    function.update_function_configuration(
        FunctionName=f"{STACK}-sweep", Environment={"Variables": {**variables, "GUARDIAN_OWN_RULES": own}}
    )
    calls = calls_of_the_reads(monkeypatch)
    status, out, _ = run(capsys, "status", "--org", "--accounts", o.healthy, "--regions", "us-east-1")
    assert status == 1
    assert f"{o.healthy} us-east-1: rule {names[7]} (us-east-1): not enabled (the next sweep enables it)" in out
    assert f"{o.healthy} us-east-1: rule {names[-1]} (us-east-1): deleted: redeploy the stack" in out
    assert out.count(": rule ") == 2  # the other 103 are ENABLED, found on either page
    assert calls["ListRules"] == 2
    assert calls["DescribeRule"] == calls["ListTargetsByRule"] == 0
    assert "events:ListRules" in READS  # the read-only role allows it


def test_status_org_makes_each_client_once_per_target(
    organization: Org, base: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: Counter[tuple[str, str, str]] = Counter()
    real = botocore.client.ClientCreator.create_client

    def counting(creator: Any, **kwargs: Any) -> Any:
        credentials = kwargs.get("credentials")
        made[(kwargs["service_name"], kwargs["region_name"], credentials.access_key if credentials else "-")] += 1
        return real(creator, **kwargs)

    monkeypatch.setattr(botocore.client.ClientCreator, "create_client", counting)
    o = organization
    _, out, _ = run(
        capsys, "status", "--org", "--accounts", f"{o.healthy},{o.stopped}", "--regions", "us-east-1,eu-west-1"
    )
    assert "2 of 2 accounts read, 0 unread" in out
    per_target = {k: n for k, n in made.items() if k[2].startswith("ASIA")}  # the role's, not the caller's
    assert {s for s, _, _ in per_target} >= {"sts", "cloudformation", "lambda", "cloudwatch", "cloudtrail", "sqs"}
    assert len({(r, key) for _, r, key in per_target}) == 4  # 2 accounts x 2 Regions
    assert max(per_target.values()) == 1
