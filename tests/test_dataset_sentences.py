from pathlib import Path

import pytest
from training.config import DatasetConfig, load_config
from training.corpus import Document
from training.dataset import sentences
from training.dataset.sentences import SentenceSpill, check_sentences, read_sentences
from training.errors import StanceError
from training.labeling import GoldRow

CFG = load_config("configs/dataset.yaml", DatasetConfig)
TEXT = "Riyadh and Tehran agreed to reopen embassies. Rain fell on the coast. Talks resume in May."


def test_sentences_spill_in_chunks_and_read_back_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentences, "CHUNK", 2)
    spill = SentenceSpill(tmp_path / ".s.arrow", CFG, {})
    spill.add_document(Document("a", TEXT, "a"))
    spill.close()
    assert spill.n == 3 and spill.bounds == [0, 2, 3]
    assert [first for first, _ in spill.chunks()] == [0, 2]
    assert spill.fetch([2, 0]) == {0: "Riyadh and Tehran agreed to reopen embassies.", 2: "Talks resume in May."}
    assert spill.column("index").tolist() == [0, 1, 2] and spill.votes().shape[0] == 3
    spill.remove()
    assert not list(tmp_path.iterdir())


def test_gold_is_matched_on_collapsed_whitespace(tmp_path: Path) -> None:
    row = GoldRow("a", "Rain fell on the coast.", "neutral", "a.gold.jsonl:1")
    spill = SentenceSpill(tmp_path / ".s.arrow", CFG, {("a", row.text): row})
    spill.add_document(Document("a", TEXT.replace("Rain fell", "Rain  fell"), "a"))
    spill.close()
    assert spill.column("gold").tolist() == [-1, 2, -1]
    check_sentences(spill, {("a", row.text): row}, "seeds")


def test_read_sentences_reports_progress_per_file_and_returns_the_source(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in ("a.txt", "b.txt"):
        (seeds / name).write_text(TEXT, encoding="utf-8")
    spill = SentenceSpill(tmp_path / ".s.arrow", CFG, {})
    seen: list[tuple[int, int]] = []
    files = sorted(seeds.iterdir())
    got = read_sentences(spill, seeds, files, None, CFG.reader, lambda i, n: seen.append((i, n)))
    assert got == [str(seeds)] and seen == [(1, 2), (2, 2)] and spill.doc_ids == ["a", "b"]


def test_an_empty_corpus_and_unmatched_gold_are_refused(tmp_path: Path) -> None:
    empty = SentenceSpill(tmp_path / ".e.arrow", CFG, {})
    empty.close()
    with pytest.raises(StanceError, match=r"^no sentences found in seeds \(the documents are empty after cleaning\)$"):
        check_sentences(empty, {}, "seeds")
    row = GoldRow("a", "Nobody wrote this.", "favor", "a.gold.jsonl:4")
    spill = SentenceSpill(tmp_path / ".s.arrow", CFG, {("a", row.text): row})
    spill.add_document(Document("a", TEXT, "a"))
    spill.close()
    with pytest.raises(StanceError, match=r"^annotation matches no sentence: a\.gold\.jsonl:4: 'Nobody wrote this\.' "):
        check_sentences(spill, {("a", row.text): row}, "seeds")
