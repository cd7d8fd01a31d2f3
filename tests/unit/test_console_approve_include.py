"""``guardian approve --include-bucket/--include-log-group`` (review 2, finding 5): the flags reach the guardian's
request as ``include``, and without them the request names nothing (an older guardian takes it as before)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from guardian.model.operator_requests import parse_request
from guardian_console import acts, cli
from guardian_console import approve as console_approve
from guardian_console import operator as console_operator
from guardian_console.sessions import Account
from tests.unit.test_console import DEPLOYED

ANSWER = {
    "ok": True,
    "by": "arn:aws:iam::123456789012:user/alice",
    "approved": {
        "trail": "org-audit",
        "region": "us-east-1",
        "baseline": "baselines/us-east-1/org-audit.json",
        "resources": ["bucket:org-audit-logs"],
        "changes": [],
        "adopted_weaker": ["bucket org-audit-logs (versioning)"],
        "evidence_key": "evidence/2026/12/06/approve-x.json",
        "alerted": True,
    },
}


@pytest.mark.parametrize(
    ("flags", "include"),
    [
        ((), None),
        (("--include-bucket",), "bucket"),
        (("--include-log-group",), "log_group"),
        (("--include-bucket", "--include-log-group"), "bucket,log_group"),
    ],
)
def test_the_include_flags_reach_the_request(
    flags: tuple[str, ...], include: str | None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    sent: list[dict[str, str]] = []
    account = Account(None, DEPLOYED)
    monkeypatch.setattr(acts, "one_account", lambda _args: [account])
    monkeypatch.setattr(console_approve, "precheck", lambda *_a: None)

    def ask(_session: Any, _deployed: Any, body: dict[str, str]) -> dict[str, Any]:
        sent.append(body)
        return ANSWER

    monkeypatch.setattr(console_operator, "ask", ask)
    argv = ["approve", "--trail", "org-audit", "--reason", "CHG-1", *flags]
    assert cli.main(argv, now=datetime(2026, 12, 6, tzinfo=UTC)) == 0
    [body] = sent
    assert body.get("include") == include
    named = parse_request({"guardian_request": body}).include
    assert named == (tuple(include.split(",")) if include else ())
    if flags:
        assert "ADOPTED   weaker than its baseline: bucket org-audit-logs (versioning)" in capsys.readouterr().out
