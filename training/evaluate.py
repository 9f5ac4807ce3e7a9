"""``stance evaluate``: score a model on labelled sentences the user brings.

Data is a JSONL or CSV file with a text and a label column, or a dataset saved by
``stance build-dataset`` and a split name. The report holds macro-F1, F_avg, accuracy, each
label's precision, recall and F1, and the confusion matrix (rows: true label, columns:
predicted label), all computed by :mod:`training.metrics`.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.errors import StanceError


@dataclass
class Labelled:
    """Sentences and their true labels, with where they came from."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    source: str = ""
    empty: int = 0
    fingerprint: str = ""


def _label_name(value: Any, where: str) -> str:
    """A label as a name: names stay, ClassLabel ids 0..2 map to favor, against, neutral."""
    from training.labels import LABELS

    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(LABELS):
        return LABELS[value]
    raise StanceError(f"missing label: {where} has label {value!r} (use one of {', '.join(LABELS)})")


def read_labelled(
    path: Path, split: str | None = None, text_column: str = "text", label_column: str = "label"
) -> Labelled:
    """Read labelled sentences from a JSONL/CSV file or a saved dataset directory."""
    if not path.exists():
        raise StanceError(f"data not found: {path} (pass a .jsonl or .csv file, or a dataset folder with --split)")
    if path.is_dir():
        return _read_dataset(path, split or "test", text_column, label_column)
    if split is not None:
        raise StanceError(f"--split applies to a saved dataset folder, and {path} is a file (drop --split)")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".csv"):
        raise StanceError(
            f"unsupported data file: {path} (use .jsonl or .csv with '{text_column}' and '{label_column}' columns)"
        )
    from training.predict_io import decoded_lines

    out = Labelled(source=str(path))
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        lines = decoded_lines(fh, str(path))
        if suffix == ".csv":
            _csv(lines, path, text_column, label_column, out, digest)
        else:
            _jsonl(lines, path, text_column, label_column, out, digest)
    if not out.texts:
        raise StanceError(f"no labelled sentences in {path} (each row needs '{text_column}' and '{label_column}')")
    out.fingerprint = digest.hexdigest()
    return out


def _add(out: Labelled, text: Any, label: Any, where: str, text_column: str, digest: Any) -> None:
    if not isinstance(text, str):
        raise StanceError(f"missing text: {where} has no string field '{text_column}' (set --text-column)")
    if not text.strip():
        out.empty += 1
        return
    name = _label_name(label, where)
    out.texts.append(text)
    out.labels.append(name)
    digest.update(f"{text}\t{name}\n".encode())


def _jsonl(lines: Any, path: Path, text_column: str, label_column: str, out: Labelled, digest: Any) -> None:
    from training import jsonl

    for n, row in jsonl.parse_lines(lines, path):
        if row is None:
            out.empty += 1
            continue
        if not isinstance(row, dict):
            raise StanceError(f"not a JSON object: {path}:{n} (each line must be an object)")
        if label_column not in row:
            raise StanceError(f"missing label: {path}:{n} has no field '{label_column}' (set --label-column)")
        _add(out, row.get(text_column), row[label_column], f"{path}:{n}", text_column, digest)


def _csv(lines: Any, path: Path, text_column: str, label_column: str, out: Labelled, digest: Any) -> None:
    reader = csv.DictReader(line for _, line in lines)
    header = reader.fieldnames or []
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        raise StanceError(
            f"missing column: {path}:1 has no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(header)}; use --text-column / --label-column)"
        )
    for row in reader:
        _add(out, row[text_column] or "", row[label_column], f"{path}:{reader.line_num}", text_column, digest)


