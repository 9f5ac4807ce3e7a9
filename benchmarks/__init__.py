"""Speed and memory of every ``stance`` command, measured next to a reference in the same run.

Run it with ``python -m benchmarks`` (or ``make bench``); ``--quick`` uses tiny sizes so the
suite itself can be kept working by a test. Every figure is a median over repeated runs of a
fresh process; peak memory is the process's own maximum resident set size as the kernel
reports it when the process ends. Generated corpora serve speed and memory only: no quality
figure is ever computed on them.
"""
