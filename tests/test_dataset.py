import json
from pathlib import Path

import pytest
from training.config import DatasetConfig, SplitConfig, load_config
from training.dataset import build_dataset, load_built
from training.errors import StanceError

from seedkit import DOCS, make_seeds

# The shipped lexicons with larger held-out shares, so a nine-document corpus fills every split.
CFG = load_config("configs/dataset.yaml", DatasetConfig).model_copy(
    update={"split": SplitConfig(validation=0.2, test=0.2)}
)


@pytest.fixture()
def seeds(tmp_path: Path) -> Path:
    return make_seeds(tmp_path / "seeds")


def test_build_joins_gold_weak_labels_the_rest_and_saves_card(seeds: Path, tmp_path: Path) -> None:
    result = build_dataset(CFG, seeds=seeds, out=tmp_path / "ds")
    dd, info = load_built(tmp_path / "ds")
    assert dd["train"].features["label"].names == ["favor", "against", "neutral"]
    rows = [r for s in dd for r in dd[s]]
    gold = {(d, s): lab for d, _, _, sents in DOCS for s, lab in sents}
    names = dd["train"].features["label"].names
    for r in rows:
        if r["label_source"] == "gold":
            assert names[r["label"]] == gold[(r["doc_id"], r["text"])]
            assert r["confidence"] == 1.0
    assert sum(r["label_source"] == "gold" for r in rows) == len(gold)
    weak = [r for r in rows if r["label_source"] == "weak"]
    assert {r["doc_id"] for r in weak} == {"x01"} and all(0 < r["confidence"] <= 1 for r in weak)
    assert names[next(r for r in weak if r["text"].startswith("Cairo"))["label"]] == "favor"
    d03 = next(r for r in rows if r["doc_id"] == "d03")
    assert (d03["episode"], d03["register"]) == ("us-cuba", "news")
    assert info["fingerprint"] == result.fingerprint
    assert info["leakage"] == {"documents_in_several_splits": 0, "near_duplicates_across_splits": 0}
    assert info["agreement"]["kappa"] == pytest.approx(1.0)
    assert all(len(dd[s]) > 0 for s in dd)
    card = (tmp_path / "ds" / "README.md").read_text(encoding="utf-8")
    assert result.fingerprint in card and "Cohen's kappa **1.000**" in card and "| favor_cue |" in card
    docs_per_split = [{r["doc_id"] for r in dd[s]} for s in dd]
    assert not (
        docs_per_split[0] & docs_per_split[1]
        or docs_per_split[0] & docs_per_split[2]
        or docs_per_split[1] & docs_per_split[2]
    )


def test_fingerprint_is_stable_and_sensitive(seeds: Path, tmp_path: Path) -> None:
    a = build_dataset(CFG, seeds=seeds, out=tmp_path / "a").fingerprint
    b = build_dataset(CFG, seeds=seeds, out=tmp_path / "b").fingerprint
    assert a == b
    gold = seeds / "d01.gold.jsonl"
    gold.write_text(gold.read_text(encoding="utf-8").replace('"favor"', '"neutral"', 1), encoding="utf-8")
    c = build_dataset(CFG, seeds=seeds, out=tmp_path / "c").fingerprint
    assert c != a
    doc = seeds / "x01.txt"
    doc.write_text(doc.read_text(encoding="utf-8").replace("six", "seven"), encoding="utf-8")
    assert build_dataset(CFG, seeds=seeds, out=tmp_path / "d").fingerprint != c
    assert build_dataset(CFG.model_copy(update={"seed": 7}), seeds=seeds, out=tmp_path / "e").fingerprint != c


def test_near_duplicates_are_dropped_with_provenance(seeds: Path, tmp_path: Path) -> None:
    (seeds / "x02.txt").write_text("Riyadh and Tehran agreed to reopen embassies!\n", encoding="utf-8")
    dd, info = load_built(build_dataset(CFG, seeds=seeds, out=tmp_path / "ds").out)
    rows = [r for s in dd for r in dd[s]]
    kept = next(r for r in rows if r["text"] == "Riyadh and Tehran agreed to reopen embassies.")
    assert kept["duplicates"] == ["x02:0"]
    assert info["duplicates_dropped"] == 1 and not any(r["doc_id"] == "x02" for r in rows)


def test_unmatched_annotations_are_each_listed_and_old_dataset_survives(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    first = build_dataset(CFG, seeds=seeds, out=out).fingerprint
    with open(seeds / "d02.gold.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "A sentence nobody wrote.", "label": "favor"}) + "\n")
        fh.write(json.dumps({"text": "Another one.", "label": "against"}) + "\n")
    with pytest.raises(StanceError) as err:
        build_dataset(CFG, seeds=seeds, out=out)
    assert len(err.value.problems) == 2
    assert all(p.startswith("annotation matches no sentence: ") and "d02.gold.jsonl:" in p for p in err.value.problems)
    assert load_built(out)[1]["fingerprint"] == first
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []


def test_fingerprint_is_the_same_in_fresh_processes(seeds: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    prints = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / f"ds{hash_seed}"
        subprocess.run(
            [sys.executable, "-m", "training", "build-dataset", "--seeds", str(seeds), "--out", str(out)],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            check=True,
        )
        prints.add(load_built(out)[1]["fingerprint"])
    assert len(prints) == 1


def test_chunk_size_does_not_change_the_dataset(seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    from training.dataset import sentences

    whole = build_dataset(CFG, seeds=seeds, out=tmp_path / "whole")
    # Chunks of two sentences: every document straddles chunk boundaries.
    monkeypatch.setattr(sentences, "CHUNK", 2)
    small = build_dataset(CFG, seeds=seeds, out=tmp_path / "small")
    # The file digests are equal too: ``datasets`` saves the rows in batches of its own choosing.
    assert small.fingerprint == whole.fingerprint and small.info == whole.info
    a, b = datasets.load_from_disk(str(tmp_path / "whole")), datasets.load_from_disk(str(tmp_path / "small"))
    assert {s: a[s].to_dict() for s in a} == {s: b[s].to_dict() for s in b}
    # Scratch files of the build (spilled sentences and band keys) are gone.
    assert sorted(p.name for p in (tmp_path / "small").iterdir()) == [
        "README.md",
        "dataset_dict.json",
        "lf_analysis.csv",
        "stance_dataset.json",
        "test",
        "train",
        "validation",
    ]
    assert not list(tmp_path.glob(".small*"))


def test_the_card_reports_the_label_mix_per_episode_and_register(seeds: Path, tmp_path: Path) -> None:
    result = build_dataset(CFG, seeds=seeds, out=tmp_path / "ds")
    mix = result.info["label_mix"]
    # seedkit: two saudi-iran documents, each with one sentence of every label
    assert mix["episode"]["saudi-iran"] == {"against": 2, "favor": 2, "neutral": 2}
    assert mix["register"]["wire"] == {"against": 1, "favor": 1, "neutral": 1}
    card = (tmp_path / "ds" / "README.md").read_text(encoding="utf-8")
    assert "Label mix per episode" in card and "| saudi-iran | 6 | 33% | 33% | 33% |" in card
