"""``guardian sweep``: run the deployed sweep now, or (``--dry-run``) compute what it would change, changing nothing.

The dry run is the sweep itself (:func:`guardian.flows.sweep.run_sweep`, the sweep's own configuration) on clients
that let reads through and stop every other call before it is sent: each stopped call is recorded as planned, and
answered as if it had succeeded. It needs read-only credentials only, and nothing it does can change the account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.adapters.full import FullAdapter
from guardian.flows.sweep import SweepReport, run_sweep
from guardian.ports.invocation import Invocation
from guardian_console import operator
from guardian_console.stack import sweep_config

if TYPE_CHECKING:
    from datetime import datetime

    from botocore.config import Config as BotoConfig

    from guardian_console.deployed import Deployed

READS = ("Describe", "Get", "List", "Head", "Lookup", "Query", "Scan")  # operation names that only read
# What the guardian does for its own records, not to the account's audit logging: listed apart in a dry run.
BOOKKEEPING = frozenset({"PutObjectTagging", "Publish", "Sign", "PutMetricData", "PutItem"})
_ANSWERS: dict[str, dict[str, Any]] = {  # what a stopped call answers, where the guardian reads the answer
    "Publish": {"MessageId": "dry-run"},
    "Sign": {"Signature": b"dry-run", "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"},
    "PutTargets": {"FailedEntryCount": 0, "FailedEntries": []},
}


@dataclass(frozen=True)
class Planned:
    """A call the sweep would make."""

    service: str
    region: str | None
    operation: str
    params: dict[str, Any]

    @property
    def target(self) -> str:
        p = self.params
        for key in ("Name", "TrailName", "Bucket", "logGroupName", "KeyId", "Rule", "FunctionName", "TopicArn"):
            if key in p:
                suffix = f"/{p['Key']}" if key == "Bucket" and "Key" in p else ""
                return f"{p[key]}{suffix}"
        return ""

    @property
    def bookkeeping(self) -> bool:
        records = ("evidence/", "digests/")
        evidence = self.operation == "PutObject" and str(self.params.get("Key", "")).startswith(records)
        return evidence or self.operation in BOOKKEEPING


@dataclass
class DryRun:
    report: SweepReport
    planned: list[Planned] = field(default_factory=list)

    @property
    def changes(self) -> list[Planned]:
        return [p for p in self.planned if not p.bookkeeping]

    @property
    def alerts(self) -> list[str]:
        return [str(p.params.get("Subject", "")) for p in self.planned if p.operation == "Publish"]


class _Reply:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012 - read only


class ReadOnlyClients(Boto3Clients):
    """Clients whose every call but a read is stopped before it is sent, and recorded."""

    def __init__(self, session: Any, planned: list[Planned]) -> None:
        super().__init__(session)
        self._planned = planned
        self._hooked: set[int] = set()

    def _client(self, service: str, region: str | None, config: BotoConfig = CLIENT_CONFIG) -> Any:
        client = super()._client(service, region, config)
        if id(client) not in self._hooked:
            self._hooked.add(id(client))
            client.meta.events.register_first("before-parameter-build.*.*", _keep_parameters)
            client.meta.events.register_first("before-call.*.*", self._stop(service, region))
        return client

    def _stop(self, service: str, region: str | None) -> Any:
        def stop(model: Any, context: dict[str, Any], **_: Any) -> tuple[_Reply, dict[str, Any]] | None:
            if str(model.name).startswith(READS):
                return None
            self._planned.append(Planned(service, region, str(model.name), context.get(_PARAMETERS, {})))
            return _Reply(), dict(_ANSWERS.get(str(model.name), {}))

        return stop


_PARAMETERS = "guardian_console_parameters"


def _keep_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """The call's parameters as the caller gave them (before-call sees only the serialized request)."""
    context[_PARAMETERS] = dict(params)


def dry_run(session: Any, deployed: Deployed, now: datetime) -> DryRun:
    planned: list[Planned] = []
    config = sweep_config(session, deployed)
    aws = FullAdapter(
        ReadOnlyClients(session, planned),
        topic_arn=deployed.topic_arn,
        topic_region=deployed.region,
        evidence_bucket=deployed.evidence_bucket,
        signing_key=deployed.signing_key,
    )
    run = Invocation(lambda: now, lambda _seconds: None, "guardian sweep --dry-run")
    return DryRun(run_sweep(aws, config, run), planned)


def invoke(session: Any, deployed: Deployed) -> tuple[bool, dict[str, Any], float]:
    """Run the deployed sweep now and wait for it: (succeeded, its summary or error, seconds)."""
    started = time.monotonic()
    succeeded, answer = operator.call(session, deployed, b"{}")
    return succeeded, answer, time.monotonic() - started
