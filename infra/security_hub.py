"""The remediation function's Security Hub calls (``securityHub``: auto): each alert copied as an ASFF finding into
the account's own ``default`` product, in the guardian's home Region (guardian.flows.security_hub); the sweep's too
(guardian.flows.sweep_findings: :func:`findings_statements`, in its managed policy, infra.sweep_schedule).

Least privilege: BatchImportFindings on that product only; GetFindings (a finding's count so far) and
BatchUpdateFindings (its Workflow, which an import cannot change once it exists) on the Region's hub only; and
GetObject of the evidence records' signature sidecars (``evidence/*.json.sig``: a key, a SHA-256 and a signature,
never a record's content), whose SHA-256 the finding carries. A policy of its own: the role's default policy is near
IAM's size limit.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.evidence_store import EvidenceStore
from infra.nag import localized


def findings_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Import into the account's own product, count and resolve on the Region's hub: the remediation function's, and
    the sweep's (in its ``-sweep-checks-`` managed policy, infra.sweep_schedule: its inline policies are near full)."""
    product = stack.format_arn(service="securityhub", resource="product", resource_name=f"{stack.account}/default")
    hub = stack.format_arn(service="securityhub", resource="hub", resource_name="default")
    return [
        iam.PolicyStatement(sid="ImportOwnFindings", actions=["securityhub:BatchImportFindings"], resources=[product]),
        iam.PolicyStatement(
            sid="CountAndResolveOwnFindings",
            actions=["securityhub:GetFindings", "securityhub:BatchUpdateFindings"],
            resources=[hub],
        ),
    ]


def grant_findings(scope: Construct, role: iam.IRole, evidence: EvidenceStore) -> iam.Policy:
    stack = Stack.of(scope)
    policy = iam.Policy(
        scope,
        "SecurityHubFindings",
        roles=[role],
        statements=[
            *findings_statements(stack),
            iam.PolicyStatement(
                sid="ReadEvidenceDigests",
                actions=["s3:GetObject"],
                resources=[evidence.bucket.arn_for_objects("evidence/*.json.sig")],
            ),
        ],
    )
    bucket = f"<{stack.get_logical_id(evidence.cfn_bucket)}.Arn>"
    reason = "Each evidence record's signature sidecar (a key, a SHA-256, a signature; never the record) is named "
    reason += "after its event; read only, only .json.sig under evidence/ of the guardian's own bucket."
    Validations.of(policy).acknowledge(
        *localized(stack, [Ack(id=f"AwsSolutions-IAM5[Resource::{bucket}/evidence/*.json.sig]", reason=reason)])
    )
    return policy
