"""A small, honest evaluator of resource-policy statements (S3 bucket policies, KMS key policies).

Pure, standard library only. It answers one question for one statement and one request: does the statement apply?
The answer has three values: YES, NO, or MAYBE when a part of the statement depends on something the request does
not say (a condition key it does not know, an operator it does not evaluate, a resource only partly known). A
caller judging an effect reads MAYBE the safe way: an Allow that only MAYBE applies grants nothing; a Deny that
MAYBE applies denies. So a policy is never judged harmless on a guess.

Covered: Effect; Principal and NotPrincipal (``*``, ``{"AWS": ...}`` with account ids, root and role ARNs,
``{"Service": ...}``); Action and NotAction with ``*``/``?`` wildcards (case-insensitive); Resource and NotResource
with wildcards (``arn:aws:s3:::bucket*`` matches ``arn:aws:s3:::bucket/AWSLogs/...``); Condition with the String,
Arn and Bool operators, their negations, ``IgnoreCase``, ``IfExists``, ``Null`` and the ``ForAllValues`` /
``ForAnyValue`` qualifiers. Numeric, Date and IpAddress operators, policy variables and every key absent from the
request's context are MAYBE. Wildcards are matched without regular expressions or recursion (an attacker writes the
patterns: no backtracking blow-up, no RecursionError on a long Resource).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from guardian.model.wildcards import like as _like
from guardian.model.wildcards import overlap as _overlap


class Applies(Enum):
    NO = 0
    MAYBE = 1
    YES = 2


@dataclass(frozen=True)
class Request:
    """One call a policy must allow or must not deny. ``principal`` is an IAM ARN (a role, or an account root
    ``arn:aws:iam::<account>:root``) or a service principal such as ``cloudtrail.amazonaws.com``. ``context`` maps
    lower-case condition keys to the values the request is known to carry; any other key is unknown. ``unnamed``:
    the principal stands for some role of its account whose ARN is not known (any role the account's policies
    delegate to): a policy that names a role may name it (MAYBE), and no NotPrincipal but ``*`` leaves it out."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unnamed: bool = False

    @property
    def is_service(self) -> bool:
        return not self.principal.startswith("arn:")


def applies(statement: Mapping[str, Any], request: Request) -> Applies:
    """Whether ``statement`` (whatever its Effect) applies to ``request``: principal, action, resource, condition."""
    parts = (
        _principal(statement, request),
        _action(statement, request.action),
        _resource(statement, request.resource),
        conditions(statement.get("Condition") or {}, request.context),
    )
    return Applies(min(p.value for p in parts))


def allowed(statements: Sequence[Mapping[str, Any]], request: Request) -> bool:
    """Some Allow surely applies and no Deny can: the request is granted by this policy alone."""
    granted = any(applies(s, request) is Applies.YES for s in statements if s.get("Effect") == "Allow")
    return granted and not denied(statements, request)


def denied(statements: Sequence[Mapping[str, Any]], request: Request) -> bool:
    """A Deny applies or cannot be ruled out."""
    return any(applies(s, request) is not Applies.NO for s in statements if s.get("Effect") == "Deny")


