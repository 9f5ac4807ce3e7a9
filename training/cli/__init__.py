"""The ``stance`` command line: parse options, load config, call one library function, print.

This is the only package that imports typer. Heavy libraries are imported inside commands so
that ``stance --help`` stays fast.

- ``base``: the typer application, its root options, errors as one line, :func:`main`;
- ``options``: the option types the commands share, and the default paths;
- ``render``: error lines, consoles, progress bars, tables and reports;
- ``data``, ``predicting``, ``models``, ``loop``: the commands, by stage.
"""

from .base import app, main
from .data import build_dataset, segment
from .loop import agreement, annotate, audit_labels, import_labels, learning_curve, queue
from .models import compare, pipeline, train
from .options import METRICS, PLOTS
from .predicting import evaluate, predict

# Registered here, in the order ``stance --help`` lists them.
app.command()(segment)
app.command("build-dataset")(build_dataset)
app.command()(predict)
app.command()(evaluate)
app.command()(train)
app.command()(compare)
app.command()(queue)
app.command()(annotate)
app.command("import-labels")(import_labels)
app.command()(agreement)
app.command("audit-labels")(audit_labels)
app.command("learning-curve")(learning_curve)
app.command()(pipeline)

__all__ = ["METRICS", "PLOTS", "app", "main"]
