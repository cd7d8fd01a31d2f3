"""The auditor's HTML report on paper (``make bench`` runs it; tests/unit/test_report_print.py runs the same check):
a report like the demo's, with the long values a real account has, printed by headless Chromium to PDF in landscape
A4 and US Letter, and its print layout measured.

For each paper: the PDF's pages must be that paper, landscape; and the page laid out as Chromium prints it (the
print stylesheet applied, at the page's content width in CSS pixels) must have nothing wider than that width and no
text smaller than 8 pt (the smallest size a printed table is read at; an SVG's text as scaled to the page).
Chromium shrinks a page that is too wide to fit rather than cutting it (other browsers cut it), so the PDF alone
would not show an overflow: the layout is measured by a script in a copy of the page (the report itself has none).
Writes build/report-print/ (the report, both PDFs) and build/report-print.png (the print layout, as a screenshot).
Exit status 1 if anything overflows; without Chromium it says it skipped, and exits 0 (``make bench`` goes on).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardian_console import render  # noqa: E402
from guardian_console.coverage import Chain, Coverage, Runs, Settings, account_coverage  # noqa: E402
from guardian_console.records import Stored  # noqa: E402
from guardian_console.report import Report, build, with_coverage  # noqa: E402
from guardian_console.while_off import Window  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MARGIN_MM = 10  # the print stylesheet's @page margin
PAPERS = {"A4": (297.0, 210.0), "Letter": (279.4, 215.9)}  # landscape width and height, mm
PX_PER_MM = 96 / 25.4
PT_PER_MM = 72 / 25.4
PX_PER_PT = 96 / 72
SHOT_HEIGHT = 3600  # px: the demo's report printed, top to bottom
SMALLEST_PT = 8.0  # no printed text smaller (the report printed its events at 7 px, 5.25 pt: unreadable on paper)
ACCOUNT = "123456789012"
DAY = date(2026, 12, 6)
_PROBE = """<script>
addEventListener("load", () => {
  const limit = document.documentElement.clientWidth;
  const wide = [];
  let smallest = {px: 1e9, name: ""};
  for (const el of document.body.querySelectorAll("*")) {
    const right = el.getBoundingClientRect().right;
    const name = `${el.tagName.toLowerCase()}.${el.getAttribute("class") || ""}`;
    if (right > limit + 0.5) wide.push(`${name} ${right.toFixed(0)}`);
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (!text || !el.getClientRects().length || el.closest("title")) continue;  // no text of its own, or not shown
    let px = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest("svg");
    if (svg && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
      px *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;  // as drawn, scaled to the page
    }
    if (px < smallest.px) smallest = {px, name: `${name} "${text.slice(0, 24)}"`};
  }
  const out = document.createElement("pre");
  out.id = "fit";
  out.textContent = JSON.stringify({limit, scroll: document.documentElement.scrollWidth, wide, smallest});
  document.body.appendChild(out);
});
</script>"""


@dataclass(frozen=True)
class Fit:
    """How the report prints on one paper."""

    paper: str
    pages: int
    page_pt: tuple[float, float]  # the PDF's first page, width and height in points
    content_px: float  # the page's width inside its margins, CSS pixels
    widest_px: float  # the layout's scroll width at that width
    overflowing: tuple[str, ...]  # elements wider than the page, as "tag.class right-edge"
    smallest_pt: float  # the smallest text printed, in points
    smallest: str  # where it is, as 'tag.class "text"'

    @property
    def fits(self) -> bool:
        width_mm, height_mm = PAPERS[self.paper]
        right_paper = (
            abs(self.page_pt[0] - width_mm * PT_PER_MM) < 2 and abs(self.page_pt[1] - height_mm * PT_PER_MM) < 2
        )
        fits = self.pages > 0 and not self.overflowing and self.widest_px <= self.content_px + 1
        return right_paper and fits and self.readable

    @property
    def readable(self) -> bool:
        return self.smallest_pt >= SMALLEST_PT - 0.01


def record(n: int, at: str, **fields: object) -> Stored:
    """One evidence record's summary as the digest chain carries it, with a real-looking version and SHA-256."""
    digest = hashlib.sha256(f"record {n}".encode()).hexdigest()
    key = fields.pop("key", None) or f"evidence/{DAY:%Y/%m/%d}/{digest[:8]}-{digest[8:12]}-{digest[12:28]}.json"
    summary = {
        "time": at,
        "account": ACCOUNT,
        "region": "us-east-1",
        "trail": "organization-audit",
        "severity": "HIGH",
        "outcome": "healed",
        "actor": f"arn:aws:iam::{ACCOUNT}:user/mallory",
        "action": "StartLogging",
        "verified": "verified (1 checks)",
        "detected_by": "event",
        "purpose": "",
        "guardian_version": "0.1.0",
        **fields,
    }
    return Stored(
        key=str(key),
        account=ACCOUNT,
        version_id=hashlib.sha1(digest.encode()).hexdigest()[:32].replace("a", "K"),  # noqa: S324 - an example id
        sha256=digest,
        lock_mode="GOVERNANCE",
        retain_until=datetime(2027, 12, 6, 17, 24, 17, tzinfo=UTC),
        summary=summary,
    )


