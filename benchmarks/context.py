"""Sizes of a run and what the sections hand on to each other (datasets, exports, inputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.corpus import Chain, write_lines


@dataclass(frozen=True)
class Sizes:
    """How big and how often; ``FULL`` is what docs/benchmarks.md reports, ``QUICK`` keeps tests short."""

    help_repeats: int
    build_sentences: tuple[int, int]
    build_repeats: int
    train_repeats: int
    train_quick: bool  # a reduced candidate list and CV, for the smoke test only
    predict_repeats: int
    batch_lines: int  # stance predict throughput, and the smaller memory run
    memory_lines: int  # the larger memory run
    memory_repeats: int  # runs of the batch file (and its reference)
    big_repeats: int  # runs of the large file, the longest command of the suite
    reference_lines: int  # prediction throughput of fastText and the champion
    reference_fits: int
    segment_mb: float  # the one-line document of the segmentation row
    cluster_repeats: int = 1  # measured runs of each side of the cluster rows (after one warm-up each)
    predict_cluster_repeats: int = 3


FULL = Sizes(
    help_repeats=11,
    build_sentences=(10_000, 100_000),
    build_repeats=3,
    train_repeats=3,
    train_quick=False,
    predict_repeats=9,
    batch_lines=100_000,
    memory_lines=1_000_000,
    memory_repeats=7,
    big_repeats=2,
    reference_lines=100_000,
    reference_fits=3,
    segment_mb=50,
)
QUICK = Sizes(
    help_repeats=2,
    build_sentences=(300, 1_500),
    build_repeats=1,
    train_repeats=1,
    train_quick=True,
    predict_repeats=2,
    batch_lines=2_000,
    memory_lines=20_000,
    memory_repeats=2,
    big_repeats=1,
    reference_lines=2_000,
    reference_fits=1,
    segment_mb=0.2,
    cluster_repeats=1,
    predict_cluster_repeats=1,
)


@dataclass
class Context:
    """Shared state of one run of the suite."""

    root: Path  # the project checkout (seeds/, configs/)
    work: Path  # scratch space for corpora, datasets, stores and exports
    sizes: Sizes
    model: Path | None = None  # --model: the export to benchmark predict and the reference on
    seed_dataset: Path | None = None  # built from seeds/ in this run by the build section
    export: Path | None = None  # written by this run's `stance train`
    notes: list[str] = field(default_factory=list)
    _chain: Chain | None = None
    _lines: dict[int, Path] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def chain(self) -> Chain:
        """The word chain behind every generated corpus, learned once from seeds/."""
        if self._chain is None:
            self._chain = Chain(self.root / "seeds")
        return self._chain

    def lines(self, count: int) -> Path:
        """A file of ``count`` generated sentences, one per line (written once per run)."""
        if count not in self._lines:
            self._lines[count] = write_lines(self.chain, count, self.work / f"lines_{count}.txt")
        return self._lines[count]


def _fingerprint(dataset: Path | None) -> str | None:
    import json

    if dataset is None or not (dataset / "stance_dataset.json").is_file():
        return None
    return json.loads((dataset / "stance_dataset.json").read_text(encoding="utf-8")).get("fingerprint")


_STAND_IN = """
import sys
from training import classifiers as reg
from training.dataset import load_built
from training.persistence import write_export
from training.train import prepare
data = prepare(*load_built(sys.argv[1]), sys.argv[1])
rows = [i for i in range(len(data.texts)) if data.gold[i]]
model = reg.assemble(reg.build_features("word_char", {}), reg.build_classifier("logreg", {"C": 8.0}, 42))
model.fit([data.texts[i] for i in rows], data.labels[rows].tolist())
write_export(model, sys.argv[2], {"candidate": "logreg-word_char (benchmark stand-in)",
             "dataset_fingerprint": data.fingerprint}, "# logreg-word_char, written by the benchmark")
"""


def champion(ctx: Context) -> tuple[Path | None, Path | None, str]:
    """The export to measure, the dataset it was trained on, and a sentence saying which and why.

    ``--model`` wins; then ``models/stance-classifier`` when a dataset with its fingerprint is
    at hand (``data/dataset`` or the seed dataset built in this run); then the export this
    run's ``stance train`` wrote, with the seed dataset it was trained on. An export that
    references a sentence encoder (the encoder section measures those) is replaced by a
    TF-IDF logistic regression fitted here on its dataset: the predict and reference sections
    time the command's own machinery, which a transformer's arithmetic would drown.
    """
    model, ds, how = _chosen(ctx)
    if model is None or ctx.model is not None or ds is None:
        return model, ds, how
    import json

    if not json.loads((model / "metadata.json").read_text(encoding="utf-8")).get("encoders"):
        return model, ds, how
    return (
        stand_in(ctx, ds),
        ds,
        (
            f"a logreg-word_char export fitted on {ds.name} by the benchmark, in place of {how}, "
            "which references a sentence encoder (measured in the encoder section)"
        ),
    )


def stand_in(ctx: Context, dataset: Path) -> Path:
    """A logreg-word_char export fitted on ``dataset``'s gold sentences (once per run)."""
    folder = ctx.work / "tfidf-stand-in"
    if not (folder / "metadata.json").is_file():
        import subprocess
        import sys

        subprocess.run([sys.executable, "-c", _STAND_IN, str(dataset), str(folder)], check=True, cwd=ctx.root)
    return folder


def _chosen(ctx: Context) -> tuple[Path | None, Path | None, str]:
    """``champion`` before any stand-in."""
    import json

    def trained_on(model: Path) -> Path | None:
        meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
        want = meta.get("dataset_fingerprint")
        for ds in (ctx.root / "data" / "dataset", ctx.seed_dataset):
            if want and _fingerprint(ds) == want:
                return ds
        return None

    if ctx.model is not None:
        ds = trained_on(ctx.model) if (ctx.model / "metadata.json").is_file() else None
        return (
            ctx.model,
            ds or ctx.seed_dataset,
            f"--model {ctx.model}"
            + ("" if ds else " (no dataset with its fingerprint found; scored on this run's seed dataset)"),
        )
    default = ctx.root / "models" / "stance-classifier"
    if (default / "metadata.json").is_file():
        ds = trained_on(default)
        if ds is not None:
            return default, ds, f"models/stance-classifier (trained on {ds.name}, fingerprint checked)"
    if ctx.export is not None and (ctx.export / "metadata.json").is_file():
        return ctx.export, ctx.seed_dataset, "the export written by this run's `stance train` on the seed dataset"
    if (default / "metadata.json").is_file():
        return (
            default,
            ctx.seed_dataset,
            (
                "models/stance-classifier (its training dataset was not found by "
                "fingerprint; scored on this run's seed dataset)"
            ),
        )
    return None, None, "no model: neither models/stance-classifier nor an export from this run's train"
