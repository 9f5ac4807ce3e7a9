"""Saving and loading models: trusted types only, sha256-checked exports, atomic swaps."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from training import persistence
from training.classifiers import CLASSIFIERS, FEATURES, assemble, build_classifier, build_features
from training.errors import StanceError
from training.labels import LABELS
from training.persistence import (
    TRUSTED_TYPES,
    load_model_file,
    read_export,
    save_model_file,
    untrusted_types,
    write_export,
)

TEXTS = [
    "We welcome the normalization of ties and support the deal.",
    "They reject normalization and oppose any deal with them.",
    "The ministers met on Tuesday in the capital.",
    "Restoring relations is a good step for peace.",
    "Normalization is a betrayal and must be stopped.",
    "The talks were held behind closed doors.",
] * 6
LABELS_Y = ["favor", "against", "neutral"] * 12

# Parameters that let each registered model fit on 36 sentences.
_SMALL: dict[str, dict[str, Any]] = {"random_forest": {"n_components": 5, "n_estimators": 5}, "knn": {"n_neighbors": 3}}


def _model(name: str) -> Any:
    comp = CLASSIFIERS[name]
    features = build_features("word", {}) if comp.needs_features else None
    return assemble(features, build_classifier(name, _SMALL.get(name, {}), seed=0)).fit(TEXTS, LABELS_Y)


@pytest.fixture(scope="module")
def logreg() -> Any:
    return _model("logreg")


def test_trusted_types_is_a_list_of_names() -> None:
    assert isinstance(TRUSTED_TYPES, list) and all(isinstance(t, str) and "." in t for t in TRUSTED_TYPES)
    assert "sklearn.pipeline.Pipeline" in TRUSTED_TYPES
    assert "training.classifiers.estimators.TextColumn" in TRUSTED_TYPES
    # narrower than skops' defaults: a scikit-learn class we never use is not on it
    assert "sklearn.linear_model._perceptron.Perceptron" not in TRUSTED_TYPES
    with pytest.raises(AttributeError, match="has no attribute 'TRUSTED'"):
        persistence.TRUSTED  # noqa: B018


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_every_registered_classifier_round_trips_through_an_export(name: str, tmp_path: Path) -> None:
    model = _model(name)
    out = write_export(model, tmp_path / "export", {"candidate": name}, f"# {name}\n")
    loaded, meta = read_export(out)
    assert meta["candidate"] == name
    assert sorted(meta["labels"]) == sorted(LABELS)
    assert meta["sha256"] == persistence.sha256_file(out / "model.skops")
    assert meta["libraries"]["scikit-learn"]
    assert (out / "README.md").read_text(encoding="utf-8") == f"# {name}\n"
    assert list(loaded.predict(TEXTS)) == list(model.predict(TEXTS))
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in FEATURES if n != "none"))
def test_every_feature_extractor_saves_with_trusted_types_only(name: str, tmp_path: Path) -> None:
    model = assemble(
        build_features(name, {"min_df": 1} if name in ("char", "word_char") else {}),
        build_classifier("logreg", {}, seed=0),
    ).fit(TEXTS, LABELS_Y)
    path = save_model_file(model, tmp_path / "m.skops")
    assert untrusted_types(path) == []
    assert list(load_model_file(path).predict(TEXTS)) == list(model.predict(TEXTS))


def _rewrite_schema(src: Path, dst: Path, edit: Any) -> None:
    """Copy a skops file, passing its parsed schema through ``edit``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                data = json.dumps(edit(json.loads(data))).encode()
            zout.writestr(item, data)


def _find(node: Any, cls: str) -> dict[str, Any]:
    """The first schema node whose class is ``cls``."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if n.get("__class__") == cls:
                return n
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    raise AssertionError(f"no {cls} in schema")


PAYLOAD = """
from pathlib import Path
Path({marker!r}).write_text("module imported")

class Boom:
    def __new__(cls, *args, **kwargs):
        Path({marker!r}).write_text("object built")
        return super().__new__(cls)

    def __setstate__(self, state):
        Path({marker!r}).write_text("state set")
"""


def foreign_class_file(model: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A skops file of ``model`` whose LogisticRegression node names an importable foreign class.

    Returns the file and the marker the foreign module writes if any of its code runs.
    """
    marker = folder / "ran.txt"
    (folder / "stance_evil_payload.py").write_text(PAYLOAD.format(marker=str(marker)), encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))  # the payload is importable: only our check stops it
    good = save_model_file(model, folder / "good.skops")
    bad = folder / "bad.skops"

    def swap(schema: Any) -> Any:
        node = _find(schema, "LogisticRegression")
        node["__module__"], node["__class__"] = "stance_evil_payload", "Boom"
        return schema

    _rewrite_schema(good, bad, swap)
    return bad, marker