def demo_report() -> Report:
    """The demo's acts as the report lists them, and what a real account adds: an assumed-role approver, a long
    trail ARN, a refused request, repeated tampering, a heal of several calls and a blind window of seconds."""
    t = "2026-12-06T17:24:{:02d}Z"
    operator = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_SecurityOperator_0123456789abcdef/alice@example.com"
    long_trail = "organization-wide-audit-trail-for-the-payments-platform"
    records = [
        record(
            1,
            t.format(16),
            event="StopLogging",
            severity="INFO",
            trail="CloudTrailGuardian-sentinel",
            actor=f"arn:aws:iam::{ACCOUNT}:user/security-operator",
            blind_window_seconds=0.0,
            restore_seconds=0.0,
            purpose="selftest",
        ),
        record(
            2,
            t.format(14),
            event="DeleteDetector",
            severity="CRITICAL",
            outcome="alerted",
            trail="",
            action="none",
            verified="not applicable",
            detected_by="watch_rule",
        ),
        record(3, t.format(14), event="PutBucketLifecycle", action="DeleteBucketLifecycle", restore_seconds=0.29),
        record(
            4,
            t.format(12),
            event="DriftDetected",
            severity="CRITICAL",
            trail="",
            actor="",
            action="EnableRule",
            restore_seconds=0.785,
            detected_by="sweep",
            key=f"evidence/{DAY:%Y/%m/%d}/sweep-20261206T172412Z-us-east-1-guardian-rule-CloudTrailGuardian-tamper.json",
        ),
        record(
            5,
            t.format(12),
            event="DriftDetected",
            severity="CRITICAL",
            actor="",
            action="CreateTrail, StartLogging, PutEventSelectors, PutInsightSelectors",
            restore_seconds=0.424,
            detected_by="sweep",
            key=f"evidence/{DAY:%Y/%m/%d}/sweep-20261206T172411Z-us-east-1-trail-organization-audit.json",
        ),
        record(6, t.format(9), event="StopLogging", blind_window_seconds=0.0, restore_seconds=0.357),
        record(
            7,
            t.format(8),
            event="StopLogging",
            trail=long_trail,
            region="eu-west-1",
            severity="CRITICAL",
            outcome="repeated_tampering",
            actor=operator,
            blind_window_seconds=12.4,
            restore_seconds=12.9,
        ),
        record(
            8,
            t.format(7),
            event="PutEventSelectors",
            trail=long_trail,
            region="eu-west-1",
            action="PutEventSelectors",
            actor=operator,
            detected_by="event",
        ),
        record(
            9,
            t.format(6),
            event="ApproveBaseline",
            severity="MEDIUM",
            outcome="alerted",
            actor=operator,
            action="none",
            verified="not applicable",
            detected_by="operator",
            purpose="approval",
        ),
        record(
            10,
            t.format(5),
            event="OperatorRequestRefused",
            severity="HIGH",
            outcome="alerted",
            actor=f"arn:aws:iam::{ACCOUNT}:user/mallory",
            action="none",
            verified="not applicable",
            detected_by="operator",
            trail="",
        ),
        record(
            11,
            t.format(4),
            event="DeleteBucketPublicAccessBlock",
            outcome="heal_failed",
            severity="CRITICAL",
            action="PutPublicAccessBlock",
            verified="not verified",
        ),
    ]
    now = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)
    report = build(records, [], start=DAY, end=DAY, accounts=[f"{ACCOUNT} (us-east-1)"], now=now)
    return replace(with_coverage(report, _coverage(operator, now)), blind_windows=(_while_off(records[6], operator),))


def _while_off(healed: Stored, operator: str) -> Window:
    """What the account did in the demo's longest blind window, as "While logging was off" lists it."""
    trail = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/{healed.summary['trail']}"
    counts = (
        (operator, "StopLogging", 1),
        (f"arn:aws:iam::{ACCOUNT}:user/mallory", "CreateAccessKey", 3),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/payments-platform-ci-deployer/GitHubActions-1234567890", "PutObject", 2),
        ("s3.amazonaws.com", "DeleteBucketPublicAccessBlock", 1),
    )
    return Window(
        key=f"blind-windows/{healed.key.removeprefix('evidence/')}",
        account=ACCOUNT,
        evidence_key=healed.key,
        trail=trail,
        start="2026-12-06T17:24:08Z",
        end="2026-12-06T17:24:20.4Z",
        summary="7 calls by 4 principals",
        counts=counts,
        truncated=None,
        settled=False,
        signature="verified",
    )


