import csv
import io
import json
from pathlib import Path

import pytest
from training.config import DatasetConfig, load_config
from training.errors import StanceError
from training.queue import QueueOptions, build_queue, output_format, read_queue, render, write_queue

from predictkit import export
from userkit import DOCS, ORACLE, make_user_docs

CFG = load_config("configs/dataset.yaml", DatasetConfig)


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    return make_user_docs(tmp_path / "mine")


def test_a_queue_from_the_rules_spreads_over_documents_with_context(docs: Path, tmp_path: Path) -> None:
    rows = build_queue(QueueOptions(docs, k=9, out=tmp_path / "q.jsonl", model="rules", per_doc=3), CFG)
    assert len(rows) == 9 and [r["rank"] for r in rows] == list(range(1, 10))
    assert sorted({r["doc_id"] for r in rows}) == sorted(DOCS) and all(
        sum(r["doc_id"] == d for r in rows) == 3 for d in DOCS
    )
    first = rows[0]
    sentences = [s for s, _ in DOCS[first["doc_id"]]]
    at = first["sentence_index"]
    assert first["text"] == sentences[at] and first["before"] == sentences[max(0, at - 2) : at]
    assert first["after"] == sentences[at + 1 : at + 3] and first["id"] == f"{first['doc_id']}#{at}"
    assert first["guess"] == max(first["probabilities"], key=first["probabilities"].get)
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert rows[0]["uncertainty"] >= max(r["uncertainty"] for r in rows[3:]) - 1e-9


def test_sentences_with_gold_are_left_out_and_a_model_scores_the_rest(docs: Path, tmp_path: Path) -> None:
    labelled = [s for s, _ in DOCS["gulf-explainer"]]
    (docs / "gulf-explainer.gold.jsonl").write_text(
        "".join(json.dumps({"text": s, "label": ORACLE[s]}) + "\n" for s in labelled), encoding="utf-8"
    )
    model = export(tmp_path / "model")
    rows = build_queue(QueueOptions(docs, k=40, out=tmp_path / "q.jsonl", model=str(model), per_doc=None), CFG)
    assert len(rows) == 40 - len(labelled) and "gulf-explainer" not in {r["doc_id"] for r in rows}
    assert {r["model"] for r in rows} == {str(model)}


def test_formats_csv_and_label_studio(docs: Path, tmp_path: Path) -> None:
    rows = build_queue(QueueOptions(docs, k=4, out=tmp_path / "q.csv", model="rules"), CFG)
    assert output_format(QueueOptions(docs, 4, tmp_path / "q.csv")) == "csv"
    assert output_format(QueueOptions(docs, 4, tmp_path / "q.json")) == "labelstudio"
    table = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [r["text"] for r in table] == [r["text"] for r in rows] and table[0]["label"] == ""
    assert float(table[0]["p_favor"]) == rows[0]["probabilities"]["favor"]
    tasks = json.loads(render(rows, "labelstudio"))
    assert tasks[0]["data"]["doc_id"] == rows[0]["doc_id"] and tasks[0]["data"]["stance_queue"] == 1
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == [rows[0]["guess"]]
    write_queue(rows, tmp_path / "q.jsonl", "jsonl")
    assert [r["text"] for r in read_queue(tmp_path / "q.jsonl")] == [r["text"] for r in rows]


def test_bad_options_and_inputs_are_one_line_each(docs: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StanceError, match=r"^no documents in .*empty"):
        build_queue(QueueOptions(empty, 5, tmp_path / "q.jsonl", model="rules"), CFG)
    with pytest.raises(StanceError, match=r"--out .*q\.jsonl is inside the document folder"):
        build_queue(QueueOptions(docs, 5, docs / "q.jsonl", model="rules"), CFG)
    with pytest.raises(StanceError) as err:
        build_queue(QueueOptions(docs, 0, tmp_path / "q.jsonl", model="rules", measure="gini", format="xml"), CFG)
    assert [p.split(" (")[0] for p in err.value.problems] == [
        "invalid --k 0",
        "unknown --by 'gini'",
        "unknown --format 'xml'",
    ]
    with pytest.raises(StanceError, match=r"model not found: .*absent .*start with --model rules"):
        build_queue(QueueOptions(docs, 5, tmp_path / "q.jsonl", model=str(tmp_path / "absent")), CFG)


def test_a_queue_edited_into_invalid_json_is_named_with_its_line(tmp_path: Path) -> None:
    queue = tmp_path / "q.jsonl"
    queue.write_text(
        '{"doc_id": "a", "sentence_index": 0, "text": "One."}\n{"doc_id": "a", "text": "Two.",\n', encoding="utf-8"
    )
    with pytest.raises(StanceError, match=r"malformed JSON: .*q\.jsonl:2"):
        read_queue(queue)
    queue.write_text('{"doc_id": "a", "sentence_index": "zero", "text": "One."}\n', encoding="utf-8")
    with pytest.raises(StanceError, match=r"not a queue row: .*q\.jsonl:1"):
        read_queue(queue)
    queue.write_text("\n", encoding="utf-8")
    with pytest.raises(StanceError, match=r"empty queue"):
        read_queue(queue)
    with pytest.raises(StanceError, match=r"not a JSON-lines queue: .*q\.csv \(annotate reads \.jsonl queues"):
        read_queue(tmp_path / "q.csv")


def test_the_command_from_an_empty_folder_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    from training.cli import app
    from typer.testing import CliRunner

    (tmp_path / "news").mkdir()
    out = tmp_path / "q.jsonl"
    result = CliRunner().invoke(app, ["queue", str(tmp_path / "news"), "--model", "rules", "--out", str(out)])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line] == [
        f"error: no documents in {tmp_path / 'news'} (add files ending in .txt, .md, .html, .htm, .jsonl, .csv)"
    ]
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "news"]
