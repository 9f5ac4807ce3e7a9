import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from training.dataset.writer import Fingerprint, features, save_splits

ROW: dict[str, list[Any]] = {
    "text": ["x"],
    "label": [0],
    "doc_id": ["d"],
    "sentence_index": [0],
    "start": [0],
    "end": [1],
    "label_source": ["gold"],
    "confidence": [1.0],
    "episode": [""],
    "register": [""],
    "duplicates": [[]],
}


def _arrow_file(path: Path, columns: dict[str, list[Any]]) -> Path:
    """A split's streamed Arrow file, written as the build writes one."""
    import pyarrow as pa
    from datasets.arrow_writer import ArrowWriter

    writer = ArrowWriter(features=features(), path=str(path))
    writer.write_table(pa.Table.from_pydict(columns, schema=features().arrow_schema))
    writer.finalize()
    writer.close()
    return path


def _reference(folder: Path) -> Path:
    """The same one-row split saved by ``Dataset.save_to_disk`` itself."""
    import datasets

    datasets.Dataset.from_dict(ROW, features=features()).save_to_disk(str(folder))
    return folder


def test_the_fingerprint_covers_every_row_and_its_split() -> None:
    a, b, c = Fingerprint("cfg"), Fingerprint("cfg"), Fingerprint("cfg")
    a.update("train", ROW)
    b.update("train", dict(reversed(list(ROW.items()))))  # column order does not matter
    c.update("test", ROW)
    assert a.hexdigest() == b.hexdigest() != c.hexdigest()
    assert Fingerprint("other").hexdigest() != Fingerprint("cfg").hexdigest()


def test_splits_are_saved_by_datasets_with_fingerprints_derived_from_the_dataset(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import datasets

    empty = {name: [] for name in ROW}
    files = {"train": _arrow_file(tmp_path / "train.arrow", ROW), "test": _arrow_file(tmp_path / "test.arrow", empty)}
    reference = _reference(tmp_path / "reference")
    out = tmp_path / "out"
    bars = datasets.is_progress_bar_enabled()  # off when a CLI test imported datasets first
    capfd.readouterr()
    save_splits(out, files, "f" * 64)
    assert capfd.readouterr().err == ""  # no progress bar of its own
    assert datasets.is_progress_bar_enabled() == bars  # and the setting is given back
    assert json.loads((out / "dataset_dict.json").read_text(encoding="utf-8")) == {"splits": ["train", "test"]}
    for split in files:
        state = json.loads((out / split / "state.json").read_text(encoding="utf-8"))
        assert state["_fingerprint"] == hashlib.sha256(f"{'f' * 64}/{split}".encode()).hexdigest()[:16]
        assert state["_data_files"] == [{"filename": "data-00000-of-00001.arrow"}]  # one shard, even when empty
        theirs = json.loads((reference / "state.json").read_text(encoding="utf-8"))
        assert {k: v for k, v in state.items() if k != "_fingerprint"} == {
            k: v for k, v in theirs.items() if k != "_fingerprint"
        }
        assert (out / split / "dataset_info.json").read_bytes() == (reference / "dataset_info.json").read_bytes()
    loaded = datasets.load_from_disk(str(out))
    assert loaded["train"].features == features() and loaded["train"].to_dict() == ROW
    assert loaded["test"].num_rows == 0
    again = tmp_path / "again"
    save_splits(again, files, "f" * 64)
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        assert path.read_bytes() == (again / path.relative_to(out)).read_bytes(), path
