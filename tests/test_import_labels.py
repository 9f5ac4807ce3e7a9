import json
from pathlib import Path

import pytest
from training.cli import app
from training.config import DatasetConfig, load_config
from training.errors import StanceError
from training.import_labels import import_labels, read_labels
from training.labeling import read_gold
from training.queue import QueueOptions, build_queue, render
from typer.testing import CliRunner

from userkit import DOCS, ORACLE, make_user_docs

CFG = load_config("configs/dataset.yaml", DatasetConfig)
runner = CliRunner()


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    return make_user_docs(tmp_path / "mine")


def _export(rows: list[dict], path: Path, answer: dict[str, str]) -> Path:
    """A Label Studio export: the imported tasks with an annotation each, as Label Studio writes them."""
    tasks = json.loads(render(rows, "labelstudio"))
    for i, task in enumerate(tasks):
        task["id"] = i + 1
        choice = answer.get(task["data"]["text"])
        task["annotations"] = (
            []
            if choice is None
            else [
                {
                    "id": i + 10,
                    "completed_by": {"email": "ann@example.org"},
                    "was_cancelled": False,
                    "result": [
                        {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}
                    ],
                }
            ]
        )
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def test_a_label_studio_export_becomes_gold_next_to_each_document(docs: Path, tmp_path: Path) -> None:
    rows = build_queue(QueueOptions(docs, 6, tmp_path / "q.json", model="rules", per_doc=2), CFG)
    answers = {r["text"]: ORACLE[r["text"]] for r in rows[:5]}  # the sixth task was not labelled
    result = import_labels([_export(rows, tmp_path / "export.json", answers)], docs, CFG)
    assert (result["labels"], result["written"], result["problems"]) == (5, 5, [])
    gold = read_gold(docs, CFG.reader)
    assert {(g.text, g.label) for g in gold} == set(answers.items())
    assert {Path(g.where.split(":")[0]).name for g in gold} <= {f"{d}.gold.jsonl" for d in DOCS}
    again = import_labels([tmp_path / "export.json"], docs, CFG)
    assert (again["written"], again["unchanged"]) == (0, 5)


def test_csv_and_jsonl_labels_match_by_document_and_text(docs: Path, tmp_path: Path) -> None:
    text = DOCS["no-thaw-oped"][0][0]
    (tmp_path / "l.csv").write_text(
        f'doc_id,text,label\nno-thaw-oped,"{text}",against\nno-thaw-oped,"x",\n', encoding="utf-8"
    )
    other = DOCS["gulf-explainer"][1][0]
    (tmp_path / "l.jsonl").write_text(
        json.dumps({"text": "  " + other.replace(" ", "  "), "label": "favor"}) + "\n", encoding="utf-8"
    )
    assert [lab.label for lab in read_labels(tmp_path / "l.csv")] == ["against"]
    result = import_labels([tmp_path / "l.csv", tmp_path / "l.jsonl"], docs, CFG)
    assert result["written"] == 2
    written = [
        json.loads(line) for line in (docs / "gulf-explainer.gold.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert written == [{"text": other, "label": "favor", "doc_id": "gulf-explainer"}]


def test_every_bad_label_is_listed_and_nothing_is_written(docs: Path, tmp_path: Path) -> None:
    good, contested = DOCS["border-reopens"][0][0], DOCS["border-reopens"][1][0]
    labels = tmp_path / "l.jsonl"
    labels.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"doc_id": "border-reopens", "text": good, "label": "favor"},
                {"doc_id": "border-reopens", "text": contested, "label": "positive"},
                {"doc_id": "border-reopens", "text": "A sentence nobody wrote.", "label": "favor"},
                {"doc_id": "border-reopens", "text": contested, "label": "favor"},
                {"doc_id": "border-reopens", "text": contested, "label": "neutral"},
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(StanceError) as err:
        import_labels([labels], docs, CFG)
    assert [p.split(":")[0] for p in err.value.problems] == [
        "unknown label 'positive'",
        "matches no sentence",
        "conflicting labels",
        "nothing was written",
    ]
    assert not list(docs.glob("*.gold.jsonl"))
    result = import_labels([labels], docs, CFG, skip_bad=True)
    assert result["written"] == 1 and len(result["problems"]) == 3
    assert [(g.text, g.label) for g in read_gold(docs, CFG.reader)] == [(good, "favor")]


def test_existing_gold_wins_unless_replace(docs: Path, tmp_path: Path) -> None:
    text = DOCS["border-reopens"][4][0]
    (docs / "border-reopens.gold.jsonl").write_text(
        json.dumps({"text": text, "label": "favor", "note": "x"}) + "\n", encoding="utf-8"
    )
    labels = tmp_path / "fix.jsonl"
    labels.write_text(
        json.dumps({"doc_id": "border-reopens", "text": text, "label": "neutral"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(StanceError, match=r"already says favor, .*fix\.jsonl:1 says neutral .*pass --replace"):
        import_labels([labels], docs, CFG)
    import_labels([labels], docs, CFG, replace=True)
    assert [(g.text, g.label) for g in read_gold(docs, CFG.reader)] == [(text, "neutral")]


def test_a_label_studio_file_from_another_project_is_one_line(docs: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "export.json"
    foreign.write_text(json.dumps([{"id": 1, "data": {"image": "cat.png"}, "annotations": []}]), encoding="utf-8")
    result = runner.invoke(app, ["import-labels", str(foreign), "--docs", str(docs)])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line] == [
        f"error: not a stance Label Studio export: {foreign} (its tasks lack data.doc_id and data.text; "
        "export the project that was created from a `stance queue --format labelstudio` file)"
    ]
    rows = build_queue(QueueOptions(docs, 1, tmp_path / "q.json", model="rules"), CFG)
    tasks = json.loads(_export(rows, tmp_path / "e.json", {rows[0]["text"]: "favor"}).read_text(encoding="utf-8"))
    tasks[0]["annotations"][0]["result"][0]["from_name"] = "sentiment"
    (tmp_path / "e.json").write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(StanceError, match=r"task 1 answers 'sentiment', not 'stance'"):
        import_labels([tmp_path / "e.json"], docs, CFG)
