"""What EventBridge refuses in a pattern that moto and a JSON schema accept, checked on the compiled pattern (so a
plain string of a wildcard field, compiled to a ``wildcard`` filter, is checked as EventBridge will see it).

The rules are those of Event Ruler, the library behind EventBridge's matching (github.com/aws/event-ruler:
``input/WildcardParser``, ``CIDR.cidr``, ``JsonRuleCompiler.completeNumericRange``, ``Range.ensureValidRange``), and
the numeric range of EventBridge's content-filtering page (values from -5.0e9 to 5.0e9).
"""

from __future__ import annotations

import ipaddress
from typing import Any

NUMERIC_LIMIT = 5.0e9
LOWER, UPPER = (">", ">="), ("<", "<=")


def problems_of(pattern: Any, where: str = "pattern") -> list[str]:
    """Every filter of ``pattern`` EventBridge would refuse, each named by its path."""
    found: list[str] = []
    _walk(pattern, where, found)
    return found


def _walk(node: Any, where: str, found: list[str]) -> None:
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in FILTERS:
            ((op, arg),) = node.items()
            FILTERS[op](arg, where, found)
            return
        for key, inner in node.items():
            _walk(inner, f"{where}.{key}", found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, where, found)


def wildcard_problem(value: str) -> str | None:
    """Event Ruler's wildcard parser: no two ``*`` in a row; a backslash escapes only ``*`` or a backslash."""
    i = 0
    while i < len(value):
        if value[i] == "*" and value[i + 1 : i + 2] == "*":
            return f"consecutive wildcard characters at position {i}"
        if value[i] == "\\":
            if value[i + 1 : i + 2] not in ("*", "\\"):
                return f"invalid escape character at position {i} (a backslash escapes only * or \\)"
            i += 1
        i += 1
    return None


def cidr_problem(value: str) -> str | None:
    """Event Ruler's CIDR: an IP address, one ``/``, and mask bits below 32 (IPv4) or 128 (IPv6)."""
    address, slash, bits = value.partition("/")
    if not slash or "/" in bits:
        return "malformed CIDR: one '/' required"
    if not bits.isdigit():
        return "malformed CIDR: mask bits must be a non-negative integer"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    limit = 32 if ip.version == 4 else 128  # the address sizes
    if int(bits) >= limit:
        return f"IPv{ip.version} mask bits must be < {limit}"
    return None


def _wildcard(arg: Any, where: str, found: list[str]) -> None:
    problem = wildcard_problem(arg) if isinstance(arg, str) else None
    if problem:
        found.append(f"{where}: wildcard {arg!r}: {problem} (EventBridge refuses it)")


def _cidr(arg: Any, where: str, found: list[str]) -> None:
    problem = cidr_problem(arg) if isinstance(arg, str) else "a CIDR is a string"
    if problem:
        found.append(f"{where}: cidr {arg!r}: {problem} (EventBridge refuses it)")


def _numeric(arg: Any, where: str, found: list[str]) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        return  # the schema's check names the shape
    ops, numbers = arg[::2], arg[1::2]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        return
    if any(abs(n) > NUMERIC_LIMIT for n in numbers):
        found.append(f"{where}: numeric {arg!r}: EventBridge compares numbers from -5.0e9 to 5.0e9")
    if len(arg) == 4:  # a range: a lower bound, then an upper one
        if ops[0] not in LOWER or ops[1] not in UPPER:
            found.append(f"{where}: numeric {arg!r}: a range is a lower bound (> or >=) then an upper one (< or <=)")
        elif numbers[0] >= numbers[1]:
            found.append(f"{where}: numeric {arg!r}: the lower bound must be less than the upper one")


def _anything_but(arg: Any, where: str, found: list[str]) -> None:
    if isinstance(arg, dict):
        _walk(arg, where, found)


def _ignore(_arg: Any, _where: str, _found: list[str]) -> None:
    return


FILTERS = {
    "wildcard": _wildcard,
    "cidr": _cidr,
    "numeric": _numeric,
    "anything-but": _anything_but,
    "prefix": _ignore,
    "suffix": _ignore,
    "exists": _ignore,
    "equals-ignore-case": _ignore,
}
