"""MLflow logging and reading of ``stance train`` comparisons: the only module importing mlflow.

One parent run per comparison, one nested child run per candidate. Writes go through
:func:`_retry`, so two processes sharing one SQLite store wait for each other's transactions
instead of failing on "database is locked"; the store itself is created under a file lock.
Every public method adds the wall time of its MLflow calls to :attr:`Tracker.seconds` (the
benchmark reports it); writing our own artifact files and drawing charts happen outside that count.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from training.charts import LEADERBOARD_COLUMNS, bar_chart, confusion_png, leaderboard_csv
from training.errors import StanceError

DEFAULT_URI = "sqlite:///mlflow.db"
KIND_TAG = "stance.kind"
MAX_PARAM_CHARS = 6000  # MLflow's limit for one param value
MAX_DIGEST_CHARS = 36  # MLflow's limit for a dataset digest
MAX_BATCH_PARAMS, MAX_BATCH_ENTRIES = 100, 1000  # MLflow's limits for one log_batch call
T = TypeVar("T")


def resolve_uri(configured: str | None = None) -> str:
    """The tracking URI: the configured one, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


# Schemes MLflow's SQLAlchemy store takes (with an optional "+driver"), besides sqlite, http(s) and file.
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
HOST_TAG, PID_TAG = "stance.host", "stance.pid"


def quiet_mlflow() -> None:
    """MLflow's INFO lines (store migrations, "Created version ...") stay out of our output.

    ``STANCE_VERBOSE=1`` keeps them.
    """
    import logging

    if os.environ.get("STANCE_VERBOSE") != "1":
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "database is busy" in text


def _retry(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; on a locked SQLite database wait and try again (up to about two minutes).

    Each MLflow store call is one transaction that is rolled back when it fails, so a retry
    does not record anything twice.
    """
    delay, waited = 0.05, 0.0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not _is_locked(exc) or waited > 120:
                raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("sqlite://", 1)[1]
    if path.startswith("/"):
        path = path[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    if not path or path == ":memory:":
        return None
    return Path(path)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def check_store(uri: str) -> None:
    """Fail fast with one clear line if the tracking store cannot be used."""
    import urllib.error
    import urllib.request

    db = _sqlite_path(uri)
    if db is not None:
        parent = db.parent if str(db.parent) else Path(".")
        if not parent.is_dir():
            raise StanceError(
                f"tracking store not reachable: {uri}: folder {parent} does not exist "
                "(create it or set MLFLOW_TRACKING_URI)"
            )
        if not os.access(parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
            raise StanceError(f"tracking store not writable: {uri} (check the permissions or set MLFLOW_TRACKING_URI)")
        if db.exists():
            import sqlite3

            try:  # reading the schema is instant and catches a file that is not a database
                with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as exc:
                raise StanceError(
                    f"tracking store not usable: {uri}: {exc} "
                    "(repair it, or point MLFLOW_TRACKING_URI at another store)"
                ) from None
        return
    if uri.startswith(("http://", "https://")):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status != 200:
                    raise StanceError(f"tracking server unhealthy: {uri} answered {response.status} (check the server)")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StanceError(
                f"tracking server not reachable: {uri} ({reason}; start `mlflow server` or "
                "unset MLFLOW_TRACKING_URI to use sqlite:///mlflow.db)"
            ) from None
        return
    if uri.startswith("file:") or "://" not in uri:
        path = Path(uri[5:] if uri.startswith("file:") else uri)
        if path.exists() and not os.access(path, os.W_OK):
            raise StanceError(f"tracking store not writable: {uri}")
        return
    scheme = uri.split("://", 1)[0].lower()
    if scheme.split("+", 1)[0] not in DATABASE_SCHEMES:
        raise StanceError(
            f"unknown tracking URI scheme: {uri} (use sqlite:///FILE, http(s)://HOST:PORT, file:DIR or "
            "a database URI such as postgresql://...)"
        )
    from training.stores import check_database

    check_database(uri)  # a wrong password or a server that is down: one line, before any training


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Serialise creation of a SQLite store (and its experiment) between processes."""
    db = _sqlite_path(uri)
    if db is None:
        yield
        return
    import hashlib

    from filelock import FileLock

    # The lock file lives in the temp folder, named after the database's absolute path, so
    # no stray file appears next to mlflow.db in the user's working tree.
    key = hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:16]
    with FileLock(os.path.join(tempfile.gettempdir(), f"stance-mlflow-{key}.lock"), timeout=300):
        yield


