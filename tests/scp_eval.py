"""A small evaluator of the service control policies' Deny statements, for the tests: enough of IAM's rules for
the condition operators the policies use (ArnLike/ArnNotLike, StringEquals/StringNotEquals, StringLike,
ForAnyValue:StringEquals(IgnoreCase), Null), with IAM's treatment of a missing key (a negated operator matches, a
positive one does not; Null tests presence) and of a tag key in a condition key (compared without regard to case)."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support import REPO_ROOT


@dataclass(frozen=True)
class Request:
    """One API request as IAM sees it: the action, its resource, and the request context's keys."""

    action: str
    resource: str
    principal: str  # aws:PrincipalArn (for a role session: the role's ARN)
    principal_tags: dict[str, str] = field(default_factory=dict)
    resource_tags: dict[str, str] = field(default_factory=dict)
    tag_keys: tuple[str, ...] = ()
    source_function: str | None = None  # lambda:SourceFunctionArn, present for calls from a function's code

    def key(self, name: str) -> list[str] | None:
        lowered = name.lower()
        if lowered == "aws:principalarn":
            return [self.principal]
        if lowered == "lambda:sourcefunctionarn":
            return None if self.source_function is None else [self.source_function]
        if lowered == "aws:tagkeys":
            return list(self.tag_keys) or None
        for prefix, tags in (
            ("aws:principaltag/", self.principal_tags),
            ("aws:resourcetag/", self.resource_tags),
            ("iam:resourcetag/", self.resource_tags),
        ):
            if lowered.startswith(prefix):  # a tag key in a condition key is compared without regard to case
                wanted = name[len(prefix) :].casefold()
                value = next((v for k, v in tags.items() if k.casefold() == wanted), None)
                return None if value is None else [value]
        return None


def render_module() -> ModuleType:
    """scripts/render_scp.py, loaded as a module (scripts/ is not a package on the path)."""
    spec = importlib.util.spec_from_file_location("render_scp", REPO_ROOT / "scripts" / "render_scp.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_scp"] = module
    spec.loader.exec_module(module)
    return module


def rendered(break_glass: str = "BreakGlassAdmin", stack: str = "CloudTrailGuardian") -> list[dict[str, Any]]:
    """Every statement of the rendered policies."""
    policies: dict[str, str] = render_module().render(break_glass, stack)
    return [s for text in policies.values() for s in json.loads(text)["Statement"]]


def denied_by(statements: list[dict[str, Any]], request: Request) -> list[str]:
    """The Sids of the Deny statements that match the request."""
    return [s["Sid"] for s in statements if s["Effect"] == "Deny" and _matches(s, request)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _matches(statement: dict[str, Any], request: Request) -> bool:
    if not any(_like(a.lower(), request.action.lower()) for a in _as_list(statement["Action"])):
        return False
    if not any(_like(r, request.resource) for r in _as_list(statement["Resource"])):
        return False
    return all(
        _condition(operator, key, _as_list(values), request)
        for operator, tests in statement.get("Condition", {}).items()
        for key, values in tests.items()
    )


def _condition(operator: str, key: str, wanted: list[str], request: Request) -> bool:
    found = request.key(key)
    if operator == "Null":
        return (found is None) == (wanted[0] == "true")
    if operator.startswith("ForAnyValue:"):
        base = operator.split(":", 1)[1]
        return found is not None and any(_one(base, value, wanted) for value in found)
    negated = operator in ("ArnNotLike", "StringNotEquals", "StringNotLike", "ArnNotEquals")
    if found is None:
        return negated
    positive = {"ArnNotLike": "ArnLike", "StringNotEquals": "StringEquals", "StringNotLike": "StringLike"}
    hit = any(_one(positive.get(operator, operator), value, wanted) for value in found)
    return not hit if negated else hit


def _one(operator: str, value: str, wanted: list[str]) -> bool:
    if operator in ("ArnLike", "StringLike"):
        return any(_like(w, value) for w in wanted)
    if operator == "StringEquals":
        return value in wanted
    if operator == "StringEqualsIgnoreCase":
        return value.casefold() in {w.casefold() for w in wanted}
    raise AssertionError(f"the evaluator does not know {operator}")


def policy_files() -> list[Path]:
    return sorted((REPO_ROOT / "infra" / "policies").glob("scp-*.json"))
