"""EventBridge event pattern matching, for the watch rules: which of them an event matches, and why.

Pure. The semantics are EventBridge's, checked in tests against moto's implementation over the shared corpus and
cases of our own: every field of the pattern must match (AND); a field's list is alternatives (OR); a value that
is an array matches if any element does; a filter on a field that is an object, or absent, sees no value (only
``{"exists": false}`` matches it); ``anything-but`` needs a value. Values compare by type: ``true`` is not ``1``.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

API_CALL = "AWS API Call via CloudTrail"
_DETAIL_TYPES = {
    "AwsApiCall": API_CALL,
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
}
_MISSING: tuple[Any, ...] = ()


def envelope(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event as EventBridge delivers it: an envelope as is, a bare CloudTrail record wrapped as EventBridge
    wraps it (detail-type from its eventType, source ``aws.<service>``)."""
    if isinstance(raw.get("detail"), Mapping) and "detail-type" in raw:
        return raw
    source = raw.get("eventSource")
    service = source.split(".", 1)[0] if isinstance(source, str) else "unknown"
    return {
        "version": "0",
        "detail-type": _DETAIL_TYPES.get(str(raw.get("eventType")), API_CALL),
        "source": f"aws.{service}",
        "account": raw.get("recipientAccountId"),
        "region": raw.get("awsRegion"),
        "resources": [],
        "detail": raw,
    }


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    return _match(pattern, event, "", None)


def explain(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """(matched, why): each field that matched, or the first that did not."""
    why: list[str] = []
    return _match(pattern, event, "", why), why


def _match(pattern: Mapping[str, Any], node: Any, prefix: str, why: list[str] | None) -> bool:
    for key, wanted in pattern.items():
        if key == "$or":
            trials: list[list[str] | None] = [[] if why is not None else None for _ in wanted]
            chosen = next((i for i, p in enumerate(wanted) if _match(p, node, prefix, trials[i])), None)
            if chosen is None:
                if why is not None:
                    why.append(f"{prefix or 'the event'}: none of the {len(wanted)} alternatives ($or) matched")
                return False
            if why is not None:
                why.extend(trials[chosen] or [])
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(wanted, Mapping):
            if not _match(wanted, _child(node, key), path, why):
                return False
            continue
        values = _leaf(node, key)
        hit = _matching_filter(values, wanted)
        if hit is None:
            if why is not None:
                seen = "absent" if values is _MISSING else _show(values)
                why.append(f"{path} is {seen}: matches none of {_show(wanted)}")
            return False
        if why is not None:
            value, matched = hit
            if isinstance(matched, Mapping) and "exists" in matched:
                why.append(f"{path} is {'present' if matched['exists'] else 'absent'}: matches {_show(matched)}")
            else:
                why.append(f"{path} = {_show(value)} matches {_show(matched)}")
    return True


def _child(node: Any, key: str) -> Any:
    """What a nested pattern looks into: an object, or the objects of an array (any of them may match)."""
    if isinstance(node, Mapping):
        return node.get(key)
    if isinstance(node, list):
        return [c for item in node for c in _flat(_child(item, key))]
    return None


def _flat(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _leaf(node: Any, key: str) -> tuple[Any, ...]:
    """The values at ``key``, or _MISSING: absent, or an object (a pattern's list never matches an object)."""
    if isinstance(node, list):
        found = [v for item in node for v in _leaf(item, key)]
        return tuple(found) if found else _MISSING
    if not isinstance(node, Mapping) or key not in node:
        return _MISSING
    value = node[key]
    if isinstance(value, Mapping) and value:
        return _MISSING
    if isinstance(value, list):
        return (value,)  # an array: any element may match (and it exists, even empty)
    return (value,)


def _matching_filter(values: tuple[Any, ...], filters: list[Any]) -> tuple[Any, Any] | None:
    """(value, filter) for the first filter a value matches, or None."""
    for f in filters:
        if isinstance(f, Mapping):
            found = _named(values, f)
            if found is not None:
                return found, f
            continue
        for value in values:
            for v in value if isinstance(value, list) else [value]:
                if _same(v, f):
                    return v, f
    return None


def _named(values: tuple[Any, ...], f: Mapping[str, Any]) -> Any:
    """The value that satisfies the filter ``f``, or None (``True`` for ``exists`` when it holds)."""
    ((op, arg),) = f.items()
    if op == "exists":
        return (values is not _MISSING) == arg or None
    for value in values:
        for v in value if isinstance(value, list) else [value]:
            if _test(op, arg, v):
                return v if v is not None else "null"
    return None


def _test(op: str, arg: Any, v: Any) -> bool:
    if op == "anything-but":
        if isinstance(arg, Mapping):
            ((inner, inner_arg),) = arg.items()
            return not _test(inner, inner_arg, v)
        return not any(_same(v, a) for a in (arg if isinstance(arg, list) else [arg]))
    if op == "numeric":
        return _numeric(arg, v)
    if op == "cidr":
        try:
            return isinstance(v, str) and ipaddress.ip_address(v) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    if not isinstance(v, str):
        return False
    text: Any = arg
    if isinstance(arg, Mapping):  # prefix/suffix with equals-ignore-case
        text, v = str(arg["equals-ignore-case"]).casefold(), v.casefold()
    options: list[Any] = text if isinstance(text, list) else [text]
    if op == "prefix":
        return any(v.startswith(o) for o in options)
    if op == "suffix":
        return any(v.endswith(o) for o in options)
    if op == "equals-ignore-case":
        return any(v.casefold() == str(o).casefold() for o in options)
    if op == "wildcard":
        return any(_wildcard(o).fullmatch(v) is not None for o in options)
    return False


def _numeric(arg: list[Any], v: Any) -> bool:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    checks = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge, ">": operator.gt}
    return all(bool(checks[op](v, number)) for op, number in zip(arg[::2], arg[1::2], strict=True))


def _same(v: Any, f: Any) -> bool:
    return type(v) is type(f) and v == f if isinstance(v, bool) or isinstance(f, bool) else v == f


@cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are literal."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _show(value: Any) -> str:
    import json  # noqa: PLC0415 - only to explain

    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:119] + "…"
