"""Reading a ``stance train`` comparison back from the tracking store (``stance compare``)."""

from __future__ import annotations

from typing import Any

from training.errors import StanceError
from training.tracking import schema
from training.tracking.store import check_store, experiment_id, resolve_uri, retry, sqlite_path


def read_leaderboard(uri: str | None, experiment: str, run_id: str | None = None) -> dict[str, Any]:
    """The leaderboard of one ``stance train`` run read back from its MLflow child runs.

    ``run_id`` selects a parent run (a child's id selects its parent); by default the latest
    finished comparison in ``experiment``. The rows are parsed by :func:`schema.leaderboard`.
    """
    uri = resolve_uri(uri)
    check_store(uri)
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        raise StanceError(f"no tracking store at {uri} (run `stance train` first, or set MLFLOW_TRACKING_URI)")
    import mlflow
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    client = mlflow.MlflowClient(uri)
    parent = _parent_by_id(client, uri, run_id) if run_id else _latest_parent(client, uri, experiment)
    children = retry(
        client.search_runs,
        [parent.info.experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent.info.run_id}'",
        max_results=1000,
    )
    return schema.leaderboard(uri, parent, children)


def _parent_by_id(client: Any, uri: str, run_id: str) -> Any:
    """The parent run ``run_id``, or the parent of the candidate run ``run_id``."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    try:
        parent = retry(client.get_run, run_id)
    except MlflowException:
        raise StanceError(f"no run with id {run_id} in {uri} (list runs with `mlflow ui`, or omit --run)") from None
    tags = parent.data.tags
    if tags.get(schema.KIND_TAG) == schema.CANDIDATE and MLFLOW_PARENT_RUN_ID in tags:
        parent = retry(client.get_run, tags[MLFLOW_PARENT_RUN_ID])
    if parent.data.tags.get(schema.KIND_TAG) != schema.COMPARISON:
        raise StanceError(f"run {run_id} is not a `stance train` run (pass the id of a parent run)")
    return parent


def _latest_parent(client: Any, uri: str, experiment: str) -> Any:
    """The latest finished comparison of ``experiment``."""
    exp_id = experiment_id(client, experiment, create=False)
    found = retry(
        client.search_runs,
        [exp_id],
        filter_string=f"tags.`{schema.KIND_TAG}` = '{schema.COMPARISON}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not found:
        raise StanceError(
            f"no finished `stance train` run in experiment '{experiment}' of {uri} (run `stance train` first)"
        )
    return found[0]
