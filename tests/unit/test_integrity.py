"""The digest chain's judgement (guardian/model/digests.py, guardian_console/integrity.py), over hand-made links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from guardian.model.digests import Link, chain_breaks, digest_key, sequence_of, window_days
from guardian_console.integrity import Found, Retention, judge

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
KEY = "evidence/2026/11/27/e1.json"


def link(n: int, previous: Link | None, records: list[dict[str, str]], problem: str | None = None) -> Link:
    document: dict[str, Any] = {
        "sequence": n,
        "covers": {"to": (T0 + timedelta(minutes=n)).isoformat()},
        "previous": None if previous is None else {"key": previous.key, "sha256": previous.body_sha256},
        "records": records,
    }
    return Link(digest_key(n, T0), n, f"sha-{n}", document, problem)


def chain(*records: list[dict[str, str]]) -> list[Link]:
    links: list[Link] = []
    for n, listed in enumerate(records, start=1):
        links.append(link(n, links[-1] if links else None, listed))
    return links


def entry(key: str = KEY, version: str = "v1", sha: str = "s1") -> dict[str, str]:
    return {"key": key, "version_id": version, "sha256": sha, "last_modified": T0.isoformat()}


def found(key: str = KEY, version: str = "v1", sha: str = "s1", at: datetime = T0) -> Found:
    return Found(key, version, sha, at, "GOVERNANCE", at + timedelta(days=365))


DAY = date(2026, 11, 27)
LOCK = Retention("GOVERNANCE", 365)


def test_an_intact_chain_and_its_records_verify() -> None:
    verdict = judge(chain([entry()], []), [found()], start=DAY, end=DAY, retention=LOCK)
    assert (verdict.ok, verdict.records, verdict.digests, verdict.breaks) == (True, 1, 2, [])


def test_a_missing_digest_a_fork_and_a_forgery_each_break_the_chain() -> None:
    one, two, three = chain([], [], [])
    assert chain_breaks([one, three]) == [
        f"digests 2 to 2 are missing (before {three.key})",
        f"digest {three.key} does not follow {one.key} (changed, or the chain forked)",
    ]
    forged = Link(two.key, 2, "other", two.document, "the signature does not match")
    assert chain_breaks([one, forged, three])[0] == f"digest {two.key} does not verify: the signature does not match"
    assert f"digest {three.key} does not follow {two.key} (changed, or the chain forked)" in chain_breaks(
        [one, forged, three]
    )


def test_deleted_altered_rewritten_added_and_unlocked_records_are_each_named() -> None:
    links = chain([entry(), entry("evidence/2026/11/27/e2.json"), entry("evidence/2026/11/27/e3.json")])
    objects = [
        found("evidence/2026/11/27/e2.json", sha="other"),  # altered (offline: a copy)
        found("evidence/2026/11/27/e3.json"),
        found("evidence/2026/11/27/e3.json", version="v2", at=T0 + timedelta(hours=1)),  # written again
        found("evidence/2026/11/27/e4.json", at=T0 - timedelta(minutes=1)),  # before the head, in no digest
        found("evidence/2026/11/27/e5.json", at=T0 + timedelta(hours=1)),  # after the head: pending
    ]
    verdict = judge(links, objects, start=DAY, end=DAY, retention=LOCK)
    assert verdict.breaks == [
        f"{KEY}: deleted (version v1, listed in {links[0].key})",
        f"evidence/2026/11/27/e2.json: altered (its SHA-256 is not the one {links[0].key} lists)",
        "evidence/2026/11/27/e3.json: version v2 is in no digest: changed after it was written",
        "evidence/2026/11/27/e4.json: added outside the chain (written before the chain's head, not in it)",
    ]
    assert verdict.pending == ["evidence/2026/11/27/e5.json"]
    unlocked = Found(KEY, "v1", "s1", T0, "GOVERNANCE", T0 + timedelta(days=30))
    assert judge(chain([entry()]), [unlocked], start=DAY, end=DAY, retention=LOCK).breaks == [
        f"{KEY}: retained until {T0 + timedelta(days=30)}, less than 365 days"
    ]


def test_records_outside_the_period_are_not_judged() -> None:
    verdict = judge(chain([entry()]), [], start=date(2026, 12, 1), end=date(2026, 12, 31), retention=LOCK)
    assert (verdict.ok, verdict.records) == (True, 0)


def test_digest_keys_sort_by_day_then_sequence_and_the_window_covers_a_replay() -> None:
    assert digest_key(42, T0) == "digests/2026/11/27/0000000042.json"
    assert sequence_of("digests/2026/11/27/0000000042.json") == 42
    assert sequence_of("evidence/2026/11/27/x.json") is None
    days = window_days(T0)
    assert days[0] == "evidence/2026/11/27/"
    assert "evidence/2026/11/11/" in days  # 16 days back: the dead-letter queue keeps an event 14 days
    assert days[-1] == "evidence/undated/"


class Store:
    """The evidence bucket as the digest chain reads it: five records, one a second."""

    signing_key = None

    def __init__(self) -> None:
        self.versions: list[dict[str, Any]] = [
            {"Key": f"evidence/2026/11/27/{n}.json", "VersionId": f"v{n}", "LastModified": T0 + timedelta(seconds=n)}
            for n in range(5)
        ]

    def object_versions(self, prefix: str) -> list[dict[str, Any]]:
        return [v for v in self.versions if v["Key"].startswith(prefix)]

    def object_bytes(self, key: str, version: str | None = None) -> bytes:
        return f"{key}@{version}".encode()

    def object_read(self, key: str, version: str) -> tuple[bytes, str | None, datetime | None]:
        return self.object_bytes(key, version), "GOVERNANCE", T0 + timedelta(days=365)

    def public_key(self) -> Any:
        return None


def test_a_backlog_is_digested_oldest_first_a_bounded_number_at_a_time(monkeypatch: Any) -> None:
    from guardian.flows import digests  # noqa: PLC0415

    monkeypatch.setattr(digests, "MAX_RECORDS", 3)
    monkeypatch.setattr(digests, "record_problem", lambda *_, **__: None)  # signed (tests/unit/test_record_signatures)
    store, now = Store(), T0 + timedelta(hours=1)
    first, unsigned, until = digests._new_records(store, None, now, now)  # type: ignore[arg-type]
    assert [e.key for e in first] == [f"evidence/2026/11/27/{n}.json" for n in range(3)]
    assert until == T0 + timedelta(seconds=2)  # the next digest starts after the last record taken
    rest, _, _ = digests._new_records(store, until, now, now)  # type: ignore[arg-type]
    assert [e.version_id for e in rest] == ["v3", "v4"]
    assert unsigned == []


def test_the_chain_takes_only_signed_records_and_waits_for_a_young_ones_signature(monkeypatch: Any) -> None:
    from guardian.flows import digests  # noqa: PLC0415

    unsigned_keys = {"evidence/2026/11/27/1.json", "evidence/2026/11/27/3.json"}
    monkeypatch.setattr(
        digests,
        "record_problem",
        lambda key, *_, **__: "not signed (no signature beside it)" if key in unsigned_keys else None,
    )
    store = Store()
    late = T0 + timedelta(hours=1)  # past the grace: both are refused, the others chained
    taken, refused, until = digests._new_records(store, None, late, late)  # type: ignore[arg-type]
    assert [e.key for e in taken] == [f"evidence/2026/11/27/{n}.json" for n in (0, 2, 4)]
    assert [(u.key, u.problem) for u in refused] == [
        (k, "not signed (no signature beside it)") for k in sorted(unsigned_keys)
    ]
    assert until == late
    soon = T0 + timedelta(minutes=2)  # within the grace: the cut-off stops before the first record still unsigned
    taken, refused, until = digests._new_records(store, None, soon, soon)  # type: ignore[arg-type]
    assert ([e.key for e in taken], refused) == (["evidence/2026/11/27/0.json"], [])
    assert until == T0 + timedelta(seconds=1) - timedelta(microseconds=1)