def _read_dataset(path: Path, split: str, text_column: str, label_column: str) -> Labelled:
    from training.dataset import load_built

    dsd, info = load_built(path)
    if split not in dsd:
        raise StanceError(f"unknown split '{split}' in {path} (splits: {', '.join(dsd)})")
    ds = dsd[split]
    missing = [c for c in (text_column, label_column) if c not in ds.column_names]
    if missing:
        raise StanceError(
            f"missing column: {path} split '{split}' has no column {', '.join(missing)} "
            f"(columns: {', '.join(ds.column_names)})"
        )
    feature = ds.features[label_column]
    names = feature.int2str if hasattr(feature, "int2str") else None
    out = Labelled(source=f"{path}[{split}]", fingerprint=str(info.get("fingerprint", "")))
    for i, (text, label) in enumerate(zip(ds[text_column], ds[label_column])):
        where = f"{path}[{split}][{i}]"
        if not isinstance(text, str) or not text.strip():
            out.empty += 1
            continue
        out.texts.append(text)
        out.labels.append(_label_name(names(label) if names and isinstance(label, int) else label, where))
    if not out.texts:
        raise StanceError(f"no labelled sentences in {path} split '{split}'")
    return out


def check_labels(model_labels: tuple[str, ...], data: Labelled) -> None:
    """The model must be able to predict every label the data holds, and know ours."""
    from training.labels import LABELS

    unknown = sorted(set(data.labels) - set(model_labels))
    if unknown:
        raise StanceError(
            f"labels do not match: {data.source} has label(s) {', '.join(unknown)} that the model does not "
            f"predict (model labels: {', '.join(model_labels)})"
        )
    if set(model_labels) != set(LABELS):
        raise StanceError(
            f"labels do not match: the model predicts {', '.join(model_labels)}, the scores need {', '.join(LABELS)}"
        )


def evaluate(
    model: Any, data: Labelled, batch_size: int = 4096, target_accuracy: float | None = None
) -> dict[str, Any]:
    """Predict every sentence and score the predictions against the true labels.

    Besides the scores: calibration (ECE over 15 bins, Brier, log loss, the reliability bins)
    and the risk-coverage view (see :mod:`training.selective`), which need the data to hold at
    least as many sentences as there are bins.
    """
    import numpy as np

    from training import calibration, metrics, selective
    from training.labels import LABELS

    check_labels(model.labels, data)
    selective.check_target_accuracy(target_accuracy)
    calibration.check_enough(len(data.texts), what=data.source)
    parts = [model.predict_proba_array(data.texts[i : i + batch_size]) for i in range(0, len(data.texts), batch_size)]
    proba = calibration.aligned(np.vstack(parts), model.labels, LABELS)
    predicted = model.label_array(np.vstack(parts))
    scores = metrics.scores(data.labels, predicted)
    return {
        **scores,
        "calibration": {
            **calibration.scores(data.labels, proba, LABELS),
            "bins": calibration.reliability_bins(data.labels, proba, LABELS),
        },
        "risk_coverage": selective.risk_coverage(data.labels, predicted, proba, target_accuracy),
        "n": len(data.texts),
        "skipped_empty": data.empty,
        "per_class": metrics.per_class(data.labels, predicted, LABELS),
        "confusion": {"labels": list(LABELS), "matrix": metrics.confusion(data.labels, predicted, LABELS)},
        "data": data.source,
        "data_fingerprint": data.fingerprint,
        "model": model.source,
        "model_sha256": model.metadata.get("sha256", ""),
    }


def evaluate_model(
    data: Path,
    model_uri: str,
    *,
    split: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    tracking: Any = None,
    target_accuracy: float | None = None,
) -> dict[str, Any]:
    """Read the data, load the model, score it; with ``tracking`` (a TrackingConfig) log an MLflow run.

    Cheap checks come first: the model path, then the whole data file, then the model load.
    """
    from training.predict import check_model_location, load_model
    from training.selective import check_target_accuracy

    check_target_accuracy(target_accuracy)
    check_model_location(model_uri)
    labelled = read_labelled(Path(data), split, text_column, label_column)
    from training import encoders

    # Encoder models reuse the vectors `stance train` cached (same folder unless the variable says otherwise).
    encoders.use_cache(encoders.cache_folder() or encoders.DEFAULT_CACHE)
    model = load_model(model_uri)
    report = evaluate(model, labelled, target_accuracy=target_accuracy)
    if tracking is not None:
        from training import tracking as mlflow_tracking

        report["mlflow_run_id"] = mlflow_tracking.log_evaluation(tracking, report, model.metadata)
    return report
