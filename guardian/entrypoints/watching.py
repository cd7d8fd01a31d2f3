"""The watch rules the remediation function matches events against: the compiled copy in its own asset.

Written there at synth from ``rules/watch.json`` (infra/watch.py), so only a deployment can change it; read once
per environment, and only for an event the decision table does not act on (never on the heal path). A rule with a
``check`` (an EventBridge rule changed) has the thing its call names judged first: as the sweep's signed inventory
recorded it (guardian.flows.security_rules), else read as it is now.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.rule_routing import Verdict
    from guardian.model.watch import WatchRule

WATCH_RULES_FILE = Path(__file__).resolve().parent.parent / "watch_rules.json"
_loaded: dict[str, tuple[WatchRule, ...]] = {}


def watch_rules() -> tuple[WatchRule, ...]:
    """The compiled rules (none if the asset carries none). An unreadable copy raises, naming the fault."""
    key = str(WATCH_RULES_FILE)
    found = _loaded.get(key)
    if found is None:
        from guardian.model.watch import parse_compiled  # noqa: PLC0415

        found = _loaded[key] = parse_compiled(WATCH_RULES_FILE.read_text()) if WATCH_RULES_FILE.is_file() else ()
    return found


def watched(parsed: CloudTrailEvent, config: Config) -> Decision | None:
    """The watch rules' decision on an event the table does not act on, or None."""
    rules = watch_rules()
    if not rules:
        return None
    from guardian.model.watch import matching, watch_decision  # noqa: PLC0415

    checked = [r for r in matching(rules, parsed.raw) if r.check]
    return watch_decision(parsed, rules, config.policy, _verdicts(parsed, checked, config) if checked else None)


def _verdicts(parsed: CloudTrailEvent, checked: list[WatchRule], config: Config) -> dict[str, Verdict]:
    """Each checked rule's verdict, from one read of the EventBridge rule the call names (none for the guardian's own
    calls, which are noted anyway)."""
    from guardian.model.decide import is_own_action  # noqa: PLC0415

    if is_own_action(parsed, config.policy):
        return {}
    from guardian.adapters.event_rules import read_rule  # noqa: PLC0415
    from guardian.entrypoints import runtime  # noqa: PLC0415
    from guardian.model.rule_routing import Verdict, own_rule, rule_named, verdict  # noqa: PLC0415

    named = rule_named(parsed)
    if named and own_rule(named[0], config.policy.self_functions):
        return {r.id: Verdict(None, "the guardian's own rule: its guard alerts") for r in checked}
    if named and parsed.aws_region:
        judged = _against_inventory(parsed, named, checked, config)
        if judged is not None:
            return judged
    read = read_rule(runtime.clients(), parsed.aws_region or "", *named) if named and parsed.aws_region else None
    verdicts = {r.id: verdict(parsed, read, r.severity) for r in checked}
    if named and parsed.event_name in ("PutRule", "PutTargets"):  # a security rule not recorded: from now on
        from guardian.flows.first_sight import first_sight  # noqa: PLC0415
        from guardian.model.security_rules import bus_name  # noqa: PLC0415

        first_sight(runtime.full_adapter(config, own=True), parsed, bus_name(named[1]), read)
    return verdicts


def _against_inventory(
    parsed: CloudTrailEvent, named: tuple[str, str], checked: list[WatchRule], config: Config
) -> dict[str, Verdict] | None:
    """The verdicts against the rule as it was, judged by the record's own parameters: its entry the event path
    recorded (first sight, or after an alert) unless the sweep folded it, else the sweep's signed inventory; HIGH
    "cannot tell" if either does not verify; None if neither holds the rule (then it is read as it is now). An
    alerted call records the entry again from its own parameters; a quiet one on an event-path entry adds targets."""
    from guardian.entrypoints import runtime  # noqa: PLC0415
    from guardian.flows.baselines import Refused  # noqa: PLC0415
    from guardian.flows.first_sight import add_targets, re_record  # noqa: PLC0415
    from guardian.flows.security_inventory import recorded_rule  # noqa: PLC0415
    from guardian.model.rule_routing import Verdict  # noqa: PLC0415
    from guardian.model.security_rules import bus_name, judged  # noqa: PLC0415

    name, bus = named[0], bus_name(named[1])
    store, region = runtime.full_adapter(config, own=True), parsed.aws_region or ""
    found, by = recorded_rule(store, region, bus, name)
    if isinstance(found, Refused):
        why = (
            f"the inventory of security rules ({found.key}) was refused ({found.problem}): cannot tell what rule "
            f"{name!r} (bus {bus}) routed"
        )
        return {r.id: Verdict(r.severity, why) for r in checked}
    if found is None:
        return None
    verdicts = {r.id: judged(parsed, found, r.severity, by=by) for r in checked}
    if any(v.severity is not None for v in verdicts.values()):
        re_record(store, parsed, found)  # as the sweep re-records after its alerts: changing back is a change too
    elif by != "the sweep":
        add_targets(store, parsed, found)
    return verdicts
