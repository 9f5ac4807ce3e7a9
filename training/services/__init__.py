"""A team's services on one machine: PostgreSQL, an MLflow server on it, a Dask scheduler and workers.

For a local try (``make server``), the tests and the benchmarks. Everything listens on
127.0.0.1 only; each service is a real program started from this machine's packages
(PostgreSQL's ``initdb``/``pg_ctl``) or this environment (``mlflow server``, ``dask scheduler``,
``dask worker``).

Modules: ``process`` (spawning, waiting, stopping), ``postgres``, ``mlflow_server``,
``dask_cluster``, ``team`` (``up``/``down`` for ``python -m training.services``).
"""

from training.services.dask_cluster import Cluster, start_cluster, start_worker, wait_registered
from training.services.mlflow_server import start_mlflow
from training.services.postgres import Postgres
from training.services.process import Process, ServiceError, free_port
from training.services.team import down, up

__all__ = [
    "Cluster",
    "Postgres",
    "Process",
    "ServiceError",
    "down",
    "free_port",
    "start_cluster",
    "start_mlflow",
    "start_worker",
    "up",
    "wait_registered",
]
