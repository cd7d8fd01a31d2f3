"""Render infra/policies/scp-protect-cloudtrail.json for one organization: the break-glass role, the guardian's stack
name and the CDK bootstrap qualifier go in; a minified policy ready for `aws organizations create-policy` comes out.

    python scripts/render_scp.py --break-glass-role BreakGlassAdmin [--stack-name CloudTrailGuardian]
        [--qualifier hnb659fds] [--output build/scp-protect-cloudtrail.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "policies" / "scp-protect-cloudtrail.json"
SCP_MAX_CHARACTERS = 5120  # AWS Organizations' size limit for a service control policy


def render(break_glass_role: str, stack_name: str = "CloudTrailGuardian", qualifier: str = "hnb659fds") -> str:
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", break_glass_role):
        raise ValueError(f"not an IAM role name: {break_glass_role!r}")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", stack_name):
        raise ValueError(f"not a CloudFormation stack name: {stack_name!r}")
    if not re.fullmatch(r"[a-z0-9]{1,10}", qualifier):
        raise ValueError(f"not a CDK bootstrap qualifier: {qualifier!r}")
    text = TEMPLATE.read_text()
    for name, value in {
        "BreakGlassRoleName": break_glass_role,
        "StackNameLower": stack_name.lower(),
        "StackName": stack_name,
        "Qualifier": qualifier,
    }.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        raise ValueError(f"unfilled placeholder in {TEMPLATE}: {text[text.index('${') :][:40]}")
    policy: Any = json.loads(text)
    minified = json.dumps(policy, separators=(",", ":"))
    if len(minified) > SCP_MAX_CHARACTERS:
        raise ValueError(f"the policy is {len(minified)} characters; an SCP may have at most {SCP_MAX_CHARACTERS}")
    return minified


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--break-glass-role", required=True, help="the IAM role name allowed to change audit logging")
    parser.add_argument("--stack-name", default="CloudTrailGuardian")
    parser.add_argument("--qualifier", default="hnb659fds", help="the CDK bootstrap qualifier")
    parser.add_argument("--output", type=Path, default=Path("build/scp-protect-cloudtrail.json"))
    args = parser.parse_args(argv)
    try:
        policy = render(args.break_glass_role, args.stack_name, args.qualifier)
    except ValueError as exc:
        print(f"render_scp: {exc}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(policy + "\n")
    print(f"{args.output} ({len(policy)} of {SCP_MAX_CHARACTERS} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
