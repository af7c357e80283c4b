"""Atomic writes: leftovers of an interrupted write are removed by the next write of the same file."""

from __future__ import annotations

import errno

from pipelib.io.atomic import atomic_dir, atomic_path, stale_temps, write_failure, write_text_atomic


def test_next_write_removes_leftovers_of_the_same_file_only(tmp_path):
    final = tmp_path / "shard000.h5"
    own = [tmp_path / ".tmp-shard000.h5-ab12cd34.h5", tmp_path / ".tmp-shard000.h5-zz_9y8x7"]
    others = [tmp_path / ".tmp-shard001.h5-ab12cd34.h5", tmp_path / ".tmp-shard000.h5-x.h5-ab12cd34.h5",
              tmp_path / "shard000.h5.bak"]
    for path in own + others:
        path.write_bytes(b"half")
    (tmp_path / ".old-shard000.h5-4242").mkdir()  # atomic_dir killed between its two renames
    assert stale_temps(final) == sorted([*own, tmp_path / ".old-shard000.h5-4242"])

    with atomic_path(final) as tmp:
        tmp.write_bytes(b"whole")
    assert final.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([final.name, *(p.name for p in others)])


def test_atomic_dir_removes_its_own_leftover_directories(tmp_path):
    final = tmp_path / "audit"
    (tmp_path / ".tmp-audit-q1w2e3r4").mkdir()
    (tmp_path / ".tmp-audit-q1w2e3r4" / "part").write_text("x")
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit"]
    write_text_atomic(final / "a.txt", "b")
    assert (final / "a.txt").read_text() == "b"


def test_write_failure_says_disk_full_or_the_error(tmp_path):
    full = write_failure(tmp_path / "x.pt", OSError(errno.ENOSPC, "No space left on device"))
    assert full.startswith(f"could not write {tmp_path / 'x.pt'}: the disk is full (")
    quota = write_failure(tmp_path / "x.pt", OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert "your disk quota is used up" in quota
    other = write_failure(tmp_path / "x.pt", PermissionError(errno.EACCES, "Permission denied"))
    assert "the write failed (PermissionError" in other and "writable" in other
