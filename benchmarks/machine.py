"""What the figures were measured on, read from the machine itself."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

LIBRARIES = (
    "stance",
    "scikit-learn",
    "skops",
    "numpy",
    "scipy",
    "datasets",
    "pyarrow",
    "mlflow",
    "typer",
    "rich",
    "pydantic",
    "fasttext-wheel",
    "fasttext",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _virtualised() -> str:
    try:
        flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
        return "virtual machine" if " hypervisor" in flags else "bare metal"
    except OSError:
        return "unknown"


def describe() -> dict[str, object]:
    """CPU, cores, memory, OS, Python and library versions, and the BLAS environment."""
    versions = {}
    for dist in LIBRARIES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    mem = _memory_bytes()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1) if mem else None,
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()}, {_virtualised()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "libraries": versions,
        # Set on some hosts to work around old OpenBLAS kernels; they change numpy's speed.
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "blas_env": {
            k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS") if k in os.environ
        },
    }
