"""The ``stance`` application: its root options, how errors become one line, the entry point."""

from __future__ import annotations

import errno
import functools
import gc
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from training.errors import StanceError

from .render import err

app = typer.Typer(
    name="stance",
    help="Build a stance-toward-normalization dataset, compare classifiers in MLflow, label new text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help text: rendering it through rich costs a third of a second at every start.
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])


def _stdout_failed(exc: OSError) -> None:
    """Report a standard output that cannot take our rows (a full disk, ``/dev/full``) and silence it."""
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the interpreter flushes it at exit
    if exc.errno != errno.EPIPE:  # a reader that stopped early (``| head``) is no error of ours
        err(f"cannot write standard output: {exc.strerror or exc} (free some space or redirect it elsewhere)")


def user_errors(func: F) -> F:
    """Turn a :class:`StanceError` into one line per problem on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from training.atomic import USER_ERRNOS, user_error
        from training.processes import sigterm_as_interrupt

        sigterm_as_interrupt()
        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # a full standard output fails here, inside the handlers below
            return result
        except StanceError as exc:
            for line in exc.problems:
                err(line)
            raise typer.Exit(1) from None
        except OSError as exc:
            if exc.errno not in USER_ERRNOS and exc.errno != errno.EPIPE:
                raise
            if exc.filename is None:
                _stdout_failed(exc)
            else:
                err(user_error(exc, "write", exc.filename).problems[0])
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err("interrupted; earlier datasets, models and runs were left as they were")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature typer reads


def _print_version(value: bool) -> None:
    if value:
        from training import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    """Build a stance-toward-normalization dataset, compare classifiers in MLflow, label new text."""
    # Library progress bars and INFO lines are not ours to print; a user may turn them back on.
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # With a tracking server MLflow prints a "View run" link on standard output, which is for data.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    _log_warnings()


def _log_warnings() -> None:
    """Our modules' warnings reach standard error as ``warning: ...`` lines."""
    import logging

    class _Stderr(logging.Handler):
        # Whatever standard error is when the warning comes (a test runner swaps it).
        def emit(self, record: logging.LogRecord) -> None:
            sys.stderr.write(self.format(record) + "\n")

    logger = logging.getLogger("training")
    if not logger.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        handler.setLevel(logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False


def main() -> None:
    """Entry point of the ``stance`` console script; usage errors too are one ``error:`` line (exit 2)."""
    code: Any = 0
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        err("interrupted")
        code = 130
    except Exception as exc:
        # Usage errors are click exceptions, which typer does not re-export: recognised by their
        # documented interface (format_message, exit_code), not by a private import.
        exit_code = getattr(exc, "exit_code", None)
        if not (hasattr(exc, "format_message") and isinstance(exit_code, int)):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(exc.format_message() + "\n")
        else:
            where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            err(f"{exc.format_message()}{where}")
        code = exit_code
    finally:
        # At exit the interpreter runs a last garbage collection over every object still alive:
        # after scikit-learn, scipy and pandas are imported that alone takes about 0.4 s, for
        # memory the process hands back anyway. Frozen objects are left out of it; atexit
        # handlers (MLflow's, logging's) still run. Measured by the startup benchmark.
        gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
