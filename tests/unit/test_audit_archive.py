"""The archive of audit checkpoints: appended once each, never rewritten, read back as written."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.tasking.audit import Checkpoint
from services.tasking.audit_archive import CheckpointArchive, read_checkpoints

AT = datetime(2030, 1, 1, 9, tzinfo=UTC)


def mark(seq: int, head: str = "h") -> Checkpoint:
    return Checkpoint(seq=seq, hash=f"{head}{seq}", at=AT, key_version=1, signature=f"s{seq}")


def test_each_checkpoint_is_kept_once_however_often_it_is_read(tmp_path: Path) -> None:
    archive = CheckpointArchive(tmp_path / "a.jsonl")
    assert archive.keep([mark(1), mark(2)]) == 2
    assert archive.keep([mark(2), mark(1), mark(3)]) == 1  # the broker sent them again: only the new one is added
    assert [m.seq for m in read_checkpoints(archive.path)] == [1, 2, 3]


def test_a_new_archive_on_the_same_file_keeps_what_was_there_and_only_appends(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    CheckpointArchive(path).keep([mark(1), mark(2)])
    before = path.read_text()
    again = CheckpointArchive(path)  # a restarted service
    assert again.keep([mark(1), mark(2, head="other"), mark(3)]) == 2  # another hash at 2 is evidence: kept
    assert path.read_text().startswith(before)
    assert [(m.seq, m.hash) for m in read_checkpoints(path)] == [(1, "h1"), (2, "h2"), (2, "other2"), (3, "h3")]


def test_a_line_that_is_not_a_checkpoint_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    CheckpointArchive(path).keep([mark(1)])
    path.write_text(path.read_text() + "not json\n")
    with pytest.raises(ValueError, match=r"a\.jsonl:2 is not a checkpoint"):
        read_checkpoints(path)
