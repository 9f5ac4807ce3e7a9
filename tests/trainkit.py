"""A tiny built dataset and a fast training config for the training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAIRS = [
    ("Riyadh", "Tehran"),
    ("Ankara", "Yerevan"),
    ("Belgrade", "Pristina"),
    ("Washington", "Havana"),
    ("Cairo", "Ankara"),
    ("Doha", "Manama"),
    ("Addis Ababa", "Asmara"),
    ("Tokyo", "Beijing"),
    ("Abu Dhabi", "Damascus"),
    ("Hanoi", "Washington"),
    ("Amman", "Damascus"),
    ("Rabat", "Tel Aviv"),
    ("Baku", "Yerevan"),
    ("Seoul", "Tokyo"),
    ("Kigali", "Kampala"),
    ("Athens", "Skopje"),
]
FAVOR = [
    "{a} and {b} agreed to restore full diplomatic relations.",
    "{a} welcomed the reopening of the embassy in {b}.",
    "Direct flights between {a} and {b} resumed this week.",
    "{a} said it would soon exchange ambassadors with {b}.",
]
AGAINST = [
    "{a} refused to normalize ties with {b}.",
    "{a} condemned the plan to upgrade relations with {b}.",
    "{a} will not reopen its embassy in {b} until the conditions are met.",
    "Protesters in {a} rejected any deal with {b}.",
]
NEUTRAL = [
    "The weather in {a} was mild on Tuesday.",
    "Officials in {a} published the trade figures for {b}.",
    "The conference in {a} started an hour late.",
    "A museum in {b} opened a new wing.",
]


def make_dataset(n_docs: int = 12, weak_share: float = 0.0, fingerprint: str = "f" * 64) -> tuple[Any, dict[str, Any]]:
    """A DatasetDict of the builder's schema: ``n_docs`` documents of 6 sentences, split by document.

    Documents 0..n-5 are train, the next two validation, the last two test. With
    ``weak_share`` > 0 that share of train sentences is marked weak (confidence 0.6) and a
    few of those get a wrong label, as weak labels do.
    """
    import datasets
    from training.labels import LABELS

    rows: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    for d in range(n_docs):
        a, b = PAIRS[d % len(PAIRS)]
        split = "train" if d < n_docs - 4 else "validation" if d < n_docs - 2 else "test"
        sentences = (
            [(FAVOR[(d + k) % 4], "favor") for k in range(2)]
            + [(AGAINST[(d + k) % 4], "against") for k in range(2)]
            + [(NEUTRAL[(d + k) % 4], "neutral") for k in range(2)]
        )
        for i, (template, label) in enumerate(sentences):
            text = template.format(a=a, b=b)
            if d >= len(PAIRS):
                text = f"In year {2000 + d}, " + text[0].lower() + text[1:]
            weak = split == "train" and weak_share > 0 and (d * 6 + i) % round(1 / weak_share) == 0
            if weak and i % 3 == 0:
                label = LABELS[(LABELS.index(label) + 1) % 3]  # a weak label can be wrong
            elif (d * 6 + i) % 9 == 4:
                label = LABELS[(LABELS.index(label) + 2) % 3]  # annotators disagree with templates sometimes
            rows[split].append(
                {
                    "text": text,
                    "label": LABELS.index(label),
                    "doc_id": f"doc{d:02d}",
                    "sentence_index": i,
                    "start": 0,
                    "end": len(text),
                    "label_source": "weak" if weak else "gold",
                    "confidence": 0.6 if weak else 1.0,
                    "episode": "",
                    "register": "",
                    "duplicates": [],
                }
            )
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(LABELS)),
            "doc_id": datasets.Value("string"),
            "sentence_index": datasets.Value("int32"),
            "start": datasets.Value("int64"),
            "end": datasets.Value("int64"),
            "label_source": datasets.Value("string"),
            "confidence": datasets.Value("float64"),
            "episode": datasets.Value("string"),
            "register": datasets.Value("string"),
            "duplicates": datasets.Sequence(datasets.Value("string")),
        }
    )
    dsd = datasets.DatasetDict({s: datasets.Dataset.from_list(r, features=features) for s, r in rows.items()})
    from training.config import DatasetConfig, load_config

    # The rule baseline uses the builder's real lexicons, recorded in the info as the builder does.
    lexicons = load_config(REPO / "configs" / "dataset.yaml", DatasetConfig).labeling
    info = {"fingerprint": fingerprint, "config_hash": "0123456789abcdef", "labeling": lexicons.model_dump(mode="json")}
    return dsd, info


def save_dataset(path: Path, dsd: Any, info: dict[str, Any]) -> Path:
    """Write the dataset the way ``stance build-dataset`` does (``load_built`` reads it back)."""
    from training.dataset import write_info

    dsd.save_to_disk(str(path), num_shards=dict.fromkeys(dsd, 1))
    write_info(path, dict(info))
    return path


def small_candidates() -> list[dict[str, Any]]:
    """Every registered classifier and extractor once, with parameters small enough for 100 sentences."""
    return [
        {"name": "dummy", "features": "none", "classifier": "dummy"},
        {"name": "rules", "features": "none", "classifier": "rules"},
        {"name": "logreg-word", "features": "word", "classifier": "logreg", "search": {"C": [1.0, 10.0]}},
        {"name": "svc-char", "features": "char", "classifier": "linear_svc", "params": {"calibration_folds": 2}},
        {"name": "nb-word_char", "features": "word_char", "classifier": "complement_nb"},
        {"name": "sgd-negation", "features": "negation", "classifier": "sgd"},
        {"name": "ridge-word", "features": "word", "classifier": "ridge", "params": {"calibration_folds": 2}},
        {
            "name": "forest-word",
            "features": "word",
            "classifier": "random_forest",
            "params": {"n_components": 8, "n_estimators": 10},
        },
        {"name": "knn-word", "features": "word", "classifier": "knn", "search": {"n_neighbors": [3, 5]}},
        {
            "name": "logreg-hashing",
            "features": "embedding",
            "classifier": "logreg",
            "feature_params": {"encoder": "hashing"},
        },
        {
            "name": "vote",
            "features": "none",
            "classifier": "soft_vote",
            "params": {"encoder": "hashing", "tfidf": "word"},
        },
    ]


def small_config(tmp: Path, **overrides: Any) -> Any:
    """A TrainConfig for the tiny dataset: 3 folds, 2 repeats, one worker, stores under ``tmp``."""
    from training.train_config import TrainConfig

    base: dict[str, Any] = {
        "n_jobs": 1,
        "dataset": str(tmp / "dataset"),
        "export_dir": str(tmp / "models" / "stance-classifier"),
        "embedding_cache": str(tmp / "embeddings"),
        "cv": {"folds": 3, "repeats": 2},
        "tracking": {"uri": f"sqlite:///{tmp / 'mlflow.db'}", "experiment": "test"},
        "candidates": small_candidates(),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return TrainConfig.model_validate(base)
