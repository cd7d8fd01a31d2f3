"""Security Hub as AWS answers the guardian's calls, where moto 5.2.5 differs: a bridge for the simulation and tests.

moto imports findings into an account whose Security Hub is not enabled, ignores GetFindings' filters, lets an update
from BatchImportFindings overwrite a finding's Workflow, and has no BatchUpdateFindings. AWS (Security Hub User
Guide, "BatchImportFindings for finding providers", and the API reference):

- not enabled: BatchImportFindings returns each finding in ``FailedFindings`` with ``InvalidAccess``; GetFindings
  and BatchUpdateFindings raise ``InvalidAccessException``;
- after a finding is created, BatchImportFindings cannot change its Note, UserDefinedFields, VerificationState or
  Workflow; a Compliance.Status going from PASSED to FAILED, WARNING or NOT_AVAILABLE resets a NOTIFIED or RESOLVED
  Workflow to NEW;
- BatchUpdateFindings (PATCH /findings/batchupdate) sets Workflow.Status by Id and ProductArn; an unknown finding is
  in ``UnprocessedFindings``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.securityhub import urls
from moto.securityhub.exceptions import SecurityHubClientError
from moto.securityhub.models import Finding, SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse

BATCH_UPDATE = "{0}/findings/batchupdate$"
KEPT = ("Note", "UserDefinedFields", "VerificationState", "Workflow")
NOT_SUBSCRIBED = "Account is not subscribed to AWS Security Hub"
# Each finding's Workflow statuses in order, as the bridge set them (the demo shows NEW -> RESOLVED; moto runs in
# the simulation's process). Cleared when the bridge ends.
WORKFLOWS: dict[str, list[str]] = {}


def _noted(finding_id: str, data: dict[str, Any]) -> None:
    status = str((data.get("Workflow") or {}).get("Status") or "")
    history = WORKFLOWS.setdefault(finding_id, [])
    if not history or history[-1] != status:
        history.append(status)


def _refuse() -> SecurityHubClientError:
    return SecurityHubClientError("InvalidAccessException", NOT_SUBSCRIBED)


def batch_import_findings(
    self: SecurityHubBackend, findings: list[dict[str, Any]]
) -> tuple[int, int, list[dict[str, Any]]]:
    if not self.enabled:
        refused = [
            {"Id": f.get("Id", ""), "ErrorCode": "InvalidAccess", "ErrorMessage": NOT_SUBSCRIBED} for f in findings
        ]
        return len(refused), 0, refused
    done = 0
    for data in findings:
        existing = next((f for f in self.findings if f.id == data.get("Id")), None)
        if existing is None:
            created = {**data, "Workflow": data.get("Workflow") or {"Status": "NEW"}}
            self.findings.append(Finding(data["Id"], created))
            _noted(data["Id"], created)
        else:
            before = existing.data
            after = {**data, **{k: before[k] for k in KEPT if k in before}}
            was = (before.get("Compliance") or {}).get("Status")
            now = (after.get("Compliance") or {}).get("Status")
            reopened = was == "PASSED" and now in ("FAILED", "WARNING", "NOT_AVAILABLE")
            if reopened and (after.get("Workflow") or {}).get("Status") in ("NOTIFIED", "RESOLVED"):
                after["Workflow"] = {"Status": "NEW"}
            existing.data = after
            _noted(existing.id, after)
        done += 1
    return 0, done, []


def get_findings(self: SecurityHubResponse) -> str:
    backend = self.securityhub_backend
    if not backend.enabled:
        raise _refuse()
    ids = [f["Value"] for f in (self._get_param("Filters") or {}).get("Id", []) if f.get("Comparison") == "EQUALS"]
    found = [f.as_dict() for f in backend.findings if not ids or f.id in ids]
    return json.dumps({"Findings": found[: int(self._get_param("MaxResults") or 100)]})


def batch_update_findings(self: SecurityHubResponse) -> str:
    backend = self.securityhub_backend
    if not backend.enabled:
        raise _refuse()
    status = (self._get_param("Workflow") or {}).get("Status")
    processed, unprocessed = [], []
    for ident in self._get_param("FindingIdentifiers") or []:
        found = next((f for f in backend.findings if f.id == ident["Id"]), None)
        if found is None or found.data.get("ProductArn") != ident["ProductArn"]:
            unprocessed.append({"FindingIdentifier": ident, "ErrorCode": "FindingNotFound", "ErrorMessage": "none"})
            continue
        if status:
            found.data["Workflow"] = {"Status": status}
            _noted(found.id, found.data)
        processed.append(ident)
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


_DEPTH = [0]  # nested blocks (the tests' session, a moto_server inside it): the outermost installs and removes


@contextmanager
def security_hub_as_aws() -> Iterator[None]:
    """The bridge, while the block lasts (reentrant: an inner block leaves the outer's bridge in place)."""
    if _DEPTH[0]:
        _DEPTH[0] += 1
        WORKFLOWS.clear()  # a new block is a new account's Security Hub: its findings' statuses start empty
        try:
            yield
        finally:
            _DEPTH[0] -= 1
            WORKFLOWS.clear()
        return
    saved = (
        SecurityHubBackend.batch_import_findings,
        SecurityHubResponse.get_findings,
        getattr(SecurityHubResponse, "batch_update_findings", None),
    )
    SecurityHubBackend.batch_import_findings = batch_import_findings  # type: ignore[method-assign]
    SecurityHubResponse.get_findings = get_findings  # type: ignore[method-assign]
    SecurityHubResponse.batch_update_findings = batch_update_findings  # type: ignore[attr-defined]
    urls.url_paths[BATCH_UPDATE] = SecurityHubResponse.dispatch
    _DEPTH[0] = 1
    try:
        yield
    finally:
        _DEPTH[0] = 0
        SecurityHubBackend.batch_import_findings = saved[0]  # type: ignore[method-assign]
        SecurityHubResponse.get_findings = saved[1]  # type: ignore[method-assign]
        if saved[2] is None:
            del SecurityHubResponse.batch_update_findings  # type: ignore[attr-defined]
        else:
            SecurityHubResponse.batch_update_findings = saved[2]  # type: ignore[attr-defined]
        urls.url_paths.pop(BATCH_UPDATE, None)
        WORKFLOWS.clear()


def findings_told(client: Any) -> list[dict[str, Any]]:
    """Each finding in the account's Security Hub, as the demo tells it: generator, resource, count, and its
    Workflow statuses in order."""
    return [
        {
            "generator": f.get("GeneratorId"),
            "resource": (f.get("Resources") or [{}])[0].get("Id"),
            "count": (f.get("ProductFields") or {}).get("guardian/count"),
            "compliance": (f.get("Compliance") or {}).get("Status"),
            "workflows": list(WORKFLOWS.get(str(f.get("Id")), [])),
        }
        for f in client.get_findings().get("Findings", [])
    ]
