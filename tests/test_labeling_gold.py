import json
from pathlib import Path

import pytest
from training.config import ReaderConfig
from training.errors import StanceError
from training.labeling import index_gold, read_gold


def write_gold(root: Path, name: str, rows: list[object]) -> Path:
    path = root / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_gold_errors_name_file_and_line(tmp_path: Path) -> None:
    reader = ReaderConfig()
    write_gold(
        tmp_path, "a.gold.jsonl", [{"text": "One.", "label": "favor"}, {"text": "Two.", "label": "pro"}, "{oops"]
    )
    with pytest.raises(StanceError) as err:
        read_gold(tmp_path, reader)
    assert any("unknown label 'pro'" in p and "a.gold.jsonl:2" in p for p in err.value.problems)
    assert any("malformed JSON" in p and "a.gold.jsonl:3" in p for p in err.value.problems)


def test_conflicting_gold_labels_are_listed(tmp_path: Path) -> None:
    write_gold(tmp_path, "a.gold.jsonl", [{"text": "One.", "label": "favor"}, {"text": "One.", "label": "against"}])
    rows = read_gold(tmp_path, ReaderConfig())
    with pytest.raises(
        StanceError, match=r"conflicting gold labels: .*a\.gold\.jsonl:1 says favor, .*a\.gold\.jsonl:2 says against"
    ):
        index_gold(rows)


def test_gold_files_may_start_with_a_bom_and_must_be_utf8(tmp_path: Path) -> None:
    (tmp_path / "a.gold.jsonl").write_bytes(
        b'\xef\xbb\xbf{"text": "One  two.", "label": "favor", "note": "hard:irony"}\n'
    )
    (row,) = read_gold(tmp_path, ReaderConfig())
    assert (row.doc_id, row.text, row.label, row.note) == ("a", "One two.", "favor", "hard:irony")
    assert row.where == f"{tmp_path / 'a.gold.jsonl'}:1"
    (tmp_path / "b.gold.jsonl").write_bytes(b'{"text": "\xff", "label": "favor"}\n')
    with pytest.raises(StanceError, match=r"^cannot read annotations .*b\.gold\.jsonl: 'utf-8' codec can't decode"):
        read_gold(tmp_path, ReaderConfig())
