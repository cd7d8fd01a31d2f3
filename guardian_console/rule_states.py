"""The guardian's rules' states for ``status --org``: one ListRules a page (up to 100 rules) per Region, by the rules'
common name prefix, where the account's own ``guardian status`` reads each rule and its targets (two requests a rule,
80 for 40 rules: most of an org read's requests)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from guardian.flows.own_rules import places
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian.adapters.clients import Boto3Clients
    from guardian.model.config import Config
    from guardian_console.status import Health


def rule_states(clients: Boto3Clients, config: Config) -> list[Health]:
    """Each rule ENABLED, not enabled, or missing (deleted), as ``status`` says it, but without its targets."""
    from guardian_console.status import Health  # noqa: PLC0415 - status imports this module

    wanted: dict[str, list[str]] = {}
    for region, name in places(config):
        wanted.setdefault(region, []).append(name)
    found: list[Health] = []
    for region, names in wanted.items():
        try:
            states = listed(clients, region, os.path.commonprefix(names))  # noqa: RUF071 - rule names, not paths
        except (ClientError, BotoCoreError) as exc:
            found += [Health(f"rule {n} ({region})", "unreadable", describe_failure(exc)) for n in names]
            continue
        for name in names:
            what, state = f"rule {name} ({region})", states.get(name)
            if state is None:
                found.append(Health(what, "missing", "deleted: redeploy the stack"))
            elif state != "ENABLED":
                found.append(Health(what, state, "not enabled (the next sweep enables it)"))
            else:
                found.append(Health(what, "ENABLED"))
    return found


def listed(clients: Boto3Clients, region: str, prefix: str) -> dict[str, str]:
    """Every rule of the default bus whose name starts with ``prefix``: its state."""
    chosen = {"NamePrefix": prefix} if prefix else {}
    pages = clients.events(region).get_paginator("list_rules").paginate(**chosen, PaginationConfig={"PageSize": 100})
    return {str(r["Name"]): str(r.get("State")) for page in pages for r in page.get("Rules", [])}
