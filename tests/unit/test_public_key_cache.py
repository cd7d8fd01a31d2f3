"""The signing keys' public halves (guardian.adapters.services.public_key), cached per process: a lock per key, so
that two keys are fetched at once (an org read's 800 targets each have their own key) and one key is fetched once
however many threads ask for it. Events, not timing: each fetch waits for what the other must have done."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from guardian.adapters import services
from guardian.adapters.services import ServiceAdapter

DER = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
)
KEY_A = "arn:aws:kms:us-east-1:111111111111:key/a"
KEY_B = "arn:aws:kms:eu-west-1:222222222222:key/b"
GUARD = 30.0  # seconds a thread is given before the test fails (a guard against a hang, not a timing assert)


class Kms:
    """KMS GetPublicKey, each call first running ``before`` (which may wait on an event), counted by key."""

    def __init__(self, before: dict[str, Any]) -> None:
        self.before = before
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def get_public_key(self, KeyId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        with self.lock:
            self.calls[KeyId] += 1
        self.before[KeyId]()
        return {"PublicKey": DER}


class Clients:
    def __init__(self, kms: Kms) -> None:
        self._kms = kms

    def kms(self, region: str | None = None) -> Kms:
        return self._kms


def adapter(kms: Kms, key: str) -> ServiceAdapter:
    found = ServiceAdapter()
    found._clients = Clients(kms)  # type: ignore[assignment]  # what public_key uses of the provider
    found.signing_key = key
    return found


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_PUBLIC_KEYS", {})
    monkeypatch.setattr(services, "_FETCHING", {}, raising=False)


def in_threads(*calls: Any) -> list[Any]:
    """Each call in its own thread; their results (an exception raised, returned), in order."""
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            results[n] = calls[n]()
        except Exception as exc:  # returned for the test to see
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD)
    assert not any(t.is_alive() for t in threads), "a fetch waited for the other key's: fetches are serialized"
    return results


def test_two_keys_public_halves_are_fetched_at_once() -> None:
    """Each key's GetPublicKey waits, in flight, until the other key's has started: it completes only if both are in
    flight together. Under one lock for every key (the code before), the first would wait for the second forever."""
    started = {KEY_A: threading.Event(), KEY_B: threading.Event()}

    def waits_for(other: str, own: str) -> Any:
        def before() -> None:
            started[own].set()
            if not started[other].wait(GUARD):
                raise AssertionError(f"{other} was not fetched while {own} was")

        return before

    kms = Kms({KEY_A: waits_for(KEY_B, KEY_A), KEY_B: waits_for(KEY_A, KEY_B)})
    a, b = adapter(kms, KEY_A), adapter(kms, KEY_B)
    found = in_threads(a.public_key, b.public_key)
    assert [type(f).__name__ for f in found] == ["PublicKey", "PublicKey"], found
    assert kms.calls == {KEY_A: 1, KEY_B: 1}
    assert services._FETCHING == {}  # the per-key locks go once their key is kept


def test_one_key_is_fetched_once_while_others_ask_for_it_and_then_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first caller's GetPublicKey waits, in flight, until the three other callers of the same key are at its
    lock (counted as they ask for it); it answers once, for all four, and later calls read the cache."""
    waiting = threading.Semaphore(0)
    real = services._new_lock

    class Counted:
        """The per-key lock, counting the threads that ask for it."""

        def __init__(self) -> None:
            self.lock = real()

        def __enter__(self) -> None:
            waiting.release()
            self.lock.acquire()

        def __exit__(self, *_: object) -> None:
            self.lock.release()

    monkeypatch.setattr(services, "_new_lock", Counted)

    def others_at_the_lock() -> None:
        for _ in range(4):  # the fetching caller itself, then the three others
            assert waiting.acquire(timeout=GUARD), "the other callers never reached the key's lock"

    kms = Kms({KEY_A: others_at_the_lock})
    callers = [adapter(kms, KEY_A) for _ in range(4)]
    found = in_threads(*(c.public_key for c in callers))
    assert all(f == found[0] for f in found), found
    assert type(found[0]).__name__ == "PublicKey"
    assert kms.calls == {KEY_A: 1}
    assert adapter(kms, KEY_A).public_key() == found[0]
    assert kms.calls == {KEY_A: 1}


def test_a_failed_fetch_is_raised_and_the_next_caller_fetches_again() -> None:
    failures = [RuntimeError("KMS unreachable")]

    def fails_once() -> None:
        if failures:
            raise failures.pop()

    kms = Kms({KEY_A: fails_once})
    with pytest.raises(RuntimeError, match="KMS unreachable"):
        adapter(kms, KEY_A).public_key()
    assert type(adapter(kms, KEY_A).public_key()).__name__ == "PublicKey"
    assert kms.calls == {KEY_A: 2}