def _coverage(operator: str, now: datetime) -> Coverage:
    """What the demo's report covers, with the long values a real account has and a gap in the sweeps."""
    points = tuple((datetime(2026, 12, 6, h, m, tzinfo=UTC), 1.0) for h in range(18) for m in range(0, 60, 5) if h != 9)
    chain = Chain(
        "INTACT",
        digests=40,
        records=11,
        head_key="digests/2026/12/06/0000000040.json",
        head_time="2026-12-06T17:25:00Z",
        head_sha256=hashlib.sha256(b"head").hexdigest(),
    )
    settings = Settings(
        exemptions=(f"arn:aws:iam::{ACCOUNT}:role/ci-deployer-for-the-payments-platform-pipeline",),
        approvers=(operator,),
        source="the sweep function's signed settings baseline",
        vouched=True,
    )
    account = account_coverage(
        account=ACCOUNT,
        start=DAY,
        end=DAY,
        now=now,
        generated_by=operator,
        first_record=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        first_digest=datetime(2026, 11, 2, 9, 5, tzinfo=UTC),
        runs=Runs(300, "rule CloudTrailGuardian-sweep-schedule: rate(5 minutes)", points),
        chain=chain,
        settings=settings,
    )
    return Coverage(DAY, DAY, now.isoformat().replace("+00:00", "Z"), (account,))


def browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _run(chrome: str, *args: str) -> str:
    command = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _for_paper(page: str, paper: str) -> str:
    """The page with the paper named (the report says only ``landscape``: the printer's paper)."""
    return page.replace("size: landscape;", f"size: {paper} landscape;", 1)


def _as_printed(page: str, paper: str) -> str:
    """The page with its print stylesheet applied on screen: what Chromium lays out on paper."""
    return _for_paper(page, paper).replace("@media print {", "@media all {", 1)


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def check(page: str, paper: str, out: Path, chrome: str) -> Fit:
    """Print ``page`` to ``out``/report-<paper>.pdf and measure its print layout at the paper's content width."""
    width_mm, height_mm = PAPERS[paper]
    content_px = (width_mm - 2 * MARGIN_MM) * PX_PER_MM
    height_px = round((height_mm - 2 * MARGIN_MM) * PX_PER_MM)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "report.html"
        source.write_text(_for_paper(page, paper), encoding="utf-8")
        pdf = out / f"report-{paper}.pdf"
        _run(chrome, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", source.as_uri())
        probe = Path(scratch) / "probe.html"
        probe.write_text(_as_printed(page, paper).replace("</body>", _PROBE + "</body>", 1), encoding="utf-8")
        dom = _run(
            chrome,
            f"--window-size={round(content_px)},{height_px}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        )
    found = re.search(r'<pre id="fit">(.*?)</pre>', dom, flags=re.DOTALL)
    if found is None:
        raise RuntimeError(f"the layout probe did not run in {chrome}")
    measured = json.loads(
        found[1].replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )
    pages = _pages(pdf.read_bytes())
    return Fit(
        paper=paper,
        pages=len(pages),
        page_pt=pages[0] if pages else (0.0, 0.0),
        content_px=float(measured["limit"]),
        widest_px=float(measured["scroll"]),
        overflowing=tuple(measured["wide"]),
        smallest_pt=float(measured["smallest"]["px"]) / PX_PER_PT,
        smallest=str(measured["smallest"]["name"]),
    )


def screenshot(page: str, target: Path, chrome: str, paper: str = "A4") -> None:
    """The print layout on ``paper`` as a PNG: the demo's whole report, one long page."""
    width_mm, _ = PAPERS[paper]
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "report.html"
        source.write_text(_as_printed(page, paper), encoding="utf-8")
        width = round((width_mm - 2 * MARGIN_MM) * PX_PER_MM)
        _run(chrome, f"--window-size={width},{SHOT_HEIGHT}", f"--screenshot={target}", source.as_uri())


def main() -> int:
    chrome = browser()
    if chrome is None:
        print("7. The auditor's report printed: skipped, no Chromium on PATH (apt-get install chromium)")
        return 0
    out = ROOT / "build" / "report-print"
    out.mkdir(parents=True, exist_ok=True)
    page = render.as_html(demo_report())
    (out / "report.html").write_text(page, encoding="utf-8")
    print("7. The auditor's report printed (headless Chromium, landscape, 10 mm margins)")
    fits = [check(page, paper, out, chrome) for paper in PAPERS]
    for fit in fits:
        verdict = "fits" if fit.fits else "DOES NOT FIT: " + "; ".join(fit.overflowing[:5])
        if not fit.readable:
            verdict += f"; text under {SMALLEST_PT:.0f} pt"
        print(
            f"   {fit.paper:<7} {fit.pages} page(s) of {fit.page_pt[0]:.0f} x {fit.page_pt[1]:.0f} pt; "
            f"layout {fit.widest_px:.0f} px wide in {fit.content_px:.0f} px; smallest text {fit.smallest_pt:.2f} pt "
            f"({fit.smallest}): {verdict}"
        )
    screenshot(page, ROOT / "build" / "report-print.png", chrome)
    print(f"   PDFs in {out.relative_to(ROOT)}/, the print layout in build/report-print.png")
    return 0 if all(f.fits for f in fits) else 1


if __name__ == "__main__":
    sys.exit(main())
