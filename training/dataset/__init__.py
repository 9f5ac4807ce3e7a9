"""``stance build-dataset``: documents in, a labelled, split, fingerprinted DatasetDict out.

Modules: ``build`` (the stages in order, saved atomically), ``sentences`` (reading and
segmenting into a spill file), ``stages`` (label, deduplicate, split, audit), ``writer`` (the
splits streamed, fingerprinted and saved by ``datasets``), ``files`` (info file, reports,
loading a built dataset back).
"""

from training.agreement import read_agreement
from training.dataset.build import BuildResult, build_dataset
from training.dataset.files import INFO_FILE, is_dataset, load_built, write_info
from training.dataset.stages import SPLITS, split_documents

__all__ = [
    "INFO_FILE",
    "SPLITS",
    "BuildResult",
    "build_dataset",
    "is_dataset",
    "load_built",
    "read_agreement",
    "split_documents",
    "write_info",
]
