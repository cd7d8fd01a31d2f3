"""`guardian verify --security-profile`: the chain's head here against the one the security account kept from the
sweeps (issue 22): behind it, or the same sequence with another digest, is a break; ahead of it is not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.chain_heads import ChainHeadsAdapter
from guardian.adapters.clients import Boto3Clients
from guardian.model.chain_heads import Head as SentHead
from guardian.model.chain_heads import Kept, Origin
from guardian_console import security_heads
from guardian_console.deployed import Deployed
from guardian_console.errors import ConsoleError
from guardian_console.integrity import Head, Verdict

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DEPLOYED = Deployed("CloudTrailGuardian", "111122223333", "us-east-1", "ev", "topic", "fn", "sweep", "dlq", "key", ())


@pytest.fixture
def security(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    config = tmp_path / "config"
    config.write_text(
        "[profile security]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=security_heads.TABLE,
            KeySchema=[{"AttributeName": "origin", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "origin", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        kept = SentHead("digests/2026/12/06/00000007.json", 7, T0, "a" * 64)  # as the chain-heads function keeps it
        store = ChainHeadsAdapter(Boto3Clients(), security_heads.TABLE, "arn:aws:sns:us-east-1:999988887777:c")
        assert store.keep(Origin(DEPLOYED.account, DEPLOYED.region, DEPLOYED.stack), Kept((kept,)), regression=None)
        yield


def verdict(sequence: int, sha: str = "a") -> Verdict:
    return Verdict(head=Head(f"digests/2026/12/06/{sequence:08d}.json", sequence, T0, sha * 64))


@pytest.mark.threat("evidence-chain-shorten")
@pytest.mark.usefixtures("security")
def test_a_head_behind_the_kept_one_or_rewritten_breaks_verify() -> None:
    behind, same, rewritten, ahead = verdict(5), verdict(7), verdict(7, "b"), verdict(8)
    security_heads.check("security", [(DEPLOYED, v) for v in (behind, same, rewritten, ahead)])
    assert [b.split(":")[-1].strip() for b in behind.breaks] == ["the chain was shortened"]
    assert same.ok
    assert ahead.ok  # its head may still be on its way to the security account
    assert rewritten.breaks[0].endswith("rewritten")
    gone = Verdict()
    security_heads.check("security", [(DEPLOYED, gone)])
    assert "no digest here verifies" in gone.breaks[0]


@pytest.mark.usefixtures("security")
def test_without_the_option_or_a_kept_head_nothing_is_compared() -> None:
    behind = verdict(5)
    security_heads.check(None, [(DEPLOYED, behind)])
    security_heads.check("security", [(replace(DEPLOYED, stack="OtherGuardian"), behind)])  # none kept for it
    assert behind.ok


def test_no_access_to_the_table_says_how_to_fix_it(security: None) -> None:
    boto3.client("dynamodb").delete_table(TableName=security_heads.TABLE)
    with pytest.raises(ConsoleError, match="security account's chain heads"):
        security_heads.check("security", [(DEPLOYED, verdict(7))])
