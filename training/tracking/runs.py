"""The MLflow side of one ``stance train``: the parent run, one nested child run per candidate, the registry.

Every public method adds the wall time of its MLflow calls to :attr:`Tracker.seconds` (the
benchmark reports it); writing our own artifact files and drawing charts happen outside that count.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from training.errors import StanceError
from training.tracking import schema
from training.tracking.artifacts import write_candidate_artifacts, write_leaderboard
from training.tracking.entries import dataset_inputs, log_batch, now_ms
from training.tracking.models import log_model
from training.tracking.schema import Candidate, finite, param_value
from training.tracking.store import (
    artifact_location,
    check_store,
    experiment_id,
    git_commit,
    quiet_mlflow,
    resolve_uri,
    retry,
    store_lock,
)


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
        self.client: Any = None
        self._common_tags: dict[str, str] = {}
        self._inputs: list[Any] = []
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

    def _part(self, what: str, since: float) -> float:
        """Record the seconds since ``since`` as one part of a timed step; return now.

        For the benchmark's breakdown only: the step itself is already counted by :meth:`_timed`.
        """
        now = time.perf_counter()
        self.timings[what] = now - since
        return now

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
        if self.client is not None:
            return
        with self._timed("setup"):
            mark = time.perf_counter()
            import mlflow

            mark = self._part("setup_import_mlflow", mark)
            quiet_mlflow()
            mlflow.set_tracking_uri(self.uri)
            self._open_client()
            mark = self._part("setup_open_store", mark)
            # Model logging (every candidate's, or the champion's) needs these, and skops alone
            # takes a second to import: load them now rather than in the middle of the first
            # model's logging. Still counted as setup.
            import mlflow.sklearn
            import skops.io  # noqa: F401

            self._part("setup_import_skops", mark)

    def _open_client(self) -> None:
        """The client and the experiment; one clear line when the store is not usable."""
        import mlflow

        try:
            with store_lock(self.uri):
                # Opening a store creates or migrates its tables: two processes doing that at
                # once on a new SQLite file break each other's migration, hence the lock.
                self.client = mlflow.MlflowClient(self.uri)
                retry(self.client.search_registered_models, max_results=1)  # opens the registry store
                self.experiment_id = experiment_id(
                    self.client, self.config.experiment, create=True, artifact_location=artifact_location(self.uri)
                )
        except StanceError:
            raise
        except Exception as exc:  # MlflowException, SQLAlchemy errors on a damaged file, ...
            self.client = None
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            from training.stores import shown

            raise StanceError(
                f"tracking store not usable: {shown(self.uri)}: {first} "
                "(repair it, or point MLFLOW_TRACKING_URI at another store)"
            ) from None

    # ------------------------------------------------------------ parent run

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
        commit = git_commit()  # a git subprocess, not MLflow: outside the timed span
        common = {k: str(v) for k, v in tags.items()}
        common.update({schema.HOST_TAG: socket.gethostname(), schema.PID_TAG: str(os.getpid())})
        if commit:
            common[MLFLOW_GIT_COMMIT] = commit
            common[schema.GIT_COMMIT_TAG] = commit
        self._common_tags = common
        with self._timed("parent_run"):
            run = retry(
                self.client.create_run,
                self.experiment_id,
                run_name=f"train-{time.strftime('%Y%m%d-%H%M%S')}",
                tags={**common, schema.KIND_TAG: schema.COMPARISON, MLFLOW_SOURCE_NAME: "stance train"},
            )
            self.parent_id = run.info.run_id
            self._log_params(self.parent_id, params)
            self._inputs = dataset_inputs(dataset_frames, fingerprint, source)
            self._log_inputs(self.parent_id)
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
                retry(self.client.set_terminated, self.parent_id, status)

    def _log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        log_batch(self.client, run_id, params=[Param(k, param_value(v)) for k, v in params.items()])

    def _log_inputs(self, run_id: str) -> None:
        """The comparison's datasets, as inputs of ``run_id``."""
        if self._inputs:
            retry(self.client.log_inputs, run_id, datasets=self._inputs)

    def _log_metrics(self, run_id: str, metrics: Mapping[str, float], tags: Mapping[str, str]) -> None:
        """Finite ``metrics`` (step 0) and ``tags`` in one transaction."""
        from mlflow.entities import Metric, RunTag

        now = now_ms()
        retry(
            self.client.log_batch,
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if finite(v)],
            tags=[RunTag(k, str(v)) for k, v in tags.items()],
        )

    # ------------------------------------------------------------ children

    def log_candidate(self, cand: Candidate, params: Mapping[str, Any]) -> str:
        """Create the child run of one candidate with params, metrics, artifacts and its model."""
        # The artifact files are ours to write (CSV, JSON, the PNG drawn by the worker); only
        # handing them to MLflow is timed.
        with tempfile.TemporaryDirectory(prefix="stance-artifacts-") as tmp:
            write_candidate_artifacts(Path(tmp), cand)
            return self._log_child(cand, params, Path(tmp))

    def _log_child(self, cand: Candidate, params: Mapping[str, Any], artifacts: Path) -> str:
        from mlflow.entities import Metric, Param
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        with self._timed("children"):
            tags = {**self._common_tags, **cand.tags, MLFLOW_PARENT_RUN_ID: self.parent_id}
            run = retry(
                self.client.create_run,
                self.experiment_id,
                run_name=cand.name,
                tags={**tags, schema.KIND_TAG: schema.CANDIDATE},
            )
            run_id = cand.run_id = run.info.run_id
            status = "FAILED"
            try:
                if self.config.log_models == "all":
                    self._log_model(cand)
                now = now_ms()
                metrics = [Metric(k, float(v), now, 0) for k, v in cand.metrics.items() if finite(v)]
                for key, values in cand.per_split.items():
                    metrics += [Metric(key, float(v), now, step) for step, v in enumerate(values)]
                log_batch(self.client, run_id, [Param(k, param_value(v)) for k, v in params.items()], metrics)
                self._log_inputs(run_id)
                retry(self.client.log_artifacts, run_id, str(artifacts))
                status = "FINISHED"
            except KeyboardInterrupt:
                status = "KILLED"
                raise
            finally:
                retry(self.client.set_terminated, run_id, status)
        return run_id

    def _log_model(self, cand: Candidate) -> None:
        """Log ``cand.model`` as an MLflow model of its child run (see :func:`log_model`)."""
        from mlflow.utils.mlflow_tags import MLFLOW_SOURCE_NAME

        t0 = time.perf_counter()
        cand.model_uri = log_model(
            self.client,
            self.experiment_id,
            cand.run_id,
            cand.model,
            cand.input_example,
            tags={**self._common_tags, MLFLOW_SOURCE_NAME: "stance train", schema.CANDIDATE_TAG: cand.name},
            metadata={"candidate": cand.name},
        )
        self.timings["log_model"] = self.timings.get("log_model", 0.0) + time.perf_counter() - t0

    def update_candidate(self, run_id: str, metrics: Mapping[str, float], tags: Mapping[str, str]) -> None:
        """Add the comparison results (known once every candidate ran) to a finished child run."""
        with self._timed("comparison"):
            self._log_metrics(run_id, metrics, tags)

    # ------------------------------------------------------------ parent summary and registry

    def log_leaderboard(
        self, rows: Sequence[Mapping[str, Any]], best: str, metric: str, metrics: Mapping[str, float]
    ) -> None:
        """Leaderboard CSV and bar chart (with error bars) on the parent run, plus its headline metrics."""
        with tempfile.TemporaryDirectory(prefix="stance-leaderboard-") as tmp:
            # Writing the files and drawing the chart is ours (matplotlib); only the upload is timed.
            write_leaderboard(Path(tmp), rows, metric)
            with self._timed("leaderboard"):
                retry(self.client.log_artifacts, self.parent_id, tmp)
                self._log_metrics(self.parent_id, metrics, {schema.BEST_TAG: best, schema.METRIC_TAG: metric})

    def register(self, cand: Candidate, tags: Mapping[str, str] | None = None) -> str:
        """Register the champion's model as a new version (no alias yet); return its version.

        The alias moves later, with :meth:`promote`, once the export is complete.
        """
        with self._timed("registry"):
            if not cand.model_uri:
                self._log_model(cand)
            import mlflow

            name = self.config.registered_model
            version = retry(
                mlflow.register_model,
                cand.model_uri,
                name,
                tags={"candidate": cand.name, "run_id": cand.run_id, **self._common_tags, **(tags or {})},
            )
            self.registered_version = str(version.version)
            retry(self.client.set_tag, self.parent_id, schema.REGISTERED_TAG, f"models:/{name}/{version.version}")
            return self.registered_version

    def promote(self, version: str) -> str:
        """Point the alias at a registered version (once its export is complete); return its URI."""
        with self._timed("registry"):
            name, alias = self.config.registered_model, self.config.alias
            retry(self.client.set_registered_model_alias, name, alias, version)
            return f"models:/{name}@{alias}"

    def champion(self) -> dict[str, str] | None:
        """The version holding the alias now and its tags (``version``, ``uri`` and the rest), or None."""
        from mlflow.exceptions import MlflowException

        with self._timed("registry"):
            name, alias = self.config.registered_model, self.config.alias
            try:
                version = retry(self.client.get_model_version_by_alias, name, alias)
            except MlflowException:  # no such model or alias yet
                return None
            return {
                **dict(version.tags or {}),
                "version": str(version.version),
                "uri": f"models:/{name}/{version.version}",
            }

    def log_gate(self, tags: Mapping[str, str], numbers: Mapping[str, float]) -> None:
        """Record the champion gate's decision on the parent run: ``stance.gate.*`` tags and ``gate_*`` metrics."""
        with self._timed("registry"):
            self._log_metrics(
                self.parent_id,
                {f"gate_{k}": v for k, v in numbers.items()},
                {f"stance.gate.{k}": v for k, v in tags.items()},
            )

    def fail_abandoned_runs(self) -> list[str]:
        """Mark FAILED the RUNNING runs of this experiment whose process on this host has died.

        A ``kill -9`` leaves no chance to close a run; the host and pid tags written at the
        start of every run tell whose it was.
        """
        from training.atomic import pid_alive

        self.open()
        host = socket.gethostname().replace("'", "")
        runs = retry(
            self.client.search_runs,
            [self.experiment_id],
            filter_string=f"attributes.status = 'RUNNING' and tags.`{schema.HOST_TAG}` = '{host}'",
            max_results=1000,
        )
        pids = {r.info.run_id: str(r.data.tags.get(schema.PID_TAG, "")) for r in runs}
        dead = [run_id for run_id, pid in pids.items() if pid.isdigit() and not pid_alive(int(pid))]
        for run_id in dead:
            retry(self.client.set_terminated, run_id, "FAILED")
            retry(self.client.set_tag, run_id, schema.FAILURE_TAG, "its process ended without closing the run")
        return dead

    def log_timing(self, total_seconds: float, exclusive_seconds: float) -> None:
        """Wall time of the command, time in MLflow calls and the part of it not overlapped by training."""
        with self._timed("timing"):
            share = exclusive_seconds / total_seconds if total_seconds > 0 else 0.0
            self._log_metrics(
                self.parent_id,
                {
                    "seconds_total": total_seconds,
                    "seconds_mlflow": self.seconds,
                    "seconds_mlflow_not_overlapped": exclusive_seconds,
                    "cpu_seconds_mlflow": self.cpu_seconds,
                    "mlflow_share": share,
                    **{f"seconds_mlflow_{k}": v for k, v in self.timings.items()},
                },
                {},
            )
