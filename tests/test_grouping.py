"""CV grouped by episode beside CV grouped by document, per-register scores, and the cost-aware choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from training.train import make_splits, prepare, run_comparison

from trainkit import make_dataset, small_config

CANDIDATES = [
    {"name": "dummy", "features": "none", "classifier": "dummy"},
    {"name": "logreg-word", "features": "word", "classifier": "logreg"},
    {"name": "nb-word", "features": "word", "classifier": "complement_nb"},
    {
        "name": "logreg-hashing",
        "features": "embedding",
        "classifier": "logreg",
        "feature_params": {"encoder": "hashing"},
    },
]


@pytest.fixture(scope="module")
def episodic():
    """The tiny dataset with two documents per episode and two registers."""
    dsd, info = make_dataset(n_docs=24)
    for split in dsd:
        docs = dsd[split]["doc_id"]
        dsd[split] = (
            dsd[split]
            .remove_columns(["episode", "register"])
            .add_column("episode", [f"ep{int(d[3:]) // 2}" for d in docs])
            .add_column("register", ["op-ed" if int(d[3:]) % 2 else "news" for d in docs])
        )
    return prepare(dsd, info, "episodic")


def test_rows_carry_their_episode_and_register(episodic) -> None:
    assert episodic.episodes[:6].tolist() == ["ep0"] * 6
    assert set(episodic.registers.tolist()) == {"news", "op-ed"}
    plain = prepare(*make_dataset(n_docs=12), "plain")
    assert plain.episodes is None  # no episode recorded: episode grouping falls back to documents
    assert plain.groups("episode") is plain.docs


def test_episode_splits_never_cut_an_episode(episodic) -> None:
    splits = make_splits(episodic, folds=4, seed=1, grouping="episode")
    for train, held in splits:
        assert not set(episodic.episodes[train]) & set(episodic.episodes[held])
    by_doc = make_splits(episodic, folds=4, seed=1, grouping="document")
    # Grouped by document, the two documents of an episode can land on both sides.
    assert any(set(episodic.episodes[tr]) & set(episodic.episodes[te]) for tr, te in by_doc)


@pytest.fixture(scope="module")
def compared(episodic, tmp_path_factory):
    out = {}
    for grouping in ("episode", "document"):
        cfg = small_config(tmp_path_factory.mktemp(grouping), candidates=CANDIDATES, comparison={"grouping": grouping})
        out[grouping] = run_comparison(cfg, episodic)
    return out


def test_both_groupings_are_reported_and_the_configured_one_picks(compared) -> None:
    by_episode, by_document = compared["episode"], compared["document"]
    for result, grouping in ((by_episode, "episode"), (by_document, "document")):
        for e in result.entries:
            assert set(e.cv_by) == {"episode", "document"} and e.grouping == grouping
            assert e.cv == e.cv_by[grouping] and len(e.cv) == 6
            row = e.row()
            assert row["grouping"] == grouping
            assert row["cv_macro_f1_mean"] == row[f"cv_{grouping}_macro_f1_mean"]
    # The same folds give the same numbers whichever grouping picks.
    a = {e.key: e.row() for e in by_episode.entries}
    b = {e.key: e.row() for e in by_document.entries}
    for key in a:
        assert a[key]["cv_episode_macro_f1_mean"] == b[key]["cv_episode_macro_f1_mean"]
        assert a[key]["cv_document_macro_f1_mean"] == b[key]["cv_document_macro_f1_mean"]


def test_register_scores_come_from_out_of_fold_predictions(compared, episodic) -> None:
    from training import metrics

    for e in compared["episode"].entries:
        assert set(e.register_f1) == {"news", "op-ed"}
        assert all(0.0 <= v <= 1.0 for v in e.register_f1.values())
        assert e.row()["cv_register_macro_f1"] == e.register_f1
    dummy = next(e for e in compared["episode"].entries if e.key == "dummy")
    # The prior baseline predicts one class everywhere: macro-F1 is that of one class out of three.
    news = episodic.gold & (episodic.registers == "news")
    majority = max(set(episodic.labels[news].tolist()), key=episodic.labels[news].tolist().count)
    expected = metrics.macro_f1(episodic.labels[news].tolist(), [majority] * int(news.sum()))
    assert dummy.register_f1["news"] == pytest.approx(expected, abs=0.05)


def test_the_fastest_tied_candidate_can_be_chosen(episodic, tmp_path: Path) -> None:
    from training.train import compare

    cfg = small_config(tmp_path, candidates=CANDIDATES, comparison={"choose": "fastest_tied", "alpha": 0.05})
    entries = run_comparison(cfg, episodic).entries
    speeds = {"dummy": 1e9, "logreg-word": 10.0, "nb-word": 500.0, "logreg-hashing": 20.0}
    for e in entries:
        e.predict_per_second = speeds[e.key]
    champion = compare(entries, cfg, 0.25)
    tied = [e for e in entries if e.comparison["tied"] and not e.baseline]
    assert champion is max(tied, key=lambda e: e.predict_per_second)
    assert champion.comparison["is_champion"] and sum(e.comparison["is_champion"] for e in entries) == 1
    assert next(e for e in entries if e.comparison["is_best"]).comparison["tied"]
    best_only = compare(
        entries, cfg.model_copy(update={"comparison": cfg.comparison.model_copy(update={"choose": "best"})}), 0.25
    )
    assert best_only.comparison["is_best"] and best_only.comparison["is_champion"]
