"""CloudWatch Logs account policies, and whether one reaches a trail's log group. Pure.

An account policy (PutAccountPolicy) applies to every log group of the Region, or to those its ``selectionCriteria``
selects (``LogGroupNamePrefix IN [...]`` for transformer and retention policies, ``LogGroupName NOT IN [...]`` for
subscription filter policies; a data protection policy's only scope is ALL). Criteria the guardian cannot read are
taken to reach every group: a policy written to look unreadable must not hide itself.
"""

from __future__ import annotations

import json
import re

# What each type does to a trail's records; field index and metric extraction policies leave them as they are.
EFFECTS = {
    "DATA_PROTECTION_POLICY": "masks fields of",
    "TRANSFORMER_POLICY": "rewrites (transforms) every record of",
    "SUBSCRIPTION_FILTER_POLICY": "copies every record of",
    "RETENTION_POLICY": "sets the retention of",
}
# Whose deletion weakens: a subscription filter policy's feed of the trail's records (to a SIEM) stops.
DELETION_WEAKENS = ("SUBSCRIPTION_FILTER_POLICY",)
# What the sweep reads (DescribeAccountPolicies, one call per type and Region): the types that change the records.
SWEPT = ("DATA_PROTECTION_POLICY", "TRANSFORMER_POLICY")
_CRITERIA = re.compile(r"\s*(LogGroupNamePrefix|LogGroupName)\s+(NOT\s+)?IN\s*(\[.*\])\s*", re.DOTALL | re.IGNORECASE)


def reaches(selection: object, group: str) -> bool:
    """Whether a policy with this ``selectionCriteria`` applies to the log group ``group``."""
    if not isinstance(selection, str) or not selection.strip():
        return True  # no criteria: every group of the Region
    found = _CRITERIA.fullmatch(selection)
    if found is None:
        return True
    try:
        values = json.loads(found[3])
    except ValueError:
        return True
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return True
    prefix = found[1].casefold() == "loggroupnameprefix"
    hit = any(group.startswith(v) for v in values) if prefix else group in values
    return not hit if found[2] else hit


def policy_id(policy_type: str, name: str, document: object, selection: object) -> str:
    """What identifies one finding: the policy as it is (a changed policy is a new finding, alerted again)."""
    import hashlib  # noqa: PLC0415 - sweep only

    text = json.dumps([policy_type, name, document, selection], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()[:16]
