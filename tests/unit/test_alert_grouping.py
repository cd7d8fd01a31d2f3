"""Alert groups and the publish cap over a recording fake: which alerts go out at once, which wait for the digest,
and what an insider's item in the activity table can (not) do. The end to end runs against moto
(tests/integration/test_alert_grouping_moto.py)."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from guardian.flows import grouping
from guardian.flows.deliver import AlertNotPublished
from guardian.flows.grouping import flush_closed
from guardian.flows.handle_event import HealFailed, handle
from guardian.flows.rate_cap import CAP, CapFull, wait_for_slot
from guardian.model import signing
from guardian.model.config import Config
from guardian.model.decide import decide
from guardian.model.events import parse_event
from guardian.model.group_digest import digest_alert
from guardian.model.grouping import Member, Opening, group_key, opening_from
from guardian.model.results import Result
from guardian.ports.invocation import Invocation
from tests.support import load_event
from tests.unit.test_workflow import CONTEXT, Clock, FakeAws

KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        n = rng.getrandbits(bits) | 1 | (1 << (bits - 1))
        if all(pow(rng.randrange(2, n - 1), n - 1, n) == 1 for _ in range(20)):
            return n


class Rsa:
    """A small RSA key in plain Python, signing as KMS does (RSASSA-PKCS1-v1_5 SHA-256 of a RAW message)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        p, q = _prime(rng, 320), _prime(rng, 320)
        self.n, e = p * q, 65537
        self.d = pow(e, -1, (p - 1) * (q - 1))
        self.public = signing.PublicKey(self.n, e)

    def sign(self, message: bytes) -> bytes:
        size = (self.n.bit_length() + 7) // 8
        hashed = hashlib.sha256(message).digest()
        encoded = b"\x00\x01" + b"\xff" * (size - len(_PREFIX) - len(hashed) - 3) + b"\x00" + _PREFIX + hashed
        return pow(int.from_bytes(encoded, "big"), self.d, self.n).to_bytes(size, "big")


GUARDIAN, INSIDER = Rsa(1), Rsa(2)


class Groups(FakeAws):
    """The fake AWS with the activity table's group items, members and publish slots."""

    signing_key: str | None = KEY_ID

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict[str, Any]] = {}
        self.slots: Counter[tuple[str, int]] = Counter()

    def record_activity(self, table: str, principal: str, key: str, expires_at: int, summary: str) -> bool:
        return True

    def count_activity(self, table: str, principal: str, since: str, until: str) -> int:
        return 1

    def sign(self, message: bytes) -> bytes:
        self.calls.append(("Sign", ""))
        return GUARDIAN.sign(message)

    def public_key(self) -> Any:
        return GUARDIAN.public

    def group_item(self, table: str, group_id: str) -> dict[str, Any] | None:
        self.calls.append(("GetGroup", group_id))
        item = self.items.get(group_id)
        return json.loads(json.dumps(item)) if item else None

    def put_group_item(self, table: str, group_id: str, document: dict[str, Any], expires_at: int) -> None:
        self.calls.append(("PutGroup", group_id))
        self.items[group_id] = {"document": document}

    def group_keys(self, prefix: str, limit: int) -> list[str]:
        self.calls.append(("ListObjectsV2", prefix))
        return sorted(k for k in self.objects if k.startswith(prefix))[:limit]

    def group_document(self, key: str) -> dict[str, Any] | None:
        found = self.objects.get(key)
        return dict(found) if isinstance(found, dict) else None

    def take_publish_slot(self, table: str, topic: str, second: int, cap: int) -> bool:
        if self.slots[(topic, second)] >= cap:
            return False
        self.slots[(topic, second)] += 1
        return True


CONFIG = Config(
    topic_arn="arn:aws:sns:us-east-1:123456789012:t",
    evidence_bucket="ev",
    self_role_arn=None,
    exempt_principals=(),
    verify_attempts=2,
    verify_delay_seconds=0.0,
    activity_table="activity",
    alert_group_minutes=5,
    signing_key_arn=KEY_ID,
)


