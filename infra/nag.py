"""cdk-nag names a finding after the resource ARN as it renders it: ``<AWS::AccountId>`` and ``<AWS::Region>`` while
the stack is environment-agnostic, the account id and Region themselves once ``env`` fixes them (`environments`)."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct


def localized(stack: Stack, acknowledgements: Iterable[Acknowledgment]) -> list[Acknowledgment]:
    """The acknowledgements with their ARN placeholders filled in as cdk-nag will report them for this stack."""
    values = {"<AWS::AccountId>": stack.account, "<AWS::Region>": stack.region}
    result = []
    for ack in acknowledgements:
        rule = ack.id
        for placeholder, value in values.items():
            if not Token.is_unresolved(value):
                rule = rule.replace(placeholder, value)
        result.append(Acknowledgment(id=rule, reason=ack.reason))
    return result


_ANY_RESOURCE: dict[str, list[str]] = {}  # by a role's construct path: why it has actions on "*"


def any_resource(role: IConstruct, why: str) -> None:
    """Acknowledge ``AwsSolutions-IAM5[Resource::*]`` on ``role`` with every reason given for it (a later
    acknowledgement of the same finding replaces an earlier one, so the reasons are kept together)."""
    reasons = _ANY_RESOURCE.setdefault(f"{id(role.node.root)}:{role.node.path}", [])
    if why not in reasons:
        reasons.append(why)
    Validations.of(role).acknowledge(Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=" ".join(reasons)))
