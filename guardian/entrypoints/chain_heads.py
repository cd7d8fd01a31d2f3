"""The security account's chain-heads function: EventBridge (the guardians' ``cloudtrail-guardian.chain`` events)
→ the heads kept per origin, and CRITICAL to the central topic when one goes backwards
(:mod:`guardian.flows.chain_heads`).

Configuration, read on first use: ``GUARDIAN_HEADS_TABLE`` (the DynamoDB table) and ``GUARDIAN_CENTRAL_TOPIC_ARN``
(the central topic, in this account). An event that is not a head is logged and dropped (retrying cannot mend it);
any other failure raises, so Lambda retries and the dead-letter queue keeps the event.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from guardian.entrypoints.logs import configure
from guardian.flows.chain_heads import receive
from guardian.model.chain_heads import HeadError
from guardian.model.config_values import ConfigError

LOG = logging.getLogger(__name__)
_adapters: dict[tuple[str, str, str], Any] = {}


def lambda_handler(event: Any, context: Any) -> dict[str, str]:
    try:
        outcome = receive(event, _adapter(), _adapter(), now=datetime.now(UTC))
    except HeadError as exc:
        LOG.warning("not a chain head: dropped", extra={"why": str(exc)})
        return {"outcome": f"dropped: {exc}"}
    LOG.info("chain head", extra={"outcome": outcome, "account": event.get("account")})
    return {"outcome": outcome}


def _adapter() -> Any:
    from guardian.adapters.chain_heads import ChainHeadsAdapter  # noqa: PLC0415
    from guardian.adapters.clients import Boto3Clients  # noqa: PLC0415

    table = os.environ.get("GUARDIAN_HEADS_TABLE", "")
    topic = os.environ.get("GUARDIAN_CENTRAL_TOPIC_ARN", "")
    if not table or not topic:
        raise ConfigError("GUARDIAN_HEADS_TABLE and GUARDIAN_CENTRAL_TOPIC_ARN are required")
    key = (table, topic, os.environ.get("AWS_ENDPOINT_URL", ""))
    if key not in _adapters:
        configure()
        _adapters.clear()
        _adapters[key] = ChainHeadsAdapter(Boto3Clients(), table, topic)
    return _adapters[key]