def send(aws: Groups, clock: Clock, n: int, name: str = "stop_logging", trail: str | None = None) -> bool:
    """Handle event number ``n`` (its own eventID) of fixture ``name``; whether this call published."""
    raw = load_event(name)
    raw["detail"]["eventID"] = f"0a000001-1111-4111-8111-{n:012d}"
    if trail is not None:
        raw["detail"]["requestParameters"]["name"] = trail
    event = parse_event(raw)
    handled = handle(event, decide(event, CONTEXT), aws, CONFIG, Invocation(clock, clock.sleep))
    return handled.published


def digests(aws: Groups) -> list[dict[str, Any]]:
    return [json.loads(p["Message"]) for p in aws.published if json.loads(p["Message"])["outcome"] == "grouped"]


def test_first_alert_at_once_then_repeats_held_in_the_window_each_with_its_evidence() -> None:
    aws, clock = Groups(), Clock()
    assert send(aws, clock, 1) is True
    names = [c[0] for c in aws.calls]
    assert names.index("Publish") < names.index("Sign") < names.index("PutGroup")  # signing never delays an alert
    for n in range(2, 6):
        clock.now += timedelta(seconds=30)
        assert send(aws, clock, n) is False
    assert len(aws.published) == 1
    records = [k for k in aws.objects if k.startswith("evidence/") and not k.endswith(".sig")]
    assert len(records) == 5  # one record per event, each with its signature beside it (.sig)
    held = aws.objects["evidence/2026/11/20/0a000001-1111-4111-8111-000000000005.json"]
    [item] = aws.items.values()
    assert held["alert_group"]["id"] == item["document"]["group_id"]
    assert held["alert_group"]["alerted_event_id"].endswith("000000000001")
    assert "alert_group" not in aws.objects["evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json"]


def test_the_next_event_after_the_window_alerts_at_once_and_sends_the_digest() -> None:
    aws, clock = Groups(), Clock()
    for n in range(1, 5):
        send(aws, clock, n)
        clock.now += timedelta(seconds=10)
    clock.now += timedelta(minutes=5)
    assert send(aws, clock, 5) is True
    assert len(aws.published) == 3  # the first, event 5, the digest of 2..4
    [digest] = digests(aws)
    group = digest["group"]
    assert (group["count"], group["failed"], group["event_ids_more"]) == (3, 0, 0)
    assert group["outcomes"] == {"healed": 3}
    assert group["window_minutes"] == 5
    subject = aws.published[-1]["Subject"]
    # 4 changes in the window reach the repeated-tampering threshold (3): the digest says so, CRITICAL
    assert digest["group"]["repeated_tampering"] is True
    assert (
        subject == "[CRITICAL] 123456789012 StopLogging manage… by mallory: 3 times in 5 min, healed ≤ 32.0 s, 0 failed"
    )
    assert len(subject) <= 99
    # a new window opened with event 5: the next repeat is held again
    clock.now += timedelta(seconds=5)
    assert send(aws, clock, 6) is False


def test_the_sweep_flushes_a_closed_window_once() -> None:
    from guardian.flows.grouping import flush_closed  # noqa: PLC0415

    aws, clock = Groups(), Clock()
    for n in range(1, 4):
        send(aws, clock, n)
    run = Invocation(clock, clock.sleep)
    assert flush_closed(aws, CONFIG, run) == 0  # still open
    clock.now += timedelta(minutes=6)
    assert flush_closed(aws, CONFIG, run) == 1
    assert flush_closed(aws, CONFIG, run) == 0
    [digest] = digests(aws)
    assert digest["group"]["count"] == 2


