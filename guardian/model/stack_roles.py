"""Two ways to borrow the guardian's standing without ``iam:PassRole`` (the insider review of issue 20), judged pure.

- **A stack's role, reused.** UpdateStack, CreateChangeSet (and the rollbacks, DeleteStack) without ``roleARN``
  make CloudFormation act with the role the stack was last given. A stack another CDK app deployed with the CDK
  execution role (``cdk-<qualifier>-cfn-exec-role-<account>-<region>``, an administrator) lends that role to
  anyone allowed ``cloudformation:*``: the ``-guard-cfn-exec-role`` rule, which matches ``roleARN``, never fires.
- **The guardian's tag on a principal.** The SCPs spare principals tagged ``cloudtrail-guardian`` and the security
  account's bus and topic admit them: a role or user given that tag (CreateRole, CreateUser, TagRole, TagUser) is
  the guardian, unless the guardian's own stack made it. IAM compares a condition key's tag name without regard to
  case, so the key is compared here the same way.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

GUARDIAN_TAG = "cloudtrail-guardian"  # = infra.settings.GUARDIAN_TAG (infra does not import guardian)
STACK_ROLE = "stack-role"  # the -guard-cfn-exec-borrowed rule's check: a role-less stack operation
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK's default bootstrap qualifier
QUALIFIER = re.compile(r"[A-Za-z0-9_-]{1,10}")
TAG_CALLS = ("CreateRole", "CreateUser", "TagRole", "TagUser")
ROLE_REUSING_CALLS = ("UpdateStack", "CreateChangeSet", "DeleteStack", "ContinueUpdateRollback", "RollbackStack")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[^/]+)")


def is_exec_role(role_arn: str, account_id: str, qualifier: str) -> bool:
    """Whether ``role_arn`` is this account's CDK execution role (of any Region), whatever its path."""
    match = _ROLE_ARN.fullmatch(role_arn.strip())
    return (
        match is not None
        and match["account"] == account_id
        and match["name"].startswith(f"cdk-{qualifier}-cfn-exec-role-")
    )


def gives_guardian_tag(detail: Mapping[str, Any]) -> bool:
    """Whether the record's ``requestParameters.tags`` holds the guardian's tag key (in any case)."""
    request = detail.get("requestParameters")
    tags = request.get("tags") if isinstance(request, dict) else None
    return isinstance(tags, list) and any(
        isinstance(tag, dict) and str(tag.get("key", "")).casefold() == GUARDIAN_TAG for tag in tags
    )


def principal_named(detail: Mapping[str, Any]) -> str:
    """The role or user the record names (``roleName``/``userName``), or "?"."""
    request = detail.get("requestParameters")
    request = request if isinstance(request, dict) else {}
    return str(request.get("roleName") or request.get("userName") or "?")


def stack_named(detail: Mapping[str, Any]) -> str | None:
    """The stack a stack operation names (its name or ARN), or None."""
    request = detail.get("requestParameters")
    name = request.get("stackName") if isinstance(request, dict) else None
    return name if isinstance(name, str) and name.strip() else None
