"""An EventBridge rule as a watch rule's check reads it (:mod:`guardian.model.rule_routing`): DescribeRule and its
targets, in the Region of the call. Read only; a failed read is returned, named, never raised: the alert goes out
either way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model.rule_routing import RuleRead
from guardian.model.rule_targets import targets_of

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider

TARGET_PAGES = 3  # ListTargetsByRule pages (100 targets each; a rule holds at most 5 by default)


def read_rule(clients: ClientProvider, region: str, name: str, bus: str) -> RuleRead:
    client = clients.events(region)
    try:
        rule = client.describe_rule(Name=name, EventBusName=bus)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        return (
            RuleRead(name, bus, found=False) if code == "ResourceNotFoundException" else RuleRead(name, bus, error=code)
        )
    except BotoCoreError as exc:
        return RuleRead(name, bus, error=type(exc).__name__)
    targets: list[dict[str, Any]] = []
    token: str | None = None
    try:
        for _ in range(TARGET_PAGES):
            page = (
                client.list_targets_by_rule(Rule=name, EventBusName=bus, NextToken=token)
                if token
                else client.list_targets_by_rule(Rule=name, EventBusName=bus)
            )
            targets.extend(dict(t) for t in page.get("Targets", []))
            token = page.get("NextToken")
            if not token:
                break
    except (ClientError, BotoCoreError):
        pass  # the pattern alone decides (the rule may have been deleted between the two reads)
    arns = tuple(str(t.get("Arn", "")) for t in targets)
    return RuleRead(name, bus, True, rule.get("EventPattern"), rule.get("State"), arns, None, targets_of(targets))


BUS_PAGES = 1  # ListEventBuses: 100 buses a page, EventBridge's default quota a Region (more: a named cut)
RULE_PAGES = 3  # ListRules: 100 rules a page, per bus (300 rules per bus by default)


class SecurityRulesAdapter:
    """The account's rules as the sweep inventories them (implements
    :class:`guardian.flows.security_rules.RuleListing`): read only, bounded; each says whether it saw everything."""

    _clients: ClientProvider

    def event_buses(self, region: str) -> tuple[list[str], bool]:
        page = self._clients.events(region).list_event_buses(Limit=100)
        names = [str(b["Name"]) for b in page.get("EventBuses", [])]
        return ["default", *(n for n in names if n != "default")], not page.get("NextToken")

    def bus_rules(self, region: str, bus: str) -> tuple[list[dict[str, Any]], bool]:
        client = self._clients.events(region)
        rules: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(RULE_PAGES):
            page = (
                client.list_rules(EventBusName=bus, Limit=100, NextToken=token)
                if token
                else client.list_rules(EventBusName=bus, Limit=100)
            )
            rules += [dict(r) for r in page.get("Rules", [])]
            token = page.get("NextToken")
            if not token:
                return rules, True
        return rules, False

    def rule_target_configs(self, region: str, bus: str, name: str) -> list[dict[str, Any]]:
        """Every target as ListTargetsByRule gives it (its whole configuration: the inventory hashes it)."""
        client = self._clients.events(region)
        pairs: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(TARGET_PAGES):
            page = (
                client.list_targets_by_rule(Rule=name, EventBusName=bus, NextToken=token)
                if token
                else client.list_targets_by_rule(Rule=name, EventBusName=bus)
            )
            pairs += [dict(t) for t in page.get("Targets", [])]
            token = page.get("NextToken")
            if not token:
                break
        return pairs
