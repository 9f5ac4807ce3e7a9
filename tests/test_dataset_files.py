import json
from pathlib import Path

import pytest
from training.dataset.files import INFO_FILE, digests, is_dataset, load_built, write_info
from training.errors import StanceError


def test_digests_cover_the_data_but_not_the_info_file_or_the_card(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "data.arrow").write_bytes(b"rows")
    (tmp_path / "README.md").write_text("card", encoding="utf-8")
    write_info(tmp_path, {"fingerprint": "ab" * 32})
    info = json.loads((tmp_path / INFO_FILE).read_text(encoding="utf-8"))
    assert info["files"] == digests(tmp_path) and list(info["files"]) == ["train/data.arrow"]
    assert is_dataset(tmp_path) and not is_dataset(tmp_path / "train")


def test_load_built_refuses_a_folder_without_info_or_with_a_changed_file(tmp_path: Path) -> None:
    with pytest.raises(StanceError, match=r"^not a stance dataset: .* has no stance_dataset\.json \(run `stance"):
        load_built(tmp_path)
    (tmp_path / INFO_FILE).write_text("[]", encoding="utf-8")
    with pytest.raises(StanceError, match=r"^invalid dataset info: .* lacks its fingerprint or file digests"):
        load_built(tmp_path)
    (tmp_path / "data.arrow").write_bytes(b"rows")
    write_info(tmp_path, {"fingerprint": "ab" * 32})
    (tmp_path / "data.arrow").write_bytes(b"other rows")
    with pytest.raises(
        StanceError, match=r"^dataset changed after it was built: .*data\.arrow was changed \(fingerprint a"
    ):
        load_built(tmp_path)
