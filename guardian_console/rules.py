"""``guardian rules check`` and ``guardian rules test``: a watch rules file checked, and events tried against it,
offline (no AWS call), with the function's own matcher (EventBridge's semantics, cross-checked in the tests).

``test`` says, for each event, which rules match and why (each field that matched), and whether the decision table
acts on it first: a built-in row keeps precedence, and watch rules alert only on what the table does not act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardian.model.event_pattern import envelope, explain
from guardian.model.rules import RULES
from guardian_console.errors import ConsoleError
from watch_rules.compile import PATTERN_LIMIT, Compiled, compile_rules, size
from watch_rules.schema import RulesError, load

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

OK, WRONG = 0, 1
DEFAULT_RULES = Path("rules/watch.json")


def add_commands(commands: Any, parent: argparse.ArgumentParser) -> None:
    """``rules check`` and ``rules test``, under ``commands`` (the CLI's subparsers)."""
    rules = commands.add_parser("rules", help="check a watch rules file, and try events against it (offline)")
    verbs = rules.add_subparsers(title="rules commands", required=True, metavar="VERB")
    check = verbs.add_parser("check", parents=[parent], help="validate a rules file: every problem, named")
    check.add_argument("--rules", type=Path, default=DEFAULT_RULES, help=f"the rules file (default {DEFAULT_RULES})")
    check.set_defaults(command=check_command)
    test = verbs.add_parser("test", parents=[parent], help="which rules each event matches, and why")
    test.add_argument("--rules", type=Path, default=DEFAULT_RULES, help=f"the rules file (default {DEFAULT_RULES})")
    test.add_argument("events", nargs="+", type=Path, help="event files (JSON: a CloudTrail record or an envelope)")
    test.add_argument("--all", action="store_true", help="also say why each rule that did not match did not")
    test.set_defaults(command=try_command)


def compiled(path: Path) -> Compiled:
    if not path.is_file():
        raise ConsoleError(f"no rules file at {path}", "pass --rules FILE")
    return compile_rules(load(path))


def check_command(args: argparse.Namespace, _now: object) -> int:
    try:
        found = compiled(args.rules)
    except RulesError as exc:
        if args.json:
            print(json.dumps({"rules": str(args.rules), "valid": False, "problems": exc.problems}, indent=2))
        else:
            print(f"{args.rules}: {len(exc.problems)} problem(s)")
            print("\n".join(f"  {p}" for p in exc.problems))
        return WRONG
    sizes = [size(g.pattern) for g in found.groups]
    if args.json:
        groups = [
            {"rules": list(g.rule_ids), "pattern_characters": n} for g, n in zip(found.groups, sizes, strict=True)
        ]
        print(json.dumps({"rules": str(args.rules), "valid": True, "enabled": len(found.rules), "groups": groups}))
        return OK
    total = len(load(args.rules).rules)
    print(
        f"{args.rules}: valid; {len(found.rules)} of {total} rules enabled, in {len(found.groups)} EventBridge rule(s) "
        f"(patterns of {', '.join(map(str, sizes)) or 'no'} characters; the limit is {PATTERN_LIMIT})"
    )
    return OK


@dataclass
class Tried:
    """One event tried: what it is, the built-in row that acts first (if any), and each rule's verdict."""

    file: str
    event: str
    table: str | None
    matched: dict[str, list[str]] = field(default_factory=dict)
    missed: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


def try_command(args: argparse.Namespace, _now: object) -> int:
    try:
        rules = compiled(args.rules)
    except RulesError as exc:
        raise ConsoleError(f"{args.rules} is not valid: {exc.problems[0]}", "run guardian rules check") from None
    tried = [_try(path, rules) for path in _event_files(args.events)]
    if args.json:
        print(json.dumps([t.__dict__ for t in tried], indent=2))
    else:
        for t in tried:
            print("\n".join(_lines(t, verbose=args.all)))
    return WRONG if any(t.error for t in tried) else OK


def _event_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(path.rglob("*.json"))
        elif path.is_file():
            yield path
        else:
            raise ConsoleError(f"no such event file or directory: {path}")


def _try(path: Path, rules: Compiled) -> Tried:
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return Tried(str(path), "?", None, error=f"not a readable event: {exc}")
    if not isinstance(raw, dict):
        return Tried(str(path), "?", None, error=f"not an event: a JSON {type(raw).__name__}, not an object")
    event = envelope(raw)
    detail = event["detail"] if isinstance(event.get("detail"), dict) else {}
    name, source = str(detail.get("eventName")), str(detail.get("eventSource"))
    row = RULES.get(name)
    table = None
    if row is not None and row.source == source:
        table = "acts first" if not row.scoped else "acts first if it serves a protected trail; otherwise:"
    tried = Tried(str(path), f"{source}:{name}", table)
    for rule in rules.rules:
        hit, why = explain(rules.patterns[rule.id], event)
        (tried.matched if hit else tried.missed)[rule.id] = why
    return tried


def _lines(t: Tried, *, verbose: bool) -> list[str]:
    if t.error:
        return [f"{t.file}: {t.error}"]
    out = [f"{t.file}: {t.event}"]
    if t.table:
        out.append(f"  the decision table {t.table}")
    if not t.matched:
        out.append("  no watch rule matches")
    for rule_id, why in t.matched.items():
        out.append(f"  MATCH {rule_id}")
        out.extend(f"    {w}" for w in why)
    if verbose:
        for rule_id, why in t.missed.items():
            out.append(f"  no    {rule_id}: {why[-1] if why else ''}")
    return out
