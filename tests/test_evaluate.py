"""training.evaluate: reading labelled files and dataset splits, label checks, and the scores of a tiny model."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from training.errors import StanceError
from training.evaluate import Labelled, check_labels, evaluate, evaluate_model, read_labelled

from predictkit import SENTENCES, export

LABELS = ("favor", "against", "neutral")


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from training import load_model

    return load_model(export(tmp_path_factory.mktemp("models") / "stance-classifier"))


# ---------------------------------------------------------------- reading files


def test_jsonl_rows_with_names_ids_and_blank_texts(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "gold.jsonl",
        [
            {"text": "We back the deal.", "label": "favor"},
            "",
            {"text": "They reject it.", "label": 1},
            {"text": "   ", "label": "neutral"},
            {"text": "It rained.", "label": " neutral "},
            {"text": "Talks resumed.", "label": 0, "id": 7},
        ],
    )
    got = read_labelled(path)
    assert got.texts == ["We back the deal.", "They reject it.", "It rained.", "Talks resumed."]
    assert got.labels == ["favor", "against", "neutral", "favor"]
    assert (got.source, got.empty) == (str(path), 2)  # the blank line and the blank text
    assert len(got.fingerprint) == 64


def test_other_column_names(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "gold.ndjson", [{"sentence": "We back the deal.", "gold": "favor", "text": 3}])
    got = read_labelled(path, text_column="sentence", label_column="gold")
    assert (got.texts, got.labels) == (["We back the deal."], ["favor"])


def test_the_same_rows_in_csv_and_jsonl_have_the_same_fingerprint(tmp_path: Path) -> None:
    rows = [("We back the deal.", "favor"), ('She said "no", twice.', "against")]
    a = read_labelled(_jsonl(tmp_path / "a.jsonl", [{"text": t, "label": y} for t, y in rows]))
    b = read_labelled(_csv(tmp_path / "b.csv", ["label", "text"], [[y, t] for t, y in rows]))
    assert (a.texts, a.labels) == (b.texts, b.labels)
    assert a.fingerprint == b.fingerprint
    changed = read_labelled(
        _jsonl(
            tmp_path / "c.jsonl", [{"text": rows[0][0], "label": "neutral"}, {"text": rows[1][0], "label": "against"}]
        )
    )
    assert changed.fingerprint != a.fingerprint


def test_csv_with_quoted_newlines_empty_texts_and_a_bom(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "gold.csv", ["text", "label"], [["Line one\nline two.", "favor"], ["", "against"], ["Fine.", "2"]]
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    got = read_labelled(path)
    assert got.texts == ["Line one\nline two.", "Fine."]
    assert got.labels == ["favor", "2"]  # a CSV cell is a name, never a class id
    assert got.empty == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("gold.jsonl", '["a", "favor"]\n', r"^not a JSON object: .*gold\.jsonl:1 \(each line must be an object\)$"),
        (
            "gold.jsonl",
            '{"text": "a"}\n',
            r"^missing label: .*gold\.jsonl:1 has no field 'label' \(set --label-column\)$",
        ),
        (
            "gold.jsonl",
            '{"label": "favor"}\n',
            r"^missing text: .*gold\.jsonl:1 has no string field 'text' \(set --text-column\)$",
        ),
        ("gold.jsonl", '{"text": 5, "label": "favor"}\n', r"^missing text: .*gold\.jsonl:1 has no string field 'text'"),
        (
            "gold.jsonl",
            '{"text": "a", "label": ""}\n',
            r"^missing label: .*gold\.jsonl:1 has label '' \(use one of favor, against, neutral\)$",
        ),
        ("gold.jsonl", '{"text": "a", "label": 3}\n', r"^missing label: .*gold\.jsonl:1 has label 3 "),
        ("gold.jsonl", '{"text": "a", "label": true}\n', r"^missing label: .*gold\.jsonl:1 has label True "),
        ("gold.jsonl", '{"text": "a", "label": null}\n', r"^missing label: .*gold\.jsonl:1 has label None "),
        ("gold.jsonl", '{"text": "a", "label": "favor"}\n{oops\n', r"^malformed JSON: .*gold\.jsonl:2: "),
        ("gold.jsonl", "\n\n", r"^no labelled sentences in .*gold\.jsonl \(each row needs 'text' and 'label'\)$"),
        ("gold.csv", "text,label\na,favor\nb\n", r"^missing label: .*gold\.csv:3 has label None "),
        (
            "gold.csv",
            "sentence,gold\na,favor\n",
            r"^missing column: .*gold\.csv:1 has no column 'text', 'label' \(columns: sentence, gold; ",
        ),
        ("gold.csv", "text,label\n", r"^no labelled sentences in .*gold\.csv "),
        (
            "gold.txt",
            "a\n",
            r"^unsupported data file: .*gold\.txt \(use \.jsonl or \.csv with 'text' and 'label' columns\)$",
        ),
    ],
)
def test_bad_files_are_one_line_naming_the_row(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StanceError, match=message) as caught:
        read_labelled(path)
    assert len(caught.value.problems) == 1


def test_missing_data_and_a_split_for_a_file(tmp_path: Path) -> None:
    with pytest.raises(StanceError, match=r"^data not found: .*nope\.jsonl \(pass a \.jsonl or \.csv file"):
        read_labelled(tmp_path / "nope.jsonl")
    path = _jsonl(tmp_path / "gold.jsonl", [{"text": "a", "label": "favor"}])
    with pytest.raises(
        StanceError, match=r"^--split applies to a saved dataset folder, and .*gold\.jsonl is a file \(drop --split\)$"
    ):
        read_labelled(path, split="test")


# ---------------------------------------------------------------- saved datasets


def _dataset(tmp_path: Path, texts: list[str], labels: list[int], extra: dict[str, list[Any]] | None = None) -> Path:
    import datasets
    from training.dataset import write_info

    columns: dict[str, Any] = {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))}
    rows: dict[str, list[Any]] = {"text": texts, "label": labels}
    for name, values in (extra or {}).items():
        columns[name] = datasets.Value("string")
        rows[name] = values
    ds = datasets.Dataset.from_dict(rows, features=datasets.Features(columns))
    out = tmp_path / "dataset"
    datasets.DatasetDict({"test": ds, "validation": ds.select(range(1))}).save_to_disk(str(out))
    write_info(out, {"fingerprint": "a" * 64})
    return out


def test_a_dataset_split_reads_class_ids_as_names(tmp_path: Path) -> None:
    path = _dataset(tmp_path, ["We back it.", "", "They reject it.", "It rained."], [0, 1, 1, 2])
    got = read_labelled(path)  # the test split by default
    assert (got.texts, got.labels, got.empty) == (
        ["We back it.", "They reject it.", "It rained."],
        ["favor", "against", "neutral"],
        1,
    )
    assert (got.source, got.fingerprint) == (f"{path}[test]", "a" * 64)
    assert read_labelled(path, "validation").texts == ["We back it."]


def test_dataset_errors_name_the_split_and_the_columns(tmp_path: Path) -> None:
    path = _dataset(tmp_path, ["", " "], [0, 1], extra={"note": ["x", "y"]})
    with pytest.raises(StanceError, match=r"^unknown split 'train' in .*dataset \(splits: test, validation\)$"):
        read_labelled(path, "train")
    with pytest.raises(
        StanceError,
        match=r"^missing column: .*dataset split 'test' has no column sentence \(columns: text, label, note\)$",
    ):
        read_labelled(path, text_column="sentence")
    with pytest.raises(StanceError, match=r"^no labelled sentences in .*dataset split 'test'$"):
        read_labelled(path)


# ---------------------------------------------------------------- labels


def test_labels_the_model_does_not_predict_are_refused() -> None:
    data = Labelled(texts=["a", "b"], labels=["favor", "positive"], source="gold.jsonl")
    with pytest.raises(
        StanceError,
        match=r"^labels do not match: gold\.jsonl has label\(s\) positive that the model does not predict \(model labels: favor, against, neutral\)$",
    ):
        check_labels(LABELS, data)
    check_labels(("neutral", "favor", "against"), Labelled(texts=["a"], labels=["favor"]))  # order does not matter


def test_a_model_without_our_labels_is_refused() -> None:
    with pytest.raises(
        StanceError,
        match=r"^labels do not match: the model predicts favor, against, the scores need favor, against, neutral$",
    ):
        check_labels(("favor", "against"), Labelled(texts=["a"], labels=["favor"]))


# ---------------------------------------------------------------- scores


def _data(rows: list[tuple[str, str]], source: str = "tiny") -> Labelled:
    return Labelled(
        texts=[t for t, _ in rows], labels=[y for _, y in rows], source=source, empty=3, fingerprint="b" * 64
    )


def test_fewer_sentences_than_calibration_bins_are_refused_before_predicting(model: Any) -> None:
    with pytest.raises(
        StanceError,
        match=r"^too few sentences for calibration scores: tiny has 14, and the 15 confidence bins need at least 15 ",
    ):
        evaluate(model, _data((SENTENCES * 2)[:14]))
    assert evaluate(model, _data((SENTENCES * 2)[:15]))["n"] == 15


def test_a_bad_target_is_refused_before_predicting(model: Any) -> None:
    with pytest.raises(StanceError, match=r"^invalid value for --target-accuracy: 1\.5 "):
        evaluate(model, _data(SENTENCES * 2), target_accuracy=1.5)


def test_the_report_of_a_tiny_model(model: Any) -> None:
    from training import calibration, metrics, selective

    rows = SENTENCES * 2
    rows[0] = (rows[0][0], "against")  # a row the model gets wrong
    data = _data(rows)
    report = evaluate(model, data, target_accuracy=0.9)
    proba = model.predict_proba_array(data.texts)
    predicted = list(model.label_array(proba))
    assert predicted[0] == "favor" and predicted[1:] == data.labels[1:]
    assert report["accuracy"] == pytest.approx(17 / 18)
    assert report["macro_f1"] == pytest.approx(metrics.macro_f1(data.labels, predicted))
    assert report["confusion"] == {"labels": list(LABELS), "matrix": [[5, 0, 0], [1, 6, 0], [0, 0, 6]]}
    assert report["per_class"]["against"]["recall"] == pytest.approx(6 / 7)
    assert report["per_class"]["favor"]["precision"] == pytest.approx(5 / 6)
    assert report["calibration"]["ece"] == pytest.approx(calibration.ece(data.labels, proba, LABELS))
    assert sum(b["n"] for b in report["calibration"]["bins"]) == 18
    assert report["risk_coverage"]["target_threshold"] == selective.threshold_for(data.labels, predicted, proba, 0.9)
    assert (report["n"], report["skipped_empty"], report["data"], report["data_fingerprint"]) == (
        18,
        3,
        "tiny",
        "b" * 64,
    )
    assert report["model"] == model.source and report["model_sha256"] == model.metadata["sha256"] != ""


def test_batches_give_the_same_report_as_one_pass(model: Any) -> None:
    data = _data(SENTENCES * 3)
    one, batched = evaluate(model, data), evaluate(model, data, batch_size=4)
    assert batched == one


def test_evaluate_model_reads_loads_and_scores(tmp_path: Path, model: Any) -> None:
    path = _jsonl(tmp_path / "gold.jsonl", [{"text": t, "label": y} for t, y in SENTENCES * 2])
    report = evaluate_model(path, model.source)
    assert report == evaluate(model, read_labelled(path))
    assert "mlflow_run_id" not in report


def test_evaluate_model_checks_the_target_and_the_model_before_the_data(tmp_path: Path, model: Any) -> None:
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(StanceError, match=r"^invalid value for --target-accuracy: 0\.0 "):
        evaluate_model(missing, model.source, target_accuracy=0.0)
    with pytest.raises(StanceError) as caught:
        evaluate_model(missing, str(tmp_path / "no-model"))
    assert "no-model" in str(caught.value) and "missing.jsonl" not in str(caught.value)
