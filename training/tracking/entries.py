"""MLflow entries of a run built from plain data: batched params and metrics, dataset inputs."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from training.tracking.store import retry

MAX_DIGEST_CHARS = 36  # MLflow's limit for a dataset digest
MAX_BATCH_PARAMS, MAX_BATCH_ENTRIES = 100, 1000  # MLflow's limits for one log_batch call


def now_ms() -> int:
    """MLflow's timestamp for a metric logged now."""
    return int(time.time() * 1000)


def log_batch(client: Any, run_id: str, params: Sequence[Any] = (), metrics: Sequence[Any] = ()) -> None:
    """Params and metrics in as few ``log_batch`` calls as MLflow's limits allow.

    Each call is one transaction on the store; a batch holds at most 100 params and 1000
    entries in all.
    """
    params, metrics = list(params), list(metrics)
    while params or metrics:
        p, params = params[:MAX_BATCH_PARAMS], params[MAX_BATCH_PARAMS:]
        m, metrics = metrics[: MAX_BATCH_ENTRIES - len(p)], metrics[MAX_BATCH_ENTRIES - len(p) :]
        retry(client.log_batch, run_id, params=p, metrics=m)


def dataset_inputs(frames: Mapping[str, tuple[str, Any]], fingerprint: str, source: str) -> list[Any]:
    """MLflow dataset inputs (``DatasetInput``) of ``frames``, tagged with their context."""
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    # Without a source MLflow records where the frame was built; an empty source is no source.
    where = {"source": source} if source else {}
    out = []
    for context, (name, frame) in frames.items():
        # The builder's fingerprint covers every row; MLflow's own digest reads only the first
        # 10,000. Its digest column holds 36 characters: a prefix of the fingerprint.
        digest = fingerprint[:MAX_DIGEST_CHARS] if fingerprint else None
        with warnings.catch_warnings():
            # A local path matches two equivalent source types; MLflow picks one and says so.
            warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
            ds = from_pandas(frame, targets="label", name=name, digest=digest, **where)
        # to_dict() holds the fields of the store's dataset entity (name, digest, source, schema...).
        entity = Dataset(**ds.to_dict())
        out.append(DatasetInput(entity, tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)]))
    return out
