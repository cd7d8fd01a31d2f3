"""Copy a published (or held) alert as an OCSF Detection Finding into the guardian's own bucket (``ocsf`` setting).

A step after the alert (:func:`guardian.flows.after_alert.steps_after`): it never delays the alert, and a failure is
reported by name, never raised. Why the bucket and not Security Lake itself: a custom source takes Parquet only, and
the guardian ships the standard library and boto3; its bucket is written by the guardian alone, under Object Lock, so
what a team's job converts into the custom source is what the guardian wrote (:mod:`guardian.model.ocsf`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from guardian.ports.finding_copies import OcsfCalls

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

from guardian.flows.sidecars import signed_sha256

LOG = logging.getLogger(__name__)


def wanted(result: Result, config: Config) -> bool:
    """A finding for every alert but an operator's purpose (a self-test, an approval): not tampering."""
    return config.ocsf and result.purpose is None


def write_ocsf_finding(result: Result, aws: Everything, config: Config, run: Invocation) -> str:
    """Write the alert's OCSF object once; "written", "exists" (a retry) or "off"."""
    if not wanted(result, config) or not isinstance(aws, OcsfCalls):
        return "off"
    from guardian.model.alert import summary  # noqa: PLC0415 - after the alert only
    from guardian.model.evidence import evidence_key  # noqa: PLC0415
    from guardian.model.ocsf import body, build_detection_finding, object_key  # noqa: PLC0415

    key = evidence_key(result)
    document = build_detection_finding(
        result,
        account=config.account_id,
        home_region=config.topic_region,
        now=run.clock(),
        evidence_key=key,
        evidence_sha256=signed_sha256(key, aws, "OCSF"),
        summary=summary(result),
    )
    where = object_key(document, key)
    created = aws.put_new(where, body(document))
    LOG.info(
        "alert copied as an OCSF Detection Finding",
        extra={"key": where, "finding_uid": document["finding_info"]["uid"], "activity": document["activity_name"]},
    )
    return "written" if created else "exists"
