"""Read and check a watch rules file: every mistake is reported at once, each naming the rule and the field.

The file: ``{"rules": [{"id", "description", "severity", "match": {...}, "enabled"?, "heal"?}, ...]}``. ``match``
keys are CloudTrail record fields (:data:`FIELDS`) plus ``principal`` (the caller's ARN, ``include`` and/or
``exclude`` patterns) and ``detailType``. A value is an EventBridge filter list, one filter, or a plain string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
RULE_KEYS = frozenset({"id", "description", "severity", "match", "enabled", "heal", "check"})
# match key -> the path of the field in the EventBridge event's ``detail`` (None: not under detail)
FIELDS: Mapping[str, tuple[str, ...]] = {
    "eventSource": ("eventSource",),
    "eventName": ("eventName",),
    "eventType": ("eventType",),
    "errorCode": ("errorCode",),
    "errorMessage": ("errorMessage",),
    "region": ("awsRegion",),
    "sourceIPAddress": ("sourceIPAddress",),
    "readOnly": ("readOnly",),
    "userIdentity": ("userIdentity",),
    "requestParameters": ("requestParameters",),
    "responseElements": ("responseElements",),
    "additionalEventData": ("additionalEventData",),
}
MATCH_KEYS = frozenset({*FIELDS, "principal", "detailType"})
# Plain strings with a * in these fields are wildcards (an ARN or an eventName never contains one).
WILDCARD_FIELDS = frozenset({"eventSource", "eventName", "region", "principal"})
# The opt-in undos a rule may name: safe and reversible, each with its own verify step in the function.
HEALS: Mapping[str, tuple[str, str]] = {  # the undo: the eventSource and the one eventName it undoes
    "StartConfigurationRecorder": ("config.amazonaws.com", "StopConfigurationRecorder"),
    "EnableGuardDutyDetector": ("guardduty.amazonaws.com", "UpdateDetector"),
}
# The reads a rule may ask for before it alerts: the eventSource and the eventNames the read understands.
CHECKS: Mapping[str, tuple[str, frozenset[str]]] = {
    # the EventBridge rule named in the call: its signed inventory entry, or read now: does it route security?
    "SecurityRouting": (
        "events.amazonaws.com",
        frozenset({"DisableRule", "RemoveTargets", "PutRule", "PutTargets", "DeleteRule"}),
    ),
}
OPERATORS = frozenset(
    {"prefix", "suffix", "wildcard", "anything-but", "exists", "numeric", "equals-ignore-case", "cidr"}
)
NUMERIC_OPS = frozenset({"<", "<=", "=", ">=", ">"})
ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
API_CALL = "AWS API Call via CloudTrail"
SIGN_IN = "AWS Console Sign In via CloudTrail"
DETAIL_TYPES = (API_CALL, SIGN_IN, "AWS Service Event via CloudTrail", "AWS Console Action via CloudTrail")


class RulesError(ValueError):
    """A rules file that cannot be used; ``problems`` lists every one, each naming the rule and the field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True)
class WatchRule:
    id: str
    description: str
    severity: str
    match: Mapping[str, Any]
    enabled: bool = True
    heal: str | None = None
    check: str | None = None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[WatchRule, ...]
    source: str = field(default="rules")

    @property
    def enabled(self) -> tuple[WatchRule, ...]:
        return tuple(r for r in self.rules if r.enabled)


