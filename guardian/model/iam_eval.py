"""A small, honest evaluator of resource-policy statements (S3 bucket policies, KMS key policies).

Pure, standard library only. It answers one question for one statement and one request: does the statement apply?
The answer has three values: YES, NO, or MAYBE when a part of the statement depends on something the request does
not say (a condition key it does not know, an operator it does not evaluate, a resource only partly known). A
caller judging an effect reads MAYBE the safe way: an Allow that only MAYBE applies grants nothing; a Deny that
MAYBE applies denies. So a policy is never judged harmless on a guess.

Covered: Effect; Principal and NotPrincipal (``*``, ``{"AWS": ...}`` with account ids, root and role ARNs,
``{"Service": ...}``); Action and NotAction with ``*``/``?`` wildcards (case-insensitive); Resource and NotResource
with wildcards (``arn:aws:s3:::bucket*`` matches ``arn:aws:s3:::bucket/AWSLogs/...``); Condition with the String,
Arn and Bool operators, their negations, ``IgnoreCase``, ``IfExists`` and ``Null``. Numeric, Date and IpAddress
operators, policy variables and every key absent from the request's context are MAYBE.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache, lru_cache
from typing import Any


class Applies(Enum):
    NO = 0
    MAYBE = 1
    YES = 2


@dataclass(frozen=True)
class Request:
    """One call a policy must allow or must not deny. ``principal`` is an IAM ARN (a role, or an account root
    ``arn:aws:iam::<account>:root``) or a service principal such as ``cloudtrail.amazonaws.com``. ``context`` maps
    lower-case condition keys to the values the request is known to carry; any other key is unknown."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

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
    return Applies.YES if _named(statement["Principal"], request, exact=False) else Applies.NO


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
        hit = any(_glob(str(a).lower()).fullmatch(action.lower()) for a in as_list(statement["NotAction"]))
        return Applies.NO if hit else Applies.YES
    hit = any(_glob(str(a).lower()).fullmatch(action.lower()) for a in as_list(statement.get("Action", [])))
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
        if _glob(plain).fullmatch(resource):  # for a set: the pattern's wildcards take the set's in
            found = Applies.MAYBE if variable else Applies.YES
        elif "*" in resource and _overlap(plain, resource):
            found = Applies.MAYBE
        else:
            found = Applies.NO
        best = max(best, found, key=lambda a: a.value)
    return best


def _overlap(a: str, b: str) -> bool:
    """Whether some string matches both wildcard patterns (``*`` and ``?``)."""

    @cache
    def both(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*" and (both(i + 1, j) or (j < len(b) and both(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (both(i, j + 1) or (i < len(a) and both(i + 1, j))):
            return True
        if i < len(a) and j < len(b) and "*" not in (a[i], b[j]) and (a[i] == b[j] or "?" in (a[i], b[j])):
            return both(i + 1, j + 1)
        return False

    return both(0, 0)


@lru_cache(maxsize=512)
def _glob(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` any one character; nothing else."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


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
    for prefix in ("forallvalues:", "foranyvalue:"):
        op = op.removeprefix(prefix)
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    if key not in context:
        return Applies.MAYBE  # absent or unknown: this evaluator cannot tell which
    actual = context[key]
    if op == "null":
        present = bool(actual)
        return Applies.YES if any((w.lower() == "true") != present for w in wanted) else Applies.NO
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
    if op == "bool":
        return Applies.YES if any(a.lower() == w.lower() for a in actual for w in wanted) else Applies.NO
    if op in _STRING:
        return Applies.YES if _string_holds(op, actual, wanted) else Applies.NO
    if op in _NEGATED:
        return Applies.NO if _string_holds(_NEGATED[op], actual, wanted) else Applies.YES
    return Applies.MAYBE  # Numeric, Date, IpAddress, Binary: not evaluated


def _string_holds(op: str, actual: tuple[str, ...], wanted: list[str]) -> bool:
    if op == "stringequalsignorecase":
        return any(a.lower() == w.lower() for a in actual for w in wanted)
    if op.endswith("like"):
        return any(_glob(w).fullmatch(a) for a in actual for w in wanted)
    return any(a == w for a in actual for w in wanted)
