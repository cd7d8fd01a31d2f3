"""Heals take turns on CloudTrail's write quota (issue 21): a turn a second from the activity table (moto's DynamoDB,
the real conditional writes), a heal whose trail has a turn queued after its stop reads instead of writing, and a
store that fails or is forged costs at most the heal's budget, never the heal. Each heal has its own virtual clock
(sleeping advances it); the account's trails and its write quota answer by the time each call is made at, so the
order the heals run in here does not matter. Nothing waits or reads real time."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from guardian.adapters.turns import PARTITION, TableTurns
from guardian.flows import budget, write_turns
from guardian.flows.start_logging import restart_logging
from guardian.model.decide import decide
from guardian.model.events import parse_event
from guardian.model.refs import TrailRef
from guardian.model.rules import Outcome
from guardian.ports.invocation import Invocation
from guardian.ports.turns import TURN_SECONDS as TURN
from guardian.ports.turns import Turn
from simulation.moto_server import create_activity_table
from tests.support import load_event
from tests.unit.test_workflow import CONTEXT
from tests.unit.test_write_quota import THROTTLED, config

approx: Any = pytest.approx
T0 = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)
TABLE = "guardian-activity"
REGION = "us-east-1"
ARN_A = "arn:aws:cloudtrail:us-east-1:123456789012:trail/trail-a"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Account:
    """The account's trails as a timeline (stops and starts), and CloudTrail's write quota: a write is let through
    unless another was let through less than 1 s before or after it."""

    def __init__(self, stops: dict[str, list[float]], outside_writes: tuple[float, ...] = ()) -> None:
        self.stops = {name: [at(s) for s in times] for name, times in stops.items()}
        self.starts: dict[str, list[datetime]] = {name: [] for name in stops}
        self.writes = [at(s) for s in outside_writes]  # the console's, the attacker's: not the guardian's
        self.attempts: list[tuple[str, datetime, bool]] = []

    def start(self, name: str, when: datetime) -> None:
        free = all(abs((when - other).total_seconds()) >= 1.0 for other in self.writes)
        self.attempts.append((name, when, free))
        if not free:
            raise THROTTLED
        self.writes.append(when)
        self.starts[name].append(when)

    def status(self, name: str, when: datetime) -> dict[str, Any]:
        stop = max((s for s in self.stops[name] if s <= when), default=None)
        start = max((s for s in self.starts[name] if s <= when), default=None)
        logging = stop is None or (start is not None and start > stop)
        return {"IsLogging": logging, "StopLoggingTime": stop, "StartLoggingTime": start}

    def healed(self) -> list[tuple[float, str]]:
        return sorted(((w - T0).total_seconds(), n) for n, starts in self.starts.items() for w in starts)


class Run:
    def __init__(self, start: float, limit: float | None = None) -> None:
        self.now, self.limit, self.begun = at(start), limit, at(start)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += timedelta(seconds=seconds)

    def remaining(self) -> float:
        assert self.limit is not None
        return self.limit - (self.now - self.begun).total_seconds()

    def invocation(self) -> Invocation:
        return Invocation(lambda: self.now, self.sleep, remaining=self.remaining if self.limit is not None else None)


class Heal:
    """One invocation's heal path: StartLogging and GetTrailStatus on the account at this invocation's time, and
    the turns store of its execution environment (``known``: it took turns lately)."""

    def __init__(self, account: Account, run: Run, store: Any, *, known: bool = False) -> None:
        self.account, self.run, self.store, self.known = account, run, store, known
        self.asked: list[bool] = []

    def start_logging(self, trail: TrailRef) -> None:
        self.account.start(trail.name.removeprefix("trail-"), self.run.now)

    def trail_status(self, trail: TrailRef) -> dict[str, Any]:
        return self.account.status(trail.name.removeprefix("trail-"), self.run.now)

    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None:
        return None

    def turns(self, create: bool) -> Any:
        self.asked.append(create)
        return self.store if create or self.known else None


class Store:
    """The activity table's turns (moto), with a count of the turns asked for."""

    def __init__(self) -> None:
        self.table = TableTurns(cast("Any", self), TABLE)
        self.taken: list[Turn | None] = []

    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", region_name=REGION)

    def busy(self, region: str, now: float) -> bool:
        return self.table.busy(region, now)

    def throttled(self, region: str, now: float) -> None:
        self.table.throttled(region, now)

    def take(self, region: str, trail: str, **kwargs: Any) -> Turn | None:
        turn = self.table.take(region, trail, **kwargs)
        self.taken.append(turn)
        return turn

    def item(self) -> dict[str, Any]:
        key = {"principal": {"S": PARTITION}, "at": {"S": REGION}}
        found: dict[str, Any] = self.dynamodb().get_item(TableName=TABLE, Key=key).get("Item", {})
        return found


