"""Reliability: damaged datasets, odd encodings, crafted models and bad options, one line each.

Each case checks the one ``error:`` line, the exit code and that earlier files are unchanged.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from reliakit import invoke, jsonl, one_error, project, run_statuses, snapshot, train_config
from seedkit import make_seeds

EXPORT = ("models", "stance-classifier")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project(tmp_path_factory.mktemp("reliability-in") / "p")


@pytest.fixture()
def damaged(trained: Path, tmp_path: Path) -> Path:
    """A copy of the trained project's dataset, for a test to damage."""
    return Path(shutil.copytree(trained / "dataset", tmp_path / "dataset"))


def _train_refused(trained: Path, dataset: Path, match: str) -> None:
    before = snapshot(trained / "models")
    runs = run_statuses(trained)
    res = invoke("train", "--config", str(train_config(trained)), "--dataset", str(dataset))
    assert res.exit_code == 1
    one_error(res.stderr, match)
    assert snapshot(trained / "models") == before and run_statuses(trained) == runs


def _evaluate_refused(trained: Path, dataset: Path, match: str) -> None:
    res = invoke("evaluate", "--data", str(dataset), "--model", str(trained.joinpath(*EXPORT)))
    assert res.exit_code == 1
    one_error(res.stderr, match)


# ---------------------------------------------------------------- datasets are checked when loaded


def test_an_edited_arrow_file_is_refused_by_train(trained: Path, damaged: Path) -> None:
    arrow = damaged / "train" / "data-00000-of-00001.arrow"
    data = bytearray(arrow.read_bytes())
    at = data.find(b"Riyadh")
    data[at : at + 6] = b"Riyadx"
    arrow.write_bytes(bytes(data))
    _train_refused(trained, damaged, "dataset changed after it was built")


def test_a_truncated_arrow_file_is_refused_by_evaluate(trained: Path, damaged: Path) -> None:
    arrow = damaged / "test" / "data-00000-of-00001.arrow"
    arrow.write_bytes(arrow.read_bytes()[:100])
    _evaluate_refused(trained, damaged, "was changed")


def test_a_missing_split_file_is_refused(trained: Path, damaged: Path) -> None:
    (damaged / "validation" / "data-00000-of-00001.arrow").unlink()
    _train_refused(trained, damaged, "is missing")


