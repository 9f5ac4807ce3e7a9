"""``stance train`` and ``stance predict`` on a Dask cluster of this machine against the local pool.

Two clusters run side by side on 127.0.0.1 for the whole section, one with one worker and one
with two, each worker a single thread (``training.services``). Every repeat runs the three
sides in turn, fresh processes each time, after one unmeasured short run of each side (two
candidates) that starts the workers' imports and warms the file cache. The comparison is the
project's ``configs/train.yaml`` on the seed dataset with one scoring repeat of the CV instead
of three (the search and one repeat: 10 fits per grid point and candidate), so that the nine
runs of the section fit in a benchmark run; the sides:

- local: ``stance train`` with its default pool (``n_jobs`` worker processes);
- ``--cluster`` with one worker: the cost of handing the work to Dask (the overhead row);
- ``--cluster`` with two workers: the speed-up over one worker, and the serial fraction
  ``s = 2 T2 / T1 - 1`` (Amdahl's law for two workers), from which docs/scaling.md models N
  machines.

Prediction: ``stance predict --cluster`` (two workers) against the local pool on the same
generated file, sentences per second. All sides share one SQLite tracking store, so MLflow
costs the same on each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.context import Context, champion
from benchmarks.measure import Row, median, ratio, run, stance_exe


def _clusters(ctx: Context) -> tuple[Any, Any]:
    from training.services import start_cluster

    one = start_cluster(ctx.work / "dask-1", workers=1)
    try:
        two = start_cluster(ctx.work / "dask-2", workers=2)
    except BaseException:
        one.stop()
        raise
    return one, two


def _train_rows() -> tuple[Row, Row, Row]:
    cmd = "stance train --config configs/train.yaml"
    one = Row(
        "cluster.train_1",
        "`stance train --cluster`, one single-threaded Dask worker, wall time",
        unit="s",
        reference_what="`stance train` with its local pool (n_jobs processes)",
        target="(information)",
        command=f"{cmd} --cluster tcp://127.0.0.1:PORT",
    )
    two = Row(
        "cluster.train_2",
        "`stance train --cluster`, two single-threaded Dask workers, wall time",
        unit="s",
        reference_what="`stance train` with its local pool (n_jobs processes)",
        target="(information)",
        command=f"{cmd} --cluster tcp://127.0.0.1:PORT",
    )
    speedup = Row(
        "cluster.speedup",
        "speed-up of two workers over one, and the serial fraction",
        unit="x",
        reference_what="wall time with one worker",
        target="(information)",
        command="T1 / T2 of the two rows above",
    )
    return one, two, speedup


def rows(ctx: Context) -> list[Row]:
    """Train with the local pool, one and two workers; predict locally and on the cluster."""
    from benchmarks.train import _config

    one, two, speedup = _train_rows()
    n = ctx.sizes.batch_lines
    predict = Row(
        "cluster.predict",
        f"`stance predict --cluster` (two workers) on {n:,} generated sentences",
        unit="sentences/s",
        reference_what="the same command with its local pool (--jobs default)",
        target="(information)",
        command="stance predict --model EXPORT --input GENERATED.txt --output OUT --cluster tcp://127.0.0.1:PORT",
    )
    out = [one, two, speedup, predict]
    dataset = ctx.seed_dataset or (ctx.root / "data" / "dataset")
    if not (dataset / "stance_dataset.json").is_file():
        return [r.failed(f"no seed dataset at {dataset} (the build section failed or did not run)") for r in out]
    try:
        clusters = _clusters(ctx)
    except Exception as exc:
        return [r.failed(f"could not start the Dask clusters: {exc}") for r in out]
    try:
        export = ctx.work / "cluster-export"
        config, _ = _config(ctx, dataset, export)
        _measure_train(ctx, config, clusters, (one, two, speedup))
        if ctx.export is None and (export / "metadata.json").is_file():
            ctx.export = export
        _measure_predict(ctx, clusters[1].address, predict)
    finally:
        for cluster in clusters:
            cluster.stop()
    return out


def _measure_train(ctx: Context, config: Path, clusters: tuple[Any, Any], out: tuple[Row, Row, Row]) -> None:
    one, two, speedup = out
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{ctx.work / 'mlflow-cluster.db'}"}
    config, warm = _variants(config)
    base = [*stance_exe(), "train", "--config", str(config)]
    sides = {
        "local": base,
        "one": [*base, "--cluster", clusters[0].address],
        "two": [*base, "--cluster", clusters[1].address],
    }
    try:
        if not ctx.sizes.train_quick:
            for cmd in sides.values():  # warm-up: imports on the workers, the file cache, the store's tables
                warm_cmd = [*stance_exe(), "train", "--config", str(warm), *cmd[len(base) :]]
                run(warm_cmd, env=env, cwd=ctx.work, timeout=3600)
        seconds: dict[str, list[float]] = {k: [] for k in sides}
        for _ in range(ctx.sizes.cluster_repeats):
            for key, cmd in sides.items():
                seconds[key].append(run(cmd, env=env, cwd=ctx.work, timeout=3600).seconds)
    except Exception as exc:
        for row in out:
            row.failed(str(exc))
        return
    local, t1, t2 = (median(seconds[k]) for k in ("local", "one", "two"))
    for row, value in ((one, t1), (two, t2)):
        row.value, row.reference, row.ratio = value, local, ratio(value, local)
        row.runs = len(seconds["local"])
    one.note = (
        f"{100 * (t1 / local - 1):+.0f} % against the local pool of two processes (runs: {_runs(seconds['one'])})"
    )
    two.note = f"{100 * (t2 / local - 1):+.0f} % against the local pool (runs: {_runs(seconds['two'])}; local {_runs(seconds['local'])})"
    serial = max(0.0, min(1.0, 2 * t2 / t1 - 1))
    speedup.value, speedup.reference, speedup.ratio, speedup.runs = t1 / t2, t1, t1 / t2, one.runs
    speedup.extra["serial_fraction"] = serial
    speedup.extra["reference_unit"] = "s"
    speedup.note = (
        f"serial fraction s = 2 T2/T1 - 1 = {serial:.2f}; Amdahl: N workers take T1 (s + (1 - s)/N), "
        f"at most {1 / serial:.1f}x faster than one"
        if serial > 0
        else "no serial part measured"
    )
    speedup.note += "; both workers share this machine's two cores with the driver and the scheduler"


def _variants(config: Path) -> tuple[Path, Path]:
    """The measured config (one scoring repeat of the CV) and the warm-up's (two cheap candidates)."""
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["cv"] = {**data.get("cv", {}), "repeats": 1}
    measured = config.with_name("train-cluster.yaml")
    measured.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    data["candidates"] = [c for c in data.get("candidates", []) if c.get("name") in ("dummy", "logreg-word")][
        :2
    ] or data.get("candidates", [])[:2]
    warm = config.with_name("train-warm.yaml")
    warm.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return measured, warm


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f} s" for v in values)