@pytest.fixture(autouse=True)
def half_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "jitter", lambda: 0.5)


@pytest.fixture
def store() -> Iterator[Store]:
    with mock_aws():
        create_activity_table(TABLE, REGION)
        yield Store()


def heal(aws: Heal, trail: str, stopped: float) -> Any:
    event = copy.deepcopy(load_event("stop_logging"))
    event["detail"]["eventTime"] = at(stopped).isoformat().replace("+00:00", "Z")
    event["detail"]["requestParameters"] = {"name": f"trail-{trail}"}
    parsed = parse_event(event)
    return restart_logging(parsed, decide(parsed, CONTEXT), aws, config(), aws.run.invocation())


@pytest.mark.threat("write-quota")
def test_three_throttled_heals_take_turns_one_second_apart_with_no_jittered_wait(store: Store) -> None:
    """Three trails stopped at once; the quota was taken at 1.5 s (by the console). Each heal's StartLogging at 2 s
    is throttled: each takes a turn (about 3, 4, 5 s: ``TURN_SECONDS`` apart), sleeps to it, and its write goes
    through: no contention, no jittered wait."""
    account = Account({"a": [0], "b": [0], "c": [0]}, outside_writes=(1.5,))
    runs = {name: Run(2) for name in "abc"}
    results = [heal(Heal(account, runs[name], store), name, 0) for name in "abc"]
    assert [r.outcome for r in results] == [Outcome.HEALED] * 3
    assert account.healed() == [(approx(2 + TURN), "a"), (approx(2 + 2 * TURN), "b"), (approx(2 + 3 * TURN), "c")]
    assert [runs[name].sleeps for name in "abc"] == [[approx(TURN)], [approx(2 * TURN)], [approx(3 * TURN)]]
    assert [ok for _, _, ok in account.attempts] == [False, True, False, True, False, True]


def test_a_heal_whose_trail_has_a_turn_after_its_stop_reads_after_that_turn_and_writes_nothing(store: Store) -> None:
    """Trails stopped at 0, 1 and 2 s take turns at about 4, 5, 6 s in the order of their stops. Trail a is stopped
    again at 3.5 s (its eventTime cut to 3 s): its turn at 4 s is later, so that heal takes no turn (not 7 s, at the
    back of the queue): it reads half a second after a's turn, finds the trail logging since, after its stop, and
    records it already healed. The trail stopped longest keeps its place: earliest stop first."""
    account = Account({"a": [0, 3.5], "b": [1], "c": [2]}, outside_writes=(2.5,))
    first = [heal(Heal(account, Run(3), store), name, stop) for name, stop in (("a", 0), ("b", 1), ("c", 2))]
    again = Heal(account, Run(3.6), store)
    result = heal(again, "a", 3)
    assert [r.outcome for r in first] == [Outcome.HEALED] * 3
    assert account.healed() == [(approx(3 + TURN), "a"), (approx(3 + 2 * TURN), "b"), (approx(3 + 3 * TURN), "c")]
    assert result.outcome == Outcome.HEALED
    (action,) = result.actions
    assert action.already_healed
    assert again.run.sleeps == [approx(3 + TURN + 0.5 - 3.6)]  # to a's turn and half a second: a read, no jitter
    assert [(when - T0).total_seconds() for name, when, _ in account.attempts if name == "a"] == [
        3.0,
        approx(3 + TURN),
        pytest.approx(3.6),  # the second heal's first StartLogging, throttled; then none
    ]
    assert float(store.item()["next"]["N"]) == approx(at(3 + 4 * TURN).timestamp())  # no turn taken for it


