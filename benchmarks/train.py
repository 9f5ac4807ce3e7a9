"""``stance train`` on the seed dataset: wall time, and the share of it spent logging to MLflow.

The run uses the project's ``configs/train.yaml`` with three keys pointed into the scratch
folder (the dataset built from seeds/ in this run, the export directory, the tracking store),
so the user's ``models/`` and ``mlflow.db`` are never touched. All repeats share one SQLite
store, as a user's runs do; only the first pays for creating it. The time in MLflow is the
command's own count (``training.tracking.Tracker`` times every call it makes into MLflow and
records the sum on the parent run), read back from the store after each run and set against
the wall time measured here. That count covers the calls into MLflow only: writing the
candidates' artifact files, drawing the leaderboard chart (matplotlib) and asking git for the
commit are the command's own work and fall outside it. Most MLflow calls run while the workers
train, so a second row gives the part of them that no training overlapped: the seconds MLflow
adds to the user's wait.

``train.fold_features`` decides whether ``training.classifiers.FoldFeatures`` earns its place:
the CV of the configured TF-IDF candidates (search and scoring, as ``stance train`` runs them)
with the n-gram counts computed once and shared by every fold, against the same CV with the
scikit-learn extractor fitted on each fold, both in one process, interleaved.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from benchmarks.context import Context
from benchmarks.measure import Row, median, mib, ratio, run, stance_exe

MAX_SECONDS, MAX_SHARE = 120.0, 10.0  # issue 4

# `stance train` times every call into MLflow itself (training.tracking.Tracker) and records
# the sum on the parent run as the metrics seconds_mlflow and seconds_total: read them back.
_READ_TIMING = """
import json, sys
import mlflow
client = mlflow.MlflowClient(sys.argv[1])
exp = client.get_experiment_by_name(sys.argv[2])
runs = client.search_runs([exp.experiment_id], filter_string="metrics.seconds_mlflow >= 0",
                          order_by=["attributes.start_time DESC"], max_results=1)
m = runs[0].data.metrics
steps = {k.removeprefix("seconds_mlflow_"): v for k, v in m.items() if k.startswith("seconds_mlflow_")}
print(json.dumps({"run_id": runs[0].info.run_id, "mlflow": m["seconds_mlflow"], "total": m["seconds_total"],
                  "steps": steps}))
"""


# MLflow's fixed cost, alone in a quiet process: the import, then opening the store and registry
# the way `stance train` opens them (training.tracking.Tracker.open), without logging anything.
_FLOOR = """
import json, sys, time
t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
client = mlflow.MlflowClient(sys.argv[1])
client.search_registered_models(max_results=1)
client.get_experiment_by_name(sys.argv[2])
print(json.dumps({"import": t1 - t0, "open": time.perf_counter() - t1}))
"""


# The CV of the TF-IDF candidates, timed with shared counts (training.train.protocol.Features)
# and with scikit-learn's vectorizer fitted per fold; run in a fresh process, one BLAS thread as
# in a worker. Prints the seconds of each side per repeat and whether their scores are equal.
_FOLD_FEATURES = """
import json, sys, time
from sklearn.base import clone
from threadpoolctl import threadpool_limits
from training import classifiers as reg
from training.dataset import load_built
from training.train import Entry, prepare
from training.train.plan import all_splits
from training.train.protocol import Features, cross_validate
from training.config import load_config
from training.train_config import TrainConfig

class PerFold(Features):
    def get(self, features, params, split_id, rows, held, mode):
        key = (features, repr(sorted(params.items())), split_id, mode)
        if key not in self._folds:
            ext = clone(reg.build_features(features, params))
            xtr = ext.fit_transform([self.data.texts[i] for i in rows])
            self._folds[key] = (xtr, ext.transform([self.data.texts[i] for i in held]))
        return self._folds[key]

cfg = load_config(sys.argv[1], TrainConfig)
data = prepare(*load_built(cfg.dataset), cfg.dataset)
cands = sorted((c for c in cfg.candidates if c.features in ("word", "char", "word_char", "negation")),
               key=lambda c: c.features)
_, search, scoring = all_splits(cfg, data)

def cv(make):
    feats, scores = make(data), []
    t0 = time.perf_counter()
    for cand in cands:
        feats.keep_only(cand.features)
        entry = Entry(key=cand.name, candidate=cand, mode="gold")
        cross_validate(entry, data, feats, search, scoring, cfg)
        scores.append(entry.cv_by)
    return time.perf_counter() - t0, scores