def _measure_predict(ctx: Context, address: str, row: Row) -> None:
    model, _, how = champion(ctx)
    if model is None:
        row.failed(how)
        return
    n = ctx.sizes.batch_lines
    try:
        lines = ctx.lines(n)
        result = ctx.work / "cluster-predicted.jsonl"
        base = [*stance_exe(), "predict", "--model", str(model), "--input", str(lines), "--output", str(result)]
        sides = {"local": base, "cluster": [*base, "--cluster", address]}
        if not ctx.sizes.train_quick:
            for cmd in sides.values():
                run(cmd, cwd=ctx.work, timeout=3600)
        seconds: dict[str, list[float]] = {k: [] for k in sides}
        for _ in range(ctx.sizes.predict_cluster_repeats):
            for key, cmd in sides.items():
                seconds[key].append(run(cmd, cwd=ctx.work, timeout=3600).seconds)
        written = sum(1 for _ in result.open(encoding="utf-8"))
        if written != n:
            raise RuntimeError(f"stance predict --cluster wrote {written} rows for {n} input lines")
    except Exception as exc:
        row.failed(str(exc))
        return
    row.value = n / median(seconds["cluster"])
    row.reference = n / median(seconds["local"])
    row.ratio = ratio(row.value, row.reference)
    row.runs = len(seconds["cluster"])
    row.note = (
        f"whole commands: cluster {median(seconds['cluster']):.2f} s, local {median(seconds['local']):.2f} s; "
        f"model {how}; the input is read and the output written by the command, the workers label"
    )