def test_a_joined_turn_that_did_not_heal_the_trail_is_followed_by_a_turn_of_its_own(store: Store) -> None:
    """The trail's turn was taken by an invocation that never wrote (it timed out): the heal that joined it reads,
    finds the trail stopped, and takes the next turn; healed, one read later."""
    account = Account({"a": [0]}, outside_writes=(1.5,))
    lost = store.take(
        REGION, ARN_A, now=at(2).timestamp(), soonest=at(3).timestamp(), latest=at(30).timestamp(), join_after=None
    )
    assert lost == Turn(at(3).timestamp())
    aws = Heal(account, Run(2), store)
    result = heal(aws, "a", 0)
    assert result.outcome == Outcome.HEALED
    assert account.healed() == [(approx(3 + TURN), "a")]
    assert aws.run.sleeps == [1.5, approx(TURN - 0.5)]  # to 3.5 s (the lost turn, and a read), then to its own


def test_two_heals_that_joined_a_turn_that_did_not_heal_take_one_turn_between_them(store: Store) -> None:
    """Both heals of trail a joined the lost turn at 3 s and read the trail stopped at 3.5 s: the first takes the next
    turn, the second joins that one (later than the turn it read after) instead of taking a third."""
    account = Account({"a": [0, 1]}, outside_writes=(1.5,))
    store.take(
        REGION, ARN_A, now=at(2).timestamp(), soonest=at(3).timestamp(), latest=at(30).timestamp(), join_after=None
    )
    first, second = Heal(account, Run(2), store), Heal(account, Run(2.1), store)
    assert heal(first, "a", 0).outcome == Outcome.HEALED
    result = heal(second, "a", 1)
    assert result.outcome == Outcome.HEALED
    assert result.actions[0].already_healed
    assert account.healed() == [(approx(3 + TURN), "a")]
    assert float(store.item()["next"]["N"]) == approx(at(3 + 2 * TURN).timestamp())


def test_a_quiet_accounts_heal_calls_start_logging_first_and_never_asks_the_store(store: Store) -> None:
    account = Account({"a": [0]})
    aws = Heal(account, Run(1), store)
    assert heal(aws, "a", 0).outcome == Outcome.HEALED
    assert aws.asked == [False]  # asked whether this environment took turns lately: no call, no import
    assert store.taken == []
    assert account.healed() == [(1.0, "a")]


def test_an_environment_that_took_turns_lately_takes_one_before_writing(store: Store) -> None:
    """A burst is on: a heal in an environment that took a turn lately asks for its turn before its first write,
    rather than stealing the turn of another heal and being throttled in its own."""
    account = Account({"a": [0], "b": [0]}, outside_writes=(1.5,))
    heal(Heal(account, Run(2), store), "a", 0)  # takes the turn at 3 s
    known = Heal(account, Run(2.2), store, known=True)
    assert heal(known, "b", 0).outcome == Outcome.HEALED
    assert [(n, (w - T0).total_seconds(), ok) for n, w, ok in account.attempts if n == "b"] == [
        ("b", approx(2 + 2 * TURN), True)
    ]
    assert known.run.sleeps == [approx(2 * TURN - 0.2)]


def test_a_late_heal_whose_trail_had_a_turn_after_its_stop_reads_and_takes_no_turn(store: Store) -> None:
    """Its event came late (Lambda's queue): the trail's turn at about 3 s, after this stop (1 s), has passed, and
    the trail was stopped again at 5 s. The heal reads once and is superseded by that stop: no turn at the back of
    the queue, no write."""
    account = Account({"a": [0, 1, 5]}, outside_writes=(1.5,))
    assert heal(Heal(account, Run(2), store), "a", 0).outcome == Outcome.HEALED
    late = Heal(account, Run(6), store, known=True)
    assert heal(late, "a", 1).outcome == Outcome.SUPERSEDED
    assert late.run.sleeps == []
    assert [(when - T0).total_seconds() for _, when, _ in account.attempts] == [2.0, approx(2 + TURN)]
    assert float(store.item()["next"]["N"]) == approx(at(2 + 2 * TURN).timestamp())


def test_a_heal_superseded_at_its_first_throttle_leaves_its_environment_taking_turns(store: Store) -> None:
    """Its StartLogging throttled, the heal finds a later stop and leaves (superseded), taking no turn; but its
    environment now knows a burst is on: its next heals take a turn before writing, not a turn of another heal's."""
    account = Account({"a": [0, 3]}, outside_writes=(3.2,))
    assert not store.table.busy(REGION, at(3.5).timestamp())
    assert heal(Heal(account, Run(3.5), store), "a", 0).outcome == Outcome.SUPERSEDED
    assert store.taken == []
    assert store.table.busy(REGION, at(4).timestamp())


