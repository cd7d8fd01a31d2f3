"""What `cdk destroy` leaves behind, as docs/first-day.md lists it: exactly the template's resources with
``DeletionPolicy: Retain``, by type and construct (issue 23)."""

from __future__ import annotations

import re
from typing import Any

from tests.support import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "first-day.md"


def kept_on_the_page() -> dict[str, list[str]]:
    """Type -> the construct names its rows list (``<Name>`` stands for a webhook's name)."""
    body = PAGE.read_text().split("<!-- kept:start -->")[1].split("<!-- kept:end -->")[0]
    rows = [line for line in body.strip().splitlines()[2:] if line.startswith("|")]
    kept: dict[str, list[str]] = {}
    for row in rows:
        kind, names = (cell.strip() for cell in row.strip("|").split("|")[:2])
        kept.setdefault(kind.strip("`"), []).extend(re.findall(r"`([^`]+)`", names))
    return kept


def retained(*synths: Any) -> set[tuple[str, str]]:
    """(type, logical id without CDK's hash suffix) of every resource CloudFormation keeps when the stack goes."""
    return {
        (resource["Type"], re.sub(r"[0-9A-F]{8}$", "", logical_id))
        for template, _ in synths
        for logical_id, resource in template.to_json()["Resources"].items()
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
    }


def listed(kept: dict[str, list[str]], kind: str, logical: str) -> bool:
    patterns = [re.escape(name).replace(re.escape("<Name>"), "[A-Za-z0-9]+") for name in kept.get(kind, [])]
    return any(re.fullmatch(p, logical) for p in patterns)


def test_the_page_lists_exactly_what_cdk_destroy_keeps(default_synth: Any, channels_synth: Any) -> None:
    kept = kept_on_the_page()
    found = retained(default_synth, channels_synth)  # channels: a webhook (its secret, its notifier) and CIS alarms
    missing = sorted(f"{kind} {logical}" for kind, logical in found if not listed(kept, kind, logical))
    assert not missing, f"kept by `cdk destroy` but not on the page: {missing}"
    for kind, names in kept.items():
        for name in names:
            assert any(listed({kind: [name]}, k, logical) for k, logical in found), f"{kind} {name}: not kept"
    assert "activity table" in PAGE.read_text()  # deleted with the stack (RemovalPolicy.DESTROY): said so
    assert not any(kind == "AWS::DynamoDB::Table" for kind, _ in found)