def load(path: Path) -> RuleSet:
    """The rules of ``path``, checked; :class:`RulesError` lists every problem."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RulesError(str(path), ["no such file"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RulesError(str(path), [f"not readable as JSON: {exc}"]) from None
    return parse(data, str(path))


def parse(data: Any, source: str = "rules") -> RuleSet:
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulesError(source, ['expected an object {"rules": [...]}'])
    unknown = sorted(set(data) - {"rules", "$comment"})
    if unknown:
        problems.append(f"unknown top-level keys {unknown}")
    rules: list[WatchRule] = []
    seen: set[str] = set()
    for index, item in enumerate(data["rules"]):
        rid = item.get("id") if isinstance(item, dict) else None
        if isinstance(rid, str) and rid in seen:  # said even of a rule with other problems
            problems.append(f"rule {rid!r}: duplicate id")
        if isinstance(rid, str):
            seen.add(rid)
        rule = _rule(item, index, problems)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise RulesError(source, problems)
    return RuleSet(tuple(rules), source)


def _rule(item: Any, index: int, problems: list[str]) -> WatchRule | None:
    if not isinstance(item, dict):
        problems.append(f"rule #{index + 1}: expected an object")
        return None
    rid = item.get("id")
    name = f"rule {rid!r}" if isinstance(rid, str) and rid else f"rule #{index + 1}"
    before = len(problems)
    problems.extend(
        f"{name}: unknown key {key!r}{_nearest(key, RULE_KEYS)}" for key in sorted(set(item) - RULE_KEYS - {"$comment"})
    )
    if not isinstance(rid, str) or not ID.fullmatch(rid):
        problems.append(f"{name}: id must be 1-64 lowercase letters, digits and hyphens")
    description = item.get("description")
    if not isinstance(description, str) or not description.strip() or len(description) > 200:
        problems.append(f"{name}: description must be text of 1-200 characters")
    severity = item.get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{name}: severity must be one of {', '.join(SEVERITIES)} (got {severity!r})")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"{name}: enabled must be true or false")
    heal = item.get("heal")
    if heal is not None and heal not in HEALS:
        problems.append(f"{name}: heal must be one of {', '.join(HEALS)} (got {heal!r})")
    check = item.get("check")
    match = item.get("match")
    _check_reads(name, check, match, problems)
    if not isinstance(match, dict) or not match:
        problems.append(f"{name}: match must be a non-empty object")
    else:
        _check_match(name, match, problems)
        if isinstance(heal, str) and heal in HEALS:
            source, undone = HEALS[heal]
            if match.get("eventSource") != source or match.get("eventName") not in (undone, [undone]):
                problems.append(
                    f"{name}: heal {heal} undoes {source} {undone} only: the rule's match needs eventSource "
                    f"{source!r} and eventName [{undone!r}]"
                )
    if len(problems) > before:
        return None
    assert isinstance(rid, str)
    assert isinstance(description, str)
    assert isinstance(severity, str)
    assert isinstance(match, dict)
    assert isinstance(enabled, bool)
    return WatchRule(rid, description.strip(), severity, match, enabled, heal, check)


def _check_reads(name: str, check: Any, match: Any, problems: list[str]) -> None:
    """A known check, reading what its calls name: the rule's match must stay within those calls."""
    if check is None:
        return
    if not isinstance(check, str) or check not in CHECKS:
        problems.append(f"{name}: check must be one of {', '.join(CHECKS)} (got {check!r})")
        return
    if not isinstance(match, dict):
        return  # said of match itself
    source, names = CHECKS[check]
    wanted = match.get("eventName")
    listed = wanted if isinstance(wanted, list) else [wanted]
    if match.get("eventSource") != source or not all(isinstance(n, str) and n in names for n in listed):
        problems.append(
            f"{name}: check {check} reads what {source} {', '.join(sorted(names))} name: the rule's match needs "
            f"eventSource {source!r} and eventName among them"
        )


def _check_match(name: str, match: Mapping[str, Any], problems: list[str]) -> None:
    if set(match) <= {"detailType"}:
        problems.append(f"{name}: match needs a field besides detailType (eventSource, eventName, ...)")
    for key, value in match.items():
        where = f"{name}: match.{key}"
        if key not in MATCH_KEYS:
            problems.append(f"{name}: unknown match key {key!r}{_nearest(key, MATCH_KEYS)}")
        elif key == "principal":
            _check_principal(where, value, problems)
        elif key == "detailType":
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in DETAIL_TYPES]
            if bad or not values:
                problems.append(f"{where}: must be among {list(DETAIL_TYPES)} (got {bad or values})")
        elif key == "errorCode" and value in ("present", "absent"):
            continue
        else:
            check_value(where, value, problems)


