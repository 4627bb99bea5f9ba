"""Job functions and classes for tests/test_cli_rq_flags.py, imported by the worker
as ``cli_rq_flags_jobs`` (the tests pass ``-P tests``)."""

import rq_emulator

CREATED = []        # (queues, keyword arguments) of every RecordingWorker
HANDLED = []        # ids of the jobs the exception handler saw


def add(a, b):
    return int(a) + int(b)


def fail(message='boom'):
    raise ValueError(message)


def handler(job, exc_type, exc_value, traceback):
    HANDLED.append((job.id, exc_type.__name__))
    return True


class RecordingWorker(rq_emulator.Worker):
    def __init__(self, queues, **kwargs):
        CREATED.append((list(queues), dict(kwargs)))
        super().__init__(queues, **kwargs)


class JobSubclass(rq_emulator.Job):
    __slots__ = ()


class QueueSubclass(rq_emulator.Queue):
    pass
