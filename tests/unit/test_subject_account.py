"""Subjects name the account after the severity, so a team with many accounts triages from the subject line:
its id always, its alias where it fits; names shrink first, the verdict never."""

from __future__ import annotations

from dataclasses import replace

import pytest

from guardian.model.alert import build_alert, fallback_alert
from guardian.model.purpose import Purpose
from guardian.model.subjects import SUBJECT_MAX, account_label, subject, with_account
from tests.support import fixture_names
from tests.unit.test_alerts_and_evidence import alert_only, healed

ACCOUNT = "123456789012"


def test_the_account_follows_the_leading_tags() -> None:
    assert with_account("[HIGH] Something happened", ACCOUNT) == f"[HIGH] {ACCOUNT} Something happened"
    assert with_account("[SELF-TEST] [INFO] x", ACCOUNT) == f"[SELF-TEST] [INFO] {ACCOUNT} x"
    assert account_label(ACCOUNT, "prod-audit") == f"{ACCOUNT} (prod-audit)"
    assert account_label(ACCOUNT, None) == ACCOUNT


def test_the_alias_is_shown_where_it_fits() -> None:
    result = healed()
    assert result.decision.trail is not None
    short = replace(result, decision=replace(result.decision, trail=result.decision.trail._replace(name="t1")))
    assert subject(short, account_label(ACCOUNT, "prod")) == (
        f"[HIGH] {ACCOUNT} (prod) CloudTrail logging stopped on trail t1 by mallory — restored in 2.1 s"
    )


@pytest.mark.parametrize("name", fixture_names())
@pytest.mark.parametrize("alias", [None, "prod", "a-rather-long-account-alias-name-of-sixty-three-chars-at-most-x"])
def test_the_verdict_and_the_account_id_are_never_cut(name: str, alias: str | None) -> None:
    for result in (alert_only(name), healed(name) if name.startswith("stop_logging") else alert_only(name)):
        plain = subject(result)
        with_id = subject(result, account_label(ACCOUNT, alias))
        assert len(with_id) <= SUBJECT_MAX
        assert ACCOUNT in with_id
        if " — " in plain:  # the verdict, whole
            assert with_id.endswith(plain.rsplit(" — ", 1)[1]), (plain, with_id)


def test_a_self_test_keeps_its_room_for_the_verdict() -> None:
    result = replace(healed(), purpose=Purpose("selftest", "st-1", "alice", "drill"))
    assert subject(result, ACCOUNT) == subject(result)
    assert subject(result).startswith("[SELF-TEST] [HIGH] CloudTrail logging stopped")


def test_the_alert_and_the_fallback_name_the_account() -> None:
    alert = build_alert(healed(), evidence_bucket="b", evidence_key="k", function_name=None, account=ACCOUNT)
    assert alert.subject.startswith(f"[HIGH] {ACCOUNT} CloudTrail logging stopped on trail ")
    fallback = fallback_alert(
        event_id="e", event_name="StopLogging", outcome="unreadable", problem="p", function_name=None, account=ACCOUNT
    )
    assert fallback.subject == f"[CRITICAL] {ACCOUNT} Guardian failed on StopLogging event — check it now"