out = {"shared": [], "per_fold": [], "same": True, "candidates": [c.name for c in cands]}
with threadpool_limits(limits=1):
    for _ in range(int(sys.argv[2])):
        a, sa = cv(Features)
        b, sb = cv(PerFold)
        out["shared"].append(a)
        out["per_fold"].append(b)
        out["same"] = out["same"] and json.dumps(sa) == json.dumps(sb)
print(json.dumps(out))
"""

MIN_GAIN = 1.2  # below this the shared counts are not worth their own TF-IDF code


def _fold_features_row() -> Row:
    """The empty ``train.fold_features`` row."""
    return Row(
        "train.fold_features",
        "CV of the TF-IDF candidates with n-gram counts shared by the folds (classifiers.FoldFeatures)",
        unit="s",
        reference_what="the same CV with scikit-learn's TfidfVectorizer fitted on each fold",
        target=f">= {MIN_GAIN}x faster",
        command="python -c FOLD_FEATURES train.yaml (in one process, interleaved)",
    )


def measure_fold_features(ctx: Context, config: Path, row: Row) -> None:
    """Fill ``row``: seconds of the TF-IDF candidates' CV with shared counts, against per-fold fitting."""
    try:
        r = run([sys.executable, "-c", _FOLD_FEATURES, str(config), str(ctx.sizes.train_repeats)], cwd=ctx.work)
        got = json.loads(r.stdout.strip().splitlines()[-1])
        row.value, row.reference = median(got["shared"]), median(got["per_fold"])
        row.ratio = ratio(row.reference, row.value)
        row.extra["reference_unit"] = "s"
        row.ok = row.ratio is not None and row.ratio >= MIN_GAIN and got["same"]
        row.runs = len(got["shared"])
        row.note = f"speed-up {row.ratio:.2f}x (per-fold / shared) over {len(got['candidates'])} candidates; " + (
            "same scores on both sides" if got["same"] else "SCORES DIFFER between the two sides"
        )
    except Exception as exc:
        row.failed(str(exc))


def _config(ctx: Context, dataset: Path, export: Path) -> tuple[Path, str]:
    """The project's train config with dataset and export moved into the scratch folder."""
    import yaml

    src = ctx.root / "configs" / "train.yaml"
    cfg: dict[str, Any] = (yaml.safe_load(src.read_text(encoding="utf-8")) or {}) if src.exists() else {}
    cfg["dataset"] = str(dataset)
    cfg["export_dir"] = str(export)
    cfg.setdefault("tracking", {}).pop("uri", None)  # the store comes from MLFLOW_TRACKING_URI below
    if ctx.sizes.train_quick:
        # Smoke test only: two cheap candidates and the smallest CV, enough to exercise every step.
        from training.train_config import TrainConfig

        listed = cfg.get("candidates") or [
            c.model_dump(mode="json", exclude_defaults=True) | {"name": c.name} for c in TrainConfig().candidates
        ]
        cfg["candidates"] = [c for c in listed if c.get("name") in ("dummy", "logreg-word")] or listed[:2]
        cfg["cv"] = {**cfg.get("cv", {}), "folds": 3, "repeats": 1}
        cfg["training_data"] = "gold"
    path = ctx.work / "train.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path, str(cfg.get("tracking", {}).get("experiment") or "stance")


def _timing(ctx: Context, uri: str, experiment: str) -> dict[str, Any]:
    """seconds_mlflow and seconds_total of the latest parent run in the store."""
    r = run([sys.executable, "-c", _READ_TIMING, uri, experiment], cwd=ctx.work)
    return json.loads(r.stdout.strip().splitlines()[-1])


