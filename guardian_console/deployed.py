"""One deployed guardian, as its stack's outputs describe it. Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deployed:
    """What the console needs of one deployed guardian."""

    stack: str
    account: str
    region: str  # the stack's (home) Region
    evidence_bucket: str
    topic_arn: str
    remediation_function: str
    sweep_function: str
    dead_letter_queue: str
    signing_key: str
    regions: tuple[str, ...]  # the Regions the sweep covers
    sentinel_trail: str | None = None  # the guardian's own trail, if the deployment has one (the self-test stops it)