def test_a_file_naming_a_foreign_class_is_refused_and_nothing_from_it_runs(
    logreg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad, marker = foreign_class_file(logreg, tmp_path, monkeypatch)
    with pytest.raises(StanceError, match=r"untrusted types in model file .*bad\.skops: stance_evil_payload\.Boom"):
        load_model_file(bad)
    assert not marker.exists()
    assert "stance_evil_payload" not in sys.modules


def test_a_function_hidden_under_an_unknown_key_is_refused(logreg: Any, tmp_path: Path) -> None:
    good = save_model_file(logreg, tmp_path / "good.skops")
    bad = tmp_path / "bad.skops"

    def hide(schema: Any) -> Any:
        # skops would never read this key; our check still sees the type it names
        schema["content"]["extra"] = {
            "__module__": "os",
            "__class__": "system",
            "__loader__": "FunctionNode",
            "content": {"module_path": "os", "function": "system"},
        }
        return schema

    _rewrite_schema(good, bad, hide)
    assert untrusted_types(bad) == ["os.system"]
    with pytest.raises(StanceError, match=r"untrusted types .*: os\.system \(refused without loading it"):
        load_model_file(bad)


def test_a_scikit_learn_class_off_our_list_is_refused_at_save_and_at_load(tmp_path: Path) -> None:
    from sklearn.linear_model import Perceptron

    model = Perceptron(random_state=0).fit(np.eye(3), [0, 1, 2])
    with pytest.raises(StanceError, match=r"outside training\.persistence\.TRUSTED_TYPES: .*Perceptron"):
        save_model_file(model, tmp_path / "p.skops")
    assert not (tmp_path / "p.skops").exists()
    import skops.io as sio

    sio.dump(model, tmp_path / "p.skops")  # skops itself trusts Perceptron by default
    with pytest.raises(StanceError, match=r"untrusted types .*sklearn\.linear_model\._perceptron\.Perceptron"):
        load_model_file(tmp_path / "p.skops")


def test_a_tampered_model_file_is_refused(logreg: Any, tmp_path: Path) -> None:
    out = write_export(logreg, tmp_path / "export", {}, "# card\n")
    other = _model("complement_nb")
    save_model_file(other, out / "model.skops")  # a valid skops file, but not the exported one
    with pytest.raises(
        StanceError, match=r"model file was modified: .*model\.skops has sha256 .* metadata\.json records"
    ):
        read_export(out)
    data = bytearray((out / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (out / "model.skops").write_bytes(bytes(data))
    with pytest.raises(StanceError, match="model file was modified"):
        read_export(out)


def test_a_failed_export_leaves_the_previous_one_intact(logreg: Any, tmp_path: Path) -> None:
    target = tmp_path / "models" / "stance-classifier"
    write_export(logreg, target, {"version": 1}, "# one\n")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(TypeError):
        # the extra file is written after the model inside the temporary directory
        write_export(_model("complement_nb"), target, {"version": 2}, "# two\n", extra_files={"plot.png": "not bytes"})  # type: ignore[dict-item]
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in target.parent.iterdir() if p.name != ".stance-classifier.lock") == [
        "stance-classifier"
    ]
    write_export(_model("complement_nb"), target, {"version": 2}, "# two\n", extra_files={"plot.png": b"png"})
    _, meta = read_export(target)
    assert meta["version"] == 2 and (target / "plot.png").read_bytes() == b"png"
    assert sorted(p.name for p in target.parent.iterdir() if p.name != ".stance-classifier.lock") == [
        "stance-classifier"
    ]


def test_an_unfitted_model_is_not_exported(tmp_path: Path) -> None:
    model = assemble(build_features("word", {}), build_classifier("logreg", {}, seed=0))
    with pytest.raises(StanceError, match="not fitted"):
        write_export(model, tmp_path / "x", {}, "")
    assert not (tmp_path / "x").exists()


def test_integer_classes_are_named_by_label_id(tmp_path: Path) -> None:
    model = assemble(build_features("word", {}), build_classifier("logreg", {}, seed=0))
    model.fit(TEXTS, [LABELS.index(y) for y in LABELS_Y])
    out = write_export(model, tmp_path / "ids", {}, "")
    _, meta = read_export(out)
    assert meta["labels"] == list(LABELS)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, r"model not found: .*missing"),
        (lambda d: d.mkdir(), r"incomplete model export: .*metadata\.json is missing"),
        (lambda d: (d.mkdir(), (d / "metadata.json").write_text("{", encoding="utf-8")), r"unreadable model metadata"),
        (
            lambda d: (d.mkdir(), (d / "metadata.json").write_text('{"sha256": "00"}', encoding="utf-8")),
            r"incomplete model export: .*model\.skops is missing",
        ),
    ],
)
def test_broken_exports_are_reported_in_one_line(setup: Any, message: str, tmp_path: Path) -> None:
    d = tmp_path / "missing"
    setup(d)
    with pytest.raises(StanceError, match=message):
        read_export(d)


