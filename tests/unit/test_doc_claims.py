"""Claims of docs/operations.md and docs/limits.md that once contradicted the code (issue 23), held to the code."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

from guardian.model.approvals import WAIT
from guardian.model.bucket import BucketState
from guardian.model.caller_proof import Identity
from guardian.model.decide import same_principal
from guardian.model.rules import RULES, Heal
from infra.self_protection import DEPLOYMENT_CALLS, Guarded, watches
from tests.support import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def page(name: str) -> str:
    return " ".join((DOCS / name).read_text().split())


def limits_row(area: str) -> str:
    return next(line for line in (DOCS / "limits.md").read_text().splitlines() if line.startswith(f"| {area} |"))


def test_the_guardians_own_deployment_is_one_medium_alert() -> None:
    """The page said LOW, on ExecuteChangeSet or UpdateStack; the deployment watch is MEDIUM, on three calls."""
    guarded = Guarded(
        stack_name="CloudTrailGuardian",
        stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/CloudTrailGuardian/1",
        functions=[],
        rules=["CloudTrailGuardian-guard-events"],
        topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        roles=[],
        keys=[],
        key_aliases="alias/CloudTrailGuardian-",
        buckets=[],
        alarms=[],
        queue_names=[],
    )
    deployment = {w.suffix: w for w in watches(guarded)}["deployment"]
    assert deployment.severity == "MEDIUM"
    text = page("operations.md")
    assert f"one **MEDIUM** alert on its stack's {', '.join(DEPLOYMENT_CALLS[:-1])} or {DEPLOYMENT_CALLS[-1]}" in text
    assert "LOW alert" not in text


def test_an_exempt_change_becomes_the_baseline_only_once_cloudtrail_confirms_it() -> None:
    """The page said an exempt principal's change becomes the new baseline; it waits for CloudTrail, 30 minutes."""
    assert timedelta(minutes=30) == WAIT
    text = page("operations.md")
    assert "unconfirmed after 30 minutes, the approval is refused" in text
    assert "A change by an exempt principal becomes the new baseline" not in text


def test_a_trail_buckets_default_encryption_is_held_to_its_baseline() -> None:
    """limits.md listed a bucket's default encryption as not recorded, so not restored; the baseline holds it."""
    assert "encryption" in {f.name for f in fields(BucketState)}
    row = limits_row("what a trail depends on")
    assert "Not restored: a bucket's Object Lock" in row
    assert "encryption" not in row.split("Not restored:")[1].split(".")[0]
    assert "bucket encryption" in page("operations.md")


def test_a_changed_key_policy_gets_cloudtrails_statements_back() -> None:
    """limits.md said a PutKeyPolicy is never put back; the heal adds back what CloudTrail and the readers need."""
    assert RULES["PutKeyPolicy"].heal is Heal.RESTORE_KEY
    row = limits_row("what a trail depends on")
    assert "A key policy is never put back whole: a PutKeyPolicy (CRITICAL) gets back only the statements" in row


def test_an_approver_written_with_its_role_path_is_matched() -> None:
    """limits.md said an approver role must be named without its path; one with it (as the console shows an IAM
    Identity Center role) matches the path-less role STS names."""
    sso = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"
    caller = Identity("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/alice", "1" * 12)
    assert any(same_principal(sso, arn) for arn in caller.principals)
    row = limits_row("`approve`, `selftest`")
    assert "an approver written with its path (an IAM Identity Center role) is matched by account and role name" in row


def test_the_number_of_service_control_policies_stated_is_the_repositorys() -> None:
    """threat-model.md spoke of "the two service control policies"; infra/policies has three (operations.md)."""
    count = len(list((REPO_ROOT / "infra" / "policies").glob("scp-*.json")))
    numbers = {2: "two", 3: "three", 4: "four"}
    assert f"{numbers[count]} SCPs take away what healing can only undo" in page("operations.md")
    for name in ("threat-model.md", "operations.md", "deploy-and-configure.md", "first-day.md"):
        text = page(name).lower()
        for n, word in numbers.items():
            if n != count:
                assert f"{word} service control policies" not in text, name
                assert f"{word} scps" not in text, name


def test_what_deploy_and_configure_says_is_kept_is_what_the_teardown_table_lists() -> None:
    """ "Before you deploy" named only the buckets as kept when the stack is deleted; first-day.md's teardown table
    (held to the template's DeletionPolicy by tests/infra/test_teardown.py) also keeps keys, log groups, secrets."""
    table = (DOCS / "first-day.md").read_text().split("<!-- kept:start -->")[1].split("<!-- kept:end -->")[0]
    kinds = {line.split("|")[1].strip().strip("`") for line in table.strip().splitlines()[2:] if line.startswith("|")}
    words = {
        "AWS::S3::Bucket": "buckets",
        "AWS::KMS::Key": "keys",
        "AWS::Logs::LogGroup": "log groups",
        "AWS::SecretsManager::Secret": "secrets",
    }
    assert kinds <= set(words), kinds - set(words)
    deploy = " ".join((DOCS / "deploy-and-configure.md").read_text().split())
    kept = next(part for part in deploy.split("- **")[1:] if part.startswith("Kept when the stack is deleted"))
    for kind in kinds:
        assert words[kind] in kept, kind
