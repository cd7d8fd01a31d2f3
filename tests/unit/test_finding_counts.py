"""A finding's count that holds under a burst (guardian.flows.finding_counts): two copies of one finding at once,
interleaved deterministically (the later count's import landing first), end at count 2, on the event path and in
the sweep's batch; Security Hub is asked only on a finding's first copy or when its Workflow must change."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from guardian.flows import finding_batch, security_hub, sweep_findings
from guardian.model.asff import COUNT_FIELD
from guardian.ports.finding_counts import Before, UnreadableCount
from tests.unit.test_asff import CONFIG, RUN, result
from tests.unit.test_sweep_findings import rule_found

TABLE = replace(CONFIG, activity_table="guardian-activity")


class Table:
    """The activity table's finding items in memory: UpdateItem ADD atomic (a lock), the item before returned."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, dict[str, Any]] = {}

    def add_finding_count(
        self,
        table: str,
        finding_id: str,
        times: int,
        *,
        created_at: str,
        expires_at: int,
        replace_created: bool = False,
        window: int | None = None,
    ) -> Before:
        with self.lock:
            old = dict(self.items.get(finding_id, {}))
            if not isinstance(old.get("count", 0), int):
                raise UnreadableCount("not the guardian's")
            new = dict(old, count=old.get("count", 0) + times, expires_at=expires_at)
            if replace_created or "created_at" not in old:
                new["created_at"] = created_at
            if window is not None:
                new["window"] = window
            self.items[finding_id] = new
        return Before(old.get("count", 0), old.get("created_at"), old.get("workflow"), old.get("window"))

    def note_finding_workflow(self, table: str, finding_id: str, workflow: str) -> None:
        with self.lock:
            self.items[finding_id]["workflow"] = workflow

    def finding_count(self, table: str, finding_id: str) -> int:
        with self.lock:
            return int(self.items.get(finding_id, {}).get("count", 0))


class Hub(Table):
    """Security Hub in memory (Workflow kept on re-import, as AWS does), with the activity table; hooks around each
    count and each import, to interleave copies."""

    def __init__(self) -> None:
        super().__init__()
        self.findings: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.hooks: dict[str, Any] = {}

    def hook(self, name: str) -> None:
        self.hooks.get(name, lambda: None)()

    def add_finding_count(self, table: str, finding_id: str, times: int, **kw: Any) -> Before:
        self.hook("before count")
        before = super().add_finding_count(table, finding_id, times, **kw)
        self.hook("after count")
        return before

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        return None

    def existing_finding(self, region: str, finding_id: str) -> dict[str, Any] | None:
        self.calls.append("GetFindings")
        found = self.findings.get(finding_id)
        return None if found is None else dict(found)

    def import_finding(self, region: str, document: dict[str, Any]) -> None:
        self.calls.append("BatchImportFindings")
        self.hook("before import")
        kept = self.findings.get(document["Id"], {}).get("Workflow")
        self.findings[document["Id"]] = {**document, **({"Workflow": kept} if kept else {})}
        self.hook("after import")

    def set_workflow(self, region: str, finding_id: str, product_arn: str, status: str) -> None:
        self.calls.append("BatchUpdateFindings")
        self.findings[finding_id]["Workflow"] = {"Status": status}

    def existing_findings(self, region: str, finding_ids: Any) -> dict[str, dict[str, Any]]:
        self.calls.append("GetFindings")
        return {i: dict(self.findings[i]) for i in finding_ids if i in self.findings}

    def import_findings(self, region: str, findings: Any) -> list[str]:
        for document in findings:
            self.import_finding(region, document)
        return []

    def set_workflows(self, region: str, identifiers: Any, status: str) -> int:
        for finding_id, arn in identifiers:
            self.set_workflow(region, finding_id, arn, status)
        return 0


def later_lands_first(hub: Hub) -> None:
    """Two copies, threads "first" and "second": "first" counts first, both have read (and counted) before either
    imports, and "second"'s import (the higher count) lands before "first"'s."""
    first_counted, second_landed, both_ready = threading.Event(), threading.Event(), threading.Barrier(2, timeout=10)
    imported: set[str] = set()

    def name() -> str:
        return threading.current_thread().name

    def before_count() -> None:
        if name() == "second":
            assert first_counted.wait(10)

    def after_count() -> None:
        if name() == "first":
            first_counted.set()

    def before_import() -> None:
        if name() in imported:
            return  # a copy's import again (its recheck): no waiting
        imported.add(name())
        both_ready.wait()
        if name() == "first":
            assert second_landed.wait(10)

    def after_import() -> None:
        if name() == "second":
            second_landed.set()

    hub.hooks = {
        "before count": before_count,
        "after count": after_count,
        "before import": before_import,
        "after import": after_import,
    }


