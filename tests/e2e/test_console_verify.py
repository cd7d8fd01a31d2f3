"""``guardian verify`` end to end (issue 8): the digest chain the deployed sweep writes proves the evidence complete and
untouched, online and from a downloaded copy; a record deleted with governance bypass, overwritten, or added outside
the chain is named. A deployment of its own: these tests break its evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from guardian.entrypoints import runtime
from guardian.flows.digests import extend_chain
from guardian.ports.invocation import Invocation
from guardian_console import cli, evidence
from guardian_console.errors import ConsoleError
from simulation import deploy, scenario
from simulation.moto_server import LocalAws, local_aws
from tests.e2e.conftest import Console, console_at, today

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.synth,
    pytest.mark.filterwarnings("ignore:Tried to parse"),
]


@dataclass(frozen=True)
class Sealed:
    aws: LocalAws
    deployment: deploy.Deployment
    bucket: str


def seal(aws: LocalAws, deployment: deploy.Deployment) -> str:
    """Run the sweep's last step two minutes from now, so every record written so far is settled and chained."""
    later = datetime.now(UTC) + timedelta(minutes=2)
    with scenario.function_environment(aws, deployment.sweep_environment):
        runtime.reset()
        return extend_chain(runtime.full_adapter(runtime.config()), Invocation(lambda: later, lambda _s: None))


@pytest.fixture(scope="module")
def sealed(template: Path) -> Iterator[Sealed]:
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        scenario.run(aws, deployment)
        assert seal(aws, deployment).startswith("written digests/")
        yield Sealed(aws, deployment, deployment.outputs["EvidenceBucketName"])


@pytest.fixture
def console(sealed: Sealed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Console:
    return console_at(sealed.aws.endpoint, monkeypatch, capsys)


def download(sealed: Sealed, target: Path) -> Path:
    """What an auditor does: ``aws s3 sync`` the bucket, and export the signing key's public key (DER)."""
    s3 = sealed.aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sealed.bucket):
        for item in page.get("Contents", []):
            path = target / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=sealed.bucket, Key=item["Key"])["Body"].read())
    key = sealed.deployment.outputs["SigningKeyArn"]
    public = target.parent / "signing-key.der"
    public.write_bytes(sealed.aws.client("kms").get_public_key(KeyId=key)["PublicKey"])
    return public


def test_untouched_evidence_verifies_online_and_from_a_downloaded_copy(
    sealed: Sealed, console: Any, tmp_path: Path
) -> None:
    status, out, _ = console("verify", "--from", today(), "--to", today())
    assert status == 0, out
    assert "INTACT: every record is there, unchanged, and locked" in out
    status, out, _ = console("verify", "--from", today(), "--to", today(), "--json")
    verdict = json.loads(out)
    assert verdict["ok"] is True
    assert verdict["records"] >= 4
    assert verdict["digests"] >= 2  # the sweeps' own digests, and the seal
    copy = tmp_path / "bucket"
    public = download(sealed, copy)
    offline = ("verify", "--from", today(), "--to", today(), "--offline", str(copy), "--public-key", str(public))
    status, out, _ = console(*offline)
    assert status == 0, out
    assert "INTACT" in out
    record = next((copy / "evidence").rglob("*.json"))
    record.write_bytes(record.read_bytes().replace(b'"healed"', b'"alerted"', 1))
    status, out, _ = console(*offline)
    assert status == 1
    assert f"{record.relative_to(copy).as_posix()}: altered" in out


def test_the_report_reads_the_signed_digests_and_says_what_reading_every_record_says(
    sealed: Sealed, console: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path (one read per digest) and the slow one (one read per record) give the same report."""
    from guardian_console import stack  # noqa: PLC0415

    gets: list[str] = []
    real_read = evidence.read_one

    def counted(*args: Any, **kwargs: Any) -> Any:
        gets.append(args[3])
        return real_read(*args, **kwargs)

    monkeypatch.setattr(evidence, "read_one", counted)
    status, fast, _ = console("report", "--from", today(), "--to", today(), "--format", "json")
    assert status == 0
    assert gets == []  # every record came from a verified digest: no record was read itself

    def no_key(*_: Any) -> Any:
        raise ConsoleError("cannot read the public key")

    monkeypatch.setattr(stack, "public_key", no_key)
    monkeypatch.setattr(cli, "public_key", no_key)
    status, slow, err = console("report", "--from", today(), "--to", today(), "--format", "json")
    assert "every record is read one by one" in err
    assert len(gets) >= 4
    rows = [json.loads(fast)["rows"], json.loads(slow)["rows"]]
    assert rows[0] == rows[1]


def test_a_record_deleted_overwritten_or_added_outside_the_chain_is_named(sealed: Sealed, console: Any) -> None:
    s3 = sealed.aws.client("s3")
    listed = s3.list_object_versions(Bucket=sealed.bucket, Prefix="evidence/")["Versions"]
    records = [v for v in listed if not v["Key"].endswith(".sig")]  # the records, not their signatures
    deleted, overwritten = records[0], records[1]
    s3.delete_object(
        Bucket=sealed.bucket, Key=deleted["Key"], VersionId=deleted["VersionId"], BypassGovernanceRetention=True
    )
    s3.put_object(Bucket=sealed.bucket, Key=overwritten["Key"], Body=b'{"forged": true}')
    added = f"evidence/{today().replace('-', '/')}/forged-record.json"
    s3.put_object(Bucket=sealed.bucket, Key=added, Body=b'{"forged": true}')
    status, out, _ = console("verify", "--from", today(), "--to", today())
    assert status == 1
    assert "BROKEN:" in out
    assert f"- {deleted['Key']}: deleted (version {deleted['VersionId']}" in out
    assert f"- {overwritten['Key']}: version " in out  # its second version is in no digest
    assert f"- {added}: added outside the chain" in out


def test_a_forged_digest_breaks_the_chain(sealed: Sealed, console: Any) -> None:
    s3 = sealed.aws.client("s3")
    [newest] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=sealed.bucket, Prefix="digests/")["Contents"])[-1:]
    document = json.loads(s3.get_object(Bucket=sealed.bucket, Key=newest)["Body"].read())
    document["records"] = document["records"][1:]  # hide a record from the chain
    s3.put_object(Bucket=sealed.bucket, Key=newest, Body=json.dumps(document).encode())
    status, out, _ = console("verify", "--from", today(), "--to", today())
    assert status == 1
    assert f"- digest {newest} does not verify: the signature does not match" in out
