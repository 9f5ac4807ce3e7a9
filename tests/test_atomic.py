from pathlib import Path

import pytest
from training.atomic import atomic_file


def test_the_file_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    with atomic_file(target) as fh:
        fh.write("first line\n")
        assert not target.exists()  # still under its temporary name
    assert target.read_text(encoding="utf-8") == "first line\n"
    with atomic_file(target, binary=True) as fh:
        fh.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk trouble"), atomic_file(target) as fh:
        fh.write("half of the new")
        raise RuntimeError("disk trouble")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