def test_a_failed_heal_is_never_grouped_and_is_counted_as_failed() -> None:
    aws, clock = Groups(), Clock()
    send(aws, clock, 1)
    for n in (2, 3):
        aws.statuses = iter([{"IsLogging": False}] * 10)
        with pytest.raises(HealFailed):
            send(aws, clock, n)
    assert len(aws.published) == 3
    aws.statuses = iter([{"IsLogging": True}] * 10)
    send(aws, clock, 4)
    clock.now += timedelta(minutes=6)
    send(aws, clock, 5)
    [digest] = digests(aws)
    assert (digest["group"]["count"], digest["group"]["failed"]) == (1, 2)
    assert digest["group"]["outcomes"] == {"heal_failed": 2, "healed": 1}


def test_denied_attempts_are_grouped_per_principal_whatever_the_trail() -> None:
    aws, clock = Groups(), Clock()
    assert send(aws, clock, 1, "stop_logging_access_denied") is True
    assert send(aws, clock, 2, "stop_logging_access_denied", trail="another-trail") is False
    assert send(aws, clock, 3, "stop_logging_access_denied", trail="a-third-trail") is False
    assert len(aws.published) == 1


def _event_result(name: str = "stop_logging") -> Result:
    event = parse_event(load_event(name))
    decision = decide(event, CONTEXT)
    return Result(event, decision, decision.outcome, decision.severity)


def _plant(
    aws: Groups, clock: Clock, *, signer: Rsa | None, start: timedelta, tamper: bool = False, severity: str = "HIGH"
) -> None:
    """Write an opening item for the fixture's key as an insider could: unsigned, signed with their own key, or
    signed by the guardian then changed."""
    key = group_key(_event_result())
    assert key is not None
    opening = Opening(key, clock.now + start, 5, "someone-else", severity)
    aws.objects[opening.prefix + "opening.json"] = opening.document()
    document = opening.document()
    if signer is not None:
        signature = signer.sign(signing.digest(opening.signed_as, document))
        document = signing.signed(document, key_id=KEY_ID, signature=signature)
    if tamper:
        document["window_minutes"] = 60
    aws.items[key.group_id] = {"document": document}


@pytest.mark.threat("alert-group-forgery")
@pytest.mark.parametrize(
    ("signer", "tamper"), [(None, False), (INSIDER, False), (GUARDIAN, True)], ids=["unsigned", "forged", "altered"]
)
def test_an_opening_item_not_signed_by_the_guardian_groups_nothing(signer: Rsa | None, tamper: bool) -> None:
    aws, clock = Groups(), Clock()
    _plant(aws, clock, signer=signer, start=timedelta(seconds=-10), tamper=tamper)
    assert send(aws, clock, 1) is True
    assert len(aws.published) == 1


@pytest.mark.threat("alert-group-forgery")
def test_an_expired_or_future_window_groups_nothing() -> None:
    for start in (timedelta(minutes=-6), timedelta(minutes=1)):
        aws, clock = Groups(), Clock()
        _plant(aws, clock, signer=GUARDIAN, start=start)
        assert send(aws, clock, 1) is True


def test_a_genuine_opening_item_is_read_back_whole() -> None:
    aws, clock = Groups(), Clock()
    _plant(aws, clock, signer=GUARDIAN, start=timedelta(seconds=-10))
    [item] = aws.items.values()
    assert opening_from(item["document"]).first_event_id == "someone-else"
    assert send(aws, clock, 1) is False  # held: the guardian's own item of an open window


def test_without_the_activity_table_or_with_a_window_of_0_every_alert_goes_out() -> None:
    for config in (
        Config(**{**CONFIG.__dict__, "activity_table": None}),
        Config(**{**CONFIG.__dict__, "alert_group_minutes": 0}),
    ):
        aws, clock = Groups(), Clock()
        for n in (1, 2, 3):
            event = parse_event(
                {**load_event("stop_logging"), "detail": {**load_event("stop_logging")["detail"], "eventID": f"e{n}"}}
            )
            handle(event, decide(event, CONTEXT), aws, config, Invocation(clock, clock.sleep))
        assert len(aws.published) == 3
        assert not aws.items


