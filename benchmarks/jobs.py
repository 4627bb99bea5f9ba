"""Job functions used by the benchmarks.

They live in an importable module (not ``__main__``) so that RQ, huey and
rq_emulator can all refer to them by dotted name (``jobs.noop``, ``jobs.add``).
"""
import threading
import time

perf_counter = time.perf_counter

#: perf_counter() values recorded by ``record_start`` / ``sleep5_record``.
STARTS = []

#: Set by ``set_done`` (huey burst sentinel).
DONE = threading.Event()


def noop():
    pass


def add(a, b):
    return a + b


def record_start():
    """Record the moment the job body starts (for latency figures)."""
    STARTS.append(perf_counter())


def sleep5_record():
    """Record the start, then block in time.sleep(5) (job_timeout figure)."""
    STARTS.append(perf_counter())
    time.sleep(5)


def set_done():
    """Sentinel task: with one FIFO worker, everything before it has run."""
    DONE.set()
