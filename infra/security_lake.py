"""``securityLake``: the sweep writes the alerts' OCSF Detection Findings into a Security Lake custom source, as
Parquet (guardian.flows.lake_delivery). It turns ``ocsf`` on for both functions (the findings it writes are theirs).

The setting is what CreateCustomLogSource answered: ``{"location": "s3://aws-security-data-lake-<Region>-<id>/ext/
<source>/", "roleArn": "<the source's provider role>", "externalId": "<the one given to CreateCustomLogSource>"}``
(``region`` where the bucket's name does not say it). The provider role must trust the guardian's account (the
source's ``providerIdentity.principal``). The sweep gets, in a policy of its own: sts:AssumeRole on that role only;
ListBucket of ``ocsf/detection-finding/`` and GetObject under it in the guardian's bucket. ``GUARDIAN_SECURITY_LAKE``
(compact JSON, with the window: the sweep's interval, 5 minutes at least, as Security Lake asks a custom source to
write no more often) is set on the remediation function, which never reads it; the sweep's says ``remediation``
(its environment holds near Lambda's 4 KB with every option on) and it reads it there once a run.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import CfnOutput, Stack, Validations
from aws_cdk import aws_iam as iam

from infra.errors import SettingsError
from infra.nag import localized

if TYPE_CHECKING:
    from infra.evidence_store import EvidenceStore
    from infra.guardian_function import GuardianFunction

# As guardian.model.lake_delivery (infra never imports guardian): a test holds the two alike.
LOCATION = re.compile(
    r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(ext/[A-Za-z0-9_.-]{1,64}/(?:[A-Za-z0-9_.-]{1,64}/)?)$"
)
ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
LAKE_BUCKET = re.compile(r"^aws-security-data-lake-([a-z]{2}(?:-[a-z]+)+-\d)-[a-z0-9]+$")
OCSF_PREFIX = "ocsf/detection-finding/"
MIN_MINUTES = 5
AS_REMEDIATION = "remediation"  # as guardian.model.own_events.AS_REMEDIATION


def security_lake_setting(value: Any) -> dict[str, str] | None:
    """The setting checked (None: off), each mistake named."""
    if value is None or value is False or value in ("", {}):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"securityLake is not a JSON object: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise SettingsError('securityLake must be {"location": "s3://...", "roleArn": "...", "externalId": "..."}')
    unknown = sorted(set(value) - {"location", "roleArn", "externalId", "region"})
    if unknown:
        raise SettingsError(
            f"securityLake: unknown key(s) {', '.join(unknown)} (location, roleArn, externalId, region)"
        )
    location = str(value.get("location", "")).strip()
    match = LOCATION.match(location if location.endswith("/") else location + "/")
    if match is None:
        raise SettingsError(
            "securityLake location must be the custom source's s3://<lake bucket>/ext/<source name>/ "
            f"(CreateCustomLogSource's provider.location), got {location!r}"
        )
    role, external = str(value.get("roleArn", "")).strip(), str(value.get("externalId", "")).strip()
    if not ROLE_ARN.match(role):
        raise SettingsError(f"securityLake roleArn must be the custom source's provider role ARN, got {role!r}")
    if not EXTERNAL_ID.match(external):
        raise SettingsError("securityLake externalId must be 2 to 1,224 characters of letters, digits and +=,.@:/-")
    region = str(value.get("region") or "").strip()
    bucket_region = LAKE_BUCKET.match(match[1])
    region = region or (bucket_region[1] if bucket_region else "")
    if not REGION.match(region):
        raise SettingsError("securityLake region is needed: the bucket's name does not say its Region")
    return {"location": f"s3://{match[1]}/{match[2]}", "roleArn": role, "externalId": external, "region": region}


def add_security_lake(
    function: GuardianFunction, carrier: GuardianFunction, evidence: EvidenceStore, lake: dict[str, str], minutes: int
) -> None:
    """The sweep's grants and variable (see the module's docstring): the setting itself is in ``carrier``'s (the
    remediation function's) environment, the sweep's saying ``remediation`` (it holds near Lambda's 4 KB)."""
    setting = {**lake, "minutes": max(MIN_MINUTES, minutes)}
    carrier.function.add_environment("GUARDIAN_SECURITY_LAKE", json.dumps(setting, separators=(",", ":")))
    function.function.add_environment("GUARDIAN_SECURITY_LAKE", AS_REMEDIATION)
    stack = Stack.of(function)
    # The role to name in the provider role's trust policy (in place of the whole account): only the sweep writes.
    CfnOutput(stack, "SweepRoleArn", value=function.role.role_arn)
    policy = iam.Policy(
        function,
        "SecurityLake",
        roles=[function.role],
        statements=[
            iam.PolicyStatement(
                sid="WriteAsTheCustomSourcesProviderRole", actions=["sts:AssumeRole"], resources=[lake["roleArn"]]
            ),
            iam.PolicyStatement(
                sid="ListOcsfFindings",
                actions=["s3:ListBucket"],
                resources=[evidence.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [OCSF_PREFIX + "*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadOcsfFindings",
                actions=["s3:GetObject"],
                resources=[evidence.bucket.arn_for_objects(OCSF_PREFIX + "*")],
            ),
        ],
    )
    bucket = f"<{stack.get_logical_id(evidence.cfn_bucket)}.Arn>"
    Validations.of(policy).acknowledge(
        *localized(
            stack,
            [
                Ack(
                    id=f"AwsSolutions-IAM5[Resource::{bucket}/{OCSF_PREFIX}*]",
                    reason="The alerts' OCSF findings the guardian wrote, read once a sweep to write them into the "
                    "Security Lake custom source; read only, only under ocsf/detection-finding/ of its own bucket.",
                )
            ],
        )
    )
