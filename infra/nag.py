"""cdk-nag names a finding after the resource ARN as it renders it: ``<AWS::AccountId>`` and ``<AWS::Region>`` while
the stack is environment-agnostic, the account id and Region themselves once ``env`` fixes them (`environments`)."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Stack, Token


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
