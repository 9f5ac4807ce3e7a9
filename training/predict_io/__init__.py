"""Streaming ``stance predict``: read sentences, label them in batches, write rows as they come.

Files are checked completely (encoding, JSON, columns) before the model is loaded, so a broken
line near the end fails in seconds instead of after an hour of labelling. Standard input
cannot be rewound and is checked as it streams.

- ``options``: what was asked (:class:`PredictOptions`), the counts (:class:`PredictStats`),
  input and output formats, option checks;
- ``readers``: strict UTF-8 lines, text/JSONL/CSV rows, documents, sentences;
- ``writers``: JSON lines, CSV and terminal tables;
- ``run``: :func:`run_predict` and the summary line.
"""

from .options import PredictOptions, PredictStats
from .readers import check_utf8, decoded_lines
from .run import run_predict, summary

__all__ = ["PredictOptions", "PredictStats", "check_utf8", "decoded_lines", "run_predict", "summary"]