def statements_of(policy: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    found = (policy or {}).get("Statement", [])
    return [found] if isinstance(found, Mapping) else [s for s in found if isinstance(s, Mapping)]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- principal ------------------------------------------------------------------------------------------------------


def _principal(statement: Mapping[str, Any], request: Request) -> Applies:
    if "NotPrincipal" in statement:
        return _excluded(statement["NotPrincipal"], request)
    if "Principal" not in statement:
        return Applies.YES  # an identity policy: applies to whoever holds it
    if request.unnamed:
        return _may_name(statement["Principal"], request)
    return Applies.YES if _named(statement["Principal"], request, exact=False) else Applies.NO


def _may_name(principal: Any, request: Request) -> Applies:
    """Whether ``principal`` names some role of the request's account whose ARN is unknown: ``*``, the account and
    its root do (the account delegates to IAM); one of its roles or role sessions may be that role; nothing else."""
    if principal == "*":
        return Applies.YES
    if not isinstance(principal, Mapping):
        return Applies.NO
    partition, account = request.principal.split(":")[1], request.principal.split(":")[4]
    best = Applies.NO
    for value in (str(v) for v in as_list(principal.get("AWS", []))):
        if value in ("*", account, f"arn:{partition}:iam::{account}:root"):
            return Applies.YES
        if value.startswith((f"arn:{partition}:iam::{account}:role/", f"arn:{partition}:sts::{account}:assumed-role/")):
            best = Applies.MAYBE
    return best


def _named(principal: Any, request: Request, *, exact: bool) -> bool:
    """Whether ``principal`` names the request's principal. With ``exact`` (NotPrincipal), an account names only its
    root, not its roles."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if request.is_service:
        services = {str(s) for s in as_list(principal.get("Service", []))}
        return request.principal in services or "*" in {str(a) for a in as_list(principal.get("AWS", []))}
    account = request.principal.split(":")[4]
    root = f"{':'.join(request.principal.split(':')[:2])}:iam::{account}:root"
    for value in (str(v) for v in as_list(principal.get("AWS", []))):
        if value in ("*", request.principal):
            return True
        if not exact and value in (account, root):
            return True  # the account, and through it every principal IAM lets in
        if exact and request.principal == root and value == account:
            return True
    return False


def _excluded(principal: Any, request: Request) -> Applies:
    """Whether a NotPrincipal statement applies: a service or root is left out only when it is named itself. A role
    acts as a session (``arn:aws:sts::<account>:assumed-role/<role>/<session>``), which AWS evaluates against the
    session, the role and the account: it is left out only for the sessions named beside the role and its account,
    and the guardian cannot know which session a reader will use, so the statement may still apply (MAYBE)."""
    if request.unnamed:  # naming the account (its root) spares only the root user (IAM User Guide, "NotPrincipal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS", [])))
        return Applies.NO if everyone else Applies.YES
    if request.is_service or request.principal.endswith(":root"):
        return Applies.NO if _named(principal, request, exact=True) else Applies.YES
    partition, account = request.principal.split(":")[1], request.principal.split(":")[4]
    root = Request(f"arn:{partition}:iam::{account}:root", "", "")
    role = request.principal.rsplit("/", 1)[-1]
    sessions = f"arn:{partition}:sts::{account}:assumed-role/{role}/"
    named = principal.get("AWS", []) if isinstance(principal, Mapping) else []
    some_session = any(str(v).startswith(sessions) for v in as_list(named))
    if some_session and _named(principal, request, exact=True) and _named(principal, root, exact=True):
        return Applies.MAYBE
    return Applies.YES


# -- action and resource --------------------------------------------------------------------------------------------


def _action(statement: Mapping[str, Any], action: str) -> Applies:
    if "NotAction" in statement:
        hit = any(_like(str(a).lower(), action.lower()) for a in as_list(statement["NotAction"]))
        return Applies.NO if hit else Applies.YES
    hit = any(_like(str(a).lower(), action.lower()) for a in as_list(statement.get("Action", [])))
    return Applies.YES if hit else Applies.NO


def _resource(statement: Mapping[str, Any], resource: str) -> Applies:
    if "NotResource" in statement:
        found = _any_resource(as_list(statement["NotResource"]), resource)
        return {Applies.YES: Applies.NO, Applies.NO: Applies.YES, Applies.MAYBE: Applies.MAYBE}[found]
    if "Resource" not in statement:
        return Applies.YES
    return _any_resource(as_list(statement["Resource"]), resource)


def _any_resource(patterns: list[Any], resource: str) -> Applies:
    """A request's resource may stand for a set (``.../AWSLogs/<account>/*``: every log file CloudTrail may write):
    a pattern that covers the whole set applies, one that covers part of it may."""
    best = Applies.NO
    for pattern in (str(p) for p in patterns):
        variable = "${" in pattern  # a policy variable: it could stand for anything
        plain = re.sub(r"\$\{[^}]*\}", "*", pattern)
        if _like(plain, resource):  # for a set: the pattern's wildcards take the set's in
            found = Applies.MAYBE if variable else Applies.YES
        elif "*" in resource and _overlap(plain, resource):
            found = Applies.MAYBE
        else:
            found = Applies.NO
        best = max(best, found, key=lambda a: a.value)
    return best


# -- conditions -----------------------------------------------------------------------------------------------------

_STRING = {"stringequals", "stringlike", "arnequals", "arnlike", "stringequalsignorecase"}
_NEGATED = {"stringnotequals": "stringequals", "stringnotlike": "stringlike", "arnnotequals": "arnequals"}
_NEGATED |= {"arnnotlike": "arnlike", "stringnotequalsignorecase": "stringequalsignorecase"}


def conditions(block: Any, context: Mapping[str, tuple[str, ...]]) -> Applies:
    """Every operator and key must hold (AND); values of one key are alternatives (OR). A malformed block: MAYBE."""
    if not isinstance(block, Mapping):
        return Applies.MAYBE
    result = Applies.YES
    for operator, tests in block.items():
        if not isinstance(tests, Mapping):
            return Applies.MAYBE
        for key, values in tests.items():
            one = _condition(str(operator), str(key).lower(), [str(v) for v in as_list(values)], context)
            result = min(result, one, key=lambda a: a.value)
    return result


def _condition(operator: str, key: str, wanted: list[str], context: Mapping[str, tuple[str, ...]]) -> Applies:
    op = operator.lower()
    qualifier = ""
    for prefix in ("forallvalues:", "foranyvalue:"):
        if op.startswith(prefix):
            qualifier, op = prefix, op.removeprefix(prefix)
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    if key not in context:
        return Applies.MAYBE  # absent or unknown: this evaluator cannot tell which
    actual = context[key]
    if op == "null":
        present = bool(actual)
        return Applies.YES if any((w.lower() == "true") != present for w in wanted) else Applies.NO
    if not actual and qualifier == "forallvalues:":
        return Applies.YES  # every value of none holds: true when the key is absent (IAM User Guide)
    if not actual and qualifier == "foranyvalue:":
        return Applies.MAYBE if if_exists else Applies.NO  # no value to hold: false when the key is absent
    if any("${" in w for w in wanted):
        return Applies.MAYBE  # a policy variable: its value is not known here
    if not actual:  # known to be absent
        return (
            Applies.YES
            if if_exists or op in _NEGATED
            else Applies.NO
            if op in _STRING or op == "bool"
            else Applies.MAYBE
        )
    if op not in _STRING and op not in _NEGATED and op != "bool":
        return Applies.MAYBE  # Numeric, Date, IpAddress, Binary: not evaluated
    if qualifier == "forallvalues:":  # each of the request's values must hold (for one of the policy's values)
        return Applies.YES if all(_holds(op, (a,), wanted) for a in actual) else Applies.NO
    if qualifier == "foranyvalue:":
        return Applies.YES if any(_holds(op, (a,), wanted) for a in actual) else Applies.NO
    return Applies.YES if _holds(op, actual, wanted) else Applies.NO


def _holds(op: str, actual: tuple[str, ...], wanted: list[str]) -> bool:
    if op == "bool":
        return any(a.lower() == w.lower() for a in actual for w in wanted)
    if op in _NEGATED:
        return not _string_holds(_NEGATED[op], actual, wanted)
    return _string_holds(op, actual, wanted)


def _string_holds(op: str, actual: tuple[str, ...], wanted: list[str]) -> bool:
    if op == "stringequalsignorecase":
        return any(a.lower() == w.lower() for a in actual for w in wanted)
    if op.endswith("like"):
        return any(_like(w, a) for a in actual for w in wanted)
    return any(a == w for a in actual for w in wanted)
