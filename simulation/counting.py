"""The guardian's clients, counting the requests they send (every attempt, retries included) by operation, and
optionally waiting before each one: a stand-in for a Region's round trip. Used by the benchmark and by the test
that guards the sweep's request budget."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from botocore.config import Config as BotoConfig

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients


class CountingClients(Boto3Clients):
    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.requests: Counter[str] = Counter()  # "cloudtrail.GetTrailStatus": 40, ...
        self._counting = threading.Lock()

    def _client(self, service: str, region: str | None, config: BotoConfig = CLIENT_CONFIG) -> Any:
        client = super()._client(service, region, config)
        if not getattr(client, "_counted", False):
            client.meta.events.register("before-send.*.*", self._before_send)
            client._counted = True
        return client

    def _before_send(self, event_name: str = "", **_: Any) -> None:
        with self._counting:
            self.requests[event_name.split(".", 1)[-1]] += 1
        if self.latency:
            time.sleep(self.latency)