@pytest.mark.threat("alert-flood")
def test_the_cap_lets_5_publishes_a_second_then_waits_for_the_next() -> None:
    aws, clock = Groups(), Clock()
    seconds = []
    for _ in range(12):
        wait_for_slot("topic", aws, "activity", Invocation(clock, clock.sleep))
        seconds.append(int(clock.now.timestamp()))
    assert max(Counter(seconds).values()) == CAP
    assert len(set(seconds)) == 3


@pytest.mark.threat("alert-flood")
def test_the_cap_never_waits_past_the_budget_and_then_raises_for_lambdas_retry() -> None:
    aws, clock = Groups(), Clock()
    aws.take_publish_slot = lambda *a: False  # type: ignore[method-assign]
    start = clock.now
    with pytest.raises(CapFull):  # never published over the cap: Lambda's retry sends it
        wait_for_slot("topic", aws, "activity", Invocation(clock, clock.sleep, remaining=lambda: 11.5))
    assert (clock.now - start).total_seconds() <= 1.5  # 11.5 s left, 10 kept: at most 1.5 s of waiting


@pytest.mark.threat("alert-flood")
def test_the_cap_waits_as_long_as_the_invocation_allows() -> None:
    aws, clock = Groups(), Clock()
    deadline = clock.now + timedelta(seconds=60)
    full = range(int(clock.now.timestamp()), int(clock.now.timestamp()) + 30)
    aws.slots.update({("topic", second): CAP for second in full})  # 30 s of seconds taken by others
    run = Invocation(clock, clock.sleep, remaining=_until(clock, deadline))
    wait_for_slot("topic", aws, "activity", run, severity="MEDIUM")
    assert int(clock.now.timestamp()) == full[-1] + 1  # 30 s waited (the old cap gave up after 3 and sent it)


@pytest.mark.threat("alert-flood")
def test_a_critical_alert_obeys_the_cap_but_takes_the_slot_kept_for_it() -> None:
    aws, clock = Groups(), Clock()
    run = Invocation(clock, clock.sleep, remaining=lambda: 50.0)
    second = int(clock.now.timestamp())
    for _ in range(CAP - 1):
        wait_for_slot("topic", aws, "activity", run, severity="MEDIUM")
    assert int(clock.now.timestamp()) == second
    wait_for_slot("topic", aws, "activity", run, severity="MEDIUM")  # the fifth slot is not a MEDIUM's
    assert int(clock.now.timestamp()) == second + 1
    clock.now = clock.now.replace(microsecond=0) - timedelta(seconds=1)
    wait_for_slot("topic", aws, "activity", run, severity="CRITICAL")  # back in the first second: its fifth
    assert int(clock.now.timestamp()) == second
    assert aws.slots[("topic", second)] == CAP
    wait_for_slot("topic", aws, "activity", run)  # CAP reached: even a CRITICAL waits for the next second
    assert int(clock.now.timestamp()) == second + 1


@pytest.mark.threat("alert-flood")
def test_ten_first_alerts_at_once_go_out_at_most_5_a_second() -> None:
    aws, clock = Groups(), Clock()
    stamps: list[int] = []
    publish = aws.publish

    def stamped(request: dict[str, Any]) -> str:
        stamps.append(int(clock.now.timestamp()))
        return publish(request)

    aws.publish = stamped  # type: ignore[method-assign]
    for n in range(10):
        send(aws, clock, n, trail=f"trail-{n}")
    assert len(stamps) == 10
    assert max(Counter(stamps).values()) <= CAP


