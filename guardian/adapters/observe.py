"""Observe mode's clients: the same boto3 clients, each write handed to the plan (:class:`guardian.ports.plan.CallPlan`)
and answered "done" without reaching AWS; reads, and the guardian's own writes (evidence, alerts, signatures, its
tables), go out as in heal.

The seam is botocore's, below every adapter: no adapter or flow has a second, observing copy of its writes, so what
observe records is what heal sends, parameter for parameter. Built only where the mode is observe: heal's clients
never carry the hooks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.model.mode import PlannedCall, allowed_in_observe

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config as BotoConfig

    from guardian.ports.plan import CallPlan

PARAMS = "guardian_observed_params"  # where the request context keeps the call's parameters as the caller gave them
VALUE_LIMIT = 4096  # characters of one parameter kept in the plan (a policy document fits; a body would not)


class ObservingClients(Boto3Clients):
    """:class:`Boto3Clients` whose writes go to ``plan`` while it records (its thread is not :meth:`healing`)."""

    def __init__(self, plan: CallPlan, evidence_bucket: str, session: boto3.session.Session | None = None) -> None:
        super().__init__(session)
        self.plan = plan
        self._bucket = evidence_bucket

    def _new_client(self, service: str, region: str | None, config: BotoConfig = CLIENT_CONFIG) -> Any:
        client = super()._new_client(service, region, config)
        client.meta.events.register("before-parameter-build", _keep_params)
        client.meta.events.register_first("before-call", self._intercept(service, region))
        return client

    def _intercept(self, service: str, region: str | None) -> Any:
        def intercept(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            params = context.get(PARAMS) or {}
            if allowed_in_observe(service, model.name, params, self._bucket):
                return None
            if not self.plan.intercept(PlannedCall(service, model.name, region, _json_safe(params))):
                return None  # this thread heals (a trail tagged heal, the guardian's own resources)
            return AWSResponse("", 200, HTTPHeaders(), None), {
                "ResponseMetadata": {"HTTPStatusCode": 200, "Observed": True}
            }

        return intercept


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[PARAMS] = params


def _json_safe(params: dict[str, Any]) -> dict[str, object]:
    """The parameters as JSON holds them: a policy stays the text the call would send; bytes and other values are
    given as text; a value longer than :data:`VALUE_LIMIT` is cut, saying so."""
    safe: dict[str, object] = json.loads(json.dumps(params, default=str))
    for key, value in safe.items():
        text = value if isinstance(value, str) else None
        if text is not None and len(text) > VALUE_LIMIT:
            safe[key] = text[:VALUE_LIMIT] + f"…(cut: {len(text)} characters)"
    return safe
