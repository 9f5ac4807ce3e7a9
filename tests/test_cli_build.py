import subprocess
import sys
from pathlib import Path

import pytest
from training.cli import app
from typer.testing import CliRunner

from seedkit import make_seeds

runner = CliRunner()


def build(*args: str) -> "object":
    return runner.invoke(app, ["build-dataset", *args])


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, Path, str]:
    seeds = make_seeds(tmp_path / "seeds")
    out = tmp_path / "ds"
    result = build("--seeds", str(seeds), "--out", str(out))
    assert result.exit_code == 0, result.output
    return seeds, out, (out / "stance_dataset.json").read_text(encoding="utf-8")


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom training.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0, r.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mlflow', 'sklearn', 'datasets', 'pandas', 'matplotlib'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_python_dash_m_is_the_same_command() -> None:
    res = subprocess.run([sys.executable, "-m", "training", "--help"], capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "build-dataset" in res.stdout


def test_build_prints_summary(built: tuple[Path, Path, str]) -> None:
    seeds, out, _ = built
    result = build("--seeds", str(seeds), "--out", str(out))
    assert result.exit_code == 0
    assert "labelling functions against gold" in result.output
    assert "leakage: 0 documents and 0 near-duplicate pairs" in result.output
    assert "agreement: Cohen's kappa 1.000" in result.output


def _fails_cleanly(result: "object", pattern: str, out: Path, before: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and __import__("re").search(pattern, lines[0]), result.output
    assert (out / "stance_dataset.json").read_text(encoding="utf-8") == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_missing_and_empty_seed_folders(built: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, out, before = built
    _fails_cleanly(
        build("--seeds", str(tmp_path / "absent"), "--out", str(out)),
        r"seeds directory not found: .*absent",
        out,
        before,
    )
    (tmp_path / "empty").mkdir()
    _fails_cleanly(
        build("--seeds", str(tmp_path / "empty"), "--out", str(out)), r"no documents in .*empty", out, before
    )


def test_binary_file(built: tuple[Path, Path, str]) -> None:
    seeds, out, before = built
    (seeds / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    _fails_cleanly(
        build("--seeds", str(seeds), "--out", str(out)), r"binary or unsupported file: .*photo\.txt", out, before
    )


def test_unreadable_file(built: tuple[Path, Path, str]) -> None:
    import os

    seeds, out, before = built
    locked = seeds / "locked.txt"
    locked.write_text("Some text.", encoding="utf-8")
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads anything; use a path that cannot be read as a file
        locked.chmod(0o644)
        locked.unlink()
        locked.mkdir()
        (seeds / "dangling.txt").symlink_to(seeds / "nowhere.txt")
        pattern = r"cannot read .*dangling\.txt"
    else:
        pattern = r"cannot read .*locked\.txt"
    _fails_cleanly(build("--seeds", str(seeds), "--out", str(out)), pattern, out, before)


def test_malformed_jsonl_document(built: tuple[Path, Path, str]) -> None:
    seeds, out, before = built
    (seeds / "rows.jsonl").write_text('{"text": "Fine."}\n{"text": \n', encoding="utf-8")
    _fails_cleanly(build("--seeds", str(seeds), "--out", str(out)), r"malformed JSON: .*rows\.jsonl:2", out, before)


def test_unknown_label_in_annotation(built: tuple[Path, Path, str]) -> None:
    seeds, out, before = built
    gold = seeds / "d01.gold.jsonl"
    gold.write_text(gold.read_text(encoding="utf-8").replace('"neutral"', '"neutrall"'), encoding="utf-8")
    _fails_cleanly(
        build("--seeds", str(seeds), "--out", str(out)),
        r"unknown label 'neutrall': .*d01\.gold\.jsonl:2 \(use one of favor, against, neutral\)",
        out,
        before,
    )


def test_invalid_config(built: tuple[Path, Path, str], tmp_path: Path) -> None:
    seeds, out, before = built
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("seed: 3\nsplitt:\n  test: 0.2\n", encoding="utf-8")
    _fails_cleanly(
        build("--config", str(cfg), "--seeds", str(seeds), "--out", str(out)),
        r"bad\.yaml:2: unknown key 'splitt'; did you mean 'split'\?",
        out,
        before,
    )


def test_hf_dataset_saved_locally(tmp_path: Path) -> None:
    import datasets

    rows = {
        "body": [
            "Riyadh reopened its embassy in Damascus. The weather was mild.",
            "Washington will not normalize relations. Talks were held in Geneva.",
        ]
        * 3
    }
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "hf"))
    out = tmp_path / "ds"
    result = build("--hf", str(tmp_path / "hf"), "--text-column", "body", "--out", str(out))
    assert result.exit_code == 0, result.output
    dd = datasets.load_from_disk(str(out))
    assert {r["label_source"] for s in dd for r in dd[s]} == {"weak"}
