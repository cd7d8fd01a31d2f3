"""Every AWS call the guardian makes, in order, as ``service:Operation``: shared by the tests that count a copy's
requests (Security Hub findings of the event path's routes and of the sweep)."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.entrypoints import runtime


def calls_in_order(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The list the guardian's clients append each call to, from now on (its clients made anew)."""
    made: list[str] = []
    original = Boto3Clients._client

    def recording(self: Boto3Clients, service: str, region: str | None, config: Any = CLIENT_CONFIG) -> Any:
        client = original(self, service, region, config)
        if getattr(client, "_in_order", None) is not made:
            name = client.meta.service_model.service_id.lower().replace(" ", "")
            client.meta.events.register("before-call.*.*", lambda model, **_: made.append(f"{name}:{model.name}"))
            client._in_order = made
        return client

    monkeypatch.setattr(Boto3Clients, "_client", recording)
    runtime.reset()
    return made
