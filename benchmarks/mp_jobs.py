"""Job functions of ``benchmarks/multiprocess.py`` (importable by rq_emulator's and RQ's workers)."""
import time


def noop_t():
    """A trivial job; returns the epoch time it ran at (start and end are the same here)."""
    return time.time()


def io5_t():
    """A 5 ms I/O-bound job (time.sleep); returns the epoch time it ended."""
    time.sleep(0.005)
    return time.time()
