"""The audit chain's rules: keyed seals, no gaps, checkpoints that anchor its end (services.tasking.audit)."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.tasking.audit import (
    GENESIS,
    UNKEYED,
    Checkpoint,
    Keyring,
    StoredEntry,
    Verdict,
    checkpoint,
    entry_hash,
    seal,
    verify,
)

KEYRING = Keyring(keys={1: b"k" * 32, 2: b"j" * 32}, current=2)
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def trail(length: int, keyring: Keyring = KEYRING) -> list[StoredEntry]:
    """A chain of `length` entries sealed under the keyring's current key."""
    entries, previous = [], GENESIS
    for seq in range(1, length + 1):
        body = {"seq": seq, "action": "tasking.approved", "detail": {"reason": f"decision {seq}"}}
        version, digest = seal(keyring, previous, body)
        entries.append(StoredEntry(seq=seq, body=body, previous_hash=previous, hash=digest, key_version=version))
        previous = digest
    return entries


def rechained(entries: list[StoredEntry], key: bytes | None, version: int) -> list[StoredEntry]:
    """The entries with every hash recomputed under `key`: what someone rewriting the trail would do."""
    out, previous = [], GENESIS
    for entry in entries:
        digest = entry_hash(previous, entry.body, key)
        out.append(replace(entry, previous_hash=previous, hash=digest, key_version=version))
        previous = digest
    return out


def mark(entries: list[StoredEntry], seq: int, keyring: Keyring = KEYRING) -> Checkpoint:
    return checkpoint(keyring, seq=seq, head=entries[seq - 1].hash, at=AT)


def test_an_untouched_trail_verifies_against_its_checkpoints() -> None:
    entries = trail(5)
    assert verify(entries, KEYRING, [mark(entries, 3), mark(entries, 5)], head=5) == Verdict(True, 5, checkpoints=2)


def test_an_edited_entry_is_named() -> None:
    entries = trail(5)
    entries[2] = replace(entries[2], body={**entries[2].body, "detail": {"reason": "changed"}})
    assert (verify(entries, KEYRING).first_broken, verify(entries, KEYRING).reason) == (
        3,
        "its content does not match its hash",
    )


def test_a_rewrite_with_every_later_hash_recomputed_fails_without_the_key() -> None:
    entries = trail(5)
    entries[1] = replace(entries[1], body={**entries[1].body, "detail": {"reason": "never approved"}})
    for key, version, reason in (
        (b"guess" * 8, 2, "its content does not match its hash"),
        (None, UNKEYED, "its key version 0 is not in the keyring"),
    ):
        verdict = verify(rechained(entries, key, version), KEYRING)
        assert (verdict.intact, verdict.first_broken, verdict.reason) == (False, 1, reason)


def test_a_deleted_middle_entry_is_named_exactly() -> None:
    entries = trail(6)
    del entries[3]
    verdict = verify(entries, KEYRING)
    assert (verdict.intact, verdict.first_broken, verdict.reason) == (False, 4, "entry 4 is missing")


def test_entries_deleted_from_the_end_are_missing_against_a_checkpoint() -> None:
    entries = trail(10)
    kept = entries[:7]
    assert verify(kept, KEYRING).intact  # the chain alone cannot tell
    verdict = verify(kept, KEYRING, [mark(entries, 4), mark(entries, 10)])
    assert (verdict.first_broken, verdict.reason) == (8, "entries 8..10 are missing: a checkpoint records 10")


def test_entries_deleted_from_the_end_are_missing_against_the_head_row() -> None:
    verdict = verify(trail(10)[:9], KEYRING, head=10)
    assert (verdict.first_broken, verdict.reason) == (10, "entries 10..10 are missing: the trail's head records 10")


def test_reordered_entries_are_found() -> None:
    entries = trail(5)
    swapped = [entries[0], replace(entries[2], seq=2), replace(entries[1], seq=3), entries[3], entries[4]]
    assert verify(swapped, KEYRING).first_broken == 2


def test_a_trail_rewritten_from_a_checkpointed_entry_on_is_found_by_that_checkpoint() -> None:
    entries = trail(5)
    other = trail(5, Keyring(keys={1: b"k" * 32, 2: b"j" * 32}, current=1))  # also valid: sealed with version 1
    assert verify(other, KEYRING).intact
    verdict = verify(other, KEYRING, [mark(entries, 2)])
    assert (verdict.first_broken, verdict.reason) == (2, "its hash is not the one its checkpoint recorded")


def test_a_forged_checkpoint_proves_nothing() -> None:
    entries = trail(3)
    forged = replace(mark(entries, 3), seq=9)
    assert verify(entries, KEYRING, [forged]) == Verdict(True, 3, checkpoints=0)


def test_keys_rotate_and_entries_keep_the_version_that_sealed_them() -> None:
    old = trail(3, Keyring(keys={1: b"k" * 32}, current=1))
    previous = old[-1].hash
    body = {"seq": 4, "action": "refused"}
    version, digest = seal(KEYRING, previous, body)
    rotated = [*old, StoredEntry(seq=4, body=body, previous_hash=previous, hash=digest, key_version=version)]
    assert [entry.key_version for entry in rotated] == [1, 1, 1, 2]
    assert verify(rotated, KEYRING).intact
    verdict = verify(rotated, Keyring(keys={2: b"j" * 32}, current=2))  # version 1 dropped from the ring
    assert (verdict.first_broken, verdict.reason) == (1, "its key version 1 is not in the keyring")


def test_a_keyring_must_hold_its_current_version_and_no_version_zero() -> None:
    with pytest.raises(ValueError, match="not in the keyring"):
        Keyring(keys={1: b"k" * 32}, current=2)
    with pytest.raises(ValueError, match="reserved"):
        Keyring(keys={0: b"k" * 32}, current=0)