def _check_principal(where: str, value: Any, problems: list[str]) -> None:
    if isinstance(value, dict) and set(value) <= {"include", "exclude"} and value:
        if "include" in value and "exclude" in value:
            problems.append(
                f"{where}: include and exclude together cannot be expressed in one EventBridge pattern (one field "
                "takes one list of alternatives): keep one, or split the rule"
            )
        for part, patterns in value.items():
            check_value(f"{where}.{part}", patterns, problems, scalars_only=True)
        return
    check_value(where, value, problems, scalars_only=True)


def check_value(where: str, value: Any, problems: list[str], *, scalars_only: bool = False) -> None:
    """A leaf (string, number, bool, null, a filter, a list of them) or, unless ``scalars_only``, an object of
    nested fields."""
    if isinstance(value, dict) and not scalars_only and not (set(value) & OPERATORS):
        if not value:
            problems.append(f"{where}: an empty object matches nothing")
        for key, inner in value.items():
            check_value(f"{where}.{key}", inner, problems)
        return
    items = value if isinstance(value, list) else [value]
    if not items:
        problems.append(f"{where}: an empty list matches nothing")
    for item in items:
        if isinstance(item, dict):
            _check_filter(where, item, problems)
        elif isinstance(item, list) or (scalars_only and not isinstance(item, str)):
            problems.append(f"{where}: {item!r} is not a value or a filter")


def _check_filter(where: str, item: Mapping[str, Any], problems: list[str]) -> None:  # noqa: PLR0912 - one per operator
    if len(item) != 1:
        problems.append(f"{where}: a filter has exactly one operator (got {sorted(item)})")
        return
    ((op, arg),) = item.items()
    if op not in OPERATORS:
        problems.append(f"{where}: unknown operator {op!r}{_nearest(op, OPERATORS)}")
    elif op == "exists" and not isinstance(arg, bool):
        problems.append(f"{where}: exists takes true or false")
    elif op in ("prefix", "suffix") and not (isinstance(arg, str) or _ignore_case(arg)):
        problems.append(f"{where}: {op} takes a string or {{'equals-ignore-case': string}}")
    elif op in ("wildcard", "equals-ignore-case", "cidr") and not isinstance(arg, str):
        problems.append(f"{where}: {op} takes a string")
    elif op == "numeric":
        _check_numeric(where, arg, problems)
    elif op == "anything-but":
        if isinstance(arg, dict):
            inner_op = next(iter(arg), None)
            if len(arg) != 1 or inner_op not in ("prefix", "suffix", "wildcard", "equals-ignore-case"):
                problems.append(f"{where}: anything-but takes values, or one of prefix, suffix, wildcard")
            else:
                _check_filter(where, arg, problems)
        elif isinstance(arg, list):
            if not arg or any(isinstance(a, dict | list) for a in arg):
                problems.append(f"{where}: anything-but takes a non-empty list of values")
        elif isinstance(arg, bool) or arg is None:
            problems.append(f"{where}: anything-but takes a string, a number or a list of them")


def _check_numeric(where: str, arg: Any, problems: list[str]) -> None:
    ok = isinstance(arg, list) and len(arg) in (2, 4)
    if ok:
        ops, numbers = arg[::2], arg[1::2]
        ok = all(o in NUMERIC_OPS for o in ops) and all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in numbers
        )
    if not ok:
        problems.append(f'{where}: numeric takes ["<op>", number] or two such pairs (ops < <= = >= >)')


def _ignore_case(arg: Any) -> bool:
    return isinstance(arg, dict) and set(arg) == {"equals-ignore-case"} and isinstance(arg["equals-ignore-case"], str)


def _nearest(key: str, known: frozenset[str]) -> str:
    import difflib  # noqa: PLC0415

    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