@dataclass
class Candidate:
    """Everything logged for one candidate, as plain data (no training types)."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    per_split: dict[str, list[float]]
    tags: dict[str, str]
    confusion: list[list[int]]
    report_text: str
    report: dict[str, Any]
    misclassified: list[dict[str, Any]]
    search: list[dict[str, Any]]
    model: Any
    classes: list[str]
    input_example: list[str]
    confusion_png: bytes = b""
    reliability_png: bytes = b""
    model_bytes: bytes = b""  # the model's skops file when already serialized
    run_id: str = ""
    model_uri: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Tracker:
    """MLflow side of one ``stance train``: parent run, child runs, registry."""

    def __init__(self, config: Any, uri: str | None = None) -> None:
        self.config = config
        self.uri = uri or resolve_uri(config.uri)
        self.seconds = 0.0  # wall time inside MLflow calls (overlaps training when workers run)
        self.cpu_seconds = 0.0  # CPU time of this process inside them
        self.timings: dict[str, float] = {}  # wall seconds by step, for the benchmark
        self._spans: list[tuple[float, float]] = []
        self.parent_id = ""
        self.registered_version = ""
        self.experiment_id = ""
        self._client: Any = None
        self._common_tags: dict[str, str] = {}
        self._datasets: list[Any] = []
        self._model_template = ModelTemplate()
        self.abandoned: list[str] = []  # runs of dead processes this run marked FAILED

    @contextlib.contextmanager
    def _timed(self, what: str) -> Iterator[None]:
        t0, c0, start = time.perf_counter(), time.process_time(), time.time()
        try:
            yield
        finally:
            wall = time.perf_counter() - t0
            self.seconds += wall
            self.cpu_seconds += time.process_time() - c0
            self.timings[what] = self.timings.get(what, 0.0) + wall
            self._spans.append((start, start + wall))

    def overlap(self, start: float, end: float) -> float:
        """Seconds of MLflow work that ran between ``start`` and ``end`` (``time.time()`` stamps).

        With worker processes the logging of finished candidates overlaps the training of the
        others; only the rest adds to the wall time of the command.
        """
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self._spans)

    # ------------------------------------------------------------ setup

    def check(self) -> None:
        """Fail fast if the store cannot be reached (no mlflow import: this runs before training)."""
        with self._timed("setup"):
            check_store(self.uri)

    def open(self) -> None:
        """Open the store, creating or migrating it and the experiment if needed."""
        if self._client is not None:
            return
        with self._timed("setup"):
            mark = time.perf_counter()
            import mlflow

            mark = self._part("setup_import_mlflow", mark)
            quiet_mlflow()
            mlflow.set_tracking_uri(self.uri)
            db = _sqlite_path(self.uri)
            # With a SQLite store MLflow would put artifacts in ./mlruns of whatever folder the
            # command runs in; keep them next to the database instead (the same place for the
            # default sqlite:///mlflow.db).
            artifacts = (db.parent.resolve() / "mlruns").as_uri() if db is not None else None
            try:
                with _store_lock(self.uri):
                    # Opening a store creates or migrates its tables: two processes doing that at
                    # once on a new SQLite file break each other's migration, hence the lock.
                    self._client = mlflow.MlflowClient(self.uri)
                    _retry(self._client.search_registered_models, max_results=1)  # opens the registry store
                    self.experiment_id = _experiment_id(
                        self._client, self.config.experiment, create=True, artifact_location=artifacts
                    )
            except StanceError:
                raise
            except Exception as exc:  # MlflowException, SQLAlchemy errors on a damaged file, ...
                self._client = None
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                from training.stores import shown

                raise StanceError(
                    f"tracking store not usable: {shown(self.uri)}: {first} "
                    "(repair it, or point MLFLOW_TRACKING_URI at another store)"
                ) from None
            mark = self._part("setup_open_store", mark)
            # Model logging (every candidate's, or the champion's) needs these, and skops alone
            # takes a second to import: load them now rather than in the middle of the first
            # model's logging. Still counted as setup.
            import mlflow.sklearn
            import skops.io  # noqa: F401

            self._part("setup_import_skops", mark)

    def _part(self, what: str, since: float) -> float:
        """Record the seconds since ``since`` as one part of a timed step; return now.

        For the benchmark's breakdown only: the step itself is already counted by :meth:`_timed`.
        """
        now = time.perf_counter()
        self.timings[what] = now - since
        return now

    @contextlib.contextmanager
    def parent_run(
        self,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        dataset_frames: Mapping[str, Any],
        fingerprint: str,
        source: str,
    ) -> Iterator[str]:
        """Open the parent run; close it FINISHED, FAILED on an error or KILLED on an interrupt."""
        self.open()
        from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT, MLFLOW_SOURCE_NAME

        with self._timed("parent_run"):
            self.abandoned = self.fail_abandoned_runs()

        commit = _git_commit()  # a git subprocess, not MLflow: outside the timed span
        common = {k: str(v) for k, v in tags.items()}
        # Who runs it: a later `stance train` on this host marks the runs of a dead process FAILED.
        common.update({HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())})
        if commit:
            common[MLFLOW_GIT_COMMIT] = commit
            common["git_commit"] = commit
        self._common_tags = common
        with self._timed("parent_run"):
            run = _retry(
                self._client.create_run,
                self.experiment_id,
                run_name=f"train-{time.strftime('%Y%m%d-%H%M%S')}",
                tags={**common, KIND_TAG: "comparison", MLFLOW_SOURCE_NAME: "stance train"},
            )
            self.parent_id = run.info.run_id
            self._log_params(self.parent_id, params)
            self._datasets = self._make_datasets(dataset_frames, fingerprint, source)
            self._log_datasets(self.parent_id)
        status = "FINISHED"
        try:
            yield self.parent_id
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        except BaseException:
            status = "FAILED"
            raise
        finally:
            with self._timed("parent_run"):
                _retry(self._client.set_terminated, self.parent_id, status)

    def _log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        self._log_batch(run_id, params=[Param(k, _param_value(v)) for k, v in params.items()])

    def _log_batch(self, run_id: str, params: Sequence[Any] = (), metrics: Sequence[Any] = ()) -> None:
        """Params and metrics in as few ``log_batch`` calls as MLflow's limits allow.

        Each call is one transaction on the store; a batch holds at most 100 params and 1000
        entries in all.
        """
        params, metrics = list(params), list(metrics)
        while params or metrics:
            p, params = params[:MAX_BATCH_PARAMS], params[MAX_BATCH_PARAMS:]
            m, metrics = metrics[: MAX_BATCH_ENTRIES - len(p)], metrics[MAX_BATCH_ENTRIES - len(p) :]
            _retry(self._client.log_batch, run_id, params=p, metrics=m)

    def _make_datasets(self, frames: Mapping[str, Any], fingerprint: str, source: str) -> list[tuple[Any, str]]:
        import mlflow.data

        out = []
        for context, (name, frame) in frames.items():
            # The builder's fingerprint covers every row; MLflow's own digest reads only the first
            # 10,000. Its digest column holds 36 characters: a prefix of the fingerprint.
            digest = fingerprint[:MAX_DIGEST_CHARS] if fingerprint else None
            with warnings.catch_warnings():
                # A local path matches two equivalent source types; MLflow picks one and says so.
                warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
                ds = mlflow.data.from_pandas(frame, source=source or None, targets="label", name=name, digest=digest)
            out.append((ds._to_mlflow_entity(), context))
        return out

    def _log_datasets(self, run_id: str) -> None:
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        inputs = [DatasetInput(ds, tags=[InputTag(MLFLOW_DATASET_CONTEXT, ctx)]) for ds, ctx in self._datasets]
        if inputs:
            _retry(self._client.log_inputs, run_id, datasets=inputs)

    # ------------------------------------------------------------ children

    def log_candidate(self, cand: Candidate, params: Mapping[str, Any]) -> str:
        """Create the child run of one candidate with params, metrics, artifacts and its model."""
        # The artifact files are ours to write (CSV, JSON, the PNG drawn by the worker); only
        # handing them to MLflow is timed.
        with tempfile.TemporaryDirectory(prefix="stance-artifacts-") as tmp:
            _write_candidate_artifacts(Path(tmp), cand)
            return self._log_child(cand, params, Path(tmp))

    def _log_child(self, cand: Candidate, params: Mapping[str, Any], artifacts: Path) -> str:
        from mlflow.entities import Metric, Param
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        with self._timed("children"):
            run = _retry(
                self._client.create_run,
                self.experiment_id,
                run_name=cand.name,
                tags={**self._common_tags, **cand.tags, MLFLOW_PARENT_RUN_ID: self.parent_id, KIND_TAG: "candidate"},
            )
            run_id = cand.run_id = run.info.run_id
            status = "FAILED"
            try:
                if self.config.log_models == "all":
                    self._log_model(cand)
                now = int(time.time() * 1000)
                metrics = [Metric(k, float(v), now, 0) for k, v in cand.metrics.items() if _finite(v)]
                for key, values in cand.per_split.items():
                    metrics += [Metric(key, float(v), now, step) for step, v in enumerate(values)]
                self._log_batch(run_id, params=[Param(k, _param_value(v)) for k, v in params.items()], metrics=metrics)
                self._log_datasets(run_id)
                _retry(self._client.log_artifacts, run_id, str(artifacts))
                status = "FINISHED"
            except KeyboardInterrupt:
                status = "KILLED"
                raise
            finally:
                _retry(self._client.set_terminated, run_id, status)
        return run_id

    def _log_model(self, cand: Candidate) -> None:
        """Log ``cand.model`` as an MLflow model of its child run (see :func:`log_model`)."""
        from mlflow.utils.mlflow_tags import MLFLOW_SOURCE_NAME

        t0 = time.perf_counter()
        cand.model_uri = log_model(
            self._client,
            self.experiment_id,
            cand.run_id,
            cand.model,
            cand.input_example,
            tags={**self._common_tags, MLFLOW_SOURCE_NAME: "stance train", "stance.candidate": cand.name},
            metadata={"candidate": cand.name},
            model_bytes=cand.model_bytes or None,
            template=self._model_template,
        )
        self.timings["log_model"] = self.timings.get("log_model", 0.0) + time.perf_counter() - t0

    def update_candidate(self, run_id: str, metrics: Mapping[str, float], tags: Mapping[str, str]) -> None:
        """Add the comparison results (known once every candidate ran) to a finished child run."""
        from mlflow.entities import Metric, RunTag

        with self._timed("comparison"):
            now = int(time.time() * 1000)
            _retry(
                self._client.log_batch,
                run_id,
                metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if _finite(v)],
                tags=[RunTag(k, str(v)) for k, v in tags.items()],
            )

    # ------------------------------------------------------------ parent summary and registry

    def log_leaderboard(
        self, rows: Sequence[Mapping[str, Any]], best: str, metric: str, metrics: Mapping[str, float]
    ) -> None:
        """Leaderboard CSV and bar chart (with error bars) on the parent run, plus its headline metrics."""
        from mlflow.entities import Metric, RunTag

        with tempfile.TemporaryDirectory(prefix="stance-leaderboard-") as tmp:
            # Writing the files and drawing the chart is ours (matplotlib); only the upload is timed.
            (Path(tmp) / "leaderboard.csv").write_text(leaderboard_csv(rows), encoding="utf-8")
            (Path(tmp) / "leaderboard.json").write_text(json.dumps(list(rows), indent=2, default=str), encoding="utf-8")
            bar_chart(rows, metric, Path(tmp) / "leaderboard.png")
            with self._timed("leaderboard"):
                _retry(self._client.log_artifacts, self.parent_id, tmp)
                now = int(time.time() * 1000)
                _retry(
                    self._client.log_batch,
                    self.parent_id,
                    metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if _finite(v)],
                    tags=[RunTag("stance.best", best), RunTag("stance.metric", metric)],
                )

    def register(self, cand: Candidate, tags: Mapping[str, str] | None = None) -> str:
        """Register the champion's model as a new version (no alias yet); return its version.

        The alias moves later, with :meth:`promote`, once the export is complete.
        """
        with self._timed("registry"):
            if not cand.model_uri:
                self._log_model(cand)
            import mlflow

            name = self.config.registered_model
            version = _retry(
                mlflow.register_model,
                cand.model_uri,
                name,
                tags={"candidate": cand.name, "run_id": cand.run_id, **self._common_tags, **(tags or {})},
            )
            self.registered_version = str(version.version)
            _retry(self._client.set_tag, self.parent_id, "stance.registered", f"models:/{name}/{version.version}")
            return self.registered_version

    def promote(self, version: str) -> str:
        """Point the alias at a registered version (once its export is complete); return its URI."""
        with self._timed("registry"):
            name, alias = self.config.registered_model, self.config.alias
            _retry(self._client.set_registered_model_alias, name, alias, version)
            return f"models:/{name}@{alias}"

    def champion(self) -> dict[str, str] | None:
        """The version holding the alias now and its tags (``version``, ``uri`` and the rest), or None."""
        from mlflow.exceptions import MlflowException

        with self._timed("registry"):
            name, alias = self.config.registered_model, self.config.alias
            try:
                version = _retry(self._client.get_model_version_by_alias, name, alias)
            except MlflowException:  # no such model or alias yet
                return None
            return {
                **dict(version.tags or {}),
                "version": str(version.version),
                "uri": f"models:/{name}/{version.version}",
            }

    def log_gate(self, tags: Mapping[str, str], numbers: Mapping[str, float]) -> None:
        """Record the champion gate's decision on the parent run: ``stance.gate.*`` tags and ``gate_*`` metrics."""
        from mlflow.entities import Metric, RunTag

        with self._timed("registry"):
            now = int(time.time() * 1000)
            _retry(
                self._client.log_batch,
                self.parent_id,
                metrics=[Metric(f"gate_{k}", float(v), now, 0) for k, v in numbers.items() if _finite(v)],
                tags=[RunTag(f"stance.gate.{k}", str(v)) for k, v in tags.items()],
            )

    def fail_abandoned_runs(self) -> list[str]:
        """Mark FAILED the RUNNING runs of this experiment whose process on this host has died.

        A ``kill -9`` leaves no chance to close a run; the host and pid tags written at the
        start of every run tell whose it was.
        """
        from training.atomic import pid_alive

        self.open()
        host = socket.gethostname().replace("'", "")
        runs = _retry(
            self._client.search_runs,
            [self.experiment_id],
            filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'",
            max_results=1000,
        )
        dead = [
            r.info.run_id
            for r in runs
            if str(r.data.tags.get(PID_TAG, "")).isdigit() and not pid_alive(int(r.data.tags[PID_TAG]))
        ]
        for run_id in dead:
            _retry(self._client.set_terminated, run_id, "FAILED")
            _retry(self._client.set_tag, run_id, "stance.failure", "its process ended without closing the run")
        return dead

    def log_timing(self, total_seconds: float, exclusive_seconds: float) -> None:
        """Wall time of the command, time in MLflow calls and the part of it not overlapped by training."""
        from mlflow.entities import Metric

        with self._timed("timing"):
            now = int(time.time() * 1000)
            share = exclusive_seconds / total_seconds if total_seconds > 0 else 0.0
            _retry(
                self._client.log_batch,
                self.parent_id,
                metrics=[
                    Metric("seconds_total", total_seconds, now, 0),
                    Metric("seconds_mlflow", self.seconds, now, 0),
                    Metric("seconds_mlflow_not_overlapped", exclusive_seconds, now, 0),
                    Metric("cpu_seconds_mlflow", self.cpu_seconds, now, 0),
                    Metric("mlflow_share", share, now, 0),
                    *[Metric(f"seconds_mlflow_{k}", v, now, 0) for k, v in self.timings.items()],
                ],
            )


