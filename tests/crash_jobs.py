"""Importable job functions for tests/test_crash.py (run by worker subprocesses).

Every execution appends one line ``<job id> <attempt> <pid>`` to a shared log
file opened with ``O_APPEND`` (a single ``os.write`` of a short line is atomic
on POSIX, so lines from two processes never interleave). ``attempt`` is this
process's view of the attempt number, taken from the job's retries: the test
counts lines per job id, so a job run twice shows up even if it says 1 twice.

Nothing here sleeps. The slow job blocks on an Event that is never set,
waiting 0.05 s at a time, for at most ``limit`` seconds: long enough for the
test to SIGKILL its worker, bounded so nothing lingers if the test breaks.
"""

import os
import threading
import time

from rq_emulator import get_current_job


def _attempt(job):
    """1 for the first run; the test stores the job's Retry(max=...) in meta['retry_max']."""
    meta_max = (job.meta or {}).get('retry_max', 0)
    left = job.retries_left or 0
    return meta_max - left + 1


def _log(log_path):
    job = get_current_job()
    line = f'{job.id} {_attempt(job)} {os.getpid()}\n'.encode()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return job


def quick(log_path, n):
    """Record this execution and return ``n * 2``."""
    _log(log_path)
    return n * 2


def slow(log_path, marker_path, limit=30.0):
    """First execution: record it, create ``marker_path`` (holding this pid), block.

    Any later execution (the marker exists: a retry after the first worker was
    killed) records itself and returns ``'rerun'`` at once.
    """
    _log(log_path)
    try:
        fd = os.open(marker_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return 'rerun'
    try:
        os.write(fd, str(os.getpid()).encode())
    finally:
        os.close(fd)
    never = threading.Event()
    end = time.monotonic() + limit
    while time.monotonic() < end:
        never.wait(0.05)
    return 'not killed'     # the test failed to kill this worker in time
