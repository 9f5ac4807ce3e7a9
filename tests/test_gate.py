"""The champion gate: the alias moves only to a model that is not significantly worse, or when forced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training import gate, metrics

from trainkit import make_dataset, small_config

TRUTH = ["favor", "against", "neutral"] * 10


def test_identical_predictions_differ_by_nothing() -> None:
    pred = ["favor"] * 30
    got = gate.paired_bootstrap(TRUTH, pred, pred, alpha=0.05, samples=200, seed=0)
    assert got == {
        "new_macro_f1": pytest.approx(metrics.macro_f1(TRUTH, pred)),
        "old_macro_f1": pytest.approx(metrics.macro_f1(TRUTH, pred)),
        "diff": 0.0,
        "ci_low": 0.0,
        "ci_high": 0.0,
    }


def test_a_clearly_better_model_has_an_interval_above_zero_and_the_same_seed_gives_the_same_interval() -> None:
    old = ["favor"] * 30
    new = list(TRUTH)
    new[0] = "uncertain"  # a label outside ours is simply wrong
    from sklearn.metrics import f1_score

    got = gate.paired_bootstrap(TRUTH, new, old, alpha=0.05, samples=500, seed=3)
    expected = f1_score(TRUTH, new, labels=["favor", "against", "neutral"], average="macro")  # counts the miss
    assert got["new_macro_f1"] == pytest.approx(expected) and expected < 1.0
    assert got["diff"] == pytest.approx(expected - metrics.macro_f1(TRUTH, old))
    assert 0.0 < got["ci_low"] <= got["diff"] <= got["ci_high"]
    assert gate.paired_bootstrap(TRUTH, new, old, alpha=0.05, samples=500, seed=3) == got
    with pytest.raises(ValueError, match="at least 2 sentences scored by both models"):
        gate.paired_bootstrap(["favor"], ["favor"], ["favor"], alpha=0.05, samples=10, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "promote", "reason"),
    [
        ({"previous": "", "same_test": False, "force": False}, True, "first"),
        ({"previous": "1", "same_test": True, "force": True}, True, "forced"),
        ({"previous": "1", "same_test": False, "force": False}, True, "test_changed"),
    ],
)
def test_decisions_that_need_no_comparison(kwargs: dict, promote: bool, reason: str) -> None:
    d = gate.decide(TRUTH, ["favor"] * 30, list(TRUTH), alpha=0.05, samples=100, seed=0, **kwargs)
    assert (d.promote, d.reason, d.numbers) == (promote, reason, {})


def test_a_worse_model_is_held_and_an_equal_one_moves() -> None:
    worse = gate.decide(
        TRUTH, ["favor"] * 30, list(TRUTH), previous="4", same_test=True, force=False, alpha=0.05, samples=300, seed=0
    )
    assert (worse.promote, worse.reason) == (False, "worse") and worse.numbers["ci_high"] < 0
    line = worse.line("5", "champion")
    assert line.startswith("gate: 'champion' stays on version 4: version 5 is significantly worse") and "\n" not in line
    same = gate.decide(
        TRUTH, list(TRUTH), list(TRUTH), previous="4", same_test=True, force=False, alpha=0.05, samples=300, seed=0
    )
    assert (same.promote, same.reason) == (True, "not_worse")


def test_the_split_hash_follows_texts_and_labels() -> None:
    assert gate.split_hash(["a", "b"], ["favor", "against"]) == gate.split_hash(["a", "b"], ["favor", "against"])
    assert gate.split_hash(["a", "b"], ["favor", "against"]) != gate.split_hash(["a", "b"], ["favor", "neutral"])


def test_a_second_train_with_a_worse_config_keeps_the_alias(tmp_path: Path) -> None:
    import mlflow
    from training.train import train

    data = make_dataset(n_docs=12)
    good = [{"name": "lr-word", "features": "word", "classifier": "logreg"}]
    bad = [{"name": "dummy", "features": "none", "classifier": "dummy"}]
    lines: list[str] = []
    train(small_config(tmp_path, candidates=good), progress=lines.append, dataset=data)
    assert "gate: 'champion' moves to version 1: no model held it" in lines
    export = tmp_path / "models" / "stance-classifier" / "metadata.json"

    lines.clear()
    held = train(small_config(tmp_path, candidates=bad), progress=lines.append, dataset=data)
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("stance-classifier", "champion").version) == "1"
    assert held.registered == "models:/stance-classifier/2" and not held.exported
    assert [line for line in lines if line.startswith("gate:")] == [next(x for x in lines if "stays on version 1" in x)]
    assert json.loads(export.read_text())["candidate"] == "lr-word"  # the export did not change either
    run = client.get_run(held.parent_run_id)
    assert run.data.tags["stance.gate.decision"] == "held" and run.data.tags["stance.gate.previous_version"] == "1"
    assert (
        run.data.metrics["gate_ci_high"] < 0
        and run.data.metrics["gate_old_macro_f1"] > run.data.metrics["gate_new_macro_f1"]
    )

    forced = train(small_config(tmp_path, candidates=bad), dataset=data, force=True)
    assert str(client.get_model_version_by_alias("stance-classifier", "champion").version) == "3"
    assert client.get_run(forced.parent_run_id).data.tags["stance.gate.reason"] == "forced"

    lines.clear()
    other = make_dataset(n_docs=16)
    train(small_config(tmp_path, candidates=good), progress=lines.append, dataset=other)
    assert "gate: 'champion' moves to version 4: the test split changed" in lines
