"""The inventory of an account's EventBridge rules that route a security service's events, one signed document a
Region: what the sweep last saw of each, so a change is judged against what the rule *was*, not what it is when its
CloudTrail record arrives (the insider may have changed it again by then, or made it route nothing).

Pure. For each rule whose pattern routes a security source (:func:`guardian.model.rule_routing.routed_sources`): its
bus, name, state, those sources, a SHA-256 of its pattern and one of the pattern without its ``source`` (what else the
rule requires of an event: a filter added there can make it match nothing), and its targets (Id, Arn). A rule keeps
routing what it did while it is enabled, still names every recorded source, its other filters are unchanged, and no
target was removed or re-pointed: anything else is :func:`lost`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.model.baselines import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION, PREFIX, BaselineError
from guardian.model.rule_routing import Verdict, routed_sources

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from guardian.model.events import CloudTrailEvent
    from guardian.model.rules import Severity

INVENTORY_KIND = "security_rules"
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
    targets: tuple[tuple[str, str], ...]  # (Id, Arn), by Id

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


def routed_rule(bus: str, rule: Mapping[str, Any], targets: Iterable[Mapping[str, Any]]) -> Routed | None:
    """The inventory's entry for a rule as ListRules and ListTargetsByRule give it; None if it routes no security
    source."""
    pattern = rule.get("EventPattern")
    sources = routed_sources(pattern if isinstance(pattern, str) else None)
    if not sources:
        return None
    whole, rest = digests(pattern if isinstance(pattern, str) else None)
    held = tuple(sorted((str(t.get("Id", "")), str(t.get("Arn", ""))) for t in targets))
    return Routed(bus, str(rule.get("Name", "")), str(rule.get("State", "")), sources, whole, rest, held)


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


def targets_lost(recorded: Routed, now: Sequence[tuple[str, str]], *, whole: bool) -> list[str]:
    """Recorded targets re-pointed (same Id, another ARN) in ``now``; with ``whole`` (``now`` is every target the
    rule has), removed ones too."""
    current = dict(now)
    problems = []
    for target_id, arn in recorded.targets:
        if target_id in current and current[target_id] != arn:
            problems.append(f"target {target_id!r} re-pointed from {arn} to {current[target_id]}")
        elif whole and target_id not in current:
            problems.append(f"target {target_id!r} ({arn}) removed")
    return problems


def drift(recorded: Routed, now: Mapping[str, Any] | None, targets: Sequence[tuple[str, str]]) -> list[str]:
    """What the sweep finds lost since ``recorded``: ``now`` is the rule as ListRules gives it (None: deleted),
    ``targets`` every target it has now."""
    if now is None:
        return ["deleted"]
    pattern, state = now.get("EventPattern"), now.get("State")
    found = lost(recorded, pattern if isinstance(pattern, str) else None, state if isinstance(state, str) else None)
    return found + targets_lost(recorded, targets, whole=True)


def judged(event: CloudTrailEvent, recorded: Routed, severity: Severity) -> Verdict:
    """The event path's verdict on a call to a rule the verified inventory holds, from the record's own parameters
    (never a read made after the insider's next call)."""
    call = event.event_name or "the call"
    params = event.request_parameters or {}
    was = f"it routed {recorded.routes} (as the sweep recorded it)"
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
        pairs = [_target(t) for t in given]
        problems = targets_lost(recorded, [p for p in pairs if p is not None], whole=False)
        if problems or None in pairs:
            return Verdict(severity, f"{recorded.label}: {'; '.join(problems) or 'a target unreadable'}; {was}")
        return Verdict(None, f"{recorded.label} gained targets; none it had was re-pointed")
    what = {"DisableRule": "disabled", "DeleteRule": "deleted", "RemoveTargets": "lost targets"}.get(call, call)
    return Verdict(severity, f"{recorded.label} {what}; {was}")


def inventory_document(region: str, rules: Iterable[Routed], *, written_at: str) -> dict[str, Any]:
    return {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": INVENTORY_KIND,
        "region": region,
        "written_at": written_at,
        "rules": [
            {
                "bus": r.bus,
                "name": r.name,
                "state": r.state,
                "sources": list(r.sources),
                "pattern_sha256": r.pattern_sha256,
                "filters_sha256": r.filters_sha256,
                "targets": [{"Id": i, "Arn": a} for i, a in r.targets],
            }
            for r in sorted(rules, key=lambda r: (r.bus, r.name))
        ],
    }


def inventory_rules(document: Mapping[str, Any], region: str) -> dict[tuple[str, str], Routed]:
    """The rules of a verified inventory, by (bus, name); :class:`BaselineError` if it is not this Region's."""
    if document.get("schema") != BASELINE_SCHEMA or document.get("kind") != INVENTORY_KIND:
        raise BaselineError(f"not a security rules inventory: kind {document.get('kind')!r}")
    if document.get("region") != region:
        raise BaselineError(f"the inventory of {document.get('region')!r} is stored as {region!r}'s")
    rules = document.get("rules")
    if not isinstance(rules, list):
        raise BaselineError("a security rules inventory's 'rules' must be a list")
    found: dict[tuple[str, str], Routed] = {}
    try:
        for r in rules:
            targets = tuple((str(t["Id"]), str(t["Arn"])) for t in r["targets"])
            sources = tuple(str(s) for s in r["sources"])
            entry = Routed(str(r["bus"]), str(r["name"]), str(r["state"]), sources, str(r["pattern_sha256"]),
                           str(r["filters_sha256"]), targets)  # fmt: skip
            found[(entry.bus, entry.name)] = entry
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"a security rules inventory entry is malformed: {exc!r}") from exc
    return found


def _target(given: Any) -> tuple[str, str] | None:
    """(Id, Arn) of a target as CloudTrail records PutTargets (``id``, ``arn``)."""
    if not isinstance(given, dict):
        return None
    target_id, arn = given.get("id", given.get("Id")), given.get("arn", given.get("Arn"))
    return (target_id, arn) if isinstance(target_id, str) and isinstance(arn, str) else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()
