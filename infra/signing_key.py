"""The guardian's signing key: a KMS asymmetric key (RSA 2048, sign and verify) that signs every baseline the guardian
records, so that a baseline written by anyone else is refused. Only the guardian's own roles may sign with it (a
Deny in the key policy, which no IAM policy can override); its public key verifies, and anyone may read it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class SigningKey(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="CloudTrail Guardian: signs its baselines (only the guardian's roles may sign)",
            key_spec=kms.KeySpec.RSA_2048,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            alias=f"alias/{Stack.of(self).stack_name}-signing",
            removal_policy=RemovalPolicy.RETAIN,  # the baselines and evidence it signed outlive the stack
        )

    def allow_signing_by(self, roles: Sequence[iam.IRole]) -> None:
        """Grant these roles Sign and GetPublicKey, and deny Sign to every other principal, root included."""
        for role in roles:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="SignAndVerifyBaselines",
                    actions=["kms:Sign", "kms:GetPublicKey"],
                    resources=[self.key.key_arn],
                )
            )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheGuardianSigns",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:Sign"],
                resources=["*"],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": [role.role_arn for role in roles]}},
            )
        )
