"""The tamper-evident audit trail: each entry's SHA-256 covers the previous hash and the entry's canonical JSON.

Pure functions; handlers store the entries (append-only) in the same transaction as the decision.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.canonical import canonical_json

GENESIS = "0" * 64


def entry_hash(previous_hash: str, body: dict[str, Any]) -> str:
    """SHA-256 over the previous entry's hash and this entry's canonical JSON."""
    return hashlib.sha256((previous_hash + canonical_json(body)).encode()).hexdigest()


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored: its position, its body, and the hashes that chain it."""

    seq: int
    body: dict[str, Any]
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""


def verify(entries: Iterable[StoredEntry]) -> Verdict:
    """Walk the chain from the start; name the first entry whose links or hash do not hold."""
    previous = GENESIS
    count = 0
    for entry in entries:
        count += 1
        if entry.previous_hash != previous:
            return Verdict(False, count, entry.seq, "its previous_hash is not the hash of the entry before it")
        if entry_hash(previous, entry.body) != entry.hash:
            return Verdict(False, count, entry.seq, "its content does not match its hash")
        previous = entry.hash
    return Verdict(True, count)


# What each entry about a proposal says of its status; the newest such entry is its status on the trail.
PROPOSAL_STATUS_OF_ACTION = {
    "proposal.created": "PENDING",
    "tasking.approved": "APPROVED",
    "tasking.rejected": "REJECTED",
    "proposal.superseded": "SUPERSEDED",
}


def status_on_trail(actions: Iterable[str]) -> str | None:
    """A proposal's status as its audit entries tell it (oldest first), or None when none tells it."""
    status = None
    for action in actions:
        status = PROPOSAL_STATUS_OF_ACTION.get(action, status)
    return status