class Failing(Store):
    def take(self, region: str, trail: str, **kwargs: Any) -> Turn | None:
        self.taken.append(None)
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem")


def test_a_failing_store_falls_back_to_the_jittered_backoff_and_the_heal_goes_on(store: Store) -> None:
    account = Account({"a": [0]}, outside_writes=(1.5, 2.4))
    failing = Failing()
    aws = Heal(account, Run(2), failing)
    assert heal(aws, "a", 0).outcome == Outcome.HEALED
    assert failing.taken == [None]  # asked once, then never again in this heal
    assert aws.run.sleeps == [0.5, 1.0]  # today's jitter: 0.5 x 1 s, 0.5 x 2 s
    assert account.healed() == [(3.5, "a")]


def forge(store: Store, value: dict[str, str]) -> None:
    store.dynamodb().put_item(TableName=TABLE, Item={"principal": {"S": PARTITION}, "at": {"S": REGION}, "next": value})


@pytest.mark.threat("activity-table")
def test_a_forged_turn_far_off_is_ignored_the_heal_backs_off_with_jitter(store: Store) -> None:
    """An insider writes the turns item (without the SCP, which denies it): a next turn a year off, or
    not a number. The heal takes no turn it cannot reach within its budget: jitter, healed."""
    for forged in ({"N": repr(at(365 * 86400).timestamp())}, {"S": "soon"}):
        forge(store, forged)
        account = Account({"a": [0]}, outside_writes=(1.5,))
        aws = Heal(account, Run(2, limit=60), store)
        assert heal(aws, "a", 0).outcome == Outcome.HEALED
        assert aws.run.sleeps == [0.5]
        assert account.healed() == [(2.5, "a")]


@pytest.mark.threat("activity-table")
def test_a_forged_turn_within_the_budget_delays_the_heal_no_longer_than_its_budget(store: Store) -> None:
    """The worst an insider who writes the table can do: a next turn just within the heal's budget (35 s of the
    60 s timeout, less a second). The heal waits for it and heals then, within its budget: a delay, not a loss; one
    further off is not waited for (a burst's real queue is that long: the bound cannot be shorter)."""
    forge(store, {"N": repr(at(2 + budget.HEAL_SECONDS - budget.QUOTA_MARGIN).timestamp())})
    account = Account({"a": [0]}, outside_writes=(1.5,))
    run = Run(2, limit=budget.FUNCTION_TIMEOUT)
    assert heal(Heal(account, run, store), "a", 0).outcome == Outcome.HEALED
    assert sum(run.sleeps) <= budget.HEAL_SECONDS
    assert account.healed() == [(2 + budget.HEAL_SECONDS - budget.QUOTA_MARGIN, "a")]


class Reforger(Store):
    """An insider rewriting the trail's turn to 1.7 s ahead before each of the heal's reads (a loop writing the
    table every second does the same): each read finds a fresh turn of the trail's, later than the stop."""

    def take(self, region: str, trail: str, **kw: Any) -> Turn | None:
        self.dynamodb().update_item(
            TableName=TABLE,
            Key={"principal": {"S": PARTITION}, "at": {"S": REGION}},
            UpdateExpression="SET #t = :v",
            ExpressionAttributeNames={"#t": f"trail {trail}"},
            ExpressionAttributeValues={":v": {"N": repr(kw["now"] + 1.7)}},
        )
        return super().take(region, trail, **kw)


@pytest.mark.threat("activity-table")
def test_a_trail_turn_forged_again_before_each_read_is_joined_at_most_twice(store: Store) -> None:
    """Review 6: joins chained on a re-forged trail turn spent the whole budget (14 joins, StartLogging at 33 s).
    At most two joined turns that did not heal the stop, then a turn of the heal's own."""
    forger = Reforger()
    account = Account({"a": [0]}, outside_writes=(1.5,))  # one outside write: the first StartLogging is throttled
    run = Run(2, limit=budget.FUNCTION_TIMEOUT)

    assert heal(Heal(account, run, forger), "a", 0).outcome == Outcome.HEALED
    assert sum(1 for t in forger.taken if t is not None and t.joined) == write_turns.MAX_JOINS
    [(healed_at, _)] = account.healed()
    assert healed_at < 10  # was 33.3 s: two joins of ~2.2 s and a turn of its own
