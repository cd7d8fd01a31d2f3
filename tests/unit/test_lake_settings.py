"""A Lake event data store's settings judged (guardian.model.lake): what weakens, what strengthens."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.model.changes import Effect
from guardian.model.lake import compare_store, settings_of

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
INSIDERS = "arn:aws:kms:us-east-1:123456789012:key/99999999-12ab-34cd-56ef-1234567890ab"
BASE: dict[str, Any] = {"RetentionPeriod": 2557, "TerminationProtectionEnabled": True, "KmsKeyId": KEY}


@pytest.mark.parametrize(
    ("live", "effects"),
    [
        ({**BASE, "RetentionPeriod": 7}, {"RetentionPeriod": Effect.WEAKENED}),
        ({**BASE, "RetentionPeriod": 3653}, {"RetentionPeriod": Effect.STRENGTHENED}),
        ({**BASE, "TerminationProtectionEnabled": False}, {"TerminationProtectionEnabled": Effect.WEAKENED}),
        ({**BASE, "KmsKeyId": INSIDERS}, {"KmsKeyId": Effect.WEAKENED}),  # whoever holds it decides who may query
        ({k: v for k, v in BASE.items() if k != "KmsKeyId"}, {"KmsKeyId": Effect.WEAKENED}),
        (BASE, {}),
    ],
)
def test_each_setting_is_judged(live: dict[str, Any], effects: dict[str, Effect]) -> None:
    assert {c.field: c.effect for c in compare_store(BASE, settings_of(live))} == effects
