"""The evidence bucket's policy, as deployed, denies every principal but the guardian's roles each way of writing,
tagging or deleting an object, and bypassing GOVERNANCE retention: the insider cannot overwrite a baseline, delete
one, write the sweep's index or a self-test marker, or pre-place evidence (threat model). Evaluated over the
synthesized template, its names resolved as CloudFormation would."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from tests.guarded import Instance

pytestmark = pytest.mark.synth
ACCOUNT = "123456789012"
INSIDER = f"arn:aws:iam::{ACCOUNT}:role/PowerUser"  # aws:PrincipalArn of the insider's session
MOVES = [
    ("s3:PutObject", "baselines/us-east-1/management-trail.json"),  # overwrite a baseline
    ("s3:DeleteObject", "baselines/us-east-1/management-trail.json"),  # a delete marker
    ("s3:PutObject", "baselines/trail-index/us-east-1.json"),  # the sweep's index
    ("s3:PutObject", "selftests/sentinel.json"),  # a self-test marker
    ("s3:PutObject", "evidence/2026/01/01/8c5a7f5e.json"),  # pre-placed evidence
    ("s3:PutObjectTagging", "evidence/2026/01/01/8c5a7f5e.json"),  # the alert-tracking tag
    ("s3:BypassGovernanceRetention", "baselines/us-east-1/management-trail.json"),
]


def denies(statement: dict[str, Any], action: str, resource: str, principal: str) -> bool:
    """IAM's reading of one Deny statement with the operators this policy uses (ArnNotEquals, Bool)."""
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if not any(fnmatch.fnmatchcase(action, a) for a in actions):
        return False
    if not any(fnmatch.fnmatchcase(resource, r) for r in resources):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for key, wanted in tests.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if (operator, key) == ("ArnNotEquals", "aws:PrincipalArn"):
                if principal in values:
                    return False
            elif (operator, key) == ("Bool", "aws:SecureTransport"):
                return False  # the insider's request is made over TLS: the SSL-only statement does not apply
            else:
                raise AssertionError(f"unknown condition {operator} {key}")
    return True


@pytest.mark.threat("evidence-overwrite", "pre-place-evidence", "baseline-delete", "index-forge", "selftest-marker")
def test_only_the_guardian_writes_the_evidence_bucket(default_synth: Any) -> None:
    template, _ = default_synth
    instance = Instance(dict(template.to_json()), "CloudTrailGuardian", ACCOUNT, "us-east-1")
    resources = instance.template["Resources"]
    [bucket] = [lid for lid, r in resources.items() if r["Type"] == "AWS::S3::Bucket" and "EvidenceBucket" in lid]
    [policy] = [
        instance.resolve(r["Properties"]["PolicyDocument"])
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    denying = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    guardian = [instance.arn(lid) for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    name = instance.ref(bucket)
    for action, key in MOVES:
        arn = f"arn:aws:s3:::{name}/{key}"
        assert any(denies(s, action, arn, INSIDER) for s in denying), (action, key)
        deployer = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1"
        assert any(denies(s, action, arn, deployer) for s in denying), (action, key)  # no name is trusted
    baseline = f"arn:aws:s3:::{name}/baselines/x"
    writers = [arn for arn in guardian if not any(denies(s, "s3:PutObject", baseline, arn) for s in denying)]
    # The guardian's two roles alone are not denied: the Deny is neither a blanket one nor one with a hole.
    assert sorted("Remediation" if "RemediationRole" in w else "Sweep" if "SweepRole" in w else w for w in writers) == [
        "Remediation",
        "Sweep",
    ]
