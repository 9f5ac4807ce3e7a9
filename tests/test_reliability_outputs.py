"""Reliability: no command replaces or deletes a path it did not write.

Each case checks the one ``error:`` line, the exit code and that earlier files are unchanged.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reliakit import (
    REPO,
    can_mount,
    champion_version,
    invoke,
    one_error,
    project,
    run,
    run_statuses,
    small_tmpfs,
    snapshot,
    train_config,
)
from seedkit import make_seeds


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project(tmp_path_factory.mktemp("reliability") / "p")


@pytest.fixture()
def seeds(tmp_path: Path) -> Path:
    return make_seeds(tmp_path / "corpus" / "seeds")


# ---------------------------------------------------------------- build-dataset --out


def _refused_build(seeds: Path, out: str, match: str, *watch: Path) -> None:
    before = snapshot(*watch)
    res = invoke("build-dataset", "--seeds", str(seeds), "--out", out)
    assert res.exit_code == 1
    one_error(res.stderr, match)
    assert snapshot(*watch) == before


def test_out_equal_to_the_seeds_is_refused(seeds: Path) -> None:
    _refused_build(seeds, str(seeds), "overlaps the input", seeds)


def test_out_above_the_seeds_is_refused(seeds: Path) -> None:
    _refused_build(seeds, str(seeds.parent), "overlaps the input", seeds.parent)


def test_out_inside_the_seeds_is_refused(seeds: Path) -> None:
    _refused_build(seeds, str(seeds / "built"), "overlaps the input", seeds)


def test_out_at_a_folder_stance_did_not_write_is_refused(seeds: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "draft.txt").write_text("my notes\n", encoding="utf-8")
    _refused_build(seeds, str(notes), "did not write", notes, seeds)


def test_out_at_a_regular_file_is_refused(seeds: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("keep me\n", encoding="utf-8")
    _refused_build(seeds, str(target), "is not a folder", target)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.txt")]


def test_out_at_a_symlink_is_refused(seeds: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("a\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(real)
    _refused_build(seeds, str(tmp_path / "link"), "symlink", real, tmp_path / "link")


@pytest.mark.parametrize("out", [".", "/", ""])
def test_out_naming_no_folder_is_refused(seeds: Path, out: str) -> None:
    _refused_build(seeds, out, "--out", seeds)


def test_out_below_a_regular_file_is_one_line(seeds: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x\n", encoding="utf-8")
    _refused_build(seeds, str(blocker / "ds"), "cannot create", blocker)


def test_out_under_proc_is_one_line(seeds: Path) -> None:
    _refused_build(seeds, "/proc/stance-test/ds", "cannot create", seeds)


def test_out_at_an_empty_folder_or_an_earlier_dataset_is_replaced(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    for _ in range(2):  # an empty folder, then the dataset written by the first build
        res = invoke("build-dataset", "--seeds", str(seeds), "--out", str(out))
        assert res.exit_code == 0, res.output
        assert (out / "stance_dataset.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "empty"]  # no scratch left


# ---------------------------------------------------------------- train --export-dir


def _refused_train(trained: Path, export_dir: Path | str, match: str, *watch: Path) -> None:
    before = snapshot(trained / "models", *watch)
    runs_before = run_statuses(trained)
    res = invoke("train", "--config", str(train_config(trained)), "--export-dir", str(export_dir))
    assert res.exit_code == 1
    one_error(res.stderr, match)
    assert snapshot(trained / "models", *watch) == before
    assert run_statuses(trained) == runs_before  # refused before any run was opened


def test_export_dir_at_a_user_folder_is_refused(trained: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("chapter one\n", encoding="utf-8")
    _refused_train(trained, mine, "did not write", mine)


def test_export_dir_at_the_dataset_is_refused(trained: Path) -> None:
    _refused_train(trained, trained / "dataset", "overlaps the input", trained / "dataset")


def test_export_dir_at_a_regular_file_is_refused(trained: Path, tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"\x00\x01")
    _refused_train(trained, target, "is not a folder", target)


# ---------------------------------------------------------------- predict --output


def _predict_to(trained: Path, output: str, *extra: str) -> object:
    return invoke(
        "predict",
        "--model",
        str(trained / "models" / "stance-classifier"),
        "--output",
        output,
        "Riyadh reopened its embassy in Damascus.",
        *extra,
    )


def test_output_dev_null_stays_a_device(trained: Path) -> None:
    res = _predict_to(trained, "/dev/null")
    assert res.exit_code == 0, res.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_output_at_a_device_node_is_written_in_place(trained: Path, tmp_path: Path) -> None:
    node = tmp_path / "null-copy"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    res = _predict_to(trained, str(node))
    assert res.exit_code == 0, res.output
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null-copy"]


def test_output_through_a_symlink_keeps_the_link(trained: Path, tmp_path: Path) -> None:
    target = tmp_path / "labels.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    res = _predict_to(trained, str(link))
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert '"label"' in target.read_text(encoding="utf-8")


def test_output_to_a_fifo_is_written_in_place(trained: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    res = _predict_to(trained, str(fifo))
    reader.join(timeout=60)
    assert res.exit_code == 0, res.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and '"label"' in got[0]


@pytest.mark.parametrize("output, match", [(".", "names a folder"), ("", "names a folder"), ("/", "names a folder")])
def test_output_naming_a_folder_is_refused(trained: Path, output: str, match: str) -> None:
    res = _predict_to(trained, output)
    assert res.exit_code == 1
    one_error(res.stderr, match)


def test_output_at_a_directory_is_refused(trained: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    res = _predict_to(trained, str(tmp_path))
    assert res.exit_code == 1
    one_error(res.stderr, "is a directory")
    assert snapshot(tmp_path) == before


def test_output_below_a_regular_file_is_one_line(trained: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x\n", encoding="utf-8")
    res = _predict_to(trained, str(blocker / "out.jsonl"))
    assert res.exit_code == 1
    one_error(res.stderr, "cannot write")
    assert blocker.read_text(encoding="utf-8") == "x\n"


def test_output_under_proc_is_one_line(trained: Path) -> None:
    res = _predict_to(trained, "/proc/stance-test/out.jsonl")
    assert res.exit_code == 1
    one_error(res.stderr, "cannot write")


def test_standard_output_on_a_full_device_is_one_line(trained: Path) -> None:
    with open("/dev/full", "w") as full:
        done = run(
            "predict", "--model", str(trained / "models" / "stance-classifier"), "A sentence to label.", stdout=full
        )
    assert done.returncode == 1
    one_error(done.stderr, "no space left")


# ---------------------------------------------------------------- full disks


def _fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to its last block."""
    with open(folder / "filler", "wb", buffering=0) as fh, pytest.raises(OSError):
        while True:
            fh.write(b"\0" * 4096)


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root on Linux")
def test_predict_on_a_full_disk_keeps_the_earlier_output(trained: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "64k") as small:
        out = small / "labels.jsonl"
        out.write_text("earlier\n", encoding="utf-8")
        big = tmp_path / "big.txt"
        big.write_text("Ankara and Yerevan agreed to open the border.\n" * 4000, encoding="utf-8")
        res = invoke(
            "predict",
            "--model",
            str(trained / "models" / "stance-classifier"),
            "--input",
            str(big),
            "--output",
            str(out),
            "--jobs",
            "1",
        )
        assert res.exit_code == 1
        one_error(res.stderr, "no space left")
        assert out.read_text(encoding="utf-8") == "earlier\n"
        assert [p.name for p in small.iterdir()] == ["labels.jsonl"]  # no temp file left


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root on Linux")
def test_build_on_a_full_disk_keeps_the_earlier_dataset(trained: Path, seeds: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "1m") as small:
        first = invoke("build-dataset", "--seeds", str(seeds), "--out", str(small / "ds"))
        assert first.exit_code == 0, first.output
        _fill(small)
        before = snapshot(small)
        res = invoke("build-dataset", "--seeds", str(seeds), "--out", str(small / "ds"))
        assert res.exit_code == 1
        one_error(res.stderr, "no space left")
        assert snapshot(small) == before


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root on Linux")
def test_export_on_a_full_disk_leaves_the_alias_and_closes_the_run(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    version = champion_version(root)
    with small_tmpfs(tmp_path / "small", "64k") as small:
        _fill(small)
        res = invoke("train", "--config", str(train_config(root, export_dir=str(small / "export"))))
    assert res.exit_code == 1
    one_error(res.stderr, "no space left", progress=True)
    assert champion_version(root) == version
    assert "RUNNING" not in run_statuses(root) and "FAILED" in run_statuses(root)


def test_python_dash_m_reports_usage_errors_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "training", "predict", "--batch-size", "many"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2
    one_error(done.stderr, "Invalid value for '--batch-size'")
