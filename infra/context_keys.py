"""Every context key must be one the app knows: a typo (``alertEmail`` for ``alertEmails``) stops the synth with the
nearest known key, instead of deploying a guardian that silently ignores the setting.

Keys that are the CDK's own pass: feature flags (``@aws-cdk/...``), the CLI's and the toolkit's (``aws:cdk:...``),
cached lookups (``availability-zones:account=...``), and the few plain names the CDK itself reads.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from infra.errors import SettingsError

CDK_OWN = frozenset({"cli-telemetry", "acknowledged-issue-numbers", "notices"})
# Keys an earlier version read, and why they are gone: an old cdk.json gets the reason, not a guess at a typo.
RETIRED = {
    "deploymentQualifier": "no deployment role is exempt from self-protection any more (a role's name proves "
    "nothing); the service control policies take the qualifier instead: make scp QUALIFIER=...",
}


def is_cdk_own(key: str) -> bool:
    return key.startswith("@") or ":" in key or key in CDK_OWN


def check_keys(context: Mapping[str, Any], known: Collection[str], *, where: str = "context") -> None:
    """Raise on the first key that is neither one of ``known`` nor the CDK's own (keys in sorted order)."""
    for key in sorted(context):
        if key in known or (where == "context" and is_cdk_own(key)):
            continue
        if key in RETIRED:
            raise SettingsError(f"context key {key!r} is no longer used: {RETIRED[key]}")
        nearest = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
        hint = f"did you mean {nearest[0]}?" if nearest else f"known keys: {', '.join(sorted(known))}"
        what = f"unknown context key {key!r}" if where == "context" else f"{where}: unknown key {key!r}"
        raise SettingsError(f"{what} ({hint})")
