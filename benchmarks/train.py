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
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.context import Context
from benchmarks.measure import Row, median, mib, run, stance_exe

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
    out = [wall, share, added, floor]
    dataset = ctx.seed_dataset or (ctx.root / "data" / "dataset")
    if not (dataset / "stance_dataset.json").is_file():
        return [r.failed(f"no seed dataset at {dataset} (the build section failed or did not run)") for r in out]
    export = ctx.work / "export"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{ctx.work / 'mlflow.db'}"}
    try:
        config, experiment = _config(ctx, dataset, export)
        runs, timings = [], []
        for _ in range(ctx.sizes.train_repeats):
            r = run(stance_exe() + ["train", "--config", str(config)], env=env, cwd=ctx.work, timeout=3600)
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
        if all(a == a for a in alone):
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
        for row in out:
            if row.value is None:
                row.failed(str(exc))
    return out
