"""Render the service control policies in infra/policies for one organization: the break-glass role, the guardian's
stack name and the CDK bootstrap qualifier go in; minified policies ready for `aws organizations create-policy`
come out, each within the SCP size limit.

- ``scp-protect-cloudtrail.json``: nobody but break-glass stops or deletes audit logging; nobody but the guardian and
  its deployers weakens a trail, or the guardian's log groups (its sentinel trail's, its functions': by its tag, which
  CloudWatch Logs cannot protect by tag key, so no tag of theirs may change); the guardian's roles act only from the
  guardian's functions. An operator's trail's log group has a name ``make scp`` does not know: not denied here.
- ``scp-protect-the-guardian.json``: nobody but its deployers changes the guardian, passes its roles, puts its tag
  on anything, poses as a deployer, or invokes its functions directly.
- ``scp-protect-the-alert-path.json``: nobody but its deployers removes or filters a subscription to its topic,
  gives its functions a URL or changes where their asynchronous results go, changes its secrets (the chat
  webhooks' URLs), rewrites or deletes its customer managed policies (the sweep's, named ``<stackName>-...``:
  CloudFormation cannot tag them), or writes its activity table (``<stackName>-activity``, by name: DynamoDB's tag
  conditions can be off for an account). Its own file because the first two are near the SCP size limit.

The policies know the guardian by its tag (``cloudtrail-guardian`` = the stack name, on every resource and role, in
both deployment styles: cdk deploy and StackSets), by its fixed function names and its buckets' name prefix; and
its code by ``lambda:SourceFunctionArn``.

    python scripts/render_scp.py --break-glass-role BreakGlassAdmin [--stack-name CloudTrailGuardian]
        [--qualifier hnb659fds] [--output-dir build]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

POLICIES = Path(__file__).resolve().parent.parent / "infra" / "policies"
NAMES = ("scp-protect-cloudtrail.json", "scp-protect-the-guardian.json", "scp-protect-the-alert-path.json")
SCP_MAX_CHARACTERS = 5120  # AWS Organizations' size limit for a service control policy
TAG = "cloudtrail-guardian"  # the tag the stacks put on every resource and role, its value the stack name
# Who deploys the guardian, and so may change it: the break-glass role, the CDK bootstrap roles CloudFormation and
# the CDK CLI use (cdk deploy), and the StackSets execution roles (service-managed, then self-managed permissions).
# Their names are reserved by the policy itself (DenyPosingAsADeployer): nobody else may create such a role or
# change whom it trusts.
DEPLOYERS = (
    "arn:aws:iam::*:role/{break_glass}",
    "arn:aws:iam::*:role/cdk-{qualifier}-cfn-exec-role-*",
    "arn:aws:iam::*:role/cdk-{qualifier}-deploy-role-*",
    "arn:aws:iam::*:role/stacksets-exec-*",
    "arn:aws:iam::*:role/AWSCloudFormationStackSetExecutionRole",
)


LAKE_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
ALERT_PATH = "scp-protect-the-alert-path.json"


def render(
    break_glass_role: str,
    stack_name: str = "CloudTrailGuardian",
    qualifier: str = "hnb659fds",
    lake_provider_role: str | None = None,
) -> dict[str, str]:
    """Each policy's file name → the policy, minified. ``lake_provider_role``: the Security Lake custom source's
    provider role (``securityLake``): it trusts this whole account with an external id that is no secret (it is in
    the remediation function's environment), so AssumeRole on it is denied to all but the guardian's roles."""
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", break_glass_role):
        raise ValueError(f"not an IAM role name: {break_glass_role!r}")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", stack_name):
        raise ValueError(f"not a CloudFormation stack name: {stack_name!r}")
    if not re.fullmatch(r"[a-z0-9]{1,10}", qualifier):
        raise ValueError(f"not a CDK bootstrap qualifier: {qualifier!r}")
    deployers = [pattern.format(qualifier=qualifier, break_glass=break_glass_role) for pattern in DEPLOYERS]
    rendered = {}
    for name in NAMES:
        text = (POLICIES / name).read_text().replace('"${Deployers}"', json.dumps(deployers))
        for placeholder, value in {
            "BreakGlassRoleName": break_glass_role,
            "StackNameLower": stack_name.lower(),
            "StackName": stack_name,
            "Qualifier": qualifier,
        }.items():
            text = text.replace("${" + placeholder + "}", value)
        if "${" in text:
            raise ValueError(f"unfilled placeholder in {name}: {text[text.index('${') :][:40]}")
        policy: Any = json.loads(text)
        if name == ALERT_PATH and lake_provider_role is not None:
            if not LAKE_ROLE.fullmatch(lake_provider_role):
                raise ValueError(f"not an IAM role ARN: {lake_provider_role!r}")
            policy["Statement"].append(_lake_statement(lake_provider_role, stack_name))
        minified = json.dumps(policy, separators=(",", ":"))
        if len(minified) > SCP_MAX_CHARACTERS:
            raise ValueError(f"{name} is {len(minified)} characters; an SCP may have at most {SCP_MAX_CHARACTERS}")
        rendered[name] = minified
    return rendered


def _lake_statement(role: str, stack_name: str) -> dict[str, Any]:
    """Only the guardian's tagged roles (its sweep) act as the source: a deployer has no need to."""
    return {
        "Sid": "DenyActingAsTheGuardiansLakeSource",
        "Effect": "Deny",
        "Action": "sts:AssumeRole",
        "Resource": role,
        "Condition": {"StringNotEquals": {f"aws:PrincipalTag/{TAG}": stack_name}},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--break-glass-role", required=True, help="the IAM role name allowed to change audit logging")
    parser.add_argument("--stack-name", default="CloudTrailGuardian")
    parser.add_argument("--qualifier", default="hnb659fds", help="the CDK bootstrap qualifier")
    parser.add_argument("--output-dir", type=Path, default=Path("build"))
    parser.add_argument(
        "--lake-provider-role", help="securityLake's provider role ARN: AssumeRole on it denied to others"
    )
    args = parser.parse_args(argv)
    try:
        policies = render(args.break_glass_role, args.stack_name, args.qualifier, args.lake_provider_role or None)
    except ValueError as exc:
        print(f"render_scp: {exc}", file=sys.stderr)
        return 2
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, policy in policies.items():
        (args.output_dir / name).write_text(policy + "\n")
        print(f"{args.output_dir / name} ({len(policy)} of {SCP_MAX_CHARACTERS} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
