"""Importable job functions for tests/test_reliability.py.

Every job records what happened to it in a ``Recorder`` (found by a string
key, because job arguments are pickled at enqueue): one entry per attempt,
keyed by ``get_current_job().id``, with a global sequence number taken when
the attempt starts and another when it ends.  The sequence numbers come from
one process-wide counter, so they order attempts, cancels and test steps
against each other without any clock.

Nothing here sleeps.  A job that must stay busy blocks on a ``threading.Lock``
or ``threading.Event`` the test controls (``Lock.acquire`` with a timeout is a
C call that no Python-level exception can interrupt, like a blocking sleep or
a socket read), so the test can release it and nothing lingers.
"""

import itertools
import threading

from rq_emulator import get_current_job

_seq = itertools.count(1)
_seq_lock = threading.Lock()
_registry_lock = threading.Lock()

RECORDERS = {}
EVENTS = {}
LOCKS = {}


def tick():
    """Return the next global sequence number (thread-safe)."""
    with _seq_lock:
        return next(_seq)


class Attempt:
    __slots__ = ('start', 'end', 'outcome', 'thread')

    def __init__(self, start):
        self.start = start
        self.end = None
        self.outcome = None
        self.thread = threading.current_thread()

    def __repr__(self):
        return 'Attempt(start=%r, end=%r, outcome=%r)' % (self.start, self.end, self.outcome)


class Recorder:
    """Thread-safe log of job attempts: ``attempts[job_id] -> [Attempt, ...]``."""

    def __init__(self, key):
        self.key = key
        self.lock = threading.Lock()
        self.attempts = {}
        self.order = []          # job ids in the order their attempts started

    def begin(self):
        job = get_current_job()
        if job is None:
            raise RuntimeError('get_current_job() returned None inside a job')
        attempt = Attempt(tick())
        with self.lock:
            self.attempts.setdefault(job.id, []).append(attempt)
            self.order.append(job.id)
            number = len(self.attempts[job.id])
        return attempt, number

    @staticmethod
    def end(attempt, outcome):
        attempt.end = tick()
        attempt.outcome = outcome

    def count(self, job_id):
        with self.lock:
            return len(self.attempts.get(job_id, ()))

    def get(self, job_id):
        with self.lock:
            return list(self.attempts.get(job_id, ()))


def new_recorder(key):
    with _registry_lock:
        rec = RECORDERS[key] = Recorder(key)
    return rec


def event(name):
    with _registry_lock:
        return EVENTS.setdefault(name, threading.Event())


def lock(name):
    """A lock that starts acquired: ``block_in_c`` jobs wait on it."""
    with _registry_lock:
        if name not in LOCKS:
            lk = threading.Lock()
            lk.acquire()
            LOCKS[name] = lk
        return LOCKS[name]


# ---- job functions ---------------------------------------------------------

def ok(key, value):
    attempt, _ = RECORDERS[key].begin()
    Recorder.end(attempt, 'ok')
    return value


def fail(key, message='boom'):
    attempt, _ = RECORDERS[key].begin()
    Recorder.end(attempt, 'raised')
    raise ValueError(message)


def flaky(key, fails):
    """Raise on the first ``fails`` attempts, then return the attempt number."""
    attempt, number = RECORDERS[key].begin()
    if number <= fails:
        Recorder.end(attempt, 'raised')
        raise ValueError('flaky attempt %d of %d' % (number, fails))
    Recorder.end(attempt, 'ok')
    return number


def raise_system_exit(key):
    attempt, _ = RECORDERS[key].begin()
    Recorder.end(attempt, 'raised')
    raise SystemExit(3)


def raise_keyboard_interrupt(key):
    attempt, _ = RECORDERS[key].begin()
    Recorder.end(attempt, 'raised')
    raise KeyboardInterrupt()


def block_in_c(key, name):
    """Block in C (a Lock acquire) until the test releases ``lock(name)``.

    Use one ``name`` per job.  ``name:returned`` is set when the C call has
    returned, also when the emulator then raises JobTimeoutException inside
    the job (it does so at the first bytecode after the C call).
    """
    attempt, _ = RECORDERS[key].begin()
    event(name + ':entered').set()
    try:
        lock(name).acquire(True, 30)
        Recorder.end(attempt, 'late')
        return 'late return value'
    finally:
        event(name + ':returned').set()


def wait_event(key, name, value='done'):
    """Signal ``name:entered``, then wait (bounded) for ``event(name)``."""
    attempt, _ = RECORDERS[key].begin()
    event(name + ':entered').set()
    released = event(name).wait(30)
    Recorder.end(attempt, 'ok' if released else 'gave-up')
    event(name + ':returned').set()
    return value


def unpicklable_result(key):
    attempt, _ = RECORDERS[key].begin()
    Recorder.end(attempt, 'ok')
    return threading.Lock()


# ---- callbacks and handlers ------------------------------------------------

def success_callback_raises(job, connection, result, *args, **kwargs):
    raise RuntimeError('on_success callback boom')


def failure_callback_raises(job, connection, exc_type, exc_value, tb, *args, **kwargs):
    raise RuntimeError('on_failure callback boom')


def stopped_callback_raises(job, connection, *args, **kwargs):
    event('stopped-callback-called').set()
    raise RuntimeError('on_stopped callback boom')


def handler_raises(job, exc_type, exc_value, tb):
    raise RuntimeError('exception handler boom')