@pytest.mark.threat("alert-group-forgery")
def test_an_alert_more_severe_than_its_window_goes_out_at_once_and_raises_the_window() -> None:
    """A harmless first change (LOW) must not hide the next, weakening one in a LOW digest nobody is mailed."""
    aws, clock = Groups(), Clock()
    _plant(aws, clock, signer=GUARDIAN, start=timedelta(seconds=-10), severity="LOW")
    assert send(aws, clock, 1) is True  # HIGH, above the LOW window: published, not held
    [item] = aws.items.values()
    assert opening_from(item["document"]).severity == "HIGH"  # raised (re-signed), same window
    assert opening_from(item["document"]).window_start == clock.now - timedelta(seconds=10)
    clock.now += timedelta(seconds=5)
    assert send(aws, clock, 2) is False  # the next HIGH one is held in the raised window
    clock.now += timedelta(minutes=6)
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 1
    [digest] = digests(aws)
    assert digest["group"]["count"] == 1  # the raised alert went out on its own: not counted as held
    assert digest["severity"] == "CRITICAL"  # 3 changes in the window (the opener, the raised, the held)


def test_the_digest_takes_the_highest_severity_of_its_members() -> None:
    key = group_key(_event_result())
    assert key is not None
    opening = Opening(key, Clock().now, 5, "first", "LOW")
    members = [Member("e2", None, "healed", 1.0, "LOW"), Member("e3", None, "healed", 1.0, "HIGH")]
    alert = digest_alert(opening, members, account="123456789012", function_name=None, repeat_threshold=10)
    assert alert.attributes["severity"] == "HIGH"
    assert alert.subject.startswith("[HIGH] ")


@pytest.mark.threat("activity-table")
@pytest.mark.parametrize("how", ["delete-the-opening-item", "claim-in-the-table"])
def test_the_table_cannot_silence_a_digest(how: str) -> None:
    """The held members and the flush claim are write-once objects in the evidence bucket: an insider who deletes or
    edits the table's items suppresses nothing; the sweep finds the window by listing the bucket."""
    aws, clock = Groups(), Clock()
    for n in range(1, 4):
        send(aws, clock, n)
    if how == "delete-the-opening-item":
        aws.items.clear()
    else:
        for item in aws.items.values():
            item["flushed"] = True
    clock.now += timedelta(minutes=6)
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 1
    [digest] = digests(aws)
    assert (digest["group"]["count"], digest["severity"]) == (2, "CRITICAL")
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 0  # once: the claim is in the bucket


def test_a_refused_digest_is_sent_by_the_next_sweep() -> None:
    aws, clock = Groups(), Clock()
    for n in range(1, 4):
        send(aws, clock, n)
    clock.now += timedelta(minutes=6)
    publish = aws.publish

    def refuse(request: dict[str, Any]) -> str:
        raise RuntimeError("SNS is down")

    aws.publish = refuse  # type: ignore[method-assign]
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 0
    aws.publish = publish  # type: ignore[method-assign]
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 1
    assert len(digests(aws)) == 1


@pytest.mark.threat("activity-table")
def test_the_sweeps_flush_is_bounded_by_its_share_of_the_time_left() -> None:
    aws, clock = Groups(), Clock()
    for n in range(1, 4):
        send(aws, clock, n)
    clock.now += timedelta(minutes=6)
    left = iter([100.0, 40.0, 40.0, 40.0])  # half of 100 s is the share; 40 s left is past it: nothing listed
    run = Invocation(clock, clock.sleep, remaining=lambda: next(left))
    assert flush_closed(aws, CONFIG, run, share=0.5) == 0
    assert not any(c[0] == "ListObjectsV2" for c in aws.calls)
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep, remaining=lambda: 100.0), share=0.5) == 1


def _until(clock: Clock, deadline: datetime) -> Callable[[], float]:
    """The invocation's time left, on the injected clock."""

    def left() -> float:
        return (deadline - clock.now).total_seconds()

    return left


