"""Watch rules to EventBridge patterns: one pattern per rule, then as few EventBridge rules as fit.

Rules whose patterns differ only in their eventName list are merged into one (the union of the names); the rest
share EventBridge rules through ``$or`` under ``detail``, each pattern within EventBridge's 2,048 characters.
What cannot be expressed, or does not fit, is a :class:`~watch_rules.schema.RulesError` naming the rule and field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from watch_rules.refused import problems_of
from watch_rules.schema import (
    API_CALL,
    FIELDS,
    OPERATORS,
    SIGN_IN,
    WILDCARD_FIELDS,
    RulesError,
    RuleSet,
    WatchRule,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PATTERN_LIMIT = 2048  # characters: EventBridge's default quota (adjustable to 4,096)
MAX_EVENT_RULES = 50  # the guardian keeps its rules well inside the bus's 300
COMPILED_SCHEMA = "cloudtrail-guardian/watch-rules-compiled"


@dataclass(frozen=True)
class Group:
    """One EventBridge rule: its pattern and the watch rules it carries."""

    pattern: Mapping[str, Any]
    rule_ids: tuple[str, ...]


@dataclass(frozen=True)
class Compiled:
    rules: tuple[WatchRule, ...]  # the enabled rules
    patterns: Mapping[str, Mapping[str, Any]]  # rule id -> its own pattern
    groups: tuple[Group, ...]

    def runtime_document(self) -> dict[str, Any]:
        """What the function reads to tell which rules an event matched (shipped in its asset)."""
        return {
            "schema": COMPILED_SCHEMA,
            "version": 1,
            "rules": [
                {
                    "id": r.id,
                    "description": r.description,
                    "severity": r.severity,
                    "heal": r.heal,
                    **({"check": r.check} if r.check else {}),
                    "pattern": self.patterns[r.id],
                }
                for r in self.rules
            ],
        }


def size(pattern: Mapping[str, Any]) -> int:
    """Characters as EventBridge counts them, measured on the roomier rendering (with spaces), to be safe."""
    return len(json.dumps(pattern))


def pattern_of(rule: WatchRule) -> dict[str, Any]:
    """The rule's EventBridge pattern. ``detailType`` defaults to API calls and console sign-ins."""
    detail: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in rule.match.items():
        if key == "detailType":
            continue
        if key == "principal":
            _put(detail, ("userIdentity", "arn"), _principal(value), rule, key, problems)
        elif key == "errorCode" and value in ("present", "absent"):
            _put(detail, FIELDS[key], [{"exists": value == "present"}], rule, key, problems)
        else:
            _put(detail, FIELDS[key], _normal(value, wildcard=key in WILDCARD_FIELDS), rule, key, problems)
    problems.extend(problems_of(detail, f"rule {rule.id!r}: detail"))
    if problems:
        raise RulesError("rules", problems)
    types = rule.match.get("detailType", [API_CALL, SIGN_IN])
    pattern = {"detail-type": types if isinstance(types, list) else [types], "detail": detail}
    if size(pattern) > PATTERN_LIMIT:
        largest = max(rule.match, key=lambda k: len(json.dumps(rule.match[k])))
        raise RulesError(
            "rules",
            [
                f"rule {rule.id!r}: its pattern is {size(pattern)} characters, over EventBridge's {PATTERN_LIMIT} "
                f"(match.{largest} is the largest field): split the rule"
            ],
        )
    return pattern


def compile_rules(rules: RuleSet) -> Compiled:
    enabled = rules.enabled
    problems: list[str] = []
    patterns: dict[str, dict[str, Any]] = {}
    for rule in enabled:
        try:
            patterns[rule.id] = pattern_of(rule)
        except RulesError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RulesError(rules.source, problems)
    merged = _merge([(r.id, patterns[r.id]) for r in enabled])
    groups = _pack(merged)
    if len(groups) > MAX_EVENT_RULES:
        raise RulesError(rules.source, [f"{len(groups)} EventBridge rules needed, over {MAX_EVENT_RULES}: fewer rules"])
    return Compiled(enabled, patterns, tuple(groups))


def _put(  # noqa: PLR0917 - one place that both sets a field and says which rule's key clashed
    detail: dict[str, Any], path: Sequence[str], value: Any, rule: WatchRule, key: str, problems: list[str]
) -> None:
    """Set ``value`` at ``path``; objects merge, but a leaf set twice cannot be expressed (one list per field)."""
    node = detail
    for part in path[:-1]:
        node = node.setdefault(part, {})
    clash = _merge_into(node, path[-1], value, ".".join(path))
    if clash is not None:
        problems.append(
            f"rule {rule.id!r}: match.{key} sets {clash}, which another field sets too: one field takes one list "
            "of alternatives in an EventBridge pattern"
        )