def test_an_edited_split_state_is_refused(trained: Path, damaged: Path) -> None:
    state = damaged / "train" / "state.json"
    state.write_text(state.read_text(encoding="utf-8").replace("arrow", "arrow "), encoding="utf-8")
    _evaluate_refused(trained, damaged, "was changed")


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "invalid dataset info"),
        ('{"fingerprint": NaN, "files": {}}', "NaN is not valid JSON"),
        ("[1, 2]", "lacks its fingerprint"),
        ('{"fingerprint": "abc"}', "lacks its fingerprint or file digests"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_an_invalid_dataset_info_is_refused(trained: Path, damaged: Path, content: str | bytes, match: str) -> None:
    info = damaged / "stance_dataset.json"
    info.write_bytes(content if isinstance(content, bytes) else content.encode())
    _train_refused(trained, damaged, match)


def test_a_dataset_folder_without_info_is_refused(trained: Path, damaged: Path) -> None:
    (damaged / "stance_dataset.json").unlink()
    _evaluate_refused(trained, damaged, "not a stance dataset")


def test_files_added_to_a_dataset_later_are_ignored(trained: Path, damaged: Path) -> None:
    (damaged / "notes.txt").write_text("checked by hand\n", encoding="utf-8")
    # the train split: evaluation needs at least 15 sentences (one per confidence bin)
    res = invoke(
        "evaluate", "--data", str(damaged), "--split", "train", "--model", str(trained.joinpath(*EXPORT)), "--json"
    )
    assert res.exit_code == 0, res.output


# ---------------------------------------------------------------- encodings and control characters


def _build(seeds: Path, out: Path) -> object:
    return invoke("build-dataset", "--seeds", str(seeds), "--out", str(out))


def test_a_file_with_a_shift_jis_name_is_refused_with_the_offset(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    (seeds / "x02.txt").write_bytes("Talks resumed in Tokyo. The envoy 山田太郎 arrived on Monday.\n".encode("cp932"))
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 1
    line = one_error(res.stderr, "x02.txt is not UTF-8 (first invalid byte at offset 34)")
    assert "convert it to UTF-8" in line
    assert not (tmp_path / "ds").exists()


def test_genuine_cp1252_prose_is_read(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    prose = (
        "Le ministre a déclaré que l’ambassade rouvrirait «bientôt». Les négociations à Genève ont repris "
        "après l’été. Über die Rückkehr der Botschafter wird später entschieden.\n"
    )
    (seeds / "x02.txt").write_bytes(prose.encode("cp1252"))
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 0, res.output
    from training.dataset import load_built

    dsd, _ = load_built(tmp_path / "ds")
    texts = [t for s in dsd for t in dsd[s]["text"]]
    assert any("déclaré que l’ambassade" in t for t in texts)


@pytest.mark.parametrize("encoding", ["cp1251", "gbk"])
def test_other_legacy_encodings_are_refused(tmp_path: Path, encoding: str) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    text = {
        "cp1251": "Министр иностранных дел заявил о восстановлении отношений.",
        "gbk": "外交部发言人说两国将恢复外交关系。",
    }[encoding]
    (seeds / "x02.txt").write_bytes(f"Reports from the capital. {text}\n".encode(encoding))
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 1
    one_error(res.stderr, "x02.txt is not UTF-8")


def test_control_characters_never_reach_the_dataset(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    (seeds / "x02.txt").write_text(
        "Cairo\x07 and Ankara named\x1b ambassadors. The talks\x00 ran late.\n".replace("\x00", ""), encoding="utf-8"
    )
    jsonl(seeds / "x03.jsonl", [{"id": "r1", "text": "Doha and Manama\u0008 resumed flights.\u009b Officials met."}])
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 0, res.output
    from training.dataset import load_built

    dsd, _ = load_built(tmp_path / "ds")
    texts = [t for s in dsd for t in dsd[s]["text"]]
    assert any("named ambassadors" in t for t in texts)
    assert not [t for t in texts if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in t)]


def test_a_binary_file_without_nul_bytes_is_refused(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    (seeds / "x02.txt").write_bytes(bytes(range(1, 32)) * 50)
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 1
    one_error(res.stderr, "binary or unsupported file")


def test_a_non_utf8_agreement_file_is_one_line(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    (seeds / "agreement.jsonl").write_bytes(b'{"first": "favor", "second": "fav\xff"}\n')
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 1
    one_error(res.stderr, "agreement.jsonl has an invalid byte at offset")


def test_a_non_utf8_gold_file_is_one_line(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    (seeds / "d01.gold.jsonl").write_bytes(b'{"text": "Riyadh \xe9", "label": "favor"}\n')
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 1
    one_error(res.stderr, "d01.gold.jsonl")


def test_nan_in_a_gold_file_is_refused(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    (seeds / "d01.gold.jsonl").write_text(
        '{"text": "Riyadh and Tehran agreed to reopen embassies.", "label": "favor", "confidence": NaN}\n',
        encoding="utf-8",
    )
    res = _build(seeds, tmp_path / "ds")
    assert res.exit_code == 1
    one_error(res.stderr, "NaN is not valid JSON")


# ---------------------------------------------------------------- crafted model exports


@pytest.fixture()
def export_copy(trained: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained.joinpath(*EXPORT), tmp_path / "export"))


def _predict_refused(model: Path, match: str) -> None:
    res = invoke("predict", "--model", str(model), "A sentence.")
    assert res.exit_code == 1
    one_error(res.stderr, match)


@pytest.mark.parametrize("name", ["../model.skops", "/etc/passwd", "sub/model.skops", ".."])
def test_a_model_file_outside_the_export_is_refused(export_copy: Path, name: str) -> None:
    meta = export_copy / "metadata.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    data["model_file"] = name
    meta.write_text(json.dumps(data), encoding="utf-8")
    _predict_refused(export_copy, "outside the export folder")


def test_a_zip_bomb_model_is_refused_before_unpacking(export_copy: Path) -> None:
    bomb = export_copy / "model.skops"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("schema.json", "w", force_zip64=True) as fh:
        block = b" " * (1 << 20)
        for _ in range(300):  # 300 MiB of spaces: valid JSON padding, about 300 KiB packed
            fh.write(block)
    from training.persistence import sha256_file

    meta = export_copy / "metadata.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    data["sha256"] = sha256_file(bomb)
    meta.write_text(json.dumps(data), encoding="utf-8")
    _predict_refused(export_copy, "too large when unpacked")


def test_nan_in_model_metadata_is_refused(export_copy: Path) -> None:
    meta = export_copy / "metadata.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"labels"', '"score": NaN, "labels"', 1), encoding="utf-8")
    _predict_refused(export_copy, "NaN is not valid JSON")


# ---------------------------------------------------------------- options checked before any work


def test_an_unknown_tracking_scheme_is_refused_before_training(trained: Path) -> None:
    before = snapshot(trained / "models")
    res = invoke("train", "--config", str(train_config(trained)), "--tracking-uri", "mongodb://127.0.0.1/runs")
    assert res.exit_code == 1
    line = one_error(res.stderr, "unknown tracking URI scheme")
    assert "postgresql://" in line
    assert snapshot(trained / "models") == before


def test_jobs_beyond_the_cores_are_capped_with_a_warning(trained: Path, tmp_path: Path) -> None:
    from training.predict_pool import usable_cores

    big = tmp_path / "in.txt"
    big.write_text("Ankara and Yerevan agreed to open the border.\n" * 50, encoding="utf-8")
    res = invoke(
        "predict",
        "--model",
        str(trained.joinpath(*EXPORT)),
        "--input",
        str(big),
        "--output",
        str(tmp_path / "out.jsonl"),
        "--jobs",
        "1000",
        "--batch-size",
        "5",
    )
    assert res.exit_code == 0, res.output
    assert f"warning: --jobs 1000 is more than the {usable_cores()} usable cores" in res.stderr
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 50


@pytest.mark.parametrize(
    "args, match",
    [
        (("predict", "--model", "/nonexistent/model", "A sentence."), "model not found"),
        (("predict", "--batch-size", "0", "A sentence."), "invalid --batch-size 0"),
        (("predict", "--jobs", "0", "A sentence."), "invalid --jobs 0"),
        (("evaluate", "--data", "/nonexistent/data.jsonl"), "not found"),
        (
            ("build-dataset", "--seeds", "/nonexistent/seeds", "--out", "/tmp/stance-never-written"),
            "/nonexistent/seeds",
        ),
        (("train", "--dataset", "/nonexistent/dataset"), "dataset not found"),
    ],
)
def test_missing_inputs_and_bad_numbers_are_one_line(args: tuple[str, ...], match: str) -> None:
    res = invoke(*args)
    assert res.exit_code == 1
    one_error(res.stderr, match)


def test_an_unknown_config_key_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "train.yaml"
    cfg.write_text("seed: 1\ncv:\n  foldz: 3\n", encoding="utf-8")
    res = invoke("train", "--config", str(cfg))
    assert res.exit_code == 1
    one_error(res.stderr, "foldz")


def test_a_non_utf8_predict_input_is_one_line(trained: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(b"A first line.\nA second \xff line.\n")
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n", encoding="utf-8")
    res = invoke("predict", "--model", str(trained.joinpath(*EXPORT)), "--input", str(src), "--output", str(out))
    assert res.exit_code == 1
    one_error(res.stderr, "in.txt:2")
    assert out.read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl"]
