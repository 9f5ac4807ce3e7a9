"""training.train.run: signals during `stance train` become interrupts that are never lost."""

from __future__ import annotations

import os
import signal

import pytest
from training.train.run import interrupts


def _let_the_handler_run(steps: int = 10_000) -> None:
    for _ in range(steps):  # bytecodes for the interpreter to run the pending signal handler in
        pass


def test_signals_become_keyboard_interrupts_and_the_old_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with interrupts() as check, pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        check()  # nothing received yet
        os.kill(os.getpid(), signal.SIGTERM)
        _let_the_handler_run()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_dropped_inside_a_finalizer_is_raised_at_the_next_check() -> None:
    class Collected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            _let_the_handler_run()  # the KeyboardInterrupt is raised here, and Python drops it

    with interrupts() as check:
        Collected()
        _let_the_handler_run()  # not raised again by itself
        with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGINT)}"):
            check()
