"""training.errors: StanceError's lines, its message, and its trip through pickle and a worker process."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest
from training.errors import StanceError


class NamedError(StanceError):
    """A subclass, to check that the type survives pickling too."""


def _fail_in_worker(first: str, second: str) -> None:
    raise StanceError(first, second)


def test_each_problem_is_one_line_of_the_message() -> None:
    err = StanceError("missing label: a.jsonl:3 (add one)", "missing text: a.jsonl:4 (add one)")
    assert err.problems == ("missing label: a.jsonl:3 (add one)", "missing text: a.jsonl:4 (add one)")
    assert str(err) == "missing label: a.jsonl:3 (add one)\nmissing text: a.jsonl:4 (add one)"
    assert err.args == ("missing label: a.jsonl:3 (add one)\nmissing text: a.jsonl:4 (add one)",)


def test_no_problems_is_an_unknown_error() -> None:
    err = StanceError()
    assert err.problems == ("unknown error",) and str(err) == "unknown error"


def test_it_is_an_exception_that_pytest_can_match() -> None:
    with pytest.raises(StanceError, match=r"^data not found: x\.jsonl \(pass a file\)$"):
        raise StanceError("data not found: x.jsonl (pass a file)")


def test_pickling_keeps_every_line_and_the_type() -> None:
    back = pickle.loads(pickle.dumps(StanceError("one", "two", "three")))
    assert type(back) is StanceError and back.problems == ("one", "two", "three")
    sub = pickle.loads(pickle.dumps(NamedError("only")))
    assert type(sub) is NamedError and sub.problems == ("only",)


def test_an_error_raised_in_a_worker_process_keeps_its_lines() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool, pytest.raises(StanceError) as caught:
        pool.submit(_fail_in_worker, "first line", "second line").result()
    assert caught.value.problems == ("first line", "second line")
