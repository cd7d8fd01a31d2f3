"""AWS Region names, checked against the Regions botocore knows (its bundled endpoint data: no network).

A Region that botocore does not know is a typo far more often than a Region newer than the SDK; the error lists the
valid choices and the nearest one, and says how to get a newer list (upgrade botocore).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import cache

import botocore
import botocore.session

from infra.errors import SettingsError


@cache
def known_regions() -> Mapping[str, tuple[str, ...]]:
    """Partition name → its Regions, as botocore's endpoint data lists them for CloudTrail."""
    session = botocore.session.get_session()
    return {
        partition: tuple(session.get_available_regions("cloudtrail", partition_name=partition))
        for partition in session.get_available_partitions()
    }


def partition_of(region: str) -> str | None:
    return next((p for p, regions in known_regions().items() if region in regions), None)


def check_region(region: str, key: str) -> str:
    """``region`` if botocore knows it; else a one-line error naming the key, the value, the nearest Region and
    the valid choices of the partition it most resembles."""
    if partition_of(region) is not None:
        return region
    if len(region.split()) > 1:  # "eu-west-1 us-east-1": a list, not a misspelt Region
        raise SettingsError(
            f"{key}: {region!r} holds {len(region.split())} names: separate Regions with commas "
            f"({','.join(region.split())})"
        )
    every = [r for regions in known_regions().values() for r in regions]
    nearest = difflib.get_close_matches(region, every, n=1, cutoff=0.6)
    partition = partition_of(nearest[0]) if nearest else "aws"
    hint = f" (did you mean {nearest[0]}?)" if nearest else ""
    choices = ", ".join(known_regions()[partition or "aws"])
    raise SettingsError(
        f"{key}: {region!r} is not an AWS Region{hint}; botocore {botocore.__version__} knows, in partition "
        f"{partition}: {choices}"
    )


def check_one_partition(regions: Iterable[str], key: str) -> None:
    """A guardian forwards events between its Regions: they must all be in one partition."""
    found = {r: partition_of(r) for r in regions}
    partitions = sorted({p for p in found.values() if p})
    if len(partitions) > 1:
        listed = ", ".join(f"{r} ({p})" for r, p in found.items())
        raise SettingsError(f"{key}: one guardian's Regions must share a partition, got {listed}")


# Where EventBridge receives the events of global services (IAM, STS's global endpoint, Organizations), by partition.
GLOBAL_EVENTS_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def unseen_iam_events(home: str | None, regions: Iterable[str]) -> str | None:
    """The Region where IAM changes to the guardian's roles are recorded, if the guardian would never see them
    there (neither its home Region nor a forwarder's); None if it would, or if the home Region is not known."""
    if home is None:
        return None
    partition = partition_of(home)
    seen_in = GLOBAL_EVENTS_REGION.get(partition or "")
    if seen_in is None or seen_in == home or seen_in in regions:
        return None
    return seen_in