def test_a_file_that_is_not_a_skops_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.skops").write_bytes(b"not a zip")
    with pytest.raises(StanceError, match=r"not a skops model file: .*m\.skops"):
        load_model_file(tmp_path / "m.skops")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("schema.json", "{not json")
    (tmp_path / "j.skops").write_bytes(buf.getvalue())
    with pytest.raises(StanceError, match=r"not a skops model file"):
        load_model_file(tmp_path / "j.skops")


def test_an_export_lock_held_elsewhere_times_out_with_one_line(tmp_path: Path) -> None:
    from filelock import FileLock
    from training.persistence import export_lock

    target = tmp_path / "export"
    with (
        FileLock(str(tmp_path / ".export.lock")),
        pytest.raises(StanceError, match=r"could not lock .* within 0 s"),
        export_lock(target, timeout=0.2),
    ):
        pass


def test_only_folders_with_export_metadata_are_exports(tmp_path: Path) -> None:
    from training.persistence import is_export

    (tmp_path / "metadata.json").write_text(
        '{"model_file": "model.skops", "sha256": "ab", "labels": []}', encoding="utf-8"
    )
    other = tmp_path / "other"
    other.mkdir()
    (other / "metadata.json").write_text('{"title": "my notes"}', encoding="utf-8")
    assert is_export(tmp_path) and not is_export(other) and not is_export(tmp_path / "absent")


def _nodes(node: Any) -> list[dict[str, Any]]:
    """Every object in a parsed schema."""
    found, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            found.append(n)
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return found


def test_a_model_naming_the_paths_our_classes_had_before_they_moved_still_loads(tmp_path: Path) -> None:
    vote = build_classifier("soft_vote", {"tfidf": "negation", "encoder": "hashing"}, seed=0)
    model = assemble(None, vote).fit(TEXTS, LABELS_Y)
    new = save_model_file(model, tmp_path / "new.skops")
    moved = {
        "training.classifiers.estimators": "training.classifiers",
        "training.encoders.embedder": "training.encoders",
    }

    def old_paths(schema: Any) -> Any:
        for node in _nodes(schema):
            if node.get("__module__") in moved:
                node["__module__"] = moved[node["__module__"]]
        return schema

    old = tmp_path / "old.skops"
    _rewrite_schema(new, old, old_paths)
    names = {
        f"{n['__module__']}.{n['__class__']}"
        for n in _nodes(json.loads(zipfile.ZipFile(old).read("schema.json")))
        if "__class__" in n
    }
    assert {
        "training.classifiers.TextColumn",
        "training.classifiers.NegationScopeMarker",
        "training.classifiers.CompactTfidfVectorizer",
        "training.encoders.SentenceEmbedder",
    } <= names
    loaded = load_model_file(old)
    assert type(loaded.steps[0][1]).__module__ == "training.classifiers.estimators"
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))


def test_a_file_skops_cannot_build_is_refused_in_one_line(logreg: Any, tmp_path: Path) -> None:
    good = save_model_file(logreg, tmp_path / "good.skops")
    bad = tmp_path / "bad.skops"

    def break_array(schema: Any) -> Any:
        node = _find(schema, "ndarray")
        node["file"] = "missing.npy"
        return schema

    _rewrite_schema(good, bad, break_array)
    with pytest.raises(
        StanceError, match=r"cannot load model file .*bad\.skops: KeyError: .*\(export the model again\)$"
    ):
        load_model_file(bad)


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training.persistence import loading

    monkeypatch.setattr(loading, "MIN_UNPACKED_LIMIT", 1000)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", "{}" + " " * 200_000)
    (tmp_path / "bomb.skops").write_bytes(buf.getvalue())
    with pytest.raises(StanceError, match=r"model file too large when unpacked: .*bomb\.skops declares 200,002 bytes"):
        load_model_file(tmp_path / "bomb.skops")
