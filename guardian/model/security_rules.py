"""The inventory of an account's EventBridge rules that route a security service's events, one signed document a
Region: what the sweep last saw of each, so a change is judged against what the rule *was*, not what it is when its
CloudTrail record arrives (the insider may have changed it again by then, or made it route nothing).

Pure. For each rule whose pattern routes a security source (:func:`guardian.model.rule_routing.routed_sources`): its
bus, name, state, those sources, a SHA-256 of its pattern and one of the pattern without its ``source`` (what else the
rule requires of an event: a filter added there can make it match nothing), and its targets (Id, Arn, a hash of the
rest: :mod:`guardian.model.rule_targets`). A rule keeps routing what it did while it is enabled, still names every
recorded source, its other filters are unchanged, and no target was removed, re-pointed or re-configured: anything
else is :func:`lost`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from guardian.model.baselines import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION, PREFIX, BaselineError, check_regional
from guardian.model.rule_routing import Verdict, routed_sources
from guardian.model.rule_targets import Target, target_of, targets_lost

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from guardian.model.events import CloudTrailEvent
    from guardian.model.rules import Severity

INVENTORY_KIND = "security_rules"
SIGHTED_KIND = "security_rule"  # one rule the event path recorded on first sight
MAX_NAMED = 5


@dataclass(frozen=True)
class Routed:
    """One rule routing security, as the sweep recorded it."""

    bus: str
    name: str
    state: str
    sources: tuple[str, ...]
    pattern_sha256: str
    filters_sha256: str  # the pattern without its top-level ``source``
    targets: tuple[Target, ...]  # (Id, Arn, configuration SHA-256), by Id
    # The event path's entries: the call that made it (principal, eventID, eventTime); what the sweep compares with
    # (the entry before a re-record after an alert; None: this one); when it was written.
    made: tuple[str, str, str] | tuple[()] = field(default=(), compare=False)
    baseline: Routed | None = field(default=None, compare=False)
    written_at: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return f"rule {self.name!r} (bus {self.bus})"

    @property
    def routes(self) -> str:
        named = list(self.sources)
        more = f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
        return ", ".join(named[:MAX_NAMED]) + more


def inventory_key(region: str) -> str:
    """``baselines/security-rules/<Region>.json``."""
    return f"{PREFIX}/security-rules/{region}.json"


def bus_name(bus: str | None) -> str:
    """A bus as a call names it (its name or ARN) → its name."""
    text = bus or "default"
    return text.split(":event-bus/", 1)[1] if text.startswith("arn:") and ":event-bus/" in text else text


def digests(pattern: str | Mapping[str, Any] | None) -> tuple[str, str]:
    """(SHA-256 of the pattern, SHA-256 of the pattern without ``source``), over canonical JSON; a pattern that is
    not a JSON object is hashed as given (both)."""
    try:
        parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raw = _sha(str(pattern))
        return raw, raw
    rest = {k: v for k, v in parsed.items() if k != "source"}
    return _sha(_canonical(parsed)), _sha(_canonical(rest))


def routed_rule(bus: str, rule: Mapping[str, Any], targets: Sequence[Target]) -> Routed | None:
    """The inventory's entry for a rule as ListRules (or DescribeRule) and ListTargetsByRule give it; None if it routes
    no security source."""
    pattern = rule.get("EventPattern")
    sources = routed_sources(pattern if isinstance(pattern, str) else None)
    if not sources:
        return None
    whole, rest = digests(pattern if isinstance(pattern, str) else None)
    return Routed(bus, str(rule.get("Name", "")), str(rule.get("State", "")), sources, whole, rest, tuple(targets))


def lost(recorded: Routed, pattern: str | Mapping[str, Any] | None, state: str | None) -> list[str]:
    """What a rule with ``pattern`` and ``state`` (None: unchanged) no longer does that ``recorded`` did."""
    problems = []
    if state == "DISABLED" and recorded.state != "DISABLED":
        problems.append("disabled")
    now = routed_sources(pattern)
    missing = [s for s in recorded.sources if s not in now]
    if missing:
        problems.append(f"its pattern no longer routes {', '.join(missing)}")
    elif digests(pattern)[1] != recorded.filters_sha256:
        problems.append("its pattern's other filters changed (it may match none of those events now)")
    return problems


def drift(recorded: Routed, now: Mapping[str, Any] | None, targets: Sequence[Target] | None) -> list[str]:
    """What the sweep finds lost since ``recorded``: ``now`` is the rule as ListRules gives it (None: deleted),
    ``targets`` every target it has now (None: not read this sweep, its pattern and state alone judged)."""
    if now is None:
        return ["deleted"]
    pattern, state = now.get("EventPattern"), now.get("State")
    found = lost(recorded, pattern if isinstance(pattern, str) else None, state if isinstance(state, str) else None)
    return found + ([] if targets is None else targets_lost(recorded.targets, targets, whole=True))


def judged(event: CloudTrailEvent, recorded: Routed, severity: Severity, *, by: str = "the sweep") -> Verdict:
    """The event path's verdict on a call to a rule the verified inventory holds, from the record's own parameters
    (never a read made after the insider's next call)."""
    call = event.event_name or "the call"
    params = event.request_parameters or {}
    made = f", as {recorded.made[0]} made it at {recorded.made[2]}" if recorded.made else ""
    was = f"it routed {recorded.routes} (as {by} recorded it{made})"
    if call == "PutRule":
        pattern, state = params.get("eventPattern"), params.get("state")
        problems = lost(
            recorded, pattern if isinstance(pattern, str | dict) else None, state if isinstance(state, str) else None
        )
        if not problems:
            return Verdict(None, f"{recorded.label} still routes {recorded.routes}")
        return Verdict(severity, f"{recorded.label} rewritten by PutRule: {'; '.join(problems)}; {was}")
    if call == "PutTargets":
        given = params.get("targets")
        if not isinstance(given, list):
            return Verdict(severity, f"{recorded.label}'s targets changed (not in the record); {was}")
        pairs = [target_of(t) for t in given]
        problems = targets_lost(recorded.targets, [p for p in pairs if p is not None], whole=False)
        if problems or None in pairs:
            return Verdict(severity, f"{recorded.label}: {'; '.join(problems) or 'a target unreadable'}; {was}")
        return Verdict(None, f"{recorded.label} gained targets; none it had was re-pointed or re-configured")
    what = {"DisableRule": "disabled", "DeleteRule": "deleted", "RemoveTargets": "lost targets"}.get(call, call)
    return Verdict(severity, f"{recorded.label} {what}; {was}")


def inventory_document(
    region: str,
    rules: Iterable[Routed],
    *,
    written_at: str,
    cursor: tuple[str, str] | None = None,
    retired: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The signed document; ``cursor``: the last rule whose targets the sweep read when its time ran out (the next
    sweep goes on after it)."""
    document: dict[str, Any] = {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": INVENTORY_KIND,
        "region": region,
        "written_at": written_at,
        "rules": [entry_of(r) for r in sorted(rules, key=lambda r: (r.bus, r.name))],
    }
    if retired:
        document["retired"] = {k: list(v) for k, v in sorted(retired.items())}
    return document if cursor is None else {**document, "cursor": list(cursor)}


def entry_of(r: Routed) -> dict[str, Any]:
    targets = [{"Id": i, "Arn": a, "delivers_sha256": c} for i, a, c in r.targets]
    entry = {"bus": r.bus, "name": r.name, "state": r.state, "sources": list(r.sources),
             "pattern_sha256": r.pattern_sha256, "filters_sha256": r.filters_sha256, "targets": targets}  # fmt: skip
    return {**entry, "made": list(r.made)} if r.made else entry


def routed_of(r: Mapping[str, Any]) -> Routed:
    """An entry as written by :func:`entry_of` (a target without ``delivers_sha256``: an older inventory's, hashed
    otherwise, its configuration not compared until re-recorded); KeyError or TypeError if malformed."""
    targets = tuple((str(t["Id"]), str(t["Arn"]), str(t.get("delivers_sha256", ""))) for t in r["targets"])
    sources = tuple(str(s) for s in r["sources"])
    made = tuple(str(m) for m in r.get("made", ()))
    return Routed(str(r["bus"]), str(r["name"]), str(r["state"]), sources, str(r["pattern_sha256"]),
                  str(r["filters_sha256"]), targets, (made[0], made[1], made[2]) if len(made) == 3 else ())  # fmt: skip


def inventory_retired(document: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """First-sight entries folded already: ``<bus>/<name>`` → (ETag, written_at) of the version folded; the sweep
    skips them unread while their ETag is unchanged, the event path while their written_at is."""
    retired = document.get("retired")
    found = retired.items() if isinstance(retired, dict) else ()
    return {str(k): (str(v[0]), str(v[1])) for k, v in found if isinstance(v, list) and len(v) == 2}


def inventory_cursor(document: Mapping[str, Any]) -> tuple[str, str] | None:
    cursor = document.get("cursor")
    if isinstance(cursor, list) and len(cursor) == 2 and all(isinstance(c, str) for c in cursor):
        return cursor[0], cursor[1]
    return None


def inventory_rules(document: Mapping[str, Any], region: str) -> dict[tuple[str, str], Routed]:
    """The rules of a verified inventory, by (bus, name); :class:`BaselineError` if it is not this Region's."""
    check_regional(document, INVENTORY_KIND, region, "security rules inventory")
    rules = document.get("rules")
    if not isinstance(rules, list):
        raise BaselineError("a security rules inventory's 'rules' must be a list")
    found: dict[tuple[str, str], Routed] = {}
    try:
        for r in rules:
            entry = routed_of(r)
            found[(entry.bus, entry.name)] = entry
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"a security rules inventory entry is malformed: {exc!r}") from exc
    return found


def sighted_key(region: str, bus: str, name: str) -> str:
    """``baselines/security-rules/<Region>/<bus>/<name>.json``: a rule the event path recorded on first sight."""
    return f"{sighted_prefix(region)}{bus}/{name}.json"


def sighted_prefix(region: str) -> str:
    return f"{PREFIX}/security-rules/{region}/"


def sighted_document(region: str, rule: Routed, *, written_at: str) -> dict[str, Any]:
    document = {"schema": BASELINE_SCHEMA, "schema_version": BASELINE_SCHEMA_VERSION, "kind": SIGHTED_KIND,
                "region": region, "written_at": written_at, "rule": entry_of(rule)}  # fmt: skip
    return document if rule.baseline is None else {**document, "baseline": entry_of(rule.baseline)}


def sighted_rule(document: Mapping[str, Any], region: str, key: str) -> Routed:
    """The rule of a verified first-sight entry (its ``baseline``: what the sweep compares); :class:`BaselineError`
    if it is not the entry stored at ``key``."""
    try:
        rule = routed_of(document["rule"])
        was = document.get("baseline")
        baseline = routed_of(was) if isinstance(was, dict) else None
        rule = replace(rule, baseline=baseline, written_at=str(document.get("written_at", "")))
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"a first-sight security rule entry is malformed: {exc!r}") from exc
    if document.get("kind") != SIGHTED_KIND or sighted_key(region, rule.bus, rule.name) != key:
        raise BaselineError(f"not the first-sight entry of {key}")
    return rule


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()
