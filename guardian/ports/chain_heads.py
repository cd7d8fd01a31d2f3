"""The security account's calls for the guardians' chain heads: the kept heads (a DynamoDB item per origin, written
only if no one wrote it since it was read) and the central topic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from guardian.model.chain_heads import Kept, Origin


class HeadStore(Protocol):
    def kept(self, origin: Origin) -> Kept: ...  # an empty Kept (version 0) when none is
    def keep(self, origin: Origin, kept: Kept, *, regression: str | None) -> bool: ...  # False: written meanwhile


class CentralTopic(Protocol):
    def publish(self, subject: str, message: str) -> None: ...  # raises if SNS did not take it