def rows(ctx: Context) -> list[Row]:
    """Run ``stance train`` ``train_repeats`` times; report the median wall time and logging share."""
    wall = Row(
        "train.wall",
        "`stance train` on the seed dataset, wall time",
        unit="s",
        target=f"<= {MAX_SECONDS:.0f} s",
        command="stance train --config configs/train.yaml",
    )
    share = Row(
        "train.mlflow_share",
        "share of `stance train` spent in MLflow logging",
        unit="%",
        reference_what="time in MLflow calls",
        target=f"<= {MAX_SHARE:.0f} %",
        command="stance train (its own timing of the tracking calls)",
    )
    added = Row(
        "train.mlflow_added",
        "share of `stance train` wall time that MLflow adds (calls not overlapped by training)",
        unit="%",
        reference_what="seconds of MLflow calls while no worker trained",
        target="(information)",
        command="stance train (its own timing: seconds_mlflow_not_overlapped)",
    )
    floor = Row(
        "train.mlflow_floor",
        "MLflow's fixed cost alone (import, open the store), as a share of `stance train`",
        unit="%",
        reference_what="seconds in a quiet process that only imports mlflow and opens the store",
        target="(information)",
        command="python -c FLOOR sqlite:///mlflow.db (after the train runs)",
    )
    fold = _fold_features_row()
    out = [wall, share, added, floor, fold]
    dataset = ctx.seed_dataset or (ctx.root / "data" / "dataset")
    if not (dataset / "stance_dataset.json").is_file():
        return [r.failed(f"no seed dataset at {dataset} (the build section failed or did not run)") for r in out]
    export = ctx.work / "export"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{ctx.work / 'mlflow.db'}"}
    try:
        config, experiment = _config(ctx, dataset, export)
        runs, timings = [], []
        for _ in range(ctx.sizes.train_repeats):
            r = run([*stance_exe(), "train", "--config", str(config)], env=env, cwd=ctx.work, timeout=3600)
            runs.append(r)
            timings.append(_timing(ctx, env["MLFLOW_TRACKING_URI"], experiment))
        ctx.export = export if (export / "metadata.json").is_file() else None
        wall.value = median([r.seconds for r in runs])
        wall.ok = wall.value <= MAX_SECONDS
        wall.runs = len(runs)
        wall.note = f"peak RSS {mib(median([r.peak_rss for r in runs])):.0f} MiB; both cores"
        if ctx.sizes.train_quick:
            wall.note += "; --quick: two candidates, 3-fold CV, one repeat (not the real comparison)"
        # The share of the wall time measured here, not of the command's own total (which
        # starts after its imports): the larger denominator is the user's view.
        shares = [100.0 * t["mlflow"] / r.seconds for t, r in zip(timings, runs)]
        share.value = median(shares)
        share.reference = median([t["mlflow"] for t in timings])
        share.extra["reference_unit"] = "s"
        share.ok = share.value <= MAX_SHARE
        share.runs = len(runs)
        share.note = (
            f"MLflow calls {share.reference:.1f} s (median); the command's own total "
            f"{median([t['total'] for t in timings]):.1f} s of {wall.value:.1f} s wall; "
            f"{100 * median([t['mlflow'] / t['total'] for t in timings]):.1f} % of its own total"
        )
        alone = [float((t.get("steps") or {}).get("not_overlapped", float("nan"))) for t in timings]
        if not any(math.isnan(a) for a in alone):
            added.value = median([100.0 * a / r.seconds for a, r in zip(alone, runs)])
            added.reference = median(alone)
            added.extra["reference_unit"] = "s"
            added.runs = len(runs)
        # Where the MLflow time goes, by step, in the run whose share is the median.
        mid = sorted(range(len(shares)), key=lambda i: shares[i])[len(shares) // 2]
        steps = timings[mid].get("steps") or {}
        if steps:
            share.note += "; by step: " + ", ".join(
                f"{k} {v:.1f} s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])
            )
            share.extra["steps"] = steps
        quiet = [
            json.loads(
                run([sys.executable, "-c", _FLOOR, env["MLFLOW_TRACKING_URI"], experiment], cwd=ctx.work)
                .stdout.strip()
                .splitlines()[-1]
            )
            for _ in range(ctx.sizes.train_repeats)
        ]
        floor.reference = median([q["import"] + q["open"] for q in quiet])
        floor.extra["reference_unit"] = "s"
        floor.value = 100.0 * floor.reference / wall.value
        floor.runs = len(quiet)
        floor.note = (
            f"import mlflow {median([q['import'] for q in quiet]):.2f} s, open the store "
            f"{median([q['open'] for q in quiet]):.2f} s, with no training beside it; the 10 % of the "
            f"wall time above leaves {max(0.0, MAX_SHARE / 100 * wall.value - floor.reference):.1f} s "
            "for everything else MLflow does"
        )
    except Exception as exc:
        for row in (wall, share, added, floor):
            if row.value is None:
                row.failed(str(exc))
    config = ctx.work / "train.yaml"  # written by _config above; measured after the train runs, on their data
    if config.is_file():
        measure_fold_features(ctx, config, fold)
    else:
        fold.failed("no train config (writing it failed)")
    return out
