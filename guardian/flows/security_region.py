"""One Region's part of the security-rule check (:mod:`guardian.flows.security_rules`): list the buses and rules,
read the targets of each security rule, compare with the signed inventory (and the event path's first-sight entries),
re-record.

Bounded: at most :data:`MAX_BUSES` buses (EventBridge's quota; the ``default`` bus first), the adapter's rules per
bus, :data:`MAX_RULES` rules recorded (the event path loads the inventory per call): what lies beyond is returned as a
cut, which fails the check (never a silent cut). ListTargetsByRule is one
request a security rule: the reads stop when ``out_of_time`` says so; a rule whose targets were not read this sweep is
judged on its pattern and state alone and keeps its recorded targets, and the next sweep reads on from a cursor kept
in the signed inventory, so every rule's targets are read within a few sweeps however many there are. A sweep that
reads none while some are due fails the check, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.flows.baselines import write_signed
from guardian.flows.security_inventory import fold_sighted, load_state
from guardian.model.results import iso
from guardian.model.rule_routing import own_rule, routed_sources
from guardian.model.rule_targets import targets_of
from guardian.model.security_rules import drift, inventory_document, inventory_key, routed_rule

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.flows.baselines import Refused
    from guardian.flows.security_inventory import Retired
    from guardian.model.config import Config
    from guardian.model.security_rules import Routed

MAX_BUSES = 100  # EventBridge's default quota of event buses a Region
MAX_RULES = 2_000  # security rules (and folded first-sight entries) recorded a Region: the event path reads them all


@dataclass(frozen=True)
class RegionFound:
    """What one Region's comparison found: the status, the rules changed (entry, what it lost), the refusals to
    alert, and what lay beyond the listing's bounds."""

    status: str
    changed: tuple[tuple[Routed, str], ...]
    refused: tuple[Refused, ...]
    cut: tuple[str, ...]


def compare_region(
    aws: Any, config: Config, region: str, *, started: datetime, out_of_time: Callable[[], bool]
) -> RegionFound:
    recorded, refused, cursor, retired = load_state(aws, region)
    was = dict(recorded or {})
    sighted, bad, folded = fold_sighted(aws, region, was, retired, out_of_time)
    was.update(sighted)
    listed, complete, cut = _listed(aws, config, region)
    wanted = sorted(k for k, r in listed.items() if k in was or routed_sources(_pattern(r)))
    after = [k for k in wanted if cursor is None or k > cursor]
    order = after + wanted[: len(wanted) - len(after)]  # from the cursor on, round (``wanted`` is sorted)
    targets: dict[tuple[str, str], Any] = {}
    for key in order:
        if out_of_time():
            break
        targets[key] = targets_of(aws.rule_target_configs(region, *key))
    left = len(order) - len(targets)
    if order and not targets:  # nothing read while some are due: the check fails (the next sweep may read none)
        cut = [*cut, f"no rule's targets read in {region} (out of time; {left} due)"]
    now: dict[tuple[str, str], Routed] = {}
    for key in wanted:
        held = targets.get(key, was[key].targets if key in was else None)
        entry = routed_rule(key[0], listed[key], held) if held is not None else None
        if entry is not None:
            now[key] = entry
    now, folded, beyond_bound = _bounded(region, now, was, folded)
    cut = [*cut, *beyond_bound]
    changed = []
    for key, entry in was.items():
        beyond = key not in listed and key[0] not in complete and "*" not in complete
        if beyond:  # beyond the listing's bound (a cut, failing the check): kept as recorded
            now[key] = entry
            continue
        problems = drift(entry, listed.get(key), targets.get(key))
        if problems:
            changed.append((entry, "; ".join(problems)))
    read = [k for k in order if k in targets]
    goes_on = (read[-1] if read else cursor) if left else None
    written = iso(started) or ""
    if recorded is None or refused is not None or now != was or folded != retired or goes_on != cursor:
        document = inventory_document(region, now.values(), written_at=written, cursor=goes_on, retired=folded)
        write_signed(aws, inventory_key(region), document)
    found = tuple(x for x in (refused, *bad) if x is not None)
    if recorded is None and refused is None:
        status = f"recorded ({len(now)} rules)"
    else:
        status = f"{len(changed)} changed" if changed else "as recorded"
    more = f"; {left} rules' targets left for the next sweep (out of time)" if left else ""
    return RegionFound(status + more, tuple(changed), found, tuple(cut))


def _bounded(
    region: str, now: dict[tuple[str, str], Routed], was: dict[tuple[str, str], Routed], folded: Retired
) -> tuple[dict[tuple[str, str], Routed], Retired, list[str]]:
    """At most :data:`MAX_RULES` rules (those recorded already first, then by name) and folded entries; the rest
    named as a cut."""
    cut = []
    if len(now) > MAX_RULES:
        kept = sorted(now, key=lambda k: (k not in was, k))[:MAX_RULES]
        cut.append(f"{len(now) - MAX_RULES} security rules in {region} beyond the {MAX_RULES} recorded")
        now = {k: now[k] for k in kept}
    if len(folded) > MAX_RULES:
        cut.append(f"{len(folded) - MAX_RULES} first-sight entries in {region} beyond the {MAX_RULES} folded")
        folded = dict(sorted(folded.items())[:MAX_RULES])
    return now, folded, cut


def _listed(aws: Any, config: Config, region: str) -> tuple[dict[tuple[str, str], dict[str, Any]], set[str], list[str]]:
    """The rules of every bus listed (not the guardian's own), the buses listed whole, and what was cut."""
    buses, all_buses = aws.event_buses(region)
    cut = [] if all_buses and len(buses) <= MAX_BUSES else [f"more than {MAX_BUSES} event buses in {region}"]
    listed: dict[tuple[str, str], dict[str, Any]] = {}
    complete: set[str] = set()
    for bus in buses[:MAX_BUSES]:
        rules, whole = aws.bus_rules(region, bus)
        if whole:
            complete.add(bus)
        else:
            cut.append(f"bus {bus} in {region} holds more rules than the sweep lists")
        for rule in rules:
            name = str(rule.get("Name", ""))
            if name not in config.own_rules and not own_rule(name, config.policy.self_functions):
                listed[(bus, name)] = rule  # not the guardian's own: guardian.flows.own_rules holds those
    if not cut:  # every bus listed whole: a recorded rule on a bus not listed is gone with its bus
        complete |= {"*"}
    return listed, complete, cut


def _pattern(rule: dict[str, Any]) -> str | None:
    pattern = rule.get("EventPattern")
    return pattern if isinstance(pattern, str) else None