def copied_at_once(hub: Hub, config: Any) -> None:
    security_hub.forget()
    later_lands_first(hub)
    copies = [
        threading.Thread(target=security_hub.copy_to_security_hub, args=(result(), hub, config, RUN), name=name)
        for name in ("first", "second")
    ]
    for copy in copies:
        copy.start()
    for copy in copies:
        copy.join(10)


def test_two_copies_of_one_finding_at_once_end_at_count_2_whichever_import_lands_last() -> None:
    hub = Hub()
    copied_at_once(hub, TABLE)

    [finding] = hub.findings.values()
    assert finding["ProductFields"][COUNT_FIELD] == "2"
    assert finding["Workflow"] == {"Status": "RESOLVED"}
    [item] = hub.items.values()
    assert (item["count"], item["workflow"]) == (2, "RESOLVED")


def test_without_the_table_the_same_interleaving_loses_a_count() -> None:
    """What the activity table fixes: GetFindings then import (a read-modify-write) ends at 1."""
    hub = Hub()
    copied_at_once(hub, CONFIG)
    [finding] = hub.findings.values()
    assert finding["ProductFields"][COUNT_FIELD] == "1"


def test_a_repeat_asks_security_hub_nothing_but_its_import() -> None:
    security_hub.forget()
    hub = Hub()
    assert security_hub.copy_to_security_hub(result(), hub, TABLE, RUN) == "imported"  # type: ignore[arg-type]
    assert hub.calls == ["GetFindings", "BatchImportFindings", "BatchUpdateFindings"]  # first: asked, RESOLVED
    hub.calls.clear()
    assert security_hub.copy_to_security_hub(result(), hub, TABLE, RUN) == "updated"  # type: ignore[arg-type]
    assert hub.calls == ["BatchImportFindings"]  # the count from the table, the Workflow unchanged
    [finding] = hub.findings.values()
    assert finding["ProductFields"][COUNT_FIELD] == "2"


def test_a_count_security_hub_had_before_the_table_goes_on_and_suppressed_stays() -> None:
    security_hub.forget()
    hub = Hub()
    security_hub.copy_to_security_hub(result(), hub, CONFIG, RUN)  # type: ignore[arg-type] # counted without the table
    [finding_id] = hub.findings
    hub.findings[finding_id]["ProductFields"][COUNT_FIELD] = "5"
    hub.findings[finding_id]["Workflow"] = {"Status": "SUPPRESSED"}
    security_hub.copy_to_security_hub(result(), hub, TABLE, RUN)  # type: ignore[arg-type]
    assert hub.findings[finding_id]["ProductFields"][COUNT_FIELD] == "6"
    assert hub.findings[finding_id]["Workflow"] == {"Status": "SUPPRESSED"}
    assert hub.items[finding_id]["workflow"] == "SUPPRESSED"


def test_the_sweeps_batch_counts_in_the_table_and_imports_again_when_a_copy_counted_past_it() -> None:
    hub = Hub()
    found = rule_found(1)
    run = RUN
    assert finding_batch.opened(run, TABLE)
    finding_batch.noted(found, run)
    finding_batch.noted(found, run)  # two reports in the run: one finding, counted twice
    imports: list[str] = []

    def meanwhile() -> None:  # an event-path copy counts the same finding while the sweep imports
        imports.append("import")
        if len(imports) == 1:
            [finding_id] = hub.items
            hub.add_finding_count("t", finding_id, 1, created_at="x", expires_at=0)

    hub.hooks = {"before import": meanwhile}
    done = sweep_findings.closed(run, hub, TABLE)

    [finding] = hub.findings.values()
    assert finding["ProductFields"][COUNT_FIELD] == "3"  # the sweep's 2 and the other copy's 1
    assert len(imports) == 2  # imported at 2, then again at 3
    assert (done.imported, done.failed) == (1, 0)