def _merge_into(node: dict[str, Any], name: str, value: Any, where: str) -> str | None:
    """Put ``value`` under ``name``; the path of the first leaf already set, or None."""
    if name not in node:
        node[name] = value
        return None
    here = node[name]
    if not (isinstance(here, dict) and isinstance(value, dict)):
        return where
    for key, inner in value.items():
        clash = _merge_into(here, key, inner, f"{where}.{key}")
        if clash is not None:
            return clash
    return None


def _principal(value: Any) -> list[Any]:
    if isinstance(value, dict) and "exclude" in value:
        excluded = value["exclude"] if isinstance(value["exclude"], list) else [value["exclude"]]
        if any("*" in p for p in excluded):
            return [{"anything-but": {"wildcard": excluded[0] if len(excluded) == 1 else excluded}}]
        return [{"anything-but": excluded}]
    included = value["include"] if isinstance(value, dict) else value
    normal: list[Any] = _normal(included if isinstance(included, list) else [included], wildcard=True)
    return normal


def _normal(value: Any, *, wildcard: bool) -> Any:
    """A leaf as a filter list (plain strings with ``*`` as wildcards where ``wildcard``); objects recursed."""
    if isinstance(value, dict) and not _is_filter(value):
        return {k: _normal(v, wildcard=False) for k, v in value.items()}
    items = value if isinstance(value, list) else [value]
    return [{"wildcard": i} if wildcard and isinstance(i, str) and "*" in i else i for i in items]


def _is_filter(value: Mapping[str, Any]) -> bool:
    return bool(set(value) & OPERATORS)


def _merge(patterns: list[tuple[str, dict[str, Any]]]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Patterns equal but for their eventName lists become one, with the union of the names."""
    merged: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for rule_id, pattern in patterns:
        names = pattern["detail"].get("eventName")
        rest = json.loads(json.dumps(pattern))
        rest["detail"].pop("eventName", None)
        key = json.dumps(rest, sort_keys=True) + ("|names" if names is not None else "|any")
        if key in merged and names is not None:
            ids, kept = merged[key]
            ids.append(rule_id)
            known = {json.dumps(n, sort_keys=True) for n in kept["detail"]["eventName"]}
            kept["detail"]["eventName"].extend(n for n in names if json.dumps(n, sort_keys=True) not in known)
        elif key in merged:
            merged[key][0].append(rule_id)  # the same pattern twice: one EventBridge rule serves both
        else:
            merged[key] = ([rule_id], json.loads(json.dumps(pattern)))
    return [(tuple(ids), pattern) for ids, pattern in merged.values()]


def _pack(merged: list[tuple[tuple[str, ...], dict[str, Any]]]) -> list[Group]:
    """Patterns with the same detail-type share an EventBridge rule (``$or`` of their ``detail``) while it fits."""
    groups: list[Group] = []
    by_type: dict[str, list[tuple[tuple[str, ...], dict[str, Any]]]] = {}
    for rule_ids, pattern in merged:
        by_type.setdefault(json.dumps(pattern["detail-type"]), []).append((rule_ids, pattern))
    for members in by_type.values():
        ids: list[str] = []
        details: list[Any] = []
        types = members[0][1]["detail-type"]
        for member_ids, pattern in members:
            trial = _combined(types, [*details, pattern["detail"]])
            if details and size(trial) > PATTERN_LIMIT:
                groups.append(Group(_combined(types, details), tuple(ids)))
                ids, details = [], []
            ids.extend(member_ids)
            details.append(pattern["detail"])
        if details:
            groups.append(Group(_combined(types, details), tuple(ids)))
    return groups


def _combined(types: list[str], details: list[Any]) -> dict[str, Any]:
    """One pattern for ``details``: a field every one of them filters alike is said once, beside the ``$or`` (the
    same events: AND distributes over OR), unless a branch would be left empty."""
    if len(details) == 1:
        return {"detail-type": types, "detail": details[0]}
    first = details[0]
    shared = {
        k: v
        for k, v in first.items()
        if k != "$or"
        and all(k in d and json.dumps(d[k], sort_keys=True) == json.dumps(v, sort_keys=True) for d in details)
    }
    if any(set(d) <= set(shared) for d in details):
        shared = {}
    branches = [{k: v for k, v in d.items() if k not in shared} for d in details]
    return {"detail-type": types, "detail": {**shared, "$or": branches}}
