"""The "+ SCP" column of the `log-transform` row: a transformer put on the guardian's own log groups (its sentinel
trail's) is denied to an insider by DenyWeakeningTheGuardiansLogGroups, never to the deployers or the guardian; an
operator's trail's log group (no guardian tag) is not denied: the guardian takes the transformer off instead."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered
from tests.unit.test_scp_own_settings import OPERATORS_GROUP, POWER_USER, SENTINEL_GROUP, TAG, spared


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


@pytest.mark.threat("log-transform")
def test_a_transformer_put_on_the_guardians_log_group_is_denied(statements: list[dict[str, Any]]) -> None:
    action, mine, theirs = "logs:PutTransformer", f"{SENTINEL_GROUP}:*", f"{OPERATORS_GROUP}:*"
    assert denied_by(statements, Request(action, resource=mine, principal=POWER_USER, resource_tags=TAG))
    assert spared(statements, action, mine, TAG)
    assert denied_by(statements, Request(action, resource=theirs, principal=POWER_USER)) == []