# ---------------------------------------------------------------- artifacts


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(float(v))


def _param_value(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def _write_candidate_artifacts(folder: Path, cand: Candidate) -> None:
    (folder / "classification_report.txt").write_text(cand.report_text, encoding="utf-8")
    (folder / "classification_report.json").write_text(json.dumps(cand.report, indent=2), encoding="utf-8")
    (folder / "search.json").write_text(json.dumps(cand.search, indent=2, default=str), encoding="utf-8")
    with open(folder / "misclassified_test.csv", "w", newline="", encoding="utf-8") as fh:
        cols = ["doc_id", "sentence_index", "text", "gold", "predicted", *[f"p_{c}" for c in cand.classes]]
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(cand.misclassified)
    png = cand.confusion_png or confusion_png(cand.confusion, cand.name, cand.metrics.get("test_macro_f1", math.nan))
    (folder / "confusion_matrix.png").write_bytes(png)
    if cand.reliability_png:
        (folder / "reliability_diagram.png").write_bytes(cand.reliability_png)


# ---------------------------------------------------------------- reading back (`stance compare`)


def _experiment_id(client: Any, name: str, create: bool, artifact_location: str | None = None) -> str:
    from mlflow.exceptions import MlflowException

    exp = _retry(client.get_experiment_by_name, name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise StanceError(
                f"experiment '{name}' is deleted in the tracking store (restore it or choose another name)"
            )
        return exp.experiment_id
    if not create:
        names = [e.name for e in _retry(client.search_experiments, max_results=50)]
        raise StanceError(
            f"no experiment named '{name}' in the tracking store "
            f"(known: {', '.join(names) or 'none'}; run `stance train` first or pass --experiment)"
        )
    try:
        return _retry(client.create_experiment, name, artifact_location=artifact_location)
    except MlflowException:
        exp = _retry(client.get_experiment_by_name, name)  # another process created it meanwhile
        if exp is None:
            raise
        return exp.experiment_id


METRIC_COLUMNS = tuple(
    c
    for c in LEADERBOARD_COLUMNS
    if c.startswith(("cv_", "test_"))
    or c in ("fit_seconds", "predict_sentences_per_s", "model_size_bytes", "p_value", "mean_diff")
)


def read_leaderboard(uri: str | None, experiment: str, run_id: str | None = None) -> dict[str, Any]:
    """The leaderboard of one ``stance train`` run read back from its MLflow child runs.

    ``run_id`` selects a parent run (a child's id selects its parent); by default the latest
    finished comparison in ``experiment``.
    """
    uri = resolve_uri(uri)
    check_store(uri)
    db = _sqlite_path(uri)
    if db is not None and not db.exists():
        raise StanceError(f"no tracking store at {uri} (run `stance train` first, or set MLFLOW_TRACKING_URI)")
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    client = mlflow.MlflowClient(uri)
    if run_id:
        try:
            parent = _retry(client.get_run, run_id)
        except MlflowException:
            raise StanceError(f"no run with id {run_id} in {uri} (list runs with `mlflow ui`, or omit --run)") from None
        if parent.data.tags.get(KIND_TAG) == "candidate" and MLFLOW_PARENT_RUN_ID in parent.data.tags:
            parent = _retry(client.get_run, parent.data.tags[MLFLOW_PARENT_RUN_ID])
        if parent.data.tags.get(KIND_TAG) != "comparison":
            raise StanceError(f"run {run_id} is not a `stance train` run (pass the id of a parent run)")
    else:
        exp_id = _experiment_id(client, experiment, create=False)
        found = _retry(
            client.search_runs,
            [exp_id],
            filter_string=f"tags.`{KIND_TAG}` = 'comparison' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not found:
            raise StanceError(
                f"no finished `stance train` run in experiment '{experiment}' of {uri} (run `stance train` first)"
            )
        parent = found[0]
    children = _retry(
        client.search_runs,
        [parent.info.experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent.info.run_id}'",
        max_results=1000,
    )
    rows = []
    for child in children:
        m, t, p = child.data.metrics, child.data.tags, child.data.params
        row: dict[str, Any] = {
            "candidate": t.get("stance.candidate", child.info.run_name),
            "features": t.get("stance.features", ""),
            "classifier": t.get("stance.classifier", ""),
            "training_data": t.get("stance.training_data", ""),
            **{c: m.get(c) for c in METRIC_COLUMNS},  # None when missing: --json stays valid JSON
            "tied_with_best": t.get("stance.tied_with_best") == "true",
            "is_best": t.get("stance.is_best") == "true",
            "params": {k[len("chosen.") :]: v for k, v in p.items() if k.startswith("chosen.")},
            "run_id": child.info.run_id,
            "status": child.info.status,
        }
        rows.append(row)
    metric = parent.data.tags.get("stance.metric", "macro_f1")

    def order(r: dict[str, Any]) -> tuple[int, float, str]:
        v = r.get(f"cv_{metric}_mean")
        return (0, -float(v), r["candidate"]) if _finite(v) else (1, 0.0, r["candidate"])

    rows.sort(key=order)
    return {
        "tracking_uri": uri,
        "experiment_id": parent.info.experiment_id,
        "run_id": parent.info.run_id,
        "run_name": parent.info.run_name,
        "status": parent.info.status,
        "start_time": parent.info.start_time,
        "best": parent.data.tags.get("stance.best", ""),
        "metric": metric,
        "method": parent.data.params.get("comparison.method", ""),
        "alpha": parent.data.params.get("comparison.alpha", ""),
        "registered": parent.data.tags.get("stance.registered", ""),
        "dataset_fingerprint": parent.data.tags.get("dataset.fingerprint", ""),
        "rows": rows,
    }


# ---------------------------------------------------------------- logging a model


@dataclass
class ModelTemplate:
    """What the MLflow model folders of one ``stance train`` share, taken from the first one.

    ``mlflow.sklearn.save_model`` writes the first folder. The others share its flavors, its
    environment files (requirements pinned to the installed versions) and, as every candidate
    gets the same input example, its example files; each adds its own skops file, signature,
    metadata, ids and size. Building them from this skips what ``save_model`` would redo for
    each: serializing the model again, loading it back, and looking up every requirement among
    the installed packages (about 0.3 s a model, while the workers train).
    """

    example: tuple[str, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)  # name -> content, besides MLmodel and the model
    flavors: dict[str, Any] = field(default_factory=dict)
    example_info: dict[str, Any] | None = None
    counted_besides_model: int = 0  # bytes of the example files, which save_model counts in a model's size

    def ready(self, example: Sequence[str]) -> bool:
        """Whether a first folder was recorded, for this input example."""
        return bool(self.flavors) and self.example == tuple(example)

    @property
    def model_file(self) -> str:
        """The skops file's name inside a folder, as the sklearn flavor records it."""
        return str(self.flavors["sklearn"]["pickled_model"])

    def record(self, folder: Path, spec: Any, example: Sequence[str]) -> None:
        """Keep what later folders share with ``folder``, written by ``save_model`` as ``spec``."""
        self.example = tuple(example)
        self.flavors = json.loads(json.dumps(spec.flavors))
        self.example_info = dict(spec.saved_input_example_info or {}) or None
        self.files = {f.name: f.read_bytes() for f in folder.iterdir() if f.name not in (MLMODEL_FILE, self.model_file)}
        self.counted_besides_model = (spec.model_size_bytes or 0) - (folder / self.model_file).stat().st_size


def log_model(
    client: Any,
    experiment_id: str,
    run_id: str,
    model: Any,
    input_example: Sequence[str],
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    *,
    model_bytes: bytes | None = None,
    template: ModelTemplate | None = None,
) -> str:
    """Log a fitted text classifier as an MLflow model (a LoggedModel) of ``run_id``; return its URI.

    The folder holds the skops file checked against our trusted types, the signature, the input
    example and pinned requirements, as ``mlflow.sklearn.save_model`` writes them; with a
    ``template`` (one per run) only its first folder is written by ``save_model`` and the others
    are built from what they share (see :class:`ModelTemplate`), with ``model_bytes`` as their
    skops file when the caller already serialized the model. The ``python_function`` flavor
    names :mod:`training.serving` as loader, so ``mlflow.pyfunc`` and ``mlflow models serve``
    load the skops file with our trusted-type list (not the list stored in the folder) and
    answer each sentence with its label and one probability per label. The client records the
    folder the way ``mlflow.sklearn.log_model`` does (a LoggedModel, its artifacts, the run's
    model output, READY) without what ``log_model`` adds on top: loading the folder back to
    predict on the example, copying the run's metrics onto the model, and a new client and two
    reads of the run per model.
    """
    import pandas as pd
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model, infer_signature

    from training.persistence import labels_of
    from training.serving import ServedModel
    from training.stance_model import StanceModel

    example = pd.DataFrame({"text": list(input_example)})
    served = ServedModel(StanceModel(model)).predict(example)
    signature = infer_signature(example, served, params={"min_confidence": 0.0})
    meta = {"labels": labels_of(model), "served_columns": list(served.columns), **(metadata or {})}
    logged = _retry(
        client.create_logged_model, experiment_id, name="model", source_run_id=run_id, tags=dict(tags or {})
    )
    status = LoggedModelStatus.FAILED
    try:
        spec = Model(
            artifact_path=logged.artifact_location,
            model_uuid=logged.model_id,
            run_id=run_id,
            model_id=logged.model_id,
            signature=signature,
            metadata=meta,
        )
        with tempfile.TemporaryDirectory(prefix="stance-model-") as tmp:
            folder = Path(tmp) / "model"
            if template is not None and template.ready(input_example):
                _folder_from_template(folder, spec, template, model, model_bytes)
            else:
                _save_first_folder(folder, spec, model, example)
                if template is not None:
                    template.record(folder, spec, input_example)
            _retry(client.log_model_artifacts, logged.model_id, str(folder))
        _retry(client.log_outputs, run_id, models=[LoggedModelOutput(logged.model_id, step=0)])
        status = LoggedModelStatus.READY
    finally:
        _retry(client.finalize_logged_model, logged.model_id, status)
    return f"models:/{logged.model_id}"


MLMODEL_FILE = "MLmodel"


def _save_first_folder(folder: Path, spec: Any, model: Any, example: Any) -> None:
    """A model folder written by ``mlflow.sklearn.save_model``, served by :mod:`training.serving`."""
    import mlflow.sklearn

    from training.persistence import TRUSTED_TYPES, library_versions

    versions = library_versions()
    # Explicit requirements: inferring them loads the model in a subprocess.
    reqs = [f"{dist}=={versions[dist]}" for dist in ("scikit-learn", "skops", "numpy", "scipy") if dist in versions]
    mlflow.sklearn.save_model(
        model,
        str(folder),
        mlflow_model=spec,
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
        signature=spec.signature,
        input_example=example,
        pip_requirements=reqs,
        metadata=spec.metadata,
    )
    # Served through our loader, whose predict returns the label and every probability.
    spec.flavors["python_function"]["loader_module"] = "training.serving"
    spec.flavors["python_function"]["predict_fn"] = "predict"
    spec.save(str(folder / MLMODEL_FILE))


def _folder_from_template(
    folder: Path, spec: Any, template: ModelTemplate, model: Any, model_bytes: bytes | None
) -> None:
    """The folder ``_save_first_folder`` would write for ``model``, built from ``template``."""
    from training.persistence import dump_bytes

    folder.mkdir()
    data = model_bytes if model_bytes is not None else dump_bytes(model)
    (folder / template.model_file).write_bytes(data)
    for name, content in template.files.items():
        (folder / name).write_bytes(content)
    spec.flavors = json.loads(json.dumps(template.flavors))
    spec.saved_input_example_info = dict(template.example_info) if template.example_info else None
    spec.model_size_bytes = len(data) + template.counted_besides_model
    spec.save(str(folder / MLMODEL_FILE))


# ---------------------------------------------------------------- models for `stance predict` / `stance evaluate`


def load_sklearn_model(uri: str, tracking_uri: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Fetch an MLflow scikit-learn model (``runs:/``, ``models:/name@alias``, a model folder...).

    Returns the estimator and metadata naming where it came from. The skops file is loaded by
    :func:`training.persistence.load_model_file` with our trusted-type list, not by
    ``mlflow.sklearn.load_model``, which would trust the list stored inside the model itself;
    models stored with pickle are refused. ``tracking_uri`` defaults to $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db.
    """
    tracking_uri = resolve_uri(tracking_uri)
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    from training.persistence import load_model_file, sha256_file
    from training.serving import skops_file

    with tempfile.TemporaryDirectory(prefix="stance-model-") as tmp:
        try:
            local = Path(
                _retry(
                    mlflow.artifacts.download_artifacts,
                    artifact_uri=uri,
                    dst_path=tmp,
                    tracking_uri=tracking_uri,
                    registry_uri=tracking_uri,
                )
            )
        except (MlflowException, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StanceError(
                f"cannot fetch MLflow model {uri}: {first} (check the URI; tracking store "
                f"{tracking_uri}, set MLFLOW_TRACKING_URI to use another)"
            ) from None
        if not (local / "MLmodel").is_file():
            raise StanceError(
                f"not an MLflow model: {uri} has no MLmodel file (point at the model, e.g. runs:/<id>/model)"
            )
        spec = Model.load(str(local / "MLmodel"))
        model_file = skops_file(spec.flavors, local, uri)
        estimator = load_model_file(model_file)
        digest = sha256_file(model_file)
    meta = {
        "sha256": digest,
        "mlflow": {
            "tracking_uri": tracking_uri,
            "model_uri": uri,
            "run_id": spec.run_id,
            "model_id": getattr(spec, "model_id", None),
        },
        "mlflow_metadata": dict(spec.metadata or {}),
    }
    return estimator, meta


def log_evaluation(config: Any, report: Mapping[str, Any], model_metadata: Mapping[str, Any]) -> str:
    """Record a ``stance evaluate`` report as its own MLflow run, linked to the evaluated model.

    The link is a set of tags (model URI, the run that trained it, the model file's sha256)
    and, when the model is an MLflow logged model, its id on each metric. Returns the run id.
    """
    from mlflow.entities import Metric, Param, RunTag

    uri = resolve_uri(config.uri)
    check_store(uri)
    import mlflow

    client = mlflow.MlflowClient(uri)
    db = _sqlite_path(uri)
    # as in Tracker.check: a new experiment keeps its artifacts next to a SQLite database
    artifacts = (db.parent.resolve() / "mlruns").as_uri() if db is not None else None
    with _store_lock(uri):
        exp_id = _experiment_id(client, config.experiment, create=True, artifact_location=artifacts)
    origin = dict(model_metadata.get("mlflow") or {})
    # a logged model's id only means something in the store that holds it
    model_id = (origin.get("model_id") or None) if origin.get("tracking_uri") == uri else None
    tags = {
        KIND_TAG: "evaluation",
        "stance.model": str(report.get("model", "")),
        "stance.model_sha256": str(report.get("model_sha256", "")),
        "stance.model_uri": str(origin.get("model_uri") or report.get("model", "")),
        "stance.model_run_id": str(origin.get("run_id") or ""),
        "stance.data": str(report.get("data", "")),
        "stance.data_fingerprint": str(report.get("data_fingerprint", "")),
    }
    commit = _git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    data_name = Path(str(report.get("data", "data"))).name
    run = _retry(client.create_run, exp_id, run_name=f"evaluate {data_name}", tags={k: v for k, v in tags.items() if v})
    run_id = run.info.run_id
    status = "FAILED"
    try:
        now = int(time.time() * 1000)
        values: dict[str, float] = {k: float(report[k]) for k in ("macro_f1", "f_avg", "accuracy", "n")}
        for label, scores in report.get("per_class", {}).items():
            for name in ("precision", "recall", "f1", "support"):
                values[f"{label}_{name}"] = float(scores[name])
        _retry(
            client.log_batch,
            run_id,
            metrics=[Metric(k, v, now, 0, model_id=model_id) for k, v in values.items() if _finite(v)],
            params=[
                Param("data", str(report.get("data", ""))[:MAX_PARAM_CHARS]),
                Param("model", str(report.get("model", ""))[:MAX_PARAM_CHARS]),
            ],
            tags=[RunTag("stance.skipped_empty", str(report.get("skipped_empty", 0)))],
        )
        with tempfile.TemporaryDirectory(prefix="stance-evaluation-") as tmp:
            (Path(tmp) / "evaluation.json").write_text(
                json.dumps(dict(report), indent=2, default=str), encoding="utf-8"
            )
            matrix = report.get("confusion", {}).get("matrix")
            if matrix:
                png = confusion_png(matrix, f"{data_name} (n={int(values['n'])})", values["macro_f1"])
                (Path(tmp) / "confusion_matrix.png").write_bytes(png)
            _retry(client.log_artifacts, run_id, tmp)
        status = "FINISHED"
    finally:
        _retry(client.set_terminated, run_id, status)
    return run_id


def log_learning_curve(
    uri: str | None,
    experiment: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    curves: Mapping[str, Sequence[tuple[int, float]]],
    artifacts: Sequence[Path],
) -> str:
    """Record a ``stance learning-curve`` simulation as one run: each strategy's mean curve as a
    metric stepped by the number of labels (MLflow draws it as a chart), the summary as metrics,
    and the chart and report files as artifacts. Returns the run id."""
    from mlflow.entities import Metric, Param, RunTag

    uri = resolve_uri(uri)
    check_store(uri)
    quiet_mlflow()
    import mlflow

    client = mlflow.MlflowClient(uri)
    db = _sqlite_path(uri)
    with _store_lock(uri):
        exp_id = _experiment_id(
            client,
            experiment,
            create=True,
            artifact_location=(db.parent.resolve() / "mlruns").as_uri() if db is not None else None,
        )
    run = _retry(client.create_run, exp_id, run_name="learning-curve", tags={KIND_TAG: "learning_curve"})
    status = "FAILED"
    try:
        now = int(time.time() * 1000)
        points = [
            Metric(f"curve_macro_f1.{name.replace('-', '_')}", float(score), now, int(n))
            for name, curve in curves.items()
            for n, score in curve
        ]
        values = [Metric(k, float(v), now, 0) for k, v in metrics.items() if _finite(v)]
        entries = points + values
        for start in range(0, len(entries), MAX_BATCH_ENTRIES - MAX_BATCH_PARAMS):
            batch = entries[start : start + MAX_BATCH_ENTRIES - MAX_BATCH_PARAMS]
            extra = [Param(k, _param_value(v)) for k, v in params.items()] if start == 0 else []
            _retry(
                client.log_batch,
                run.info.run_id,
                metrics=batch,
                params=extra,
                tags=[RunTag("stance.strategies", ",".join(curves))] if start == 0 else [],
            )
        for path in artifacts:
            _retry(client.log_artifact, run.info.run_id, str(path))
        status = "FINISHED"
    finally:
        _retry(client.set_terminated, run.info.run_id, status)
    return run.info.run_id
