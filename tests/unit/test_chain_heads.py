"""The security account judges each guardian's chain heads (issue 22, "a chain shortened here is caught there"):
newer heads are kept, late and duplicate ones accepted, a head that goes backwards is CRITICAL, and the origin is the
account EventBridge stamped on the event, never one the sender wrote in its detail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guardian.flows.chain_heads import receive
from guardian.model.chain_heads import (
    HEAD_SOURCE,
    MARGIN,
    SLACK,
    WINDOW,
    Head,
    HeadError,
    Kept,
    Origin,
    judge,
    origin_of,
)

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
GUARDIAN, OTHER = "111122223333", "444455556666"


def head(sequence: int, minutes: float | None = None, *, tag: str = "a") -> Head:
    at = T0 + timedelta(minutes=5 * sequence if minutes is None else minutes)
    sha = (f"{sequence:04d}{tag}" * 16)[:64].replace("a", "e").replace("b", "f")
    return Head(f"digests/2026/12/06/{sequence:08d}-{at:%H%M%S}{tag}.json", sequence, at, sha)


def event(h: Head, *, account: str = GUARDIAN, **detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"id-{h.sequence}",
        "source": HEAD_SOURCE,
        "detail-type": "Guardian Evidence Chain Head",
        "account": account,
        "region": "us-east-1",
        "time": (h.written_at + timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
        "resources": [],
        "detail": {"account": account, "region": "eu-west-1", "head": h.to_json(), **detail},
    }


def kept(*heads: Head) -> Kept:
    return Kept(tuple(heads), version=1)


def test_newer_heads_are_kept_within_a_window() -> None:
    state = Kept()
    for n in range(1, WINDOW + 5):
        verdict = judge(state, head(n))
        assert verdict.regression is None
        assert verdict.changed
        state = verdict.kept
    assert [h.sequence for h in state.heads] == list(range(5, WINDOW + 5))
    assert state.last == head(WINDOW + 4)


def test_a_head_seen_before_is_a_duplicate_not_a_change() -> None:
    verdict = judge(kept(head(3), head(4)), head(3))
    assert (verdict.regression, verdict.changed) == (None, False)


@pytest.mark.threat("evidence-chain-shorten")
def test_an_older_head_arriving_late_is_accepted() -> None:
    """EventBridge keeps no order: sequence 4 after 5, never seen before, written before it: not a regression."""
    verdict = judge(kept(head(5)), head(4))
    assert verdict.regression is None
    assert [h.sequence for h in verdict.kept.heads] == [4, 5]
    assert judge(verdict.kept, head(4)).changed is False  # and its duplicate afterwards
    far = judge(kept(*(head(n) for n in range(30, 30 + WINDOW))), head(2))  # older than the window: accepted
    assert far.regression is None


@pytest.mark.threat("evidence-chain-shorten")
@pytest.mark.parametrize(
    ("state", "new", "why"),
    [  # a lower sequence written after the head kept: digests deleted, the chain grown again from there
        ((head(5),), head(4, minutes=31), "the chain was shortened"),
        # the same sequence with another digest (within the time margin): rewritten
        ((head(4), head(5)), head(5, minutes=25.5, tag="b"), "sequence 5 was"),
        ((head(4), head(5)), head(4, minutes=26, tag="b"), "sequence 4 was"),
        # a newer sequence dated well before a head kept
        ((head(5),), head(6, minutes=25 - MARGIN.total_seconds() / 60 - 1), "its time went backwards"),
    ],
)
def test_a_head_that_goes_backwards_is_a_regression(state: tuple[Head, ...], new: Head, why: str) -> None:
    verdict = judge(kept(*state), new)
    assert verdict.regression is not None
    assert why in verdict.regression
    assert verdict.kept.heads == (new,)
    assert verdict.kept.regressions == 1


def test_a_newer_head_a_little_earlier_in_time_is_tolerated() -> None:
    assert judge(kept(head(5)), head(6, minutes=24)).regression is None  # within the margin


def test_the_origin_is_the_senders_account_never_the_detail() -> None:
    """A guardian of OTHER naming GUARDIAN in its detail still speaks for OTHER only."""
    forged = event(head(1), account=OTHER)
    forged["detail"]["account"] = GUARDIAN
    origin, _ = origin_of(forged)
    assert origin == Origin(OTHER, "eu-west-1", "")
    assert origin_of(event(head(1), stack="Audit"))[0] == Origin(GUARDIAN, "eu-west-1", "Audit")


@pytest.mark.parametrize(
    "broken",
    [
        {"source": "aws.events"},
        {"account": None},
        {"detail": {"region": "us-east-1"}},
        {"detail": {"region": "nowhere", "head": head(1).to_json()}},
        {"detail": {"region": "us-east-1", "head": {**head(1).to_json(), "sequence": "1"}}},
        {"detail": {"region": "us-east-1", "head": {**head(1).to_json(), "sha256": "x"}}},
        {"detail": {"region": "us-east-1", "head": {**head(1).to_json(), "key": "evidence/x"}}},
        {"detail": {"region": "us-east-1", "head": {**head(1).to_json(), "written_at": "2026-12-06T12:00:00"}}},
        {"detail": {"region": "us-east-1", "stack": "a b", "head": head(1).to_json()}},
    ],
)
def test_what_is_not_a_head_is_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(HeadError):
        origin_of({**event(head(1)), **broken})


class Fakes:
    """A store whose item someone else writes once between a read and a write, and a topic."""

    def __init__(self, *, race: Head | None = None) -> None:
        self.items: dict[str, Kept] = {}
        self.published: list[tuple[str, str]] = []
        self.race = race

    def kept(self, origin: Origin) -> Kept:
        return self.items.get(origin.id, Kept())

    def keep(self, origin: Origin, kept: Kept, *, regression: str | None) -> bool:
        current = self.items.get(origin.id, Kept())
        if self.race is not None:  # another invocation wrote its head meanwhile
            self.items[origin.id] = Kept((*current.heads, self.race), current.version + 1)
            self.race = None
            return False
        if current.version != kept.version:
            return False
        self.items[origin.id] = Kept(kept.heads, kept.version + 1, kept.regressions)
        return True

    def publish(self, subject: str, message: str) -> None:
        self.published.append((subject, message))


@pytest.mark.threat("evidence-chain-shorten")
def test_a_regression_is_published_critical_before_it_is_kept() -> None:
    fakes = Fakes()
    assert receive(event(head(5)), fakes, fakes) == "kept"
    assert receive(event(head(4)), fakes, fakes) == "kept"  # late
    assert receive(event(head(5)), fakes, fakes) == "seen before"
    outcome = receive(event(head(4, minutes=40, tag="b")), fakes, fakes)
    assert outcome.startswith("CRITICAL: sequence 4 was")
    [(subject, message)] = fakes.published
    assert subject.startswith(f"[CRITICAL] {GUARDIAN} eu-west-1")
    assert len(subject) < 100
    document = json.loads(message)
    assert (document["severity"], document["account"], document["last_kept"]["sequence"]) == ("CRITICAL", GUARDIAN, 5)
    assert receive(event(head(5, minutes=45, tag="b")), fakes, fakes) == "kept"  # the new chain, followed


def test_a_head_written_meanwhile_is_judged_again_not_lost() -> None:
    fakes = Fakes(race=head(5))
    assert receive(event(head(6)), fakes, fakes) == "kept"
    assert [h.sequence for h in fakes.items[Origin(GUARDIAN, "eu-west-1").id].heads] == [5, 6]


def test_the_chain_heads_function_imports_nothing_its_asset_leaves_out() -> None:
    """Its asset (infra.chain_heads) leaves out the sweep's, the handler's and the notifier's own modules."""
    from infra.runtime_asset import NOTIFIER_ONLY, REMEDIATION_ONLY, SWEEP_ONLY  # noqa: PLC0415
    from tests.unit.test_architecture import handler_imports  # noqa: PLC0415

    reached = handler_imports("guardian.entrypoints.chain_heads", flows=False)
    assert {"adapters/chain_heads.py", "flows/chain_heads.py", "model/chain_heads.py"} <= reached
    assert sorted(reached & {*SWEEP_ONLY, *REMEDIATION_ONLY, *NOTIFIER_ONLY}) == []
    assert "adapters/chain_heads.py" not in handler_imports() | handler_imports("guardian.entrypoints.sweep")


FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def forged(sequence: int, at: datetime) -> Head:
    return Head(f"digests/2100/01/01/{sequence:010d}.json", sequence, at, "f" * 64)


@pytest.mark.threat("evidence-chain-shorten")
def test_heads_from_the_future_are_refused_never_kept_and_a_shortening_after_them_is_critical() -> None:
    """Review 4 finding 4: 16 heads dated 2100 with huge sequences evicted every real head, and the real chain
    shortened afterwards was never a regression. Now each is refused (CRITICAL) and kept nowhere."""
    state = Kept()
    for n in range(1, 101):
        state = judge(state, head(n), sent=head(n).written_at).kept
    real = state.heads
    for n in range(10**9, 10**9 + WINDOW):  # the envelope's time is now; the head says 2100
        verdict = judge(state, forged(n, FUTURE), sent=head(100).written_at + timedelta(minutes=1))
        assert verdict.refused
        assert verdict.regression is not None
        assert "refused" in verdict.regression
        state = verdict.kept
    assert state.heads == real
    shortened = head(60, minutes=5 * 100 + 10, tag="b")  # digests 60 on deleted and written again
    verdict = judge(state, shortened, sent=shortened.written_at)
    assert verdict.regression is not None
    assert not verdict.refused


@pytest.mark.threat("evidence-chain-shorten")
def test_a_sequence_further_ahead_than_the_sweeps_since_allow_is_refused() -> None:
    state = kept(head(10))  # written at T0 + 50 min
    in_time = head(10 + 5 + SLACK, minutes=55)  # 5 minutes later: at most 5 sweeps, plus the slack
    assert judge(state, in_time, sent=in_time.written_at).refused is False
    too_far = head(10 + 5 + SLACK + 1, minutes=55)
    verdict = judge(state, too_far, sent=too_far.written_at)
    assert verdict.refused
    assert verdict.kept == state
    assert "at most" in (verdict.regression or "")


@pytest.mark.threat("evidence-chain-shorten")
def test_a_refused_head_is_published_critical_and_not_kept() -> None:
    fakes = Fakes()
    assert receive(event(head(5)), fakes, fakes) == "kept"
    bad = event(forged(6, FUTURE))
    bad["time"] = "2026-12-06T12:30:00Z"  # EventBridge's time of the PutEvents call
    assert receive(bad, fakes, fakes).startswith("CRITICAL: refused")
    assert [h.sequence for h in fakes.items[Origin(GUARDIAN, "eu-west-1").id].heads] == [5]
    [(subject, _)] = fakes.published
    assert subject.startswith("[CRITICAL]")
    assert "forged" in subject
    # a sender setting the envelope's time into the future too: the receiver's clock bounds it
    bad["time"] = "2100-01-01T00:00:00Z"
    assert receive(bad, fakes, fakes, now=T0 + timedelta(minutes=30)).startswith("CRITICAL: refused")
    assert [h.sequence for h in fakes.items[Origin(GUARDIAN, "eu-west-1").id].heads] == [5]