def _handle(aws: Groups, clock: Clock, n: int, *, trail: str, deadline: datetime | None = None) -> bool:
    """Event ``n`` on ``trail`` in an invocation that times out at ``deadline``; whether it published."""
    raw = load_event("stop_logging")
    raw["detail"]["eventID"] = f"0a000001-1111-4111-8111-{n:012d}"
    raw["detail"]["requestParameters"]["name"] = trail
    event = parse_event(raw)
    end = deadline or clock.now + timedelta(seconds=60)
    run = Invocation(clock, clock.sleep, remaining=_until(clock, end))
    return handle(event, decide(event, CONTEXT), aws, CONFIG, run).published


@pytest.mark.threat("alert-flood")
def test_50_concurrent_first_events_of_one_key_mail_one_alert_and_one_digest() -> None:
    """A flood's first invocations all read the table before the first alert opened the window: the claim (a
    write-once object) lets one alert out and holds the others in its window."""
    aws, clock = Groups(), Clock()
    aws.group_item = lambda table, group_id: None  # type: ignore[method-assign] # none sees an opening item yet
    assert [send(aws, clock, n) for n in range(1, 51)] == [True] + [False] * 49
    assert len(aws.published) == 1
    assert len([k for k in aws.objects if k.startswith("evidence/") and not k.endswith(".sig")]) == 50
    clock.now += timedelta(minutes=6)
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 1
    [digest] = digests(aws)
    assert digest["group"]["count"] == 49
    assert len(aws.published) == 2


@pytest.mark.threat("alert-flood")
@pytest.mark.parametrize(("keys", "timeout"), [(50, 60.0), (100, 30.0)])
def test_first_alerts_of_many_keys_in_one_second_go_out_at_most_5_a_second_and_none_is_lost(
    keys: int, timeout: float
) -> None:
    """``keys`` invocations started in the same second, each on its own timeline (its own clock) and sharing the
    publish counter: each waits for a free second while its time allows, else raises for Lambda's retry a minute
    later, which sends it; every alert goes out exactly once, never more than 5 in one second."""
    aws, start = Groups(), Clock().now
    aws.statuses = iter([{"IsLogging": True}] * 1000)
    stamps: list[tuple[int, str]] = []
    publish = aws.publish

    def invoke(n: int, at: timedelta, deadline: datetime | None = None) -> bool:
        clock = Clock()
        clock.now = start + at

        def stamped(request: dict[str, Any]) -> str:
            stamps.append((int(clock.now.timestamp()), json.loads(request["Message"])["event"]["id"]))
            return publish(request)

        aws.publish = stamped  # type: ignore[method-assign]
        return _handle(aws, clock, n, trail=f"trail-{n:03d}", deadline=deadline)

    deferred = []
    for n in range(keys):
        try:
            invoke(n, timedelta(0), start + timedelta(seconds=timeout))
        except AlertNotPublished:
            deferred.append(n)
    assert len(deferred) == (0 if keys == 50 else keys - 4 * 20)  # 20 s of waiting (30 s, 10 kept): 80 HIGH alerts
    for n in deferred:  # Lambda's first retry, a minute later
        assert invoke(n, timedelta(seconds=60)) is True
    assert max(Counter(second for second, _ in stamps).values()) <= CAP
    ids = Counter(event_id for _, event_id in stamps)
    assert len(ids) == keys
    assert set(ids.values()) == {1}  # each exactly once


@pytest.mark.threat("alert-flood")
def test_a_first_alert_the_cap_defers_goes_out_once_with_the_retry_and_its_flood_stays_held() -> None:
    aws, clock = Groups(), Clock()
    aws.group_item = lambda table, group_id: None  # type: ignore[method-assign]
    second = int(clock.now.timestamp())
    aws.slots.update({(CONFIG.topic_arn, s): CAP for s in range(second, second + 60)})  # others fill a minute
    with pytest.raises(AlertNotPublished):  # healed (30 s: the heal has its 5), then 20 s of waiting in vain
        _handle(aws, clock, 1, trail="management-trail", deadline=clock.now + timedelta(seconds=30))
    assert not aws.published
    assert not aws.tag_sets  # the record is not marked alerted
    assert [_handle(aws, clock, n, trail="management-trail") for n in (2, 3)] == [False, False]  # held
    clock.now += timedelta(seconds=60)
    assert _handle(aws, clock, 1, trail="management-trail") is True  # the retry: its own claim
    assert _handle(aws, clock, 1, trail="management-trail") is False  # a redelivery: sent already
    assert len(aws.published) == 1


