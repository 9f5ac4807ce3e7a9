import codecs
import json
from pathlib import Path

import pytest
from training.config import DatasetConfig, ReaderConfig
from training.corpus import decode, html_to_text, list_documents, read_file, read_folder, read_hf
from training.errors import StanceError

READER = ReaderConfig()
TEXT = "Riyadh reopened its embassy in Damascus — “a new page”, officials said. Café talks followed."


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # Python writes a BOM
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("cp1252"),
    ],
)
def test_supported_encodings_decode_to_the_same_text(data: bytes) -> None:
    assert decode(data, "x.txt") == TEXT


def test_other_encodings_and_binary_files_are_refused() -> None:
    with pytest.raises(StanceError, match=r"binary or unsupported file: img\.txt"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "img.txt")
    shift_jis = ("日本と韓国の関係が正常化した。" * 4).encode("shift_jis")
    with pytest.raises(StanceError, match=r"(unsupported text encoding|cannot decode): sj\.txt|sj\.txt"):
        decode(shift_jis, "sj.txt")


def test_html_keeps_visible_text_only() -> None:
    html = "<html><head><title>T</title><style>p{}</style></head><body><script>var x=1;</script><h1>Head line</h1><p>First &amp; second.</p><p>Third</p></body></html>"
    assert html_to_text(html).split("\n\n") == ["Head line", "First & second.", "Third"]


def test_folder_reading_all_formats_and_ids(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("Alpha. Beta.", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# Title\n\nGamma.", encoding="utf-8")
    (tmp_path / "c.html").write_text("<p>Delta.</p>", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"id": "r1", "text": "Epsilon."}) + "\n\n" + json.dumps({"text": "Zeta."}) + "\n", encoding="utf-8"
    )
    (tmp_path / "e.csv").write_text("id,text\nx,Eta.\n,Theta.\n", encoding="utf-8")
    (tmp_path / "a.gold.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text("id\n", encoding="utf-8")
    (tmp_path / "_private.txt").write_text("skip", encoding="utf-8")
    docs = list(read_folder(tmp_path, READER))
    assert [d.doc_id for d in docs] == ["a", "c", "d/r1", "d/3", "e/x", "e/2", "sub/b"]
    assert docs[-1].markdown and docs[1].text == "Delta."


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(StanceError, match=r"seeds directory not found: .*nope"):
        list_documents(tmp_path / "nope", READER)
    with pytest.raises(StanceError, match=r"no documents in"):
        list_documents(tmp_path, READER)


def test_malformed_jsonl_and_missing_csv_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": broken\n', encoding="utf-8")
    with pytest.raises(StanceError, match=r"malformed JSON: .*bad\.jsonl:2"):
        list(read_file(bad, tmp_path, READER))
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("body\nhello\n", encoding="utf-8")
    with pytest.raises(StanceError, match=r"missing column: .*t\.csv:1 has no column 'text'"):
        list(read_file(csv_path, tmp_path, READER))


def test_hugging_face_dataset_saved_to_disk_and_parquet(tmp_path: Path) -> None:
    import datasets

    ds = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"body": ["One. Two.", "Three."]})})
    ds.save_to_disk(str(tmp_path / "saved"))
    docs = list(read_hf(str(tmp_path / "saved"), "body"))
    assert [d.doc_id for d in docs] == ["saved/train/0", "saved/train/1"]
    ds["train"].to_parquet(str(tmp_path / "data.parquet"))
    docs = list(read_hf(str(tmp_path / "data.parquet"), "body"))
    assert [d.text for d in docs] == ["One. Two.", "Three."]
    with pytest.raises(StanceError, match=r"has no column 'text'"):
        list(read_hf(str(tmp_path / "saved"), "text"))


def test_segment_file_matches_builder_config() -> None:
    from training.corpus import segment_file

    rows = list(segment_file(Path("seeds/000_be06ece57423d848.txt"), DatasetConfig()))
    assert len(rows) == 13 and rows[0]["doc_id"] == "000_be06ece57423d848"
