"""Errors that reach the user as one clear line each, never as a traceback."""

from __future__ import annotations


class StanceError(Exception):
    """A problem the user can fix: each entry of ``problems`` is one line of output.

    Lines follow the form ``<what>: <where> (<what to do>)`` so that a user can jump
    straight to the file and line that needs attention.
    """

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = tuple(problems) or ("unknown error",)
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[type[StanceError], tuple[str, ...]]:
        # Rebuilt from its lines, not from the joined message, when it crosses from a worker process.
        return type(self), self.problems
