"""``guardian report --org`` and ``verify --org`` end to end (issue 24): the synthesized template deployed into two
accounts of moto_server (moto keeps each account apart by the assumed role's credentials), the demo's heals in the
first, a sealed chain in both, and a third account with no guardian: it is named as not read, never skipped."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from guardian.entrypoints import runtime
from guardian.flows.digests import extend_chain
from guardian.ports.invocation import Invocation
from simulation import deploy, scenario
from simulation.moto_server import ACCOUNT, REGION, LocalAws, environment, local_aws
from tests.e2e.conftest import Console, console_at, today

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.synth,
    pytest.mark.filterwarnings("ignore:Tried to parse"),
]

SECOND = "222222222222"  # a second guardian, sealed, no incident
NONE = "333333333333"  # an account with no guardian stack: not read


@dataclass(frozen=True)
class AccountAws(LocalAws):
    """The simulation's AWS as another account sees it: every client with that account's credentials."""

    credentials: dict[str, str] = field(default_factory=dict)

    def client(self, service: str, region: str = REGION, **credentials: str) -> Any:
        return super().client(service, region, **(credentials or self.credentials))


@dataclass(frozen=True)
class Org:
    aws: LocalAws
    first: deploy.Deployment
    second: deploy.Deployment
    second_credentials: dict[str, str]


def credentials_of(aws: LocalAws, account: str) -> dict[str, str]:
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    found = aws.client("sts").assume_role(RoleArn=role, RoleSessionName="deploy")["Credentials"]
    return {
        "aws_access_key_id": found["AccessKeyId"],
        "aws_secret_access_key": found["SecretAccessKey"],
        "aws_session_token": found["SessionToken"],
    }


def seal(aws: LocalAws, deployment: deploy.Deployment, credentials: dict[str, str]) -> str:
    """The sweep's last step two minutes from now, in the account of ``credentials``: every record chained."""
    later = datetime.now(UTC) + timedelta(minutes=2)
    with environment(
        **deployment.sweep_environment,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=aws.endpoint,
        **{name.upper(): value for name, value in credentials.items()},
    ):
        runtime.reset()
        try:
            return extend_chain(runtime.full_adapter(runtime.config()), Invocation(lambda: later, lambda _s: None))
        finally:
            runtime.reset()


@pytest.fixture(scope="module")
def organization(template: Path) -> Iterator[Org]:
    with local_aws() as aws:
        first = deploy.deploy(aws, template)
        scenario.run(aws, first, act_two=False)
        testing = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        assert seal(aws, first, testing).startswith("written digests/")
        credentials = credentials_of(aws, SECOND)
        with mock.patch.object(deploy, "ACCOUNT", SECOND):  # its CDK assets bucket is named after its account
            second = deploy.deploy(AccountAws(aws.endpoint, aws.invocations, credentials), template)
        assert seal(aws, second, credentials).startswith("written digests/")
        yield Org(aws, first, second, credentials)


