"""Job functions for tests/test_cli.py.

The worker subprocesses import this module as ``cli_jobs`` (the test passes
``-P tests``); in-process tests use the same name after putting this directory
on ``sys.path``. Nothing here sleeps: ``wait_for_file`` waits on an Event that
is never set, a bounded number of times, until the test creates the file.
"""

import os
import threading


def add(a, b):
    return a + b


def echo(*args, **kwargs):
    return [list(args), kwargs]


def fail(message='boom'):
    raise ValueError(message)


def record(path, label):
    """Append ``label`` to the file at ``path``: the order the jobs ran in."""
    with open(path, 'a', encoding='utf-8') as file:
        file.write(label + '\n')
    return label


def wait_for_file(path, waits=600):
    """Return 'done' once ``path`` exists; give up after ``waits`` checks 0.05 s apart."""
    pause = threading.Event()
    for _ in range(waits):
        if os.path.exists(path):
            return 'done'
        pause.wait(0.05)
    raise TimeoutError(f'{path} did not appear')
