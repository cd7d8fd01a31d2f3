"""The account's Security Hub, where each alert is copied as an ASFF finding (:mod:`guardian.model.asff`)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class SecurityHubOff(Exception):
    """Security Hub is not enabled in this account and Region (it answered InvalidAccess): findings are off here."""


@runtime_checkable
class SecurityHubCalls(Protocol):
    """GetFindings by Id, BatchImportFindings of one finding, BatchUpdateFindings of its Workflow; each raises
    :class:`SecurityHubOff` where Security Hub is not enabled. Runtime-checkable: an adapter without them has none."""

    def existing_finding(self, region: str, finding_id: str) -> dict[str, Any] | None: ...
    def import_finding(self, region: str, finding: dict[str, Any]) -> None: ...
    def set_workflow(self, region: str, finding_id: str, product_arn: str, status: str) -> None: ...
    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None: ...