@pytest.fixture
def console(organization: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Console:
    return console_at(organization.aws.endpoint, monkeypatch, capsys)


def org(command: str, *accounts: str) -> tuple[str, ...]:
    period = ("--from", today(), "--to", today())
    return (command, "--org", "--accounts", ",".join(accounts), "--region", REGION, *period)


def test_verify_org_gives_a_line_per_account_and_names_the_one_not_read(console: Any) -> None:
    status, out, _ = console(*org("verify", ACCOUNT, SECOND, NONE))
    assert status == 1  # an account not read is not verified
    assert f"  {ACCOUNT}  {REGION}  INTACT: " in out
    assert f"  {SECOND}  {REGION}  INTACT: " in out
    assert "2 of 3 accounts read: 2 intact, 0 broken, 1 unread" in out
    assert f"NOT READ (not verified):\n  - {NONE} {REGION}: stack CloudTrailGuardian not found" in out
    status, out, _ = console(*org("verify", ACCOUNT, SECOND), "--json")
    assert status == 0
    document = json.loads(out)
    assert [(c["account"], c["ok"]) for c in document["chains"]] == [(ACCOUNT, True), (SECOND, True)]
    assert document["totals"]["broken"] == 0
    assert document["unread"] == []


def test_report_org_puts_the_organization_first_and_never_skips_an_account(console: Any) -> None:
    status, out, err = console(*org("report", ACCOUNT, SECOND, NONE), "--format", "json")
    assert status == 1  # partial: an account could not be read
    document = json.loads(out)
    assert list(document)[:3] == ["schema", "schema_version", "organization"]
    summary = document["organization"]
    assert (summary["targets"], summary["unread"]) == (3, 1)
    lines = {line["account"]: line for line in summary["lines"]}
    assert lines[ACCOUNT]["heals"] >= 1  # the demo's healed StopLogging
    assert lines[ACCOUNT]["chain"] == lines[SECOND]["chain"] == "INTACT"
    assert lines[NONE]["covered"] is None
    assert lines[NONE]["chain"] == "not read"
    assert summary["heals"] == lines[ACCOUNT]["heals"]
    assert {row["account"] for row in document["rows"]} == {ACCOUNT}  # the second sealed no incident
    assert document["coverage"]["complete"] is False
    assert any(line.startswith(f"{NONE} ({REGION}): Not covered: the account could not be read") for line in
               document["coverage"]["not_covered"])  # fmt: skip
    assert [u["account"] for u in document["unread"]] == [NONE]
    assert f"guardian: could not read account {NONE} ({REGION}): stack CloudTrailGuardian not found" in err
    assert "the organization: 0 of 3 account/Regions covered, 2 not covered, 1 not read" in err


def test_report_org_as_html_and_csv(console: Any, tmp_path: Path) -> None:
    page = tmp_path / "org.html"
    status, _, _ = console(*org("report", ACCOUNT, SECOND, NONE), "-o", str(page))
    assert status == 1
    html = page.read_text()
    assert html.index('<section id="organization">') < html.index('<section id="coverage">')
    assert f'<section class="account" id="account-{SECOND}-{REGION}">' in html
    assert f"<td>{NONE}</td><td>{REGION}</td><td>NOT READ</td>" in html
    table = tmp_path / "org.csv"
    status, _, _ = console(*org("report", ACCOUNT, SECOND, NONE), "--format", "csv", "-o", str(table))
    assert status == 1
    rows = list(csv.reader(io.StringIO(table.read_text())))
    assert rows[-1][:2] == ["UNREAD", NONE]
    side = list(csv.reader(io.StringIO(table.with_suffix(".coverage.csv").read_text())))
    assert [f"{NONE} ({REGION})", "organization.covered", "not read"] in side
    assert ["", "organization.unread", "1"] in side


def test_require_coverage_fails_on_an_account_not_covered(console: Any) -> None:
    status, _, err = console(*org("report", ACCOUNT, SECOND), "--format", "json")
    assert status == 0  # every account read
    status, _, err = console(*org("report", ACCOUNT, SECOND), "--format", "json", "--require-coverage")
    assert status == 1  # deployed today: the morning is not covered
    assert f"guardian: not covered: {ACCOUNT} ({REGION}): Not covered: " in err
    assert f"guardian: not covered: {SECOND} ({REGION}): Not covered: " in err


def test_status_org_in_two_processes_gives_the_table_one_process_gives(console: Any) -> None:
    """``--processes 2``: the accounts split between two spawned processes, their rows merged in order."""
    accounts = ("--org", "--accounts", f"{NONE},{SECOND},{ACCOUNT}", "--region", REGION)
    one = console("status", *accounts, "--processes", "1")
    two = console("status", *accounts, "--processes", "2")
    assert two == one
    assert one[0] == 1  # NONE has no guardian
    rows = [line.split()[:2] for line in one[1].splitlines()[1:3]]
    assert rows == [[ACCOUNT, REGION], [SECOND, REGION]]
    assert "2 of 3 accounts read, 1 unread" in one[1]
    assert f"  - {NONE} {REGION}: stack CloudTrailGuardian not found" in one[1]


def test_a_broken_chain_in_one_account_fails_verify_org(organization: Org, console: Any) -> None:
    """Last in this file: it breaks the second account's evidence (a record added outside the chain)."""
    s3 = AccountAws(organization.aws.endpoint, organization.aws.invocations, organization.second_credentials)
    bucket = organization.second.outputs["EvidenceBucketName"]
    added = f"evidence/{today().replace('-', '/')}/forged-record.json"
    s3.client("s3").put_object(Bucket=bucket, Key=added, Body=b'{"forged": true}')
    status, out, _ = console(*org("verify", ACCOUNT, SECOND))
    assert status == 1
    assert f"  {ACCOUNT}  {REGION}  INTACT: " in out
    assert f"  {SECOND}  {REGION}  BROKEN (" in out
    assert f"      - {added}: added outside the chain" in out
    assert "2 of 2 accounts read: 1 intact, 1 broken, 0 unread" in out
