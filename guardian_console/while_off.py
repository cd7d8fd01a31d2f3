"""The report's "While logging was off": for each healed blind window of the period, what the account did while the
trail was off, as CloudTrail's Event history recorded it and the guardian kept it (``blind-windows/``, signed;
:mod:`guardian.model.blind_window`). Read with the caller's credentials; rendered as one HTML section.

An object whose signature does not verify with the guardian's key is still listed, marked so: anyone who could
write the bucket could have put it there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model import signing
from guardian.model.blind_window import BLIND_WINDOW_SCHEMA, PREFIX, SETTLED_SUFFIX, settled_key

if TYPE_CHECKING:
    from collections.abc import Sequence

SHOWN = 10  # (principal, event name) counts shown per window; the object holds them all


class Row(Protocol):
    """What this section reads of a report's row (guardian_console.report.Row, which imports this module)."""

    @property
    def time(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def trail(self) -> str: ...
    @property
    def blind_window_seconds(self) -> float | None: ...
    @property
    def purpose(self) -> str: ...
    @property
    def evidence_key(self) -> str: ...


@dataclass(frozen=True)
class Window:
    key: str
    account: str
    evidence_key: str
    trail: str
    start: str
    end: str
    summary: str
    counts: tuple[tuple[str, str, int], ...]
    truncated: str | None
    settled: bool  # read once Event history could hold every call of the window (about 15 minutes after it)
    signature: str  # "verified", "not checked" (no key given), or why it does not verify
    failed: tuple[str, ...] = ()  # "<region>: <error>" for each Region not read to its end (the count is a floor)


def read(
    s3: Any,
    bucket: str,
    account: str,
    start: date,
    end: date,
    *,
    public_key: signing.PublicKey | None,
    key_id: str | None,
) -> list[Window]:
    """The period's blind windows (by their record's day), oldest first; unreadable ones are left out with a note."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    found: list[Window] = []
    for day in days:
        prefix = f"{PREFIX}{day:%Y/%m/%d}/"
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
            for key in keys:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                window = parse(key, account, body, public_key=public_key, key_id=key_id)
                if window is not None:
                    found.append(window)
        except (ClientError, BotoCoreError):
            continue  # the report's own reads say what cannot be read; this section shows what could
    settled = {w.key for w in found if w.key.endswith(SETTLED_SUFFIX)}
    kept = [w for w in found if w.key.endswith(SETTLED_SUFFIX) or settled_key(w.key) not in settled]
    return sorted(kept, key=lambda w: w.start)  # a window read again once settled, in place of its first read


def parse(
    key: str, account: str, body: bytes, *, public_key: signing.PublicKey | None, key_id: str | None
) -> Window | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("schema") != BLIND_WINDOW_SCHEMA:
        return None
    signature = "not checked"
    if public_key is not None:
        try:
            signed_by = key_id or str((document.get(signing.SIGNATURE_FIELD) or {}).get("key_id") or "")
            signing.verify(key, document, public_key, key_id=signed_by)
            signature = "verified"
        except signing.SignatureError as exc:
            signature = f"NOT VERIFIED: {exc}"
    window = document.get("window") or {}
    counted = tuple(
        (str(c.get("principal")), str(c.get("event_name")), int(c.get("count") or 0))
        for c in document.get("counts") or []
        if isinstance(c, dict)
    )
    return Window(
        key=key,
        account=account,
        evidence_key=str(document.get("evidence_key") or ""),
        trail=str(document.get("trail") or ""),
        start=str(window.get("start") or ""),
        end=str(window.get("end") or ""),
        summary=str(document.get("summary") or ""),
        counts=counted,
        truncated=document.get("truncated"),
        settled=document.get("settled") is not False,
        signature=signature,
        failed=tuple(str(f) for f in document.get("failed") or [] if isinstance(f, str)),
    )


def not_recovered(windows: Sequence[Window], rows: Sequence[Row]) -> list[Row]:
    """The healed rows the blind-window chart draws (a window, tampering only) with no events object in ``windows``:
    their read failed or never ran, or the object is gone."""
    kept = {(w.account, w.evidence_key) for w in windows}
    drawn = [r for r in rows if r.blind_window_seconds is not None and r.time and not r.purpose]
    return [r for r in drawn if (r.account, r.evidence_key) not in kept]


def section(windows: tuple[Window, ...] | list[Window], rows: Sequence[Row] = ()) -> str:
    """``<h2>While logging was off</h2>``: per blind window, its calls by principal and event name; then each healed
    window of ``rows`` (the report's) whose events were not recovered."""
    missing = not_recovered(windows, rows)
    if not windows and not missing:
        return "<h2>While logging was off</h2>\n<p>No healed blind window in the period.</p>\n"
    parts = ["<h2>While logging was off</h2>"]
    parts += [
        f"<h3>{escape(r.trail)}: {escape(r.time)} ({r.blind_window_seconds} s)</h3>\n<p>events not recovered: "
        f"no events object for record <code>{escape(r.evidence_key)}</code>; account {escape(r.account)}. Read "
        "CloudTrail's Event history for the window (90 days).</p>"
        for r in missing
    ]
    for w in windows:
        cut = f" (cut: {escape(w.truncated)} bound reached)" if w.truncated else ""
        if w.failed and "not read:" not in w.summary:  # an object written before the summary named them
            cut += " (at least: " + escape("; ".join(w.failed)) + " not read)"
        if not w.settled and w.failed:
            cut += " (not settled: the sweep reads it again)"
        elif not w.settled:
            cut += " (read right after the heal: Event history shows a call up to about 15 minutes later)"
        table = "\n".join(
            f"<tr><td>{escape(p)}</td><td>{escape(n)}</td><td>{c}</td></tr>" for p, n, c in w.counts[:SHOWN]
        )
        more = f"<p>and {len(w.counts) - SHOWN} more in the object.</p>" if len(w.counts) > SHOWN else ""
        parts.append(
            f"<h3>{escape(w.trail)}: {escape(w.start)} to {escape(w.end)}</h3>\n"
            f"<p>{escape(w.summary)}{cut}. Events: <code>{escape(w.key)}</code> (signature {escape(w.signature)}); "
            f"record: <code>{escape(w.evidence_key)}</code>; account {escape(w.account)}.</p>\n"
            f"<table>\n<tr><th>principal</th><th>event name</th><th>calls</th></tr>\n{table}\n</table>\n{more}"
        )
    return "\n".join(parts) + "\n"


def as_json(windows: tuple[Window, ...] | list[Window]) -> list[dict[str, Any]]:
    return [
        {
            "key": w.key,
            "account": w.account,
            "evidence_key": w.evidence_key,
            "trail": w.trail,
            "window": {"start": w.start, "end": w.end},
            "summary": w.summary,
            "counts": [{"principal": p, "event_name": n, "count": c} for p, n, c in w.counts],
            "truncated": w.truncated,
            "settled": w.settled,
            "signature": w.signature,
            "failed": list(w.failed),
        }
        for w in windows
    ]