def test_a_claim_that_cannot_be_written_lets_the_alert_out() -> None:
    aws, clock = Groups(), Clock()
    put = aws.put_if_absent

    def broken(key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        if key.startswith("groups/open/"):
            raise RuntimeError("S3 is down")
        return put(key, document, locked_until=locked_until)

    aws.put_if_absent = broken  # type: ignore[method-assign]
    assert send(aws, clock, 1) is True


def test_a_claim_that_hangs_does_not_hold_the_first_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 slow to answer the claim (a hang, not an error): after CLAIM_SECONDS the alert goes out unclaimed. Order,
    not time: the alert is published while the claim's write is still held (unbounded, it waited for the write)."""
    monkeypatch.setattr(grouping, "CLAIM_SECONDS", 0.05)
    aws, clock = Groups(), Clock()
    release, finished = threading.Event(), threading.Event()
    put = aws.put_if_absent

    def hanging(key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        if key.startswith("groups/open/"):
            release.wait(5)
            finished.set()
        return put(key, document, locked_until=locked_until)

    aws.put_if_absent = hanging  # type: ignore[method-assign]
    try:
        assert send(aws, clock, 1) is True
        assert not finished.is_set()  # published while the claim still hung
        assert len(aws.published) == 1
    finally:
        release.set()


@pytest.mark.threat("alert-flood")
def test_denied_attempts_on_10_trails_by_one_principal_are_one_group_its_digest_counting_each_target() -> None:
    aws, clock = Groups(), Clock()
    published = [send(aws, clock, n, "stop_logging_access_denied", trail=f"trail-{n % 10}") for n in range(30)]
    assert published == [True] + [False] * 29
    assert len(aws.items) == 1
    clock.now += timedelta(minutes=6)
    assert flush_closed(aws, CONFIG, Invocation(clock, clock.sleep)) == 1
    [digest] = digests(aws)
    assert digest["group"]["count"] == 29
    assert digest["group"]["targets"] == {f"StopLogging trail-{n}": 2 if n == 0 else 3 for n in range(10)}
    assert "StopLogging trail-1 ×3" in digest["summary"]


@pytest.mark.threat("alert-flood")
def test_a_local_copy_the_cap_defers_is_not_reported_as_a_blocked_path_and_the_retry_sends_only_it() -> None:
    config = Config(**{**CONFIG.__dict__, "central_topic_arn": "arn:aws:sns:us-east-1:999999999999:central"})
    aws, clock = Groups(), Clock()
    second = int(clock.now.timestamp())
    aws.slots.update({(CONFIG.topic_arn, s): CAP for s in range(second, second + 60)})  # the local topic is full
    event = parse_event(load_event("stop_logging"))
    end = clock.now + timedelta(seconds=30)
    with pytest.raises(AlertNotPublished, match="CapFull"):
        handle(event, decide(event, CONTEXT), aws, config, Invocation(clock, clock.sleep, remaining=_until(clock, end)))
    assert [p["TopicArn"] for p in aws.published] == [config.central_topic_arn]  # no "alert path blocked" notice
    clock.now += timedelta(seconds=60)
    handle(event, decide(event, CONTEXT), aws, config, Invocation(clock, clock.sleep))
    assert [p["TopicArn"] for p in aws.published] == [config.central_topic_arn, CONFIG.topic_arn]
