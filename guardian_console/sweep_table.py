"""What ``guardian sweep`` prints to a person: a short table of what the sweep checked, healed, left and failed, then
one line per finding that is not in order (the full summary is ``--json``'s). Pure: it reads the summary the deployed
sweep answers (guardian.entrypoints.sweep), or the one its SweepFailed error carries.
"""

from __future__ import annotations

import ast
from typing import Any

# A status that needs no line of its own; every other is named below the table.
IN_ORDER = frozenset({"in_baseline", "baseline_recorded", "strengthened", "not_protected", "retired"})
HEALED = frozenset({"healed"})
LEFT = frozenset({"observed", "left_to_event_path", "restore_deferred"})  # observe mode; alerted, left or deferred
# The summary's groups: its key, the table's word for it, the singular for a finding's line.
GROUPS = (
    ("resources", "buckets, log groups", ""),
    ("guardian_rules", "guardian rules", "guardian rule "),
    ("guardian_functions", "guardian functions", "guardian function "),
    ("guardian_aliases", "guardian key aliases", "guardian key alias "),
    ("alert_path", "alert path", "alert path "),
)
_FAILED_PREFIX = "sweep incomplete: "


def summary_of(succeeded: bool, answer: Any) -> dict[str, Any] | None:
    """The sweep's summary: its answer, or the one a SweepFailed error carries (a Python literal); None if there is
    none (the function timed out, or failed before the sweep ended)."""
    if succeeded and isinstance(answer, dict):
        return answer
    message = str(answer.get("errorMessage", "")) if isinstance(answer, dict) else ""
    if not message.startswith(_FAILED_PREFIX):
        return None
    try:
        found = ast.literal_eval(message.removeprefix(_FAILED_PREFIX))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def lines(name: str, succeeded: bool, answer: Any, seconds: float) -> list[str]:
    verdict = "succeeded" if succeeded else "FAILED"
    summary = summary_of(succeeded, answer)
    if summary is None:
        error = answer if not isinstance(answer, dict) else answer.get("errorMessage", answer)
        kind = answer.get("errorType", "error") if isinstance(answer, dict) else "error"
        return [f"{name}: the sweep {verdict} in {seconds:.1f} s", f"  {kind}: {error}"]
    regions = summary.get("regions") or []
    head = f"{name}: the sweep {verdict} in {seconds:.1f} s, {len(regions)} Region(s)"
    rows = [_trails(summary.get("statuses") or {}, int(summary.get("checked") or 0))]
    rows += [_row(word, dict(summary.get(key) or {})) for key, word, _ in GROUPS]
    width = max(len(r[0]) for r in rows)
    table = [f"  {'what':<{width}} {'checked':>7} {'healed':>7} {'left':>5} {'failed':>7}"]
    table += [f"  {word:<{width}} {n:>7} {healed:>7} {left:>5} {failed:>7}" for word, n, healed, left, failed in rows]
    found = _findings(summary)
    digest = summary.get("evidence_digest")
    tail = [f"  evidence digest: {digest}"] if digest else []
    well = succeeded and not found
    return [head, *table, *tail, *found, "  all is well" if well else f"  {len(found)} finding(s) above"]


def _sort(statuses: dict[str, int]) -> tuple[int, int, int]:
    healed = sum(n for s, n in statuses.items() if s in HEALED)
    left = sum(n for s, n in statuses.items() if s in LEFT)
    failed = sum(n for s, n in statuses.items() if s not in IN_ORDER | HEALED | LEFT)
    return healed, left, failed


def _trails(statuses: dict[str, int], checked: int) -> tuple[str, int, int, int, int]:
    return ("trails", checked, *_sort(statuses))


def _row(word: str, checks: dict[str, str]) -> tuple[str, int, int, int, int]:
    counts: dict[str, int] = {}
    for status in checks.values():
        counts[str(status)] = counts.get(str(status), 0) + 1
    return (word, len(checks), *_sort(counts))


def _findings(summary: dict[str, Any]) -> list[str]:
    """One line per check not in order, per Region that could not be swept and per check that could not run."""
    found = [
        f"  {_label(status)} trails: {n}"
        for status, n in sorted((summary.get("statuses") or {}).items())
        if status not in IN_ORDER
    ]
    for key, _, singular in GROUPS:
        checks = summary.get(key) or {}
        found += [f"  {_label(s)} {singular}{what}" for what, s in sorted(checks.items()) if s not in IN_ORDER]
    found += [
        f"  ERROR {region}: not swept: {why}" for region, why in sorted((summary.get("region_errors") or {}).items())
    ]
    found += [
        f"  ERROR could not check {what}: {why}" for what, why in sorted((summary.get("check_errors") or {}).items())
    ]
    return found


def _label(status: str) -> str:
    """healed, LEFT (observed / left_to_event_path) or FAILED, with the status's own name."""
    if status in HEALED:
        return "healed"
    return f"LEFT ({status})" if status in LEFT else f"FAILED ({status})"
