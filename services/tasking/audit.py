"""The tamper-evident audit trail: a chain of keyed MACs, anchored by signed checkpoints kept outside the database.

Each entry's HMAC-SHA256, under a versioned secret key, covers the previous entry's MAC and the entry's
canonical JSON: without the key nobody can change an entry and recompute the chain after it. Checkpoints
(how many entries the trail held and its head MAC, signed with the same key) go out on the audit topic,
so rows deleted from the end, which leave a chain that still holds, are missing against the newest
checkpoint. Pure functions; handlers store the entries (append-only) in the decision's transaction.
See docs/decisions/0015-keyed-audit-anchored-by-checkpoints.md.
"""

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.canonical import canonical_json

GENESIS = "0" * 64
UNKEYED = 0  # no key: the plain SHA-256 of entries written before the trail was keyed (migration 0012)


@dataclass(frozen=True)
class Keyring:
    """The audit keys by version (raw bytes) and the version new entries are sealed with.

    Rotating a key adds a version: entries keep the version they were sealed with, so old keys stay in
    the ring for as long as their entries are verified.
    """

    keys: Mapping[int, bytes]
    current: int

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"audit key version {self.current} is not in the keyring {sorted(self.keys)}")
        if UNKEYED in self.keys:
            raise ValueError(f"audit key version {UNKEYED} is reserved for entries written before keys")

    def key(self, version: int) -> bytes:
        """The key of a version; KeyError when the ring does not hold it."""
        return self.keys[version]


def entry_hash(previous_hash: str, body: dict[str, Any], key: bytes | None) -> str:
    """HMAC-SHA256 (hex) under the key over the previous entry's hash and this entry's canonical JSON;
    the plain SHA-256 the trail used before it was keyed when key is None."""
    message = (previous_hash + canonical_json(body)).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(keyring: Keyring, previous_hash: str, body: dict[str, Any]) -> tuple[int, str]:
    """The key version and hash of a new entry."""
    return keyring.current, entry_hash(previous_hash, body, keyring.key(keyring.current))


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored: its position, its body, the hashes that chain it and the key version that sealed it."""

    seq: int
    body: dict[str, Any]
    previous_hash: str
    hash: str
    key_version: int


@dataclass(frozen=True)
class Checkpoint:
    """The trail as it stood after a decision: `seq` entries, the newest with hash `hash`, signed.

    `signature` is an HMAC-SHA256 (hex) under key `key_version` over "checkpoint", seq and hash.
    """

    seq: int
    hash: str
    at: datetime
    key_version: int
    signature: str


def _checkpoint_signature(key: bytes, seq: int, head: str) -> str:
    return hmac.new(key, f"checkpoint:{seq}:{head}".encode(), hashlib.sha256).hexdigest()


def checkpoint(keyring: Keyring, *, seq: int, head: str, at: datetime) -> Checkpoint:
    """A signed checkpoint of a trail whose newest entry is `seq` with hash `head`."""
    signature = _checkpoint_signature(keyring.key(keyring.current), seq, head)
    return Checkpoint(seq=seq, hash=head, at=at, key_version=keyring.current, signature=signature)


def genuine(keyring: Keyring, mark: Checkpoint) -> bool:
    """Whether the checkpoint carries a valid signature under a key of the ring."""
    key = keyring.keys.get(mark.key_version)
    return key is not None and hmac.compare_digest(mark.signature, _checkpoint_signature(key, mark.seq, mark.hash))


@dataclass(frozen=True)
class Verdict:
    """The outcome of a verification: `first_broken` is the sequence number of the first entry that is
    changed, missing or out of place (None when intact), `reason` says what is wrong with it."""

    intact: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""
    checkpoints: int = 0  # checkpoints the trail was checked against


def verify(
    entries: Iterable[StoredEntry], keyring: Keyring, checkpoints: Iterable[Checkpoint] = (), head: int | None = None
) -> Verdict:
    """Walk the chain from the start and name the first entry that is changed, missing or out of place.

    Entries must be numbered 1, 2, 3... with no gap, each linked to the one before and sealed under a key
    of the ring. Each genuine checkpoint must match the
    entry at its number, and no checkpoint (nor `head`, the number the trail's head row holds) may lie
    beyond the last entry: that would mean rows were deleted from the end. Checkpoints with a bad
    signature are ignored (they prove nothing) and do not count.
    """
    marks = {mark.seq: mark for mark in checkpoints if genuine(keyring, mark)}

    def broken(entries: int, seq: int, reason: str) -> Verdict:
        return Verdict(False, entries, seq, reason, checkpoints=len(marks))

    previous, count = GENESIS, 0
    for entry in entries:
        if entry.seq != count + 1:
            gap = entry.seq > count + 1
            return broken(
                count, count + 1 if gap else entry.seq, f"entry {count + 1} is missing" if gap else "it is out of place"
            )
        count += 1
        if entry.key_version not in keyring.keys:
            return broken(count, entry.seq, f"its key version {entry.key_version} is not in the keyring")
        if entry.previous_hash != previous:
            return broken(count, entry.seq, "its previous_hash is not the hash of the entry before it")
        if not hmac.compare_digest(entry_hash(previous, entry.body, keyring.key(entry.key_version)), entry.hash):
            return broken(count, entry.seq, "its content does not match its hash")
        if entry.seq in marks and marks[entry.seq].hash != entry.hash:
            return broken(count, entry.seq, "its hash is not the one its checkpoint recorded")
        previous = entry.hash
    beyond = max([*marks, head or 0])
    if beyond > count:
        source = "a checkpoint" if beyond in marks else "the trail's head"
        return broken(count, count + 1, f"entries {count + 1}..{beyond} are missing: {source} records {beyond}")
    return Verdict(True, count, checkpoints=len(marks))


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
