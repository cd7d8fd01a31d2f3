"""CloudTrail → EventBridge, as far as the self-test needs it: moto 5.2.5 records no CloudTrail event for an API
call, so no "AWS API Call via CloudTrail" event ever reaches a rule.

While :func:`recording_calls` is active, a ``StopLogging`` or ``DeleteTrail`` sent to moto_server puts, after moto
has done it, the event AWS would deliver on the Region's default bus: the record CloudTrail writes (the caller as STS
names them, from the request's access key), in the EventBridge envelope. Only these two calls: the guardian's own
``StartLogging`` would otherwise come back to it as events, which the simulation has no need of.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.events.models import events_backends
from moto.sts.models import sts_backends

RECORDED = ("stop_logging", "delete_trail")
DETAIL_TYPE = "AWS API Call via CloudTrail"
_PASCAL = {"stop_logging": "StopLogging", "delete_trail": "DeleteTrail"}


def cloudtrail_record(response: CloudTrailResponse, event_name: str) -> dict[str, Any]:
    """The record CloudTrail writes for the call ``response`` is answering."""
    region, account = response.region, response.current_account
    authorization = response.headers.get("Authorization", "")
    found = re.search(r"Credential=([^/]+)/", authorization)
    access_key = found[1] if found else ""
    user_id, arn, _ = sts_backends[account]["global"].get_caller_identity(access_key, region)
    identity: dict[str, Any] = {"principalId": user_id, "arn": arn, "accountId": account, "accessKeyId": access_key}
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        issuer = f"arn:aws:iam::{account}:role/{role}"
        identity |= {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"type": "Role", "arn": issuer}}}
    else:
        identity |= {"type": "IAMUser", "userName": arn.rsplit("/", 1)[-1]}
    return api_call_record(
        identity,
        source="cloudtrail.amazonaws.com",
        name=event_name,
        region=region,
        request={"name": response._get_param("Name")},
        user_agent=response.headers.get("User-Agent", ""),
        source_ip="127.0.0.1",
    )


def api_call_record(
    identity: dict[str, Any],
    *,
    source: str,
    name: str,
    region: str,
    request: dict[str, Any],
    user_agent: str,
    source_ip: str,
) -> dict[str, Any]:
    """The record CloudTrail writes for one management API call by ``identity`` (its ``userIdentity``), now."""
    return {
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity["accountId"],
        "eventCategory": "Management",
    }


@contextmanager
def recording_calls() -> Iterator[list[dict[str, Any]]]:
    """Deliver the events of StopLogging and DeleteTrail calls; yields the records delivered."""
    delivered: list[dict[str, Any]] = []
    originals: dict[str, Callable[..., str]] = {name: getattr(CloudTrailResponse, name) for name in RECORDED}

    def recorded(name: str) -> Callable[[CloudTrailResponse], str]:
        def call(self: CloudTrailResponse) -> str:
            answer = originals[name](self)
            record = cloudtrail_record(self, _PASCAL[name])
            delivered.append(record)
            events_backends[self.current_account][self.region].put_events(
                [
                    {
                        "Source": "aws.cloudtrail",
                        "DetailType": DETAIL_TYPE,
                        "Detail": json.dumps(record),
                    }
                ]
            )
            return answer

        return call

    for name in RECORDED:
        setattr(CloudTrailResponse, name, recorded(name))
    try:
        yield delivered
    finally:
        for name, original in originals.items():
            setattr(CloudTrailResponse, name, original)
