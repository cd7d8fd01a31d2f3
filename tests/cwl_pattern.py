"""CloudWatch Logs' JSON filter pattern syntax, as far as the CIS metric filters use it, to test what each pattern
means against real CloudTrail records (moto's logs model matches only plain terms, not JSON patterns).

``{ $.a.b = "x*" && ($.c != y || $.d NOT EXISTS) }``: ``&&`` binds tighter than ``||``; ``*`` in a value is a
wildcard; a quoted and a bare value mean the same. A comparison on a field the record does not have is false, for
``!=`` too (unconfirmed by the CloudWatch Logs documentation: the patterns below read the same either way where
it matters, and the tests say so); ``NOT EXISTS`` is true exactly then.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r'\s*(\{|\}|\(|\)|&&|\|\||!=|=|NOT EXISTS|EXISTS|"(?:[^"\\]|\\.)*"|\$[\w.\[\]]+|[^\s(){}=!&|"]+)')
_MISSING = object()


def tokens(pattern: str) -> list[str]:
    found, at = [], 0
    while at < len(pattern.rstrip()):
        match = _TOKEN.match(pattern, at)
        if match is None:
            raise ValueError(f"cannot read {pattern[at:]!r}")
        found.append(match.group(1))
        at = match.end()
    return found


def matches(pattern: str, record: dict[str, Any]) -> bool:
    parts = tokens(pattern)
    if parts[0] != "{" or parts[-1] != "}":
        raise ValueError("a JSON filter pattern is { ... }")
    value, rest = _or(parts[1:-1], record)
    if rest:
        raise ValueError(f"unexpected {rest[0]!r}")
    return value


def _or(parts: list[str], record: dict[str, Any]) -> tuple[bool, list[str]]:
    value, parts = _and(parts, record)
    while parts and parts[0] == "||":
        other, parts = _and(parts[1:], record)
        value = value or other
    return value, parts


def _and(parts: list[str], record: dict[str, Any]) -> tuple[bool, list[str]]:
    value, parts = _factor(parts, record)
    while parts and parts[0] == "&&":
        other, parts = _factor(parts[1:], record)
        value = value and other
    return value, parts


def _factor(parts: list[str], record: dict[str, Any]) -> tuple[bool, list[str]]:
    if parts[0] == "(":
        value, rest = _or(parts[1:], record)
        if not rest or rest[0] != ")":
            raise ValueError("a ( without its )")
        return value, rest[1:]
    selector, op = parts[0], parts[1]
    found = _field(record, selector)
    if op == "NOT EXISTS":
        return found is _MISSING, parts[2:]
    if op == "EXISTS":
        return found is not _MISSING, parts[2:]
    wanted = parts[2].strip('"')
    if found is _MISSING or isinstance(found, dict | list):
        return False, parts[3:]
    equal = _like(wanted, found)
    return (equal if op == "=" else not equal), parts[3:]


def _field(record: dict[str, Any], selector: str) -> Any:
    node: Any = record
    for part in selector.removeprefix("$.").split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _like(wanted: str, value: Any) -> bool:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    regex = "".join(".*" if c == "*" else re.escape(c) for c in wanted)
    return re.fullmatch(regex, text) is not None
