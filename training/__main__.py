"""``python -m training`` is the same as the ``stance`` command."""

from training.cli import main

main()
