"""rq_emulator: RQ's job-queue API, in memory, one file, standard library only.

Run code written for RQ (Redis Queue) without a Redis server: in test suites, on
Windows, on a laptop, or as a small job queue inside one application. Jobs go
through RQ's lifecycle (statuses, registries, results, retries, dependencies,
scheduling, timeouts) on an in-memory store with a clock that tests can control.

    >>> from rq_emulator import Queue, Worker
    >>> queue = Queue('default')
    >>> job = queue.enqueue(divmod, 7, 2)
    >>> worker = Worker([queue])
    >>> worker.work(burst=True)
    True
    >>> job.get_result(timeout=5)
    (3, 1)

Contents (``grep -n '^# ====' rq_emulator.py``): Exceptions, Statuses and
constants, Utilities (clock, ids, serializers), Storage (BaseStore,
MemoryStore), Job (Retry, Repeat, Callback, Dependency, Result), Lifecycle (the
one owner of every state change), Queue, Registries, Worker, Commands and
helpers, RQ front door (install_as_rq).
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import base64
import collections
import contextlib
import ctypes
import datetime
import enum
import heapq
import hmac
import html
import http.server
import importlib
import importlib.machinery
import inspect
import io
import itertools
import json
import logging
import math
import os
import pickle
import random
import re
import secrets
import shutil
import signal
import socket
import socketserver
import sqlite3
import sys
import threading
import time
import traceback
import types
import urllib.parse
import warnings
import weakref

__all__ = [
    'AbandonedJobError',
    'BaseRegistry',
    'BaseStore',
    'BaseTimeoutException',
    'CALLBACK_TIMEOUT',
    'Callback',
    'CanceledJobRegistry',
    'DEFAULT_FAILURE_TTL',
    'DEFAULT_JOB_TIMEOUT',
    'DEFAULT_RESULT_TTL',
    'DefaultSerializer',
    'DeferredJobRegistry',
    'Dependency',
    'DequeueStrategy',
    'DequeueTimeout',
    'DeserializationError',
    'DuplicateJobError',
    'DuplicateSchedulerError',
    'EnqueueData',
    'FailedJobRegistry',
    'FinishedJobRegistry',
    'Group',
    'HorseMonitorTimeoutException',
    'InvalidJobDependency',
    'InvalidJobOperation',
    'InvalidJobOperationError',
    'JSONSerializer',
    'Job',
    'JobFailedError',
    'JobStatus',
    'JobTimeoutException',
    'ManualClock',
    'MemoryStore',
    'NoSuchGroupError',
    'NoSuchJobError',
    'PickleSerializer',
    'Queue',
    'RQEmulatorError',
    'Repeat',
    'Result',
    'Retry',
    'ScheduledJobRegistry',
    'SchedulerNotFound',
    'ShutDownImminentException',
    'SimpleWorker',
    'SqliteStore',
    'StartedJobRegistry',
    'StopRequested',
    'TimeoutFormatError',
    'Worker',
    'WorkerPool',
    'WorkerStatus',
    'cancel_job',
    'clean_registries',
    'get_current_job',
    'install_as_rq',
    'is_suspended',
    'job',
    'main',
    'parse_timeout',
    'requeue_job',
    'resolve_serializer',
    'resume',
    'send_kill_horse_command',
    'send_shutdown_command',
    'send_stop_job_command',
    'serve_dashboard',
    'suspend',
    'uninstall_as_rq',
]
__version__ = '0.1.0'

_log = logging.getLogger('rq_emulator')
_log.addHandler(logging.NullHandler())     # a library logs, and prints nothing on its own


# ==== Exceptions =============================================================

class RQEmulatorError(Exception):
    """Base class of the errors this module raises on its own account."""


class NoSuchJobError(RQEmulatorError): pass
class InvalidJobOperation(RQEmulatorError): pass
class InvalidJobOperationError(RQEmulatorError): pass   # RQ defines it and never raises it
class InvalidJobDependency(RQEmulatorError): pass
class DequeueTimeout(RQEmulatorError): pass
class AbandonedJobError(RQEmulatorError): pass
class DuplicateJobError(RQEmulatorError): pass
class DeserializationError(RQEmulatorError): pass
class TimeoutFormatError(RQEmulatorError): pass
class NoSuchGroupError(RQEmulatorError): pass
class StopRequested(RQEmulatorError): pass
class SchedulerNotFound(RQEmulatorError): pass
class DuplicateSchedulerError(RQEmulatorError): pass
class ShutDownImminentException(BaseException): pass   # a BaseException, as in RQ
class BaseTimeoutException(Exception): pass
class HorseMonitorTimeoutException(BaseTimeoutException): pass


class JobTimeoutException(BaseTimeoutException):
    """A job ran past its timeout (RQ keeps this one in ``rq.timeouts``)."""


_INTERRUPTS = (JobTimeoutException, StopRequested)   # what a worker raises inside a stuck job


class JobFailedError(RQEmulatorError):
    """``get_result()`` of a job that failed, was stopped or canceled; ``.job`` is the job."""

    def __init__(self, message, job=None):
        super().__init__(message)
        self.job = job


# ==== Statuses and constants =================================================

class JobStatus(str, enum.Enum):
    """A job's status; a ``str`` so that ``status == 'finished'`` holds, as in RQ."""
    CREATED = 'created'
    QUEUED = 'queued'
    FINISHED = 'finished'
    FAILED = 'failed'
    STARTED = 'started'
    DEFERRED = 'deferred'
    SCHEDULED = 'scheduled'
    STOPPED = 'stopped'
    CANCELED = 'canceled'

    def __str__(self):
        return self.value


_S = JobStatus
_ENDED_STATUSES = {_S.FINISHED, _S.FAILED, _S.STOPPED, _S.CANCELED}

# The whole lifecycle in one table. Lifecycle._set_status asserts it. Any status
# may go back to QUEUED because RQ lets a job id be enqueued again (without
# unique=True) and lets every registry requeue what it holds.
_NEXT_STATUS = {
    _S.CREATED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.QUEUED: {_S.QUEUED, _S.STARTED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.DEFERRED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.SCHEDULED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.STARTED: {_S.FINISHED, _S.FAILED, _S.STOPPED, _S.QUEUED, _S.SCHEDULED, _S.CANCELED},
    _S.FINISHED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.FAILED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.STOPPED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.CANCELED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED},
}


class WorkerStatus(str, enum.Enum):
    STARTED = 'started'
    SUSPENDED = 'suspended'
    BUSY = 'busy'
    IDLE = 'idle'


class DequeueStrategy(str, enum.Enum):
    DEFAULT = 'default'
    ROUND_ROBIN = 'round_robin'
    RANDOM = 'random'


# Enum members are slow to look up (an attribute access through the enum
# class); the hot paths use these module-level names instead.
_QUEUED, _STARTED_STATUS, _FINISHED = JobStatus.QUEUED, JobStatus.STARTED, JobStatus.FINISHED
_BUSY, _STRICT = WorkerStatus.BUSY, DequeueStrategy.DEFAULT


DEFAULT_JOB_TIMEOUT = 180
DEFAULT_RESULT_TTL = 500
DEFAULT_FAILURE_TTL = 365 * 24 * 3600
CALLBACK_TIMEOUT = 60
_MAX_RESULTS = 10          # RQ caps each job's result stream at about ten entries
_JOB_ID_RE = re.compile(r'[A-Za-z0-9_-]+\Z')
_TIMEOUT_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}


# ==== Utilities ==============================================================

class ManualClock:
    """A clock that stands still until ``advance()`` moves it; for tests.

    ``ManualClock(start=None)`` starts at ``start`` (a ``datetime``, naive meaning
    local time, or epoch seconds), by default at the current time. Calling the
    clock (or ``time()``) gives epoch seconds; ``now()`` gives an aware UTC
    datetime. ``advance(seconds_or_timedelta)`` moves it forward and, at once,
    makes due scheduled jobs and retries ready and expires what the TTLs say in
    every store that uses this clock.
    """

    def __init__(self, start=None):
        if start is None:
            start = time.time()
        self._now = _to_epoch(start, 'ManualClock(start=...)')
        self._stores = weakref.WeakSet()   # the stores to wake on advance()
        self._lock = threading.Lock()      # guards _now against concurrent advance()

    def __call__(self) -> float:
        return self._now

    def __repr__(self):
        return f'ManualClock({self.now().isoformat()})'

    def time(self) -> float:
        return self._now

    def now(self) -> datetime.datetime:
        return _to_datetime(self._now)

    def advance(self, seconds) -> float:
        """Move the clock forward by ``seconds`` (a number or a timedelta); return the new time."""
        seconds = _to_seconds(seconds, 'ManualClock.advance(seconds)')
        if seconds < 0:
            raise ValueError(f'ManualClock.advance: cannot go back in time ({seconds!r} seconds)')
        with self._lock:
            self._now += seconds
        for store in list(self._stores):
            store._clock_moved()
        return self._now


def _to_seconds(value, what):
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f'{what}: expected a timedelta or a number of seconds, got {value!r}')


def _to_epoch(value, what):
    if isinstance(value, datetime.datetime):
        return value.timestamp()        # a naive datetime is local time, as in RQ
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f'{what}: expected a datetime or epoch seconds, got {value!r}')


def _to_datetime(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def _iso(epoch):
    return None if epoch is None else _to_datetime(epoch).isoformat()


_id_pool = []          # ready uuid4 strings, made from os.urandom in bulk
_VARIANT = {c: '89ab'[int(c, 16) & 3] for c in '0123456789abcdef'}
if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_id_pool.clear)     # a child must not reuse the parent's


def _new_id():
    """A random uuid4 string (36 characters with dashes), as RQ's default job ids."""
    try:
        return _id_pool.pop()
    except IndexError:
        raw = os.urandom(16 * 512).hex()
        _id_pool.extend([f'{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}'
                         for h in [raw[i:i + 32] for i in range(0, len(raw), 32)]])
        return _id_pool.pop()


def _validate_job_id(job_id):
    if not isinstance(job_id, str) or not _JOB_ID_RE.match(job_id):
        raise ValueError(f'invalid job id {job_id!r}: a job id must only contain letters, '
                         'numbers, underscores and dashes')
    return job_id


def parse_timeout(timeout, what='timeout'):
    """RQ's timeout rule: None, -1 (no limit), seconds, or a string such as '5m', '1h', '30'."""
    if timeout is None:
        return None
    if isinstance(timeout, str):
        text = timeout.strip().lower()
        try:
            if text and text[-1] in _TIMEOUT_UNITS:
                timeout = int(text[:-1]) * _TIMEOUT_UNITS[text[-1]]
            else:
                timeout = int(text)
        except ValueError:
            raise TimeoutFormatError(
                f'{what} {timeout!r} does not parse: use seconds (e.g. 30) or a number '
                "with a unit s, m, h or d (e.g. '5m')") from None
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f'{what} {timeout!r}: expected seconds (a number), a string such as '
                        "'5m', or None")
    if timeout == 0:
        raise ValueError(f'{what} 0 is not allowed: use a positive number of seconds, '
                         'or -1 for no timeout')
    if timeout < 0 and timeout != -1:
        raise ValueError(f'{what} {timeout!r}: use a positive number of seconds, or -1 for no timeout')
    return timeout


def _import_attribute(path):
    """Import 'pkg.mod.attr' (also 'pkg.mod.Class.method'); ValueError when it cannot."""
    parts = path.split('.')
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            break
        return obj
    if len(parts) == 1 and parts[0] in dir(__import__('builtins')):
        return getattr(__import__('builtins'), parts[0])
    raise ValueError(f'Invalid attribute name: {path}')


def _func_name(func):
    if isinstance(func, str):
        return func
    if inspect.ismethod(func):
        return func.__name__
    if not inspect.isfunction(func) and not inspect.isbuiltin(func) and not inspect.isclass(func):
        return '__call__'
    module = getattr(func, '__module__', None) or 'builtins'
    return f'{module}.{getattr(func, "__qualname__", func.__name__)}'


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= 75 else text[:75] + '...'


def _call_string(func_name, args, kwargs):
    """RQ's default description: 'module.func(1, 2, k=3)'."""
    parts = [_short_repr(a) for a in args]
    parts += [f'{k}={_short_repr(v)}' for k, v in sorted(kwargs.items())]
    return f'{func_name}({", ".join(parts)})'


def _exc_string(exc_type, exc_value, tb):
    return ''.join(traceback.format_exception(exc_type, exc_value, tb))


def _call_quietly(what, func, *args):
    """Run user code (a callback, a handler) and log what it raises; never propagate."""
    try:
        return func(*args)
    except Exception:
        _log.exception('%s raised', what)
        return None


class DefaultSerializer:
    """Pickle with the highest protocol (RQ's default serializer)."""

    @staticmethod
    def dumps(obj):
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data):
        return pickle.loads(data)


PickleSerializer = DefaultSerializer


class JSONSerializer:
    """JSON, as RQ's ``JSONSerializer``: tuples come back as lists."""

    @staticmethod
    def dumps(obj):
        return json.dumps(obj).encode('utf-8')

    @staticmethod
    def loads(data):
        return json.loads(data)


class _ReferenceSerializer:
    """The opt-out (``serializer='reference'``): values are kept as they are, by reference."""

    @staticmethod
    def dumps(obj):
        return obj

    @staticmethod
    def loads(data):
        return data


# Argument and result values of these types cannot change after enqueue, so the
# default (pickle) serializer keeps them as they are instead of a round trip.
_IMMUTABLE = frozenset({int, float, str, bytes, bool, type(None), complex})


_SERIALIZERS = {None: DefaultSerializer, 'pickle': DefaultSerializer, 'json': JSONSerializer,
                'reference': _ReferenceSerializer}


def resolve_serializer(serializer=None):
    """None, 'pickle', 'json', 'reference', a dotted path, or an object with dumps/loads."""
    if isinstance(serializer, str) and serializer not in _SERIALIZERS:
        try:
            serializer = _import_attribute(serializer)
        except ValueError:
            raise ValueError(f'serializer {serializer!r}: expected \'pickle\', \'json\', '
                             "'reference', a dotted path to a serializer, or an object with "
                             'dumps() and loads()') from None
    elif not isinstance(serializer, str) and serializer is not None:
        if not (hasattr(serializer, 'dumps') and hasattr(serializer, 'loads')):
            raise NotImplementedError(
                f'serializer {serializer!r} must have dumps() and loads() '
                "(or be 'pickle', 'json' or 'reference')")
        return serializer
    return _SERIALIZERS.get(serializer, serializer)


def _run_coroutine(coro, job=None):
    """Run an ``async def`` job's coroutine to completion in an event loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside a running loop (is_async=False in async code): use a thread.
    box = {}

    def runner():
        _current.job = job
        try:
            box['value'] = asyncio.run(coro)
        except BaseException as exc:      # handed back to the calling thread below
            box['error'] = exc
    thread = threading.Thread(target=runner, name='rq-emulator-async')
    thread.start()
    thread.join()
    if 'error' in box:
        raise box['error']
    return box['value']


# ==== Storage ================================================================

class BaseStore:
    """What every store provides: the primitives the lifecycle is written on.

    They mirror RQ's use of Redis: a record per job (the job's hash), lists for
    queues, sorted sets for registries and the schedule, sets for dependents,
    and plain values for the rest (results, workers, groups). Every primitive
    must be called inside ``transaction()``, which holds the store's one lock
    and, on exit, wakes everyone waiting in ``wait()``. Nothing here knows
    about statuses, retries or dependencies; that lives in the Lifecycle
    section, written once for every store.

    Transactions: ``transaction()`` (a context manager giving the store),
    ``wait(predicate, timeout, key=None)`` (a Condition wait inside a
    transaction, woken by every transaction that wrote something; with a
    ``key``, only by ``signal(key)``, and for a job id by its deletion),
    ``wait_for_work(predicate, timeout)`` (where idle workers wait: woken when
    a job is queued, the earliest timer moves, or ``wake_workers()`` is
    called), ``now()`` (the store's clock, epoch seconds).
    Jobs: ``job_get(id)`` (a snapshot list, or None when missing or expired),
    ``job_put(id, record)``, ``job_delete(id)`` (also its results and
    dependents), ``job_expire(id, at)`` (``at=None`` keeps it for good; an
    expired job is gone for ``job_get``, and the lifecycle sets a timer to
    collect it).
    Queues: ``queue_push(name, id, at_front)``, ``queue_pop(name)``,
    ``queue_remove(name, id)``, ``queue_ids(name)``, ``queue_len(name)``,
    ``queue_position(name, id)``, ``queue_names()``.
    Sorted sets: ``zadd(key, member, score)``, ``zrem(key, member)``,
    ``zscore(key, member)``, ``zmembers(key, max_score, desc)``, ``zcard(key)``.
    Timers (what must happen at a time: a scheduled job, a registry entry's
    expiry): ``timer_add(at, key, member)``, ``timers_due(now)`` (pops them),
    ``timer_next()``; each names a sorted-set entry whose score was ``at``.
    Sets: ``sadd(key, member)``, ``srem(key, member)``, ``smembers(key)``.
    Values: ``get(key, default)``, ``set(key, value)``, ``delete(key)``.
    """

    shared = False      # True when other processes use the same store (SqliteStore)
    poll = None         # seconds between checks for other processes' changes while waiting
    atomic = False      # True when _begin()/_end() wrap a transaction that can roll back

    def __init__(self, clock=None):
        self.clock = clock or time.time
        if isinstance(clock, ManualClock):
            clock._stores.add(self)
        # _lock guards the store's state, reads included. Only transaction()
        # (__enter__) acquires it; every primitive assumes it is held. The two
        # Conditions share _lock. A transaction that wrote anything notifies
        # _changed on exit; one that queued a job, moved the earliest timer or
        # called wake_workers() notifies _work, where idle workers wait.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._work = threading.Condition(self._lock)
        self._waiting = 0                           # threads inside wait() with no key
        self._keys_waited = collections.Counter()   # key -> threads inside wait(key=key)
        self._signaled = False                      # this transaction signaled a waited key
        self._work_waiting = 0                      # threads inside wait_for_work()
        self._dirty = False                         # this transaction wrote something
        self._wake = 0                              # idle workers to wake: jobs queued, or all
        self._live_workers = weakref.WeakValueDictionary()   # name -> Worker of this process

    def now(self) -> float:
        return self.clock()

    # -- transactions --------------------------------------------------------

    def transaction(self):
        return self

    def __enter__(self):
        try:
            self._lock.acquire()
        except _INTERRUPTS:             # raised in this thread just after acquire() returned
            self._lock.release()        # (a timed-out or stopped job's thread: see Worker._abandon)
            raise
        if self.atomic:
            try:
                self._begin()
            except BaseException:
                self._lock.release()
                raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.atomic:
                self._end(commit=exc_type is None)
        finally:
            if self._dirty:
                self._dirty = False
                if self._waiting or self._signaled:
                    self._signaled = False
                    self._changed.notify_all()
                if self._wake:
                    if self._work_waiting:
                        self._work.notify(self._wake)
                    self._wake = 0
            self._lock.release()

    def _begin(self):
        """Start the underlying transaction (only when ``atomic``)."""

    def _end(self, commit):
        """Commit (or roll back) the underlying transaction (only when ``atomic``)."""

    def wait(self, predicate, timeout=None, key=None) -> bool:
        if key is None:
            self._waiting += 1
        else:
            self._keys_waited[key] += 1
        try:
            return self._wait(self._changed, predicate, timeout)
        finally:
            if key is None:
                self._waiting -= 1
            else:
                self._keys_waited[key] -= 1
                if not self._keys_waited[key]:
                    del self._keys_waited[key]

    def wait_for_work(self, predicate, timeout=None) -> bool:
        self._work_waiting += 1
        try:
            return self._wait(self._work, predicate, timeout)
        finally:
            self._work_waiting -= 1

    def _wait(self, condition, predicate, timeout):
        if self.poll is None:
            return condition.wait_for(predicate, timeout)
        # Other processes cannot notify this one, so a shared store also
        # re-checks every `poll` seconds, outside its database transaction.
        end = None if timeout is None else time.monotonic() + timeout
        while not predicate():
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._end(commit=True)          # (a polling store is an atomic one)
            try:
                condition.wait(self.poll if left is None else min(self.poll, left))
            finally:
                self._begin()
        return True

    def signal(self, key):
        if key in self._keys_waited:
            self._dirty = self._signaled = True

    def wake_workers(self):
        self._dirty = True
        self._wake = math.inf

    def _clock_moved(self):
        _tick(self)             # the Lifecycle section's sweep: promote due jobs, expire TTLs


class MemoryStore(BaseStore):
    """The in-memory store: every job, queue and registry of one process.

    ``MemoryStore(clock=None)``: ``clock`` is any zero-argument callable giving
    epoch seconds (``time.time`` by default; a ``ManualClock`` in tests). Two
    ``Queue('x')`` objects on one store are the same queue, as on one Redis.
    """

    def __init__(self, clock=None):
        super().__init__(clock)
        self._jobs = {}                             # id -> record (a list, see Job._dump)
        self._expiry = {}                           # id -> epoch when the job's keys expire
        self._queues = {}                           # name -> deque of ids
        self._zsets = collections.defaultdict(dict)  # key -> {member: score}
        self._timers = []                           # (at, seq, key, member), a heap
        self._sets = collections.defaultdict(set)   # key -> set of members
        self._values = {}                           # key -> any value
        self._seq = itertools.count()

    def __repr__(self):
        return f'<MemoryStore {len(self._jobs)} jobs, {len(self._queues)} queues>'

    # -- jobs ----------------------------------------------------------------

    def job_get(self, job_id):
        at = self._expiry.get(job_id)
        if at is not None and at <= self.clock():
            self.job_delete(job_id)
            return None
        return self._jobs.get(job_id)

    def job_put(self, job_id, record):
        self._jobs[job_id] = record
        self._dirty = True

    def job_delete(self, job_id):
        self.signal(job_id)
        self._dirty = True
        self._jobs.pop(job_id, None)
        self._expiry.pop(job_id, None)
        self._values.pop(('results', job_id), None)
        self._sets.pop(('dependents', job_id), None)

    def job_expire(self, job_id, at):
        if at is None:
            self._expiry.pop(job_id, None)
        else:
            self._expiry[job_id] = at

    # -- queues --------------------------------------------------------------

    def queue_push(self, name, job_id, at_front=False):
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = collections.deque()
        self._dirty = True
        self._wake += 1
        if at_front:
            queue.appendleft(job_id)
        else:
            queue.append(job_id)

    def queue_pop(self, name):
        queue = self._queues.get(name)
        if not queue:
            return None
        self._dirty = True
        return queue.popleft()

    def queue_remove(self, name, job_id):
        queue = self._queues.get(name)
        try:
            queue.remove(job_id)
        except (AttributeError, ValueError):
            return False
        self._dirty = True
        return True

    def queue_ids(self, name):
        return list(self._queues.get(name, ()))

    def queue_len(self, name):
        return len(self._queues.get(name, ()))

    def queue_position(self, name, job_id):
        try:
            return self._queues.get(name, ()).index(job_id)
        except ValueError:
            return None

    def queue_names(self):
        return sorted(self._queues)

    def queue_register(self, name):
        self._queues.setdefault(name, collections.deque())

    def queue_forget(self, name):
        self._queues.pop(name, None)
        self._dirty = True

    # -- sorted sets ---------------------------------------------------------

    def zadd(self, key, member, score):
        self._zsets[key][member] = score
        self._dirty = True

    def zrem(self, key, member):
        zset = self._zsets.get(key)
        self._dirty = True
        return bool(zset) and zset.pop(member, None) is not None

    def zscore(self, key, member):
        zset = self._zsets.get(key)
        return zset.get(member) if zset else None

    def zcard(self, key):
        return len(self._zsets.get(key, ()))

    def zmembers(self, key, max_score=math.inf, desc=False):
        """Members ordered by score (ties in insertion order) with score <= max_score."""
        zset = self._zsets.get(key)
        if not zset:
            return []
        items = [(score, member) for member, score in zset.items() if score <= max_score]
        items.sort(key=lambda item: item[0], reverse=desc)
        return [member for _, member in items]

    def timer_add(self, at, key, member):
        timers = self._timers
        if not timers or at < timers[0][0]:
            self.wake_workers()         # idle workers wait until the earliest timer
        heapq.heappush(timers, (at, next(self._seq), key, member))

    def timers_due(self, now):
        timers = self._timers
        if not timers or timers[0][0] > now:
            return ()
        due = []
        while timers and timers[0][0] <= now:
            at, _, key, member = heapq.heappop(timers)
            due.append((key, member, at))
        return due

    def timer_next(self):
        return self._timers[0][0] if self._timers else None

    # -- sets and values -----------------------------------------------------

    def sadd(self, key, member):
        self._sets[key].add(member)
        self._dirty = True

    def srem(self, key, member):
        self._dirty = True
        members = self._sets.get(key)
        if members is not None:
            members.discard(member)
            if not members:
                del self._sets[key]

    def smembers(self, key):
        members = self._sets.get(key)
        return sorted(members) if members else []

    def get(self, key, default=None):
        return self._values.get(key, default)

    def set(self, key, value):
        self._values[key] = value
        self._dirty = True

    def delete(self, key):
        self._values.pop(key, None)
        self._dirty = True


_SQLITE_SCHEMA = '''
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, record BLOB NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS queue_names (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS queues (name TEXT NOT NULL, pos INTEGER NOT NULL, job_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS queues_order ON queues (name, pos);
CREATE TABLE IF NOT EXISTS zsets (key TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL,
                                  PRIMARY KEY (key, member));
CREATE TABLE IF NOT EXISTS timers (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
                                   key TEXT NOT NULL, member TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS timers_at ON timers (at);
CREATE TABLE IF NOT EXISTS sets (key TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (key, member));
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
'''


def _function_path(func, where):
    """'module.qualname' of a job function another process can import; ValueError if none."""
    module = getattr(func, '__module__', None)
    qualname = getattr(func, '__qualname__', '')
    if inspect.isfunction(func) and (module == '__main__' or '<' in qualname):
        raise ValueError(f'cannot store job function {func!r} in {where}: functions from the '
                         '__main__ module, lambdas and nested functions cannot be imported by a '
                         'worker process; define it in a module')
    if inspect.isfunction(func) or inspect.isbuiltin(func):
        return f'{module or "builtins"}.{qualname}'
    owner = type(getattr(func, '__self__', func))
    if owner.__module__ == '__main__' or '<' in owner.__qualname__:
        raise ValueError(f'cannot store job function {func!r} in {where}: its class '
                         f'{owner.__qualname__} is defined in __main__ or in a function, so a '
                         'worker process cannot import it; define it in a module')
    return func                 # a bound method or callable object: pickled with the record


class SqliteStore(BaseStore):
    """A store in a SQLite file: jobs survive restarts and several processes share them.

    ``SqliteStore(path, clock=None, poll_interval=0.02)``. Every transaction is
    one SQLite transaction (WAL mode, ``BEGIN IMMEDIATE``), so a crash at any
    instant leaves each job in exactly one consistent place. Job functions are
    stored by dotted path (so they must be importable: not defined in
    ``__main__``, not lambdas or nested functions); records, results and meta
    are pickled. Within one process waiters are woken at once; changes made by
    other processes are noticed within ``poll_interval`` seconds, and only
    while someone waits. Open a store in each process (a connection does not
    survive ``fork``).
    """

    shared = atomic = True

    def __init__(self, path, clock=None, poll_interval=0.02):
        super().__init__(clock)
        self.path = os.fspath(path)
        self.poll = poll_interval
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=NORMAL')
        self._db.executescript(_SQLITE_SCHEMA)

    def __repr__(self):
        return f'SqliteStore({self.path!r})'

    def close(self):
        with self._lock:
            self._db.close()

    def _begin(self):
        self._db.execute('BEGIN IMMEDIATE')

    def _end(self, commit):
        self._db.execute('COMMIT' if commit else 'ROLLBACK')

    def _q(self, sql, *args):
        return self._db.execute(sql, args)

    def _write(self, sql, *args):
        self._dirty = True
        return self._db.execute(sql, args)

    # -- jobs ----------------------------------------------------------------

    def job_get(self, job_id):
        row = self._q('SELECT record, expires FROM jobs WHERE id = ?', job_id).fetchone()
        if row is None:
            return None
        if row[1] is not None and row[1] <= self.clock():
            self.job_delete(job_id)
            return None
        try:
            return pickle.loads(row[0])
        except Exception as exc:
            raise DeserializationError(f'cannot read job {job_id!r} from {self!r}: {exc}') from exc

    def job_put(self, job_id, record):
        if callable(record[_FUNC]):
            record = list(record)
            record[_FUNC] = _function_path(record[_FUNC], repr(self))
        for callback in record[_ON_SUCCESS:_ON_STOPPED + 1]:
            if callback is not None and callable(callback.func):
                _function_path(callback.func, repr(self))     # raises if another process can't import it
        try:
            data = pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
            _ImportableOnly(io.BytesIO(data)).load()     # what another process could read back
        except Exception as exc:
            raise ValueError(f'cannot store job {job_id!r} in {self!r}: {exc}') from exc
        self._write('INSERT OR REPLACE INTO jobs (id, record, expires) '
                    'VALUES (?, ?, (SELECT expires FROM jobs WHERE id = ?))', job_id, data, job_id)

    def job_delete(self, job_id):
        self.signal(job_id)
        self._write('DELETE FROM jobs WHERE id = ?', job_id)
        self._write('DELETE FROM kv WHERE key = ?', _key(('results', job_id)))
        self._write('DELETE FROM sets WHERE key = ?', _key(('dependents', job_id)))

    def job_expire(self, job_id, at):
        self._write('UPDATE jobs SET expires = ? WHERE id = ?', at, job_id)

    # -- queues --------------------------------------------------------------

    def queue_push(self, name, job_id, at_front=False):
        edge = 'MIN(pos) - 1' if at_front else 'MAX(pos) + 1'
        self._write(f'INSERT INTO queues (name, pos, job_id) VALUES '
                    f'(?, (SELECT COALESCE({edge}, 0) FROM queues WHERE name = ?), ?)',
                    name, name, job_id)
        self.queue_register(name)
        self._wake += 1

    def queue_pop(self, name):
        row = self._q('SELECT rowid, job_id FROM queues WHERE name = ? ORDER BY pos LIMIT 1',
                      name).fetchone()
        if row is None:
            return None
        self._write('DELETE FROM queues WHERE rowid = ?', row[0])
        return row[1]

    def queue_remove(self, name, job_id):
        row = self._q('SELECT rowid FROM queues WHERE name = ? AND job_id = ? ORDER BY pos LIMIT 1',
                      name, job_id).fetchone()
        if row is None:
            return False
        self._write('DELETE FROM queues WHERE rowid = ?', row[0])
        return True

    def queue_ids(self, name):
        return [r[0] for r in self._q('SELECT job_id FROM queues WHERE name = ? ORDER BY pos', name)]

    def queue_len(self, name):
        return self._q('SELECT COUNT(*) FROM queues WHERE name = ?', name).fetchone()[0]

    def queue_position(self, name, job_id):
        ids = self.queue_ids(name)
        return ids.index(job_id) if job_id in ids else None

    def queue_names(self):
        return [r[0] for r in self._q('SELECT name FROM queue_names ORDER BY name')]

    def queue_register(self, name):
        self._write('INSERT OR IGNORE INTO queue_names (name) VALUES (?)', name)

    def queue_forget(self, name):
        self._write('DELETE FROM queue_names WHERE name = ?', name)
        self._write('DELETE FROM queues WHERE name = ?', name)

    # -- sorted sets and timers ----------------------------------------------

    def zadd(self, key, member, score):
        self._write('INSERT INTO zsets (key, member, score) VALUES (?, ?, ?) '   # keeps its place
                    'ON CONFLICT (key, member) DO UPDATE SET score = excluded.score',
                    _key(key), member, score)

    def zrem(self, key, member):
        return self._write('DELETE FROM zsets WHERE key = ? AND member = ?',
                           _key(key), member).rowcount > 0

    def zscore(self, key, member):
        row = self._q('SELECT score FROM zsets WHERE key = ? AND member = ?',
                      _key(key), member).fetchone()
        return None if row is None else row[0]

    def zcard(self, key):
        return self._q('SELECT COUNT(*) FROM zsets WHERE key = ?', _key(key)).fetchone()[0]

    def zmembers(self, key, max_score=math.inf, desc=False):
        order = 'DESC' if desc else 'ASC'       # ties in insertion order, as MemoryStore's sort
        return [r[0] for r in self._q(f'SELECT member FROM zsets WHERE key = ? AND score <= ? '
                                      f'ORDER BY score {order}, rowid', _key(key), max_score)]

    def timer_add(self, at, key, member):
        first = self.timer_next()
        if first is None or at < first:
            self.wake_workers()
        self._write('INSERT INTO timers (at, key, member) VALUES (?, ?, ?)', at, _key(key), member)

    def timers_due(self, now):
        rows = self._q('SELECT seq, at, key, member FROM timers WHERE at <= ? ORDER BY at, seq',
                       now).fetchall()
        if rows:
            self._write('DELETE FROM timers WHERE at <= ?', now)
        return [(_unkey(key), member, at) for _, at, key, member in rows]

    def timer_next(self):
        return self._q('SELECT MIN(at) FROM timers').fetchone()[0]

    # -- sets and values -----------------------------------------------------

    def sadd(self, key, member):
        self._write('INSERT OR IGNORE INTO sets (key, member) VALUES (?, ?)', _key(key), member)

    def srem(self, key, member):
        self._write('DELETE FROM sets WHERE key = ? AND member = ?', _key(key), member)

    def smembers(self, key):
        return [r[0] for r in self._q('SELECT member FROM sets WHERE key = ? ORDER BY member',
                                      _key(key))]

    def get(self, key, default=None):
        row = self._q('SELECT value FROM kv WHERE key = ?', _key(key)).fetchone()
        return default if row is None else pickle.loads(row[0])

    def set(self, key, value):
        self._write('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)', _key(key),
                    pickle.dumps(value, pickle.HIGHEST_PROTOCOL))

    def delete(self, key):
        self._write('DELETE FROM kv WHERE key = ?', _key(key))


class _ImportableOnly(pickle.Unpickler):
    """Reads a pickle back, refusing what a worker process could not import (__main__)."""

    def find_class(self, module, name):
        if module == '__main__':
            raise ValueError(f'{name!r} is defined in __main__, which a worker process cannot '
                             'import; define it in a module')
        return super().find_class(module, name)


def _key(key):
    return '\x1f'.join(key)


def _unkey(text):
    return tuple(text.split('\x1f'))


_default_store = None        # the one piece of module-level state (SPEC §2)
_default_store_lock = threading.Lock()


def _resolve_store(connection):
    """A store given as ``connection=`` is used; anything else means the default store."""
    global _default_store
    if isinstance(connection, BaseStore):
        return connection
    if _default_store is None:
        with _default_store_lock:
            if _default_store is None:
                _default_store = MemoryStore()
    return _default_store

# ==== Job ====================================================================

class Retry:
    """Retry a failed job up to ``max`` times, waiting ``interval`` seconds (a number or a list)."""

    def __init__(self, max, interval=0, enqueue_at_front=False):
        if isinstance(max, bool) or not isinstance(max, int) or max < 1:
            raise ValueError(f'Retry(max={max!r}): max must be a whole number greater than 0')
        intervals = _intervals(interval, 'Retry')
        self.max = max
        self.intervals = intervals
        self.enqueue_at_front = enqueue_at_front

    def __repr__(self):
        interval = self.intervals[0] if len(self.intervals) == 1 else self.intervals
        return f'Retry(max={self.max}, interval={interval}, enqueue_at_front={self.enqueue_at_front})'

    @classmethod
    def get_interval(cls, count, intervals):
        """The interval for retry number ``count`` (0-based) of a job that returned Retry."""
        if not intervals:
            return 0
        return intervals[min(count, len(intervals) - 1)]


class Repeat:
    """Run a successful job ``times`` more times, waiting ``interval`` seconds between runs."""

    def __init__(self, times, interval=0):
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f'Repeat(times={times!r}): times must be a whole number greater than 0')
        self.times = times
        self.intervals = _intervals(interval, 'Repeat')

    def __repr__(self):
        return f'Repeat(times={self.times}, interval={self.intervals})'


def _intervals(interval, owner):
    values = interval if isinstance(interval, (list, tuple)) else [interval]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f'{owner}(interval={interval!r}): intervals must be numbers of seconds')
        if value < 0:
            raise ValueError(f'{owner}(interval={interval!r}): intervals must not be negative')
    return list(values) or [0]


class Callback:
    """A success, failure or stopped callback with its own timeout (default 60 s)."""

    def __init__(self, func, timeout=None):
        if not (isinstance(func, str) or inspect.isfunction(func) or inspect.isbuiltin(func)
                or inspect.ismethod(func)):
            raise ValueError(f'Callback func {func!r} must be a string or function')
        self.func = func
        self.timeout = parse_timeout(timeout, 'callback timeout') or CALLBACK_TIMEOUT

    def __repr__(self):
        return f'Callback({self.name!r}, timeout={self.timeout})'

    @property
    def name(self):
        return _func_name(self.func)

    def __call__(self, *args):
        func = _import_attribute(self.func) if isinstance(self.func, str) else self.func
        return func(*args)


def _as_callback(value, what):
    if value is None or isinstance(value, Callback):
        return value
    if callable(value) or isinstance(value, str):
        return Callback(value)
    raise ValueError(f'{what}={value!r}: expected a function, a dotted path or a Callback')


class Dependency:
    """``depends_on=Dependency(jobs, allow_failure=False, enqueue_at_front=False)``."""

    def __init__(self, jobs, allow_failure=False, enqueue_at_front=False):
        jobs = list(jobs) if isinstance(jobs, (list, tuple)) else [jobs]
        if not jobs:
            raise ValueError('Dependency(jobs=[]): give at least one job or job id')
        for item in jobs:
            if not isinstance(item, (str, Job)):
                raise ValueError(f'Dependency: {item!r} is not a job or a job id')
        self.dependencies = jobs
        self.allow_failure = allow_failure
        self.enqueue_at_front = enqueue_at_front


def _parse_depends_on(depends_on):
    """(ids, allow_failure, enqueue_at_front) from a job, an id, a Dependency or a list of them."""
    if depends_on is None:
        return [], False, False
    items = depends_on if isinstance(depends_on, (list, tuple)) else [depends_on]
    ids, allow_failure, at_front = [], False, False
    for item in items:
        if isinstance(item, Dependency):
            allow_failure |= bool(item.allow_failure)
            at_front |= bool(item.enqueue_at_front)
            ids += [_job_id_of(job) for job in item.dependencies]
        elif isinstance(item, (str, Job)):
            ids.append(_job_id_of(item))
        else:
            raise ValueError(f'depends_on={depends_on!r}: expected a Job, a job id, a '
                             'Dependency, or a list of these')
    return ids, allow_failure, at_front


def _job_id_of(job_or_id):
    return job_or_id.id if isinstance(job_or_id, Job) else _validate_job_id(job_or_id)


class Result:
    """One execution's outcome, as RQ's ``rq.results.Result``."""

    class Type(enum.IntEnum):
        SUCCESSFUL = 1
        FAILED = 2
        STOPPED = 3
        RETRIED = 4
        MAX_RETRIES_EXCEEDED = 5

    def __init__(self, job_id, record, serializer=None, index=0):
        self.job_id = job_id
        type_, data, self.exc_string, created, self.worker_name = record
        self.type = Result.Type(type_)
        self.id = f'{int(created * 1000)}-{index}'      # shaped like a Redis stream id, as in RQ
        self.created_at = _to_datetime(created)
        self._data = data
        self._serializer = serializer or DefaultSerializer

    def __repr__(self):
        return f'Result(id={self.id}, type={self.type.name})'

    def __bool__(self):
        return bool(self.id)

    @property
    def return_value(self):
        return _restore_value(self._serializer, self._data)

    @classmethod
    def all(cls, job, serializer=None):
        return job.results()

    @classmethod
    def count(cls, job):
        return len(job.results())

    @classmethod
    def fetch_latest(cls, job, serializer=None, timeout=0):
        return job.latest_result(timeout=timeout)


def _capture_value(serializer, value):
    """A result as stored: None, a 1-tuple kept as is (see Job._capture), or serialized."""
    if value is None:
        return None
    if serializer is _ReferenceSerializer or (serializer is DefaultSerializer
                                              and type(value) in _IMMUTABLE):
        return (value,)
    try:
        return serializer.dumps(value)
    except Exception:
        return serializer.dumps('Unserializable return value')     # as RQ stores it


def _restore_value(serializer, data):
    if data is None:
        return None
    if type(data) is tuple:
        return data[0]
    return serializer.loads(data)


class _Predicate(int):
    """A truth value that also works when called: ``job.is_finished`` and ``job.is_finished()``."""

    def __call__(self):
        return bool(self)

    def __repr__(self):
        return repr(bool(self))


_TRUE, _FALSE = _Predicate(1), _Predicate(0)


class _Count(int):
    """A number that also works when called: ``queue.count`` and ``queue.count()``."""

    def __call__(self):
        return int(self)


_current = threading.local()    # .job: the job this thread is executing


def get_current_job(connection=None, job_class=None):
    """The job being executed by this thread, or None outside a job."""
    return getattr(_current, 'job', None)


# A job's record: the list the store keeps for it (RQ's job hash). A Job object
# holds a copy of it, so every Job is a snapshot and the store never shares a
# live object. These are the positions of its fields.
(_ID, _FUNC, _DATA, _SERIALIZER, _STATUS, _ORIGIN, _DESCRIPTION, _CREATED, _ENQUEUED, _STARTED,
 _ENDED, _TIMEOUT, _RESULT_TTL, _FAILURE_TTL, _TTL, _META, _RETRIES_LEFT, _RETRY_INTERVALS,
 _RETRY_AT_FRONT, _NUMBER_OF_RETRIES, _REPEATS_LEFT, _REPEAT_INTERVALS, _DEPENDENCY_IDS,
 _ALLOW_FAILURE, _AT_FRONT, _ON_SUCCESS, _ON_FAILURE, _ON_STOPPED, _WORKER_NAME, _GROUP_ID,
 _EXC_INFO) = range(31)
_BLANK_RECORD = [None, None, None, DefaultSerializer, JobStatus.CREATED, '', None, None, None,
                 None, None, None, None, None, None, None, None, None, False, 0, None, None, (),
                 False, False, None, None, None, None, None, None]


def _as_list(values):
    return None if values is None else list(values)


def _field(index, doc=None):
    """A Job attribute stored at ``index`` of the job's record."""
    def set_field(self, value):
        self._rec[index] = value
    return property(lambda self: self._rec[index], set_field, None, doc)


class Job:
    """A unit of work: a function, its arguments, and where it is in RQ's lifecycle.

    ``Job(func, args=None, kwargs=None, result_ttl=None, timeout=None,
    job_id=None, description=None, ...)`` creates a job that is not yet
    enqueued (status ``created``); ``queue.enqueue_job(job)`` enqueues it. Most
    code gets jobs from ``queue.enqueue(...)`` or ``Job.fetch(id)``. A Job
    object is a snapshot: ``refresh()`` re-reads it, while ``get_status()``,
    the ``is_*`` predicates, ``get_result()``, ``exc_info`` and ``to_dict()``
    read the store each time.
    """

    __slots__ = ('_rec', '_store', 'connection', '_meta', '_args', '_kwargs', '_result',
                 '__weakref__')

    id = _field(_ID)
    serializer = _field(_SERIALIZER)
    origin = _field(_ORIGIN, 'The name of the queue the job was enqueued to.')
    timeout = _field(_TIMEOUT, 'The job timeout in seconds (-1: none).')
    result_ttl = _field(_RESULT_TTL)
    failure_ttl = _field(_FAILURE_TTL)
    ttl = _field(_TTL)
    retries_left = _field(_RETRIES_LEFT)
    retry_intervals = property(lambda self: _as_list(self._rec[_RETRY_INTERVALS]))
    enqueue_at_front_on_retry = _field(_RETRY_AT_FRONT)
    number_of_retries = _field(_NUMBER_OF_RETRIES, 'How many times the job returned Retry.')
    repeats_left = _field(_REPEATS_LEFT)
    repeat_intervals = property(lambda self: _as_list(self._rec[_REPEAT_INTERVALS]))
    allow_dependency_failures = _field(_ALLOW_FAILURE)
    enqueue_at_front = _field(_AT_FRONT, 'Released dependents and scheduled runs go to the front.')
    worker_name = _field(_WORKER_NAME)
    group_id = _field(_GROUP_ID)
    _func = _field(_FUNC)
    _data = _field(_DATA)
    _status = _field(_STATUS)
    _description = _field(_DESCRIPTION)
    _created = _field(_CREATED)          # timestamps are epoch seconds on the store's clock
    _enqueued = _field(_ENQUEUED)
    _started = _field(_STARTED)
    _ended = _field(_ENDED)
    _dependency_ids = _field(_DEPENDENCY_IDS)
    _success_callback = _field(_ON_SUCCESS)
    _failure_callback = _field(_ON_FAILURE)
    _stopped_callback = _field(_ON_STOPPED)
    _exc_info = _field(_EXC_INFO)

    def __init__(self, func=None, args=None, kwargs=None, result_ttl=None, timeout=None,
                 job_id=None, description=None, connection=None, serializer=None, **options):
        self._blank(_resolve_store(connection), connection, serializer)
        self._configure(func, args, kwargs, timeout=timeout, result_ttl=result_ttl,
                        job_id=job_id, description=description, **options)

    def __repr__(self):
        return f'Job({self.id!r}, enqueued_at={self.enqueued_at!r})'

    def __str__(self):
        return f'<Job {self.id}: {self.description}>'

    def __eq__(self, other):
        return isinstance(other, Job) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    # -- construction --------------------------------------------------------

    def _blank(self, store, connection=None, serializer=None):
        self._rec = _BLANK_RECORD[:]
        self._store = store
        self.connection = connection if connection is not None else store
        self._meta = None               # the meta dict, read from the record on first use
        self._args = self._kwargs = None  # the arguments, read from the record on first use
        self._result = None             # the return value, once known here
        if serializer is not None:
            self._rec[_SERIALIZER] = resolve_serializer(serializer)

    def _configure(self, func, args=None, kwargs=None, *, timeout=None, result_ttl=None,
                   ttl=None, failure_ttl=None, description=None, depends_on=None, job_id=None,
                   meta=None, retry=None, repeat=None, on_success=None, on_failure=None,
                   on_stopped=None, status=None, origin='', group_id=None):
        """Validate every argument first, then assign; raises before changing anything."""
        _check_function(func)
        args = () if args is None else args
        if type(args) is not tuple and not isinstance(args, (list, tuple)):
            raise TypeError(f'args={args!r}: expected a list or tuple of positional arguments')
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError(f'kwargs={kwargs!r}: expected a dict of keyword arguments')
        if job_id is not None:
            _validate_job_id(job_id)
        if timeout is not None:
            timeout = parse_timeout(timeout, 'job_timeout')
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))
                                or ttl <= 0):
            raise ValueError(f'ttl={ttl!r}: a job ttl must be a number of seconds greater than 0')
        for name, value in (('result_ttl', result_ttl), ('failure_ttl', failure_ttl)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TypeError(f'{name}={value!r}: expected a number of seconds (-1 keeps forever)')
        if retry is not None and not isinstance(retry, Retry):
            raise TypeError(f'retry={retry!r}: expected a Retry(max, interval) object')
        if repeat is not None and not isinstance(repeat, Repeat):
            raise TypeError(f'repeat={repeat!r}: expected a Repeat(times, interval) object')
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'meta={meta!r}: expected a dict')
        dependency_ids, allow_failure, at_front = _parse_depends_on(depends_on)
        callbacks = (None, None, None)
        if on_success is not None or on_failure is not None or on_stopped is not None:
            callbacks = (_as_callback(on_success, 'on_success'),
                         _as_callback(on_failure, 'on_failure'),
                         _as_callback(on_stopped, 'on_stopped'))
        data = self._capture(func, args, kwargs)
        try:
            meta_data = self.serializer.dumps(meta) if meta else None
        except Exception as exc:
            raise TypeError(f'cannot enqueue {_func_name(func)}: meta={meta!r} cannot be '
                            f'serialized ({exc})') from exc
        # -- nothing raises below this line --
        rec = self._rec
        rec[_ID] = job_id or _new_id()
        rec[_FUNC], rec[_DATA] = func, data
        rec[_STATUS] = JobStatus(status) if status else JobStatus.CREATED   # enum lookup: slow path only
        rec[_ORIGIN], rec[_DESCRIPTION] = origin, description
        rec[_CREATED] = self._store.now()
        rec[_TIMEOUT], rec[_RESULT_TTL], rec[_FAILURE_TTL], rec[_TTL] = timeout, result_ttl, failure_ttl, ttl
        rec[_META] = meta_data
        if retry is not None:
            rec[_RETRIES_LEFT], rec[_RETRY_INTERVALS] = retry.max, tuple(retry.intervals)
            rec[_RETRY_AT_FRONT] = retry.enqueue_at_front
        if repeat is not None:
            rec[_REPEATS_LEFT], rec[_REPEAT_INTERVALS] = repeat.times, tuple(repeat.intervals)
        if dependency_ids:
            rec[_DEPENDENCY_IDS] = tuple(dependency_ids)
            rec[_ALLOW_FAILURE], rec[_AT_FRONT] = allow_failure, at_front
        rec[_ON_SUCCESS], rec[_ON_FAILURE], rec[_ON_STOPPED] = callbacks
        rec[_GROUP_ID] = group_id

    def _capture(self, func, args, kwargs):
        """Take the arguments as the serializer would give them back (SPEC §5).

        The result is None (no arguments), a tuple ``(args, kwargs)`` kept as it
        is (the 'reference' serializer, or values that cannot change), or what
        the serializer produced.
        """
        if not args and not kwargs:
            return None
        serializer = self.serializer
        if serializer is _ReferenceSerializer:
            return tuple(args), kwargs
        if serializer is DefaultSerializer:
            for value in args:
                if type(value) not in _IMMUTABLE:
                    break
            else:
                if not kwargs:
                    return tuple(args), None
                for value in kwargs.values():
                    if type(value) not in _IMMUTABLE:
                        break
                else:
                    return tuple(args), dict(kwargs)
        try:
            return serializer.dumps((tuple(args), kwargs or {}))
        except Exception as exc:
            culprit = _first_unserializable(serializer, args, kwargs or {})
            raise TypeError(f'cannot enqueue {_func_name(func)}: argument {culprit} cannot be '
                            f'serialized by {getattr(serializer, "__name__", serializer)} ({exc}); '
                            "use Queue(..., serializer='reference') to keep arguments by "
                            'reference') from exc

    @classmethod
    def create(cls, func, args=None, kwargs=None, connection=None, result_ttl=None, ttl=None,
               status=None, description=None, depends_on=None, timeout=None, id=None,
               origin='', meta=None, failure_ttl=None, serializer=None, retry=None,
               group_id=None, *, on_success=None, on_failure=None, on_stopped=None,
               repeat=None, **_ignored):
        """Build a job (status ``created`` unless ``status`` says otherwise); nothing is saved."""
        job = object.__new__(cls)
        job._blank(_resolve_store(connection), connection, serializer)
        job._configure(func, args, kwargs, timeout=timeout, result_ttl=result_ttl, ttl=ttl,
                       failure_ttl=failure_ttl, description=description, depends_on=depends_on,
                       job_id=id, meta=meta, retry=retry, repeat=repeat, on_success=on_success,
                       on_failure=on_failure, on_stopped=on_stopped, status=status,
                       origin=origin, group_id=group_id)
        return job

    @classmethod
    def fetch(cls, id, connection=None, serializer=None):
        """The job with this id, read from the store; ``NoSuchJobError`` if there is none."""
        store = _resolve_store(connection)
        with store.transaction() as tx:
            record = tx.job_get(id)
        if record is None:
            raise NoSuchJobError(f'No such job: {id!r}')
        return cls._from_record(record, store, connection)

    @classmethod
    def fetch_many(cls, job_ids, connection=None, serializer=None):
        store = _resolve_store(connection)
        with store.transaction() as tx:
            records = [tx.job_get(job_id) for job_id in job_ids]
        return [None if r is None else cls._from_record(r, store, connection) for r in records]

    @classmethod
    def exists(cls, job_id, connection=None):
        store = _resolve_store(connection)
        with store.transaction() as tx:
            return tx.job_get(job_id) is not None

    @classmethod
    def key_for(cls, job_id):
        return f'rq:job:{job_id}'

    # -- the record kept by the store (a snapshot, never this object) ---------

    def _dump(self):
        record = self._rec[:]
        if self._meta is not None:          # meta was read here and may have been changed
            record[_META] = self.serializer.dumps(self._meta) if self._meta else None
        return record

    def _load(self, record):
        """Become the job ``record`` describes, dropping local meta and cached arguments."""
        self._rec = record[:]
        self._meta = self._args = self._kwargs = None

    def _load_state(self, record):
        """Take the stored state from ``record`` but keep local, unsaved meta."""
        if record[_DATA] is not self._rec[_DATA]:
            self._args = self._kwargs = None
        self._rec = record[:]

    @classmethod
    def _from_record(cls, record, store, connection=None):
        job = object.__new__(cls)
        job._rec = record[:]
        job._store = store
        job.connection = connection if connection is not None else store
        job._meta = job._args = job._kwargs = job._result = None
        return job

    # -- status --------------------------------------------------------------

    def get_status(self, refresh=True) -> JobStatus:
        """The job's status, read from the store (``refresh=False``: as this object last saw it).

        Raises ``InvalidJobOperation`` when the job no longer exists.
        """
        if refresh:
            record = self._stored()
            if record is None:
                raise InvalidJobOperation(f'Failed to retrieve status for job: {self.id!r} '
                                          '(it was deleted or has expired)')
            self._load_state(record)
        return self._status

    def _stored(self):
        """This job's record as the store has it now, or None."""
        with self._store.transaction() as tx:
            return tx.job_get(self.id)

    def set_status(self, status, pipeline=None):
        with self._store.transaction() as tx:
            record = tx.job_get(self.id)
            self._status = JobStatus(status)
            if record is not None:
                record[_STATUS] = self._status
                tx.job_put(self.id, record)
                tx.signal(self.id)

    def _is(self, status):
        return _TRUE if self.get_status() == status else _FALSE

    is_queued = property(lambda self: self._is(JobStatus.QUEUED))
    is_started = property(lambda self: self._is(JobStatus.STARTED))
    is_finished = property(lambda self: self._is(JobStatus.FINISHED))
    is_failed = property(lambda self: self._is(JobStatus.FAILED))
    is_deferred = property(lambda self: self._is(JobStatus.DEFERRED))
    is_scheduled = property(lambda self: self._is(JobStatus.SCHEDULED))
    is_canceled = property(lambda self: self._is(JobStatus.CANCELED))
    is_stopped = property(lambda self: self._is(JobStatus.STOPPED))

    # -- the call ------------------------------------------------------------

    @property
    def func(self):
        return _import_attribute(self._func) if isinstance(self._func, str) else self._func

    @property
    def func_name(self):
        return _func_name(self._func)

    @property
    def args(self):
        if self._args is None:
            self._decode()
        return list(self._args) if self.serializer is JSONSerializer else self._args

    @property
    def kwargs(self):
        if self._kwargs is None:
            self._decode()
        return self._kwargs

    def _decode(self):
        data = self._rec[_DATA]
        if data is None:
            args, kwargs = (), None
        elif type(data) is tuple:           # kept as is (see _capture)
            args, kwargs = data
        else:
            try:
                args, kwargs = self.serializer.loads(data)
            except Exception as exc:
                raise DeserializationError(
                    f'cannot read the arguments of job {self.id!r}: {exc}') from exc
        self._args, self._kwargs = tuple(args), dict(kwargs) if kwargs else {}

    @property
    def description(self):
        if self._description is None:
            return self.get_call_string()
        return self._description

    @description.setter
    def description(self, value):
        self._description = value

    def get_call_string(self):
        return _call_string(self.func_name, self.args, self.kwargs)

    @property
    def meta(self):
        if self._meta is None:
            data = self._rec[_META]
            self._meta = self.serializer.loads(data) if data else {}
        return self._meta

    @meta.setter
    def meta(self, value):
        self._meta = value

    @property
    def instance(self):
        return getattr(self._func, '__self__', None)

    @property
    def key(self):
        return self.key_for(self.id)

    @property
    def dependency_ids(self):
        return list(self._dependency_ids)

    @property
    def dependency(self):
        if not self._dependency_ids:
            return None
        return type(self).fetch(self._dependency_ids[0], connection=self._store)

    @property
    def dependent_ids(self):
        with self._store.transaction() as tx:
            return sorted(tx.smembers(('dependents', self.id)))

    @property
    def success_callback(self):
        return self._success_callback

    @property
    def failure_callback(self):
        return self._failure_callback

    @property
    def stopped_callback(self):
        return self._stopped_callback

    success_callback_timeout = property(
        lambda self: getattr(self._success_callback, 'timeout', CALLBACK_TIMEOUT))
    failure_callback_timeout = property(
        lambda self: getattr(self._failure_callback, 'timeout', CALLBACK_TIMEOUT))
    stopped_callback_timeout = property(
        lambda self: getattr(self._stopped_callback, 'timeout', CALLBACK_TIMEOUT))

    # -- timestamps (aware UTC datetimes, as in RQ) ---------------------------

    created_at = property(lambda self: _to_datetime(self._created))
    enqueued_at = property(lambda self: _to_datetime(self._enqueued))
    started_at = property(lambda self: _to_datetime(self._started))
    ended_at = property(lambda self: _to_datetime(self._ended))
    last_heartbeat = property(lambda self: _to_datetime(self._started))

    # -- results -------------------------------------------------------------

    def get_result(self, timeout=None):
        """Wait until the job ends; return its value or raise (the seed API).

        Finished: the return value. Failed, stopped or canceled:
        ``JobFailedError`` (its ``.job`` is this job). Not ended within
        ``timeout`` seconds: ``TimeoutError``. ``timeout=None`` waits as long as
        it takes. A job deleted while waited for raises ``NoSuchJobError``.
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or timeout < 0):
            raise ValueError(f'get_result(timeout={timeout!r}): expected None or seconds >= 0')
        store, job_id = self._store, self._rec[_ID]
        with store.transaction() as tx:
            record = tx.job_get(job_id)
            if record is not None and record[_STATUS] not in _ENDED_STATUSES:
                def ended():
                    record = tx.job_get(job_id)
                    return record is None or record[_STATUS] in _ENDED_STATUSES
                if not tx.wait(ended, timeout, key=job_id):
                    raise TimeoutError(f'job {job_id!r} did not end within {timeout} seconds '
                                       f'(status {tx.job_get(job_id)[_STATUS].value!r})')
                record = tx.job_get(job_id)
            results = tx.get(('results', job_id), ())
        if record is None:
            raise NoSuchJobError(f'job {job_id!r} no longer exists (deleted, or expired by its '
                                 'result_ttl), so its result is gone')
        self._load(record)
        if self._status is not _FINISHED:
            last_line = (self._exc_info or '').strip().splitlines()[-1:] or ['']
            raise JobFailedError(f'job {job_id!r} {self._status.value}: {last_line[0]}', job=self)
        self._result = self._value_of(results[-1]) if results else None
        return self._result

    def _value_of(self, result_record):
        return _restore_value(self.serializer, result_record[1])

    def latest_result(self, timeout=0):
        """The newest ``Result``, or None; waits up to ``timeout`` seconds for one to appear."""
        key = ('results', self.id)
        with self._store.transaction() as tx:
            if timeout:
                tx.wait(lambda: tx.get(key), timeout, key=self.id)
            results = tx.get(key, ())
        return self._make_result(results[-1], len(results) - 1) if results else None

    def results(self):
        """Every stored ``Result``, newest first."""
        with self._store.transaction() as tx:
            results = list(tx.get(('results', self.id), ()))
        return [self._make_result(r, i) for i, r in reversed(list(enumerate(results)))]

    def _make_result(self, record, index):
        return Result(self.id, record, self.serializer, index)

    def return_value(self, refresh=False):
        """The return value if the latest result is a success, else None."""
        if self._result is None or refresh:
            result = self.latest_result()
            self._result = result.return_value if result and result.type == Result.Type.SUCCESSFUL else None
        return self._result

    @property
    def result(self):
        return self.return_value(refresh=True)

    @property
    def exc_info(self):
        """The traceback text of the job's last failure (read from the store), or None."""
        record = self._stored()
        if record is not None:
            self._load_state(record)
        return self._exc_info

    # -- meta and persistence ------------------------------------------------

    def refresh(self):
        """Re-read this job from the store; ``NoSuchJobError`` if it is gone."""
        record = self._stored()
        if record is None:
            raise NoSuchJobError(f'No such job: {self.id!r}')
        self._load(record)

    def save(self, pipeline=None, include_meta=True, include_result=True):
        with self._store.transaction() as tx:
            _save(tx, self, include_meta)

    def save_meta(self):
        """Store ``meta`` (only meta) for others to read."""
        meta = self.serializer.dumps(self.meta) if self.meta else None
        with self._store.transaction() as tx:
            record = tx.job_get(self.id)
            if record is None:
                raise NoSuchJobError(f'cannot save meta of job {self.id!r}: no such job')
            record[_META] = meta
            tx.job_put(self.id, record)

    def get_meta(self, refresh=True):
        if refresh:
            record = self._stored()
            if record is None:
                raise NoSuchJobError(f'No such job: {self.id!r}')
            self._rec[_META], self._meta = record[_META], None
        return self.meta

    def to_dict(self, include_meta=True, include_result=True):
        """A JSON-friendly dict of the job as the store has it now (the emulator's shape)."""
        record = self._stored()
        if record is not None:
            self._load_state(record)
        return {
            'id': self.id, 'status': self._status.value, 'func_name': self.func_name,
            'args': list(self.args), 'kwargs': dict(self.kwargs),
            'description': self.description, 'origin': self.origin,
            'meta': dict(self.meta) if include_meta else None,
            'timeout': self.timeout, 'result_ttl': self.result_ttl, 'ttl': self.ttl,
            'failure_ttl': self.failure_ttl, 'created_at': _iso(self._created),
            'enqueued_at': _iso(self._enqueued), 'started_at': _iso(self._started),
            'ended_at': _iso(self._ended),
            'result': self.return_value() if include_result else None,
            'exc_info': self._exc_info, 'retries_left': self.retries_left,
            'dependency_ids': list(self._dependency_ids), 'worker_name': self.worker_name,
            'group_id': self.group_id,
        }

    # -- control -------------------------------------------------------------

    def cancel(self, pipeline=None, enqueue_dependents=False, remove_from_dependencies=False):
        """Cancel the job: status ``canceled``, out of its queue and registries, kept in the store."""
        with self._store.transaction() as tx:
            _cancel(tx, self, enqueue_dependents)

    def requeue(self, at_front=False):
        """Put a failed (or stopped) job back on its queue; ``InvalidJobOperation`` otherwise."""
        with self._store.transaction() as tx:
            _requeue(tx, self, ('failed',), at_front)
        return self

    def delete(self, pipeline=None, remove_from_queue=True, delete_dependents=False):
        """Remove the job from the store, its queue and every registry."""
        with self._store.transaction() as tx:
            _delete(tx, self, delete_dependents)

    def delete_dependents(self, pipeline=None):
        with self._store.transaction() as tx:
            for child_id in tx.smembers(('dependents', self.id)):
                child = tx.job_get(child_id)
                if child is not None:
                    _delete(tx, type(self)._from_record(child, self._store), True)

    def get_position(self):
        with self._store.transaction() as tx:
            return tx.queue_position(self.origin, self.id)

    def perform(self):
        """Run the job's function here and now, and return its value (no bookkeeping)."""
        self._result = _call_job_function(self)
        return self._result

    def get_ttl(self, default_ttl=None):
        return default_ttl if self.ttl is None else self.ttl

    def get_result_ttl(self, default_ttl=None):
        return default_ttl if self.result_ttl is None else self.result_ttl

    def get_retry_interval(self):
        """RQ's indexing: a short list reuses its first value for the early retries."""
        if not self.retry_intervals:
            return 0
        index = max(len(self.retry_intervals) - self.retries_left, 0)
        return self.retry_intervals[min(index, len(self.retry_intervals) - 1)]

    def fetch_dependencies(self, watch=False, pipeline=None):
        jobs = type(self).fetch_many(self._dependency_ids, connection=self._store)
        return [job for job in jobs if job is not None]

    def get_executions(self):
        return []

    @property
    def should_retry(self):
        return bool(self.retries_left)


_DOTTED_RE = re.compile(r'[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z')


def _check_function(func):
    if not callable(func) and not (isinstance(func, str) and _DOTTED_RE.match(func)):
        raise TypeError(f'job function {func!r} is not callable and not a dotted path '
                        "such as 'package.module.function'")


def _first_unserializable(serializer, args, kwargs):
    for index, value in enumerate(args):
        try:
            serializer.dumps(value)
        except Exception:
            return f'{index} ({value!r})'
    for name, value in kwargs.items():
        try:
            serializer.dumps(value)
        except Exception:
            return f'{name}={value!r}'
    return repr((args, kwargs))


def _call_job_function(job):
    record = job._rec
    func = record[_FUNC]
    if type(func) is str:
        func = _import_attribute(func)
    data = record[_DATA]
    if data is None:
        result = func()
    elif type(data) is tuple and not data[1]:       # arguments kept as they are, no kwargs
        result = func(*data[0])
    else:
        result = func(*job.args, **job.kwargs)
    if type(result) is types.CoroutineType:
        result = _run_coroutine(result, job)
    return result

# ==== Lifecycle ==============================================================
# Every change of a job's state happens here, inside a transaction, through one
# owner per step: _enqueue is the only way into a queue (enqueue, requeue,
# retries, the scheduler and released dependents all call it); _start takes a
# job off its queue; _finish is the only place a started job changes state.
# Registries are sorted sets keyed (kind, queue name), as RQ's are in Redis.

_REGISTRY_KINDS = ('started', 'finished', 'failed', 'deferred', 'scheduled', 'canceled')


def _set_status(job, new):
    record = job._rec
    assert new in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> {new}'
    record[_STATUS] = new


def _save(tx, job, include_meta=True):
    record = job._dump()
    if not include_meta:                    # keep meta that the job itself saved meanwhile
        old = tx.job_get(job.id)
        if old is not None:
            record[_META] = old[_META]
    tx.job_put(job.id, record)


def _reload(tx, job):
    """Bring ``job`` up to date with the store; NoSuchJobError if it is gone."""
    record = tx.job_get(job.id)
    if record is None:
        raise NoSuchJobError(f'No such job: {job.id!r} (it was deleted or has expired)')
    job._load(record)


def _expire_waiting(tx, job):
    ttl = job.ttl
    _expire_at(tx, job.id, tx.now() + ttl if ttl and ttl > 0 else None)


def _expire_at(tx, job_id, at):
    """Let the job's record expire at ``at`` (None: never), and collect it then."""
    tx.job_expire(job_id, at)
    if at is not None:
        tx.timer_add(at, ('expire',), job_id)


def _enqueue(tx, job, at_front=False, fresh=False):
    """Put ``job`` on its queue (at the head with ``at_front``): the only way into a queue.

    ``fresh``: a new job whose id was just made, so no stored record has an expiry to clear.
    """
    record = job._rec                       # (the hottest path: _set_status and _save inlined)
    assert _QUEUED in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> queued'
    record[_STATUS] = _QUEUED
    record[_ENQUEUED] = now = tx.clock()
    record[_STARTED] = record[_ENDED] = None
    job_id = record[_ID]
    tx.job_put(job_id, record[:] if job._meta is None else job._dump())
    tx.queue_push(record[_ORIGIN], job_id, at_front)
    ttl = record[_TTL]
    if ttl or not fresh:
        _expire_at(tx, job_id, now + ttl if ttl and ttl > 0 else None)


def _place(tx, job, at_front=False):
    """Enqueue ``job``, or defer it while any existing parent has not finished (as RQ)."""
    if not job._rec[_DEPENDENCY_IDS]:
        _enqueue(tx, job, at_front)
        return
    pending = []
    for parent_id in job._dependency_ids:
        parent = tx.job_get(parent_id)
        if parent is not None and parent[_STATUS] is not JobStatus.FINISHED:
            pending.append(parent_id)
    if not pending:
        _enqueue(tx, job, at_front)
        return
    _set_status(job, JobStatus.DEFERRED)
    job._enqueued = None
    _save(tx, job)
    tx.queue_register(job.origin)
    tx.zadd(('deferred', job.origin), job.id, tx.now())
    for parent_id in pending:
        tx.sadd(('dependents', parent_id), job.id)
    _expire_waiting(tx, job)


def _schedule(tx, job, at):
    _set_status(job, JobStatus.SCHEDULED)
    job._enqueued = None
    _save(tx, job)
    tx.queue_register(job.origin)
    _zadd_until(tx, ('scheduled', job.origin), job.id, at)
    _expire_waiting(tx, job)


def _start(tx, job, worker_name, heartbeat_ttl=None):
    """Mark a job started; with ``heartbeat_ttl`` its worker must renew it in time (_housekeep)."""
    record = job._rec
    assert _STARTED_STATUS in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> started'
    record[_STATUS] = _STARTED_STATUS
    record[_STARTED], record[_WORKER_NAME] = tx.clock(), worker_name
    job_id = record[_ID]
    tx.job_put(job_id, job._dump())
    tx.job_expire(job_id, None)             # a running job never expires (RQ's perform())
    at = math.inf if heartbeat_ttl is None else record[_STARTED] + heartbeat_ttl
    _zadd_until(tx, ('started', record[_ORIGIN]), job_id, at)


_SUCCESS, _FAILURE, _STOPPED = 'success', 'failure', 'stopped'    # compared with 'is'
_SUCCESSFUL = int(Result.Type.SUCCESSFUL)


class _Outcome:
    """What running a job came to: a value, or an exception (as exc_info and text)."""
    __slots__ = ('kind', 'value', 'exc_info', 'exc_string')

    def __init__(self, kind, value=None, exc_info=(None, None, None), exc_string=None):
        self.kind, self.value, self.exc_info, self.exc_string = kind, value, exc_info, exc_string

    @classmethod
    def failure(cls, exc):
        exc_info = (type(exc), exc, exc.__traceback__)
        return cls(_FAILURE, None, exc_info, _exc_string(*exc_info))


def _finish(tx, job, outcome, worker):
    """Record how a started job ended: the one place a started job changes state.

    Returns False (changing nothing) when the job was canceled or deleted while
    it ran; whatever it produced is then discarded.
    """
    record, job_id = job._rec, job._rec[_ID]
    stored = tx.job_get(job_id)
    if (stored is None or stored[_STATUS] is not _STARTED_STATUS
            or stored[_STARTED] != record[_STARTED] or stored[_WORKER_NAME] != record[_WORKER_NAME]):
        return False                        # canceled or deleted (perhaps re-enqueued) meanwhile
    record[_STATUS] = _STARTED_STATUS       # callbacks may have shown it its final status
    record[_META], job._meta = stored[_META], None      # meta the job saved while it ran
    now = tx.clock()
    working_time = now - record[_STARTED]
    tx.zrem(('started', record[_ORIGIN]), job_id)
    kind, value = outcome.kind, outcome.value
    if kind is _SUCCESS and isinstance(value, Retry):
        _retry_returned(tx, job, value, worker)
    elif kind is _SUCCESS and record[_REPEATS_LEFT]:
        intervals = record[_REPEAT_INTERVALS]       # used in order; the last one is kept
        record[_REPEATS_LEFT] -= 1
        record[_REPEAT_INTERVALS] = intervals[1:] or intervals
        _succeed(tx, job, value, worker, keep_going=True)
        _again(tx, job, intervals[0], job.enqueue_at_front)
    elif kind is _SUCCESS:
        _succeed(tx, job, value, worker)
    elif kind is _FAILURE and record[_RETRIES_LEFT]:
        interval = job.get_retry_interval()
        job.retries_left -= 1
        job._exc_info = outcome.exc_string
        _again(tx, job, interval, job.enqueue_at_front_on_retry)
    elif kind is _FAILURE:
        _fail(tx, job, outcome.exc_string, Result.Type.FAILED, worker)
    else:                                   # stopped: failed registry, no retry, no dependents
        _set_status(job, JobStatus.STOPPED)
        job._ended = None
        job._exc_info = outcome.exc_string
        _add_result(tx, job, int(Result.Type.FAILED), None, outcome.exc_string, worker)
        ttl = DEFAULT_FAILURE_TTL if job.failure_ttl is None else job.failure_ttl
        at = math.inf if ttl < 0 else now + ttl
        _zadd_until(tx, ('failed', job.origin), job.id, at)   # its timer also collects the job
        tx.job_expire(job.id, None if ttl < 0 else at)
        _save(tx, job)
    if worker is not None:
        worker._count(kind is _SUCCESS and not isinstance(value, Retry), working_time, now)
    tx.signal(job_id)                       # wakes get_result() and latest_result() waiters
    return True


def _succeed(tx, job, value, worker, keep_going=False):
    record = job._rec
    assert _FINISHED in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> finished'
    record[_STATUS] = _FINISHED
    ttl = record[_RESULT_TTL]
    if ttl is None:
        ttl = worker.default_result_ttl if worker is not None else DEFAULT_RESULT_TTL
    data = _capture_value(record[_SERIALIZER], value)
    job._result = value
    tx.job_put(record[_ID], job._dump())
    if ttl == 0 and not keep_going:         # RQ deletes the job at once, after its dependents
        _release_dependents(tx, job)
        _forget(tx, job)
        tx.job_delete(job.id)
        return
    _add_result(tx, job, _SUCCESSFUL, data, None, worker)
    at = math.inf if ttl < 0 else tx.clock() + ttl
    _zadd_until(tx, ('finished', record[_ORIGIN]), record[_ID], at)   # its timer also collects the job
    tx.job_expire(record[_ID], None if ttl < 0 else at)
    if not keep_going:
        _release_dependents(tx, job)


def _fail(tx, job, exc_string, result_type, worker):
    _set_status(job, JobStatus.FAILED)
    job._exc_info = exc_string
    _save(tx, job)
    if worker is None or not worker.disable_default_exception_handler:
        ttl = DEFAULT_FAILURE_TTL if job.failure_ttl is None else job.failure_ttl
        now = tx.now()
        _add_result(tx, job, int(result_type), None, exc_string, worker)
        at = math.inf if ttl < 0 else now + ttl
        _zadd_until(tx, ('failed', job.origin), job.id, at)   # its timer also collects the job
        tx.job_expire(job.id, None if ttl < 0 else at)
    _release_dependents(tx, job)


def _retry_returned(tx, job, retry, worker):
    """The job returned Retry(max, interval): run it again, up to ``max`` times."""
    if job.number_of_retries >= retry.max:
        _fail(tx, job, f'Job {job.id} exceeded the maximum of {retry.max} retries '
                       'it asked for by returning Retry', Result.Type.MAX_RETRIES_EXCEEDED, worker)
        return
    interval = Retry.get_interval(job.number_of_retries, retry.intervals)
    job.number_of_retries += 1
    _add_result(tx, job, int(Result.Type.RETRIED), None, None, worker)
    _again(tx, job, interval, retry.enqueue_at_front)


def _again(tx, job, interval, at_front):
    """Run a job once more: now (back on its queue) or after ``interval`` seconds (scheduled)."""
    if interval:
        _schedule(tx, job, tx.now() + interval)
        job.enqueue_at_front = at_front
        _save(tx, job)
    else:
        _enqueue(tx, job, at_front)


def _add_result(tx, job, result_type, data, exc_string, worker):
    key = ('results', job._rec[_ID])
    results = tx.get(key, ())
    entry = (result_type, data, exc_string, tx.clock(), worker.name if worker is not None else '')
    tx.set(key, results + (entry,) if len(results) < _MAX_RESULTS else results[1:] + (entry,))


def _release_dependents(tx, parent, parent_counts_as_met=False):
    """Enqueue the deferred children of ``parent`` whose every parent is now satisfied."""
    key = ('dependents', parent._rec[_ID])
    for child_id in tx.smembers(key):
        record = tx.job_get(child_id)
        if record is None or record[_STATUS] is not JobStatus.DEFERRED:
            tx.srem(key, child_id)
            continue
        child = Job._from_record(record, parent._store)
        if not _dependencies_met(tx, child, parent.id if parent_counts_as_met else None):
            continue                        # stays: this parent may be requeued and finish later
        tx.srem(key, child_id)
        tx.zrem(('deferred', child.origin), child.id)
        _enqueue(tx, child, child.enqueue_at_front)


def _dependencies_met(tx, child, met_id=None):
    for parent_id in child._dependency_ids:
        record = tx.job_get(parent_id)
        if record is None or parent_id == met_id:
            continue
        status = record[_STATUS]
        if status is JobStatus.FINISHED:
            continue
        if status is JobStatus.FAILED and child.allow_dependency_failures:
            continue
        return False
    return True


def _forget(tx, job):
    """Take ``job`` off its queue and out of every registry (the record stays)."""
    tx.queue_remove(job.origin, job.id)
    for kind in _REGISTRY_KINDS:
        tx.zrem((kind, job.origin), job.id)


def _cancel(tx, job, enqueue_dependents=False):
    _reload(tx, job)
    if job._status is JobStatus.CANCELED:
        raise InvalidJobOperation(f'cannot cancel job {job.id!r}: it is already canceled')
    _forget(tx, job)
    _set_status(job, JobStatus.CANCELED)
    _save(tx, job)
    tx.zadd(('canceled', job.origin), job.id, tx.now())
    tx.signal(job.id)
    if enqueue_dependents:
        _release_dependents(tx, job, parent_counts_as_met=True)


def _requeue(tx, job, kinds, at_front=False):
    """Move ``job`` from one of the registries ``kinds`` back onto its queue."""
    record = tx.job_get(job.id)
    if record is None:
        raise NoSuchJobError(f'cannot requeue job {job.id!r}: no such job')
    job._load(record)
    kind = next((k for k in kinds if tx.zscore((k, job.origin), job.id) is not None), None)
    if kind is None:
        raise InvalidJobOperation(
            f'cannot requeue job {job.id!r}: status is {job._status.value!r} and it is not in '
            f'the {" or ".join(kinds)} job registry of queue {job.origin!r}')
    tx.zrem((kind, job.origin), job.id)
    _enqueue(tx, job, at_front)


def _delete(tx, job, delete_dependents=False):
    record = tx.job_get(job.id)
    if record is not None:
        job._load(record)
    _forget(tx, job)
    for parent_id in job._dependency_ids:
        tx.srem(('dependents', parent_id), job.id)
    if delete_dependents:
        for child_id in tx.smembers(('dependents', job.id)):
            child = tx.job_get(child_id)
            if child is not None:
                _delete(tx, Job._from_record(child, job._store), True)
    tx.job_delete(job.id)


def _unreadable(tx, job_id, origin, exc):
    """Replace a record no one can read (say, it pickled a class of another program's
    __main__) by a failed job that says so, instead of letting it stop a worker."""
    _log.error('%s: job %s cannot be read, and is failed: %s', origin, job_id, exc)
    record = _BLANK_RECORD[:]
    record[_ID], record[_STATUS], record[_ORIGIN] = job_id, JobStatus.FAILED, origin
    record[_CREATED] = record[_ENDED] = tx.now()
    record[_EXC_INFO] = f'{type(exc).__name__}: {exc}'
    tx.job_put(job_id, record)
    for kind in _REGISTRY_KINDS:
        tx.zrem((kind, origin), job_id)
    tx.zadd(('failed', origin), job_id, math.inf)


def _suspended(tx):
    until = tx.get(('suspended',))
    return until is not None and until > tx.now()


def _housekeep(tx):
    """Expire what the TTLs say and enqueue every scheduled job that is due; return those."""
    promoted = []
    for key, job_id, at in tx.timers_due(tx.now()):
        if key[0] != 'expire':
            if tx.zscore(key, job_id) != at:
                continue                    # stale: the entry moved or left since
            tx.zrem(key, job_id)
        try:
            record = tx.job_get(job_id)     # also deletes the job if its record expired
        except DeserializationError as exc:
            if key[0] in ('scheduled', 'started'):
                _unreadable(tx, job_id, key[1], exc)
            continue
        if key[0] == 'started' and record is not None and record[_STATUS] is _STARTED_STATUS:
            _abandoned(tx, Job._from_record(record, tx), at)
        if key[0] == 'scheduled' and record is not None and record[_STATUS] is JobStatus.SCHEDULED:
            job = Job._from_record(record, tx)
            _enqueue(tx, job, job.enqueue_at_front)
            promoted.append(job)
    return promoted


def _tick(store):
    """Housekeep now, and run the due jobs of ``is_async=False`` queues in this thread."""
    with store.transaction() as tx:
        for worker in list(store._live_workers.values()):
            if worker._heartbeat_ttl is not None:
                worker._beat(tx)            # alive in this process, whatever the clock says
        promoted = _housekeep(tx)
        inline = tx.smembers(('sync-queues',)) if promoted else ()
        inline = [job for job in promoted if job.origin in inline]
    for job in inline:
        _run_inline(job)


def _abandoned(tx, job, at):
    """A started job whose worker stopped beating (its process died): retry it or fail it."""
    text = f'Moved to FailedJobRegistry, due to AbandonedJobError, at {_iso(at)}'
    _log.warning('%s: job %s: %s', job.origin, job.id, text)
    _finish(tx, job, _Outcome(_FAILURE, exc_string=text), None)


def _zadd_until(tx, key, job_id, at):
    """Add to a registry whose score is a time at which the entry must go (or run)."""
    tx.zadd(key, job_id, at)
    if at != math.inf:
        tx.timer_add(at, key, job_id)


# -- running a job (shared by Worker and Queue(is_async=False)) ----------------

def _execute(job, execution=None):
    """Run the job's function in this thread, outside every lock."""
    previous = getattr(_current, 'job', None)
    _current.job = job
    try:
        if execution is not None:
            execution.in_job = True
        return _Outcome(_SUCCESS, _call_job_function(job))
    except BaseException as exc:     # SystemExit too: a job never kills its worker
        return _Outcome.failure(exc)
    finally:
        if execution is not None:
            execution.in_job = False
        _current.job = previous


def _run_inline(job):
    """Run a queued job now, in this thread, through the worker's code (is_async=False)."""
    store = job._store
    while True:
        with store.transaction() as tx:
            if not tx.queue_remove(job.origin, job.id):
                return
            _start(tx, job, 'sync')
        _complete(job, _execute(job), None)
        if job._status is not _QUEUED:     # a retry with no interval runs again at once
            return


def _complete(job, outcome, worker):
    """Callbacks, then _finish, then exception handlers: what follows every execution."""
    store, connection, record = job._store, job.connection, job._rec
    if outcome.kind is not _STOPPED:
        record[_ENDED] = store.clock()
    if (outcome.kind is _SUCCESS and record[_ON_SUCCESS] is not None
            and not isinstance(outcome.value, Retry)):
        job._status = JobStatus.FINISHED    # what get_status(refresh=False) says inside it (RQ)
        try:
            job._success_callback(job, connection, outcome.value)
        except Exception as exc:            # a raising success callback fails the job (RQ)
            _log.exception('success callback of job %s raised', job.id)
            outcome = _Outcome.failure(exc)
    if outcome.kind is _FAILURE and record[_ON_FAILURE] is not None:
        job._status = JobStatus.FAILED
        try:
            job._failure_callback(job, connection, *outcome.exc_info)
        except Exception as exc:
            _log.exception('failure callback of job %s raised', job.id)
            outcome.exc_string = _exc_string(type(exc), exc, exc.__traceback__)
    if outcome.kind is _STOPPED and record[_ON_STOPPED] is not None:
        _call_quietly(f'stopped callback of job {job.id}', job._stopped_callback, job, connection)
    with store.transaction() as tx:
        applied = _finish(tx, job, outcome, worker)
    if not applied:
        _log.warning('job %s was canceled or deleted while it ran; its outcome is discarded', job.id)
    elif not _log.isEnabledFor(logging.INFO):
        pass
    elif outcome.kind is _SUCCESS:
        _log.info('%s: Job OK (%s)', job.origin, job.id)
    else:
        _log.info('%s: Job %s (%s): %s', job.origin, outcome.kind, job.id,
                  (outcome.exc_string or '').strip().splitlines()[-1:])
    if applied and outcome.kind is _FAILURE and worker is not None:
        worker._handle_exception(job, *outcome.exc_info)

# ==== Queue ==================================================================

_ENQUEUE_OPTIONS = ('job_timeout', 'description', 'result_ttl', 'ttl', 'failure_ttl',
                    'depends_on', 'job_id', 'at_front', 'meta', 'retry', 'repeat', 'on_success',
                    'on_failure', 'on_stopped', 'webhooks', 'pipeline', 'unique', 'group_id')

EnqueueData = collections.namedtuple('EnqueueData', [
    'func', 'args', 'kwargs', 'timeout', 'result_ttl', 'ttl', 'failure_ttl', 'description',
    'depends_on', 'job_id', 'at_front', 'meta', 'retry', 'on_success', 'on_failure',
    'on_stopped', 'repeat'])


class Queue:
    """A named queue of jobs on a store (the default store unless ``connection=`` names one).

    ``Queue(name='default', connection=None, is_async=True, default_timeout=None,
    serializer=None)``. Two ``Queue('x')`` objects on one store are the same
    queue. With ``is_async=False`` each job runs inside ``enqueue``, in the
    calling thread, through the same code a worker runs. Unknown keyword
    arguments are ignored, as in RQ.
    """

    DEFAULT_TIMEOUT = DEFAULT_JOB_TIMEOUT
    redis_queue_namespace_prefix = 'rq:queue:'
    job_class = Job
    _timeout_is_job_timeout = True      # the seed API: enqueue(f, timeout=N) sets the job timeout
    _option_names = frozenset(_ENQUEUE_OPTIONS + ('timeout', 'args', 'kwargs'))

    def __init__(self, name='default', connection=None, default_timeout=None, is_async=True,
                 job_class=None, serializer=None, death_penalty_class=None, **kwargs):
        if not isinstance(name, str) or not name:
            raise ValueError(f'queue name {name!r}: expected a non-empty string')
        self.name = name
        self._store = _resolve_store(connection)
        self.connection = connection if connection is not None else self._store
        self._default_timeout = parse_timeout(default_timeout, 'default_timeout') or self.DEFAULT_TIMEOUT
        self._is_async = is_async
        self.serializer = resolve_serializer(serializer)
        if job_class is not None:
            self.job_class = _import_attribute(job_class) if isinstance(job_class, str) else job_class
        self._clock = self._store.clock
        self._keeps_immutables = self.serializer is DefaultSerializer     # see Job._capture
        self._template_record = _BLANK_RECORD[:]   # what every plain job of this queue starts as
        self._template_record[_SERIALIZER] = self.serializer
        self._template_record[_ORIGIN] = name
        self._template_record[_TIMEOUT] = self._default_timeout

    def __repr__(self):
        return f'Queue({self.name!r})'

    def __str__(self):
        return f'<Queue {self.name}>'

    def __len__(self):
        return self.count

    def __bool__(self):
        return True                     # as in RQ, even when empty

    def __eq__(self, other):
        if not isinstance(other, Queue):
            raise TypeError(f'cannot compare a Queue with {other!r}')
        return self.name == other.name and self._store is other._store

    def __lt__(self, other):
        if not isinstance(other, Queue):
            raise TypeError(f'cannot compare a Queue with {other!r}')
        return self.name < other.name

    def __hash__(self):
        return hash(self.name)

    @classmethod
    def all(cls, connection=None, job_class=None, serializer=None, death_penalty_class=None):
        """Every queue ever enqueued to on the store."""
        store = _resolve_store(connection)
        with store.transaction() as tx:
            names = tx.queue_names()
        return [cls(name, connection=store, job_class=job_class, serializer=serializer) for name in names]

    @classmethod
    def from_queue_key(cls, queue_key, connection=None, **kwargs):
        prefix = cls.redis_queue_namespace_prefix
        if not isinstance(queue_key, str) or not queue_key.startswith(prefix):
            raise ValueError(f'not a valid RQ queue key: {queue_key!r} (expected {prefix}<name>)')
        return cls(queue_key[len(prefix):], connection=connection, **kwargs)

    @property
    def key(self):
        return self.redis_queue_namespace_prefix + self.name

    @property
    def is_async(self):
        return self._is_async

    # -- enqueueing ----------------------------------------------------------

    def enqueue(self, f, *args, **kwargs) -> Job:
        """Enqueue ``f(*args, **kwargs)`` and return the job.

        RQ's options (``job_timeout``, ``description``, ``result_ttl``, ``ttl``,
        ``failure_ttl``, ``depends_on``, ``job_id``, ``at_front``, ``meta``,
        ``retry``, ``repeat``, ``on_success``, ``on_failure``, ``on_stopped``,
        ``unique``) are taken out of ``kwargs``; so are ``args=`` and
        ``kwargs=`` (explicit mode). On this front door ``timeout=`` is the job
        timeout too; after ``install_as_rq()`` it goes to ``f``, as in RQ.
        """
        if kwargs and not self._option_names.isdisjoint(kwargs):
            options = self._pop_options(kwargs)
            args, kwargs = self._explicit_args(args, kwargs)
            return self.enqueue_call(f, args, kwargs, **options)
        job = self._plain_job(f, args, kwargs)        # no options: the common, fast case
        with self._store.transaction() as tx:
            _enqueue(tx, job, fresh=True)       # (a plain job has no dependencies to wait for)
        if not self._is_async:
            self._run_sync(job)
        return job

    def enqueue_call(self, func, args=None, kwargs=None, timeout=None, result_ttl=None, ttl=None,
                     failure_ttl=None, description=None, depends_on=None, job_id=None,
                     at_front=False, meta=None, retry=None, repeat=None, on_success=None,
                     on_failure=None, on_stopped=None, pipeline=None, unique=False,
                     webhooks=None, group_id=None) -> Job:
        """Enqueue with every option spelled out (here the job timeout is ``timeout``)."""
        _check_unique(unique, job_id, depends_on)
        job = self.create_job(func, args, kwargs, timeout=timeout, result_ttl=result_ttl, ttl=ttl,
                              failure_ttl=failure_ttl, description=description,
                              depends_on=depends_on, job_id=job_id, meta=meta, retry=retry,
                              repeat=repeat, on_success=on_success, on_failure=on_failure,
                              on_stopped=on_stopped, group_id=group_id)
        return self.enqueue_job(job, at_front=at_front, unique=unique)

    def create_job(self, func, args=None, kwargs=None, timeout=None, result_ttl=None, ttl=None,
                   failure_ttl=None, description=None, depends_on=None, job_id=None, meta=None,
                   status=JobStatus.QUEUED, retry=None, *, on_success=None, on_failure=None,
                   on_stopped=None, repeat=None, group_id=None) -> Job:
        """Build a job for this queue without saving it."""
        job = object.__new__(self.job_class)
        job._blank(self._store, self.connection, self.serializer)
        job._configure(func, args, kwargs, timeout=timeout, result_ttl=result_ttl, ttl=ttl,
                       failure_ttl=failure_ttl, description=description, depends_on=depends_on,
                       job_id=job_id, meta=meta, retry=retry, repeat=repeat,
                       on_success=on_success, on_failure=on_failure, on_stopped=on_stopped,
                       status=status, origin=self.name, group_id=group_id)
        return job

    def enqueue_job(self, job, pipeline=None, at_front=False, unique=False) -> Job:
        """Enqueue an existing Job object (deferred while it has unfinished parents); returns it."""
        self._adopt(job)
        with self._store.transaction() as tx:
            if unique and tx.job_get(job.id) is not None:
                raise DuplicateJobError(f'Job with ID {job.id!r} already exists')
            _place(tx, job, at_front)
        if not self._is_async and job._status is JobStatus.QUEUED:
            self._run_sync(job)
        return job

    def enqueue_at(self, datetime, f, *args, **kwargs) -> Job:
        """Schedule ``f(*args, **kwargs)`` for ``datetime`` (naive means local time); status scheduled."""
        when = datetime
        if not isinstance(when, _dt.datetime):
            raise TypeError(f'enqueue_at: expected a datetime, got {when!r}')
        return self._enqueue_scheduled(when.timestamp(), f, args, kwargs)

    def enqueue_in(self, time_delta, func, *args, **kwargs) -> Job:
        """Schedule ``func(*args, **kwargs)`` to run ``time_delta`` (a timedelta or seconds) from now."""
        seconds = _to_seconds(time_delta, 'enqueue_in(time_delta)')
        return self._enqueue_scheduled(self._store.now() + seconds, func, args, kwargs)

    def schedule_job(self, job, datetime, pipeline=None, unique=False) -> Job:
        when = datetime
        if not isinstance(when, _dt.datetime):
            raise TypeError(f'schedule_job: expected a datetime, got {when!r}')
        return self._schedule_at(job, when.timestamp(), unique)

    def enqueue_many(self, job_datas, pipeline=None, group_id=None) -> list:
        """Enqueue several jobs built with ``Queue.prepare_data``; returns the jobs."""
        jobs = [(self.create_job(d.func, d.args, d.kwargs, timeout=d.timeout,
                                 result_ttl=d.result_ttl, ttl=d.ttl, failure_ttl=d.failure_ttl,
                                 description=d.description, depends_on=d.depends_on,
                                 job_id=d.job_id, meta=d.meta, retry=d.retry, repeat=d.repeat,
                                 on_success=d.on_success, on_failure=d.on_failure,
                                 on_stopped=d.on_stopped, group_id=group_id), d.at_front)
                for d in job_datas]
        jobs.sort(key=lambda pair: bool(pair[0]._dependency_ids))   # RQ returns these first
        return [self.enqueue_job(job, at_front=at_front) for job, at_front in jobs]

    @staticmethod
    def prepare_data(func, args=None, kwargs=None, timeout=None, result_ttl=None, ttl=None,
                     failure_ttl=None, description=None, depends_on=None, job_id=None,
                     at_front=False, meta=None, retry=None, on_success=None, on_failure=None,
                     on_stopped=None, repeat=None) -> EnqueueData:
        return EnqueueData(func, args, kwargs, timeout, result_ttl, ttl, failure_ttl, description,
                           depends_on, job_id, at_front, meta, retry, on_success, on_failure,
                           on_stopped, repeat)

    # -- inspection ----------------------------------------------------------

    @property
    def count(self):
        """The number of queued jobs; works as ``queue.count`` and as ``queue.count()``."""
        with self._store.transaction() as tx:
            return _Count(tx.queue_len(self.name))

    def is_empty(self) -> bool:
        return self.count == 0

    def empty(self):
        """True when no job is queued; changes nothing (the seed API; RQ's ``empty()`` deletes)."""
        return self.count == 0

    def get_job_ids(self, offset=0, length=-1) -> list:
        with self._store.transaction() as tx:
            ids = tx.queue_ids(self.name)
        return ids[offset:] if length < 0 else ids[offset:offset + length]

    def get_jobs(self, offset=0, length=-1) -> list:
        """The queued jobs, in order; ids whose job expired are skipped."""
        with self._store.transaction() as tx:
            ids = tx.queue_ids(self.name)
            ids = ids[offset:] if length < 0 else ids[offset:offset + length]
            records = [tx.job_get(job_id) for job_id in ids]
        cls = self.job_class
        return [cls._from_record(r, self._store, self.connection) for r in records if r is not None]

    job_ids = property(get_job_ids)
    jobs = property(get_jobs)

    def fetch_job(self, job_id):
        """The job with this id if it belongs to this queue, else None."""
        with self._store.transaction() as tx:
            record = tx.job_get(job_id)
            if record is None:
                tx.queue_remove(self.name, job_id)      # a dangling id, as RQ drops it
                return None
        if record[_ORIGIN] != self.name:
            return None
        return self.job_class._from_record(record, self._store, self.connection)

    def get_job_position(self, job_or_id):
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        with self._store.transaction() as tx:
            return tx.queue_position(self.name, job_id)

    # -- mutation ------------------------------------------------------------

    def delete(self, delete_jobs=True):
        """Delete the queue, and with ``delete_jobs`` its queued jobs."""
        with self._store.transaction() as tx:
            if delete_jobs:
                self._delete_queued(tx)
            tx.queue_forget(self.name)

    def remove(self, job_or_id, pipeline=None):
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        with self._store.transaction() as tx:
            return int(tx.queue_remove(self.name, job_id))

    def compact(self):
        """Drop ids whose job is gone (expired ttl)."""
        with self._store.transaction() as tx:
            for job_id in tx.queue_ids(self.name):
                if tx.job_get(job_id) is None:
                    tx.queue_remove(self.name, job_id)

    def push_job_id(self, job_id, pipeline=None, at_front=False):
        with self._store.transaction() as tx:
            tx.queue_push(self.name, job_id, at_front)

    def pop_job_id(self):
        with self._store.transaction() as tx:
            return tx.queue_pop(self.name)

    def enqueue_dependents(self, job, pipeline=None, exclude_job_id=None):
        with self._store.transaction() as tx:
            _release_dependents(tx, job)

    def run_job(self, job):
        self._run_sync(job)
        return job

    # -- registries (the classes come later in the file; these are views) ----

    started_job_registry = property(lambda self: self._registry('started'))
    finished_job_registry = property(lambda self: self._registry('finished'))
    failed_job_registry = property(lambda self: self._registry('failed'))
    deferred_job_registry = property(lambda self: self._registry('deferred'))
    scheduled_job_registry = property(lambda self: self._registry('scheduled'))
    canceled_job_registry = property(lambda self: self._registry('canceled'))

    def _registry(self, kind):
        return _REGISTRIES[kind](queue=self)

    # -- helpers -------------------------------------------------------------

    def _plain_job(self, f, args, kwargs):
        """A job for ``f(*args, **kwargs)`` with every option at its default (cf. _configure)."""
        if not callable(f):
            _check_function(f)
        job = object.__new__(self.job_class)
        job._store, job.connection = self._store, self.connection
        job._meta = job._args = job._kwargs = job._result = None
        job._rec = record = self._template_record[:]
        if kwargs or (args and not self._keeps_immutables):
            record[_DATA] = job._capture(f, args, kwargs)
        elif args:                      # the common case of Job._capture, inlined
            for value in args:
                if type(value) not in _IMMUTABLE:
                    record[_DATA] = job._capture(f, args, kwargs)
                    break
            else:
                record[_DATA] = (args, None)
        record[_ID], record[_FUNC], record[_CREATED] = _new_id(), f, self._clock()
        return job

    def _pop_options(self, kwargs):
        options = {name: kwargs.pop(name) for name in _ENQUEUE_OPTIONS if name in kwargs}
        if self._timeout_is_job_timeout and 'timeout' in kwargs:
            timeout = kwargs.pop('timeout')
            options.setdefault('job_timeout', timeout)
        if 'job_timeout' in options:
            options['timeout'] = options.pop('job_timeout')
        return options

    @staticmethod
    def _explicit_args(args, kwargs):
        if 'args' not in kwargs and 'kwargs' not in kwargs:
            return args, kwargs
        if args:
            raise TypeError(f'extra positional arguments {args!r} cannot be used together with '
                            'explicit args= and kwargs=')
        return kwargs.pop('args', None), kwargs.pop('kwargs', None)

    def _adopt(self, job):
        job.origin = self.name
        job._store, job.connection = self._store, self.connection
        if job.timeout is None:
            job.timeout = self._default_timeout

    def _enqueue_scheduled(self, at, f, args, kwargs):
        options = self._pop_options(kwargs)
        args, kwargs = self._explicit_args(args, kwargs)
        unique = options.pop('unique', False)
        at_front = options.pop('at_front', False)
        options.pop('pipeline', None)
        options.pop('webhooks', None)
        _check_unique(unique, options.get('job_id'), options.get('depends_on'))
        job = self.create_job(f, args, kwargs, status=JobStatus.CREATED, **options)
        if at_front:
            job.enqueue_at_front = True     # the scheduler puts it at the front when due (RQ)
        return self._schedule_at(job, at, unique)

    def _schedule_at(self, job, at, unique=False):
        self._adopt(job)
        with self._store.transaction() as tx:
            if unique and tx.job_get(job.id) is not None:
                raise DuplicateJobError(f'Job with ID {job.id!r} already exists')
            _schedule(tx, job, at)
        return job

    def _run_sync(self, job):
        """Run a job now, in this thread (is_async=False); then any due retries of sync queues."""
        with self._store.transaction() as tx:
            tx.sadd(('sync-queues',), self.name)
        _run_inline(job)
        _tick(self._store)

    def _delete_queued(self, tx):
        ids = tx.queue_ids(self.name)
        for job_id in ids:
            record = tx.job_get(job_id)
            if record is not None:
                _delete(tx, self.job_class._from_record(record, self._store))
            tx.queue_remove(self.name, job_id)
        return len(ids)


_dt = datetime          # Queue.enqueue_at's first parameter is named 'datetime', as in RQ


def _check_unique(unique, job_id, depends_on):
    if unique and job_id is None:
        raise ValueError('unique=True needs a job_id: give job_id=... to enqueue a unique job')
    if unique and depends_on is not None:
        raise ValueError('unique=True cannot be combined with depends_on')


class Group:
    """A named set of jobs enqueued together (``rq.group.Group``)."""

    def __init__(self, connection=None, name=None):
        self.name = name or _new_id().replace('-', '')
        self._store = _resolve_store(connection)
        self.connection = connection if connection is not None else self._store

    def __repr__(self):
        return f'Group(id={self.name})'

    @property
    def key(self):
        return f'rq:group:{self.name}'

    @classmethod
    def create(cls, connection=None, name=None):
        return cls(connection=connection, name=name)

    @classmethod
    def fetch(cls, name, connection=None):
        group = cls(connection=connection, name=name)
        with group._store.transaction() as tx:
            if not tx.smembers(('group', name)):
                raise NoSuchGroupError(f'No such group: {name!r}')
        return group

    @classmethod
    def all(cls, connection=None):
        store = _resolve_store(connection)
        with store.transaction() as tx:
            names = sorted(tx.smembers(('groups',)))
        return [cls(connection=store, name=name) for name in names]

    def enqueue_many(self, queue, job_datas, pipeline=None) -> list:
        jobs = queue.enqueue_many(job_datas, group_id=self.name)
        with self._store.transaction() as tx:
            tx.sadd(('groups',), self.name)
            for job in jobs:
                tx.sadd(('group', self.name), job.id)
        return jobs

    def get_job_ids(self):
        self.cleanup()
        with self._store.transaction() as tx:
            return sorted(tx.smembers(('group', self.name)))

    def get_jobs(self):
        return [job for job in Job.fetch_many(self.get_job_ids(), self._store) if job is not None]

    def delete_job(self, job_id, pipeline=None):
        with self._store.transaction() as tx:
            tx.srem(('group', self.name), job_id)
            if not tx.smembers(('group', self.name)):
                tx.srem(('groups',), self.name)

    def cleanup(self):
        with self._store.transaction() as tx:
            for job_id in tx.smembers(('group', self.name)):
                if tx.job_get(job_id) is None:
                    tx.srem(('group', self.name), job_id)
            if not tx.smembers(('group', self.name)):
                tx.srem(('groups',), self.name)


# ==== Registries =============================================================

class BaseRegistry:
    """Where jobs of one queue are at one stage: a view of a sorted set in the store."""

    kind = None
    job_class = Job
    queue_class = Queue

    def __init__(self, name='default', connection=None, job_class=None, queue=None,
                 serializer=None, death_penalty_class=None):
        if queue is not None:
            name, connection = queue.name, queue.connection
            job_class = job_class or queue.job_class
            self.queue_class = type(queue)
        self.name = name
        self._store = _resolve_store(connection)
        self.connection = connection if connection is not None else self._store
        if job_class is not None:
            self.job_class = job_class
        self.serializer = resolve_serializer(serializer)

    def __repr__(self):
        return f'{self.kind.capitalize()}JobRegistry({self.name!r})'

    def __len__(self):
        return self.count

    def __contains__(self, item):
        job_id = item.id if isinstance(item, Job) else item
        with self._store.transaction() as tx:
            return tx.zscore(self._key, job_id) is not None

    def __eq__(self, other):
        return (isinstance(other, BaseRegistry) and self.kind == other.kind
                and self.name == other.name and self._store is other._store)

    def __hash__(self):
        return hash((self.kind, self.name))

    @property
    def _key(self):
        return (self.kind, self.name)

    @property
    def key(self):
        return f'rq:{self.kind}:{self.name}'

    @property
    def count(self):
        return _Count(self.get_job_count())

    def get_job_count(self, cleanup=True):
        if cleanup:
            self.cleanup()
        with self._store.transaction() as tx:
            return tx.zcard(self._key)

    def get_job_ids(self, start=0, end=-1, desc=False, cleanup=True) -> list:
        """Job ids ordered by score (RQ's ``start``/``end`` are inclusive)."""
        if cleanup:
            self.cleanup()
        with self._store.transaction() as tx:
            ids = tx.zmembers(self._key, desc=desc)
        return ids[start:] if end == -1 else ids[start:end + 1]

    def get_expiration_time(self, job):
        with self._store.transaction() as tx:
            score = tx.zscore(self._key, job.id)
        return None if score is None or score == math.inf else _to_datetime(score)

    def get_queue(self):
        return self.queue_class(self.name, connection=self.connection, job_class=self.job_class)

    def add(self, job, ttl=0, pipeline=None, xx=False):
        with self._store.transaction() as tx:
            score = math.inf if ttl == -1 else tx.now() + (ttl or 0)
            tx.zadd(self._key, job.id, score)

    def remove(self, job, pipeline=None, delete_job=False):
        job_id = job.id if isinstance(job, Job) else job
        with self._store.transaction() as tx:
            tx.zrem(self._key, job_id)
            if delete_job:
                record = tx.job_get(job_id)
                if record is not None:
                    _delete(tx, Job._from_record(record, self._store))

    def cleanup(self, timestamp=None):
        """Drop entries whose score (expiry time) has passed."""
        with self._store.transaction() as tx:
            if timestamp is None:
                _housekeep(tx)
                return
            for job_id in tx.zmembers(self._key, timestamp):
                tx.zrem(self._key, job_id)

    def get_expired_job_ids(self, timestamp=None):
        with self._store.transaction() as tx:
            return tx.zmembers(self._key, tx.now() if timestamp is None else timestamp)

    def requeue(self, job_or_id, at_front=False):
        """Put a job of this registry back on its queue; ``InvalidJobOperation`` if it is not here."""
        job = job_or_id if isinstance(job_or_id, Job) else self.job_class.fetch(job_or_id, self._store)
        with self._store.transaction() as tx:
            _requeue(tx, job, (self.kind,), at_front)
        return job


class StartedJobRegistry(BaseRegistry):
    kind = 'started'

    def cleanup(self, timestamp=None):
        """Nothing to drop by score: a job whose worker stopped beating is found by the
        store's housekeeping (shared stores); in memory a hung job is failed by its timeout."""


class FinishedJobRegistry(BaseRegistry):
    kind = 'finished'


class FailedJobRegistry(BaseRegistry):
    kind = 'failed'

    def add(self, job, ttl=None, exc_string='', pipeline=None, _save_exc_to_job=False):
        ttl = DEFAULT_FAILURE_TTL if ttl is None else ttl
        super().add(job, ttl)


class DeferredJobRegistry(BaseRegistry):
    kind = 'deferred'

    def cleanup(self, timestamp=None):
        """Deferred jobs wait for their parents; nothing expires here."""


class ScheduledJobRegistry(BaseRegistry):
    kind = 'scheduled'

    def cleanup(self, timestamp=None):
        """Scores are run times, not expiry times; nothing expires here."""

    def schedule(self, job, scheduled_datetime, pipeline=None):
        with self._store.transaction() as tx:
            tx.zadd(self._key, job.id, _to_epoch(scheduled_datetime, 'schedule'))

    def get_scheduled_time(self, job_or_id):
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        with self._store.transaction() as tx:
            score = tx.zscore(self._key, job_id)
        if score is None:
            raise NoSuchJobError(f'job {job_id!r} is not in the scheduled job registry of queue '
                                 f'{self.name!r}')
        return _to_datetime(score)

    def get_jobs_to_schedule(self, timestamp=None, chunk_size=1000):
        with self._store.transaction() as tx:
            now = tx.now() if timestamp is None else _to_epoch(timestamp, 'timestamp')
            return tx.zmembers(self._key, now)[:chunk_size]


class CanceledJobRegistry(BaseRegistry):
    kind = 'canceled'

    def cleanup(self, timestamp=None):
        """Canceled jobs never expire from here."""

    def get_expired_job_ids(self, timestamp=None):
        raise NotImplementedError('canceled jobs do not expire')


_REGISTRIES = {cls.kind: cls for cls in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry,
                                         DeferredJobRegistry, ScheduledJobRegistry,
                                         CanceledJobRegistry)}


def clean_registries(queue):
    for registry in (queue.finished_job_registry, queue.failed_job_registry,
                     queue.started_job_registry):
        registry.cleanup()

# ==== Worker =================================================================

_RUNNING, _CLAIMED, _ABANDONED = 'running', 'claimed', 'abandoned'


class _Execution:
    """One run of a job by a worker thread, raced for by the thread and the watchdog."""
    __slots__ = ('job', 'thread_id', 'deadline', 'state', 'in_job')

    def __init__(self, job, deadline):
        self.job = job
        self.thread_id = threading.get_ident()
        self.deadline = deadline        # time.monotonic() value, or None for no timeout
        self.state = _RUNNING           # guarded by the worker's _claim_lock
        self.in_job = False             # True only while the job's own function runs


def _raise_in_thread(thread_id, exc_type):
    """Ask CPython to raise ``exc_type`` in another thread at its next bytecode (best effort)."""
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type))
    except (AttributeError, OSError):   # not CPython: the timed-out thread simply runs on
        pass


class Worker:
    """Runs jobs from one or more queues, in priority order, in threads of this process.

    ``Worker(queues, name=None, connection=None, ...)``: ``queues`` is a Queue, a
    queue name, or a list of them (strict priority: each job comes from the first
    non-empty queue in the list). ``work(burst=False)`` runs jobs in the calling
    thread and returns whether it ran any; ``start()`` runs ``work`` in a
    background thread; ``stop()`` stops it gracefully. Every worker here runs
    jobs in its own thread, as RQ's ``SimpleWorker`` does; a job past its
    timeout is failed on time and the worker goes on in a fresh thread.
    """

    queue_class = Queue
    job_class = Job

    def __init__(self, queues, name=None, default_result_ttl=DEFAULT_RESULT_TTL, connection=None,
                 exception_handlers=None, default_worker_ttl=None, worker_ttl=None,
                 job_class=None, queue_class=None, log_job_description=True,
                 job_monitoring_interval=30, disable_default_exception_handler=False,
                 prepare_for_work=True, serializer=None, work_horse_killed_handler=None,
                 **kwargs):
        if job_class is not None:
            self.job_class = job_class
        if queue_class is not None:
            self.queue_class = queue_class
        items = queues if isinstance(queues, (list, tuple)) else [queues]
        if not items:
            raise ValueError('Worker([]): give at least one queue (a Queue or a queue name)')
        store = connection
        for item in items:
            if not isinstance(item, (Queue, str)):
                raise TypeError(f'Worker: {item!r} is not a Queue or a queue name')
            if store is None and isinstance(item, Queue):
                store = item.connection
        self._store = _resolve_store(store)
        self.connection = store if store is not None else self._store
        self.queues = [q if isinstance(q, Queue) else self.queue_class(q, connection=self.connection)
                       for q in items]
        self.name = name or _new_id().replace('-', '')
        self.default_result_ttl = default_result_ttl
        self.disable_default_exception_handler = disable_default_exception_handler
        self._exc_handlers = list(exception_handlers or [])
        if not isinstance(exception_handlers, (list, tuple, type(None))):
            self._exc_handlers = [exception_handlers]
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.successful_job_count = 0       # these four are updated inside _finish's transaction
        self.failed_job_count = 0
        self.total_working_time = 0.0
        self._state = 'starting'
        self.birth_date = None
        self._heartbeat = None              # epoch seconds of the last job's end
        self._order = list(self.queues)     # dequeue order; rotated or shuffled by strategy
        self._strategy = DequeueStrategy.DEFAULT
        self._burst = False
        self._max_jobs = None
        self._max_idle_time = None
        self._jobs_run = 0
        self._did_work = False
        self._stopping = False              # set by stop(); read by the dequeue wait predicate
        self._loop_done = threading.Event()  # set when the work loop (in whatever thread) ends
        self._loop_done.set()
        self._thread = None
        self._claim_lock = threading.Lock()  # guards _Execution.state (thread vs watchdog)
        self._watch = threading.Condition()  # the watchdog's own lock and wake-up
        self._watch_until = math.inf         # when the watchdog plans to wake up
        self._watch_closed = False
        self._watchdog = None
        self._execution = None
        self._remote_job_id = None          # set on views of other processes' workers
        # On a store shared with other processes, a worker proves it is alive
        # with a heartbeat every job_monitoring_interval seconds; a job whose
        # worker missed three is abandoned (RQ's AbandonedJobError).
        self._monitoring_interval = job_monitoring_interval
        self._heartbeat_ttl = 3 * job_monitoring_interval if self._store.shared else None

    def __repr__(self):
        return f'{type(self).__name__}({self.name!r})'

    def __eq__(self, other):
        return isinstance(other, Worker) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    @classmethod
    def all(cls, connection=None, job_class=None, queue_class=None, queue=None, serializer=None):
        """The workers currently working on the store (optionally: on ``queue``)."""
        store = _resolve_store(connection if queue is None else queue.connection)
        with store.transaction() as tx:
            now = tx.now()
            records = [tx.get(('worker', name)) for name in tx.smembers(('workers',))]
        workers = []
        for record in records:
            if record is None or record['expires'] < now:
                continue                    # gone, or its process died (no heartbeat)
            live = store._live_workers.get(record['name'])
            workers.append(live if live is not None else cls._from_record(record, store))
        if queue is not None:
            workers = [w for w in workers if queue.name in w.queue_names()]
        return workers

    @classmethod
    def _from_record(cls, record, store):
        """A read-only view of a worker of another process."""
        worker = cls(record['queues'], name=record['name'], connection=store)
        worker.pid, worker.hostname = record['pid'], record['hostname']
        worker.successful_job_count = record['successful']
        worker.failed_job_count = record['failed']
        worker.total_working_time = record['working_time']
        worker._state, worker._heartbeat = record['state'], record['heartbeat']
        worker.birth_date = _to_datetime(record['birth'])
        worker._remote_job_id = record['job_id']
        return worker

    @classmethod
    def count(cls, connection=None, queue=None):
        return len(cls.all(connection=connection, queue=queue))

    @classmethod
    def find_by_key(cls, worker_key, connection=None):
        name = worker_key.rsplit(':', 1)[-1]
        return next((w for w in cls.all(connection) if w.name == name), None)

    @property
    def key(self):
        return f'rq:worker:{self.name}'

    def queue_names(self):
        return [q.name for q in self.queues]

    def queue_keys(self):
        return [q.key for q in self.queues]

    # -- running -------------------------------------------------------------

    def work(self, burst=False, logging_level=None, date_format=None, log_format=None,
             max_jobs=None, max_idle_time=None, with_scheduler=True,
             dequeue_strategy=DequeueStrategy.DEFAULT) -> bool:
        """Run jobs in this thread until stopped (with ``burst``, until the queues are empty).

        ``max_jobs`` stops after that many jobs, ``max_idle_time`` after that many
        idle seconds. ``dequeue_strategy`` is ``'default'`` (strict priority),
        ``'round_robin'`` or ``'random'``. Every worker also enqueues due
        scheduled jobs (``with_scheduler`` is accepted for RQ's sake). Returns
        whether any job ran (failed ones included).

        The jobs run in a thread of the worker's own while this one waits, so
        that a job stuck past its timeout never holds up the caller. Ctrl-C
        here stops the worker after the job in hand.
        """
        self.start(burst, max_jobs=max_jobs, max_idle_time=max_idle_time,
                   dequeue_strategy=dequeue_strategy)
        try:
            self._loop_done.wait()
        except KeyboardInterrupt:
            self.request_stop()
            self._loop_done.wait()
        return self._did_work

    def start(self, burst=False, **work_kwargs):
        """Run ``work(burst, ...)`` in a background thread and return at once."""
        if self._thread is not None and not self._loop_done.is_set():
            raise RuntimeError(f'worker {self.name!r} is already running')
        self._prepare(burst, work_kwargs.get('max_jobs'), work_kwargs.get('max_idle_time'),
                      work_kwargs.get('dequeue_strategy', DequeueStrategy.DEFAULT))
        self._thread = threading.Thread(target=self._drive, name=f'rq-worker-{self.name}',
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=None) -> bool:
        """Stop gracefully and wait; return whether the worker ended within ``timeout``.

        A worker started with ``burst=True`` first finishes its burst; any other
        worker finishes the job in hand and takes no new one.
        """
        if not self._burst:
            self.request_stop()
        return self._loop_done.wait(timeout)

    def request_stop(self, signum=None, frame=None):
        with self._store.transaction() as tx:
            self._stopping = True
            tx.wake_workers()

    def get_state(self):
        return self._state

    def set_state(self, state, pipeline=None):
        self._state = state

    state = property(get_state, set_state)

    def get_current_job(self):
        if self._remote_job_id is not None:
            return self.job_class.fetch_many([self._remote_job_id], self._store)[0]
        execution = self._execution
        return execution.job if execution is not None and execution.state is _RUNNING else None

    def get_current_job_id(self):
        if self._remote_job_id is not None:
            return self._remote_job_id
        job = self.get_current_job()
        return job.id if job is not None else None

    def refresh(self):
        """Counters and state are always current here; kept for RQ code that calls it."""

    def register_birth(self):
        store = self._store
        with store.transaction() as tx:
            record = tx.get(('worker', self.name))
            if (record is not None and record['expires'] >= tx.now()
                    and store._live_workers.get(self.name) is not self):
                raise ValueError(f'There exists an active worker named {self.name!r} already')
            self._heartbeat = tx.now()
            self.birth_date = _to_datetime(self._heartbeat)
            tx.sadd(('workers',), self.name)
            tx.set(('worker', self.name), self._record())
            tx.delete(('worker-commands', self.name))
        store._live_workers[self.name] = self

    def register_death(self):
        with self._store.transaction() as tx:
            tx.srem(('workers',), self.name)
            tx.delete(('worker', self.name))
        self._store._live_workers.pop(self.name, None)

    def _record(self):
        """What the store keeps about this worker, for Worker.all() in other processes."""
        execution = self._execution
        return {'name': self.name, 'queues': self.queue_names(), 'pid': self.pid,
                'hostname': self.hostname, 'birth': self._heartbeat if self.birth_date is None
                else self.birth_date.timestamp(), 'state': getattr(self._state, 'value', self._state),
                'job_id': execution.job.id if execution and execution.state is _RUNNING else None,
                'successful': self.successful_job_count, 'failed': self.failed_job_count,
                'working_time': self.total_working_time, 'heartbeat': self._heartbeat,
                'expires': math.inf if self._heartbeat_ttl is None
                else self._heartbeat + self._heartbeat_ttl}

    def push_exc_handler(self, handler_func):
        self._exc_handlers.append(handler_func)

    def pop_exc_handler(self):
        return self._exc_handlers.pop()

    def clean_registries(self):
        for queue in self.queues:
            clean_registries(queue)

    def heartbeat(self, timeout=None, pipeline=None):
        self._heartbeat = self._store.now()

    @property
    def last_heartbeat(self):
        return _to_datetime(self._heartbeat)

    # -- the loop --------------------------------------------------------------

    def _prepare(self, burst, max_jobs, max_idle_time, dequeue_strategy):
        try:
            strategy = DequeueStrategy(dequeue_strategy)
        except ValueError:
            raise ValueError(f'dequeue_strategy={dequeue_strategy!r}: expected one of '
                             "'default', 'round_robin', 'random'") from None
        for name, value in (('max_jobs', max_jobs), ('max_idle_time', max_idle_time)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or value < 0):
                raise ValueError(f'{name}={value!r}: expected a number >= 0 or None')
        self._stopping = False              # before anything: a stop request from now on counts
        self.register_birth()
        self._strategy, self._burst = strategy, burst
        self._max_jobs, self._max_idle_time = max_jobs, max_idle_time
        self._jobs_run, self._did_work = 0, False
        with self._watch:
            self._watch_closed = False
        self._loop_done.clear()
        self._state = WorkerStatus.STARTED
        if self._heartbeat_ttl is not None:
            threading.Thread(target=self._heartbeat_loop, daemon=True,
                             name=f'rq-heartbeat-{self.name}').start()
        _log.info('Worker %s: started with queues %s', self.name, ', '.join(self.queue_names()))

    def _beat(self, tx):
        """Renew this worker's heartbeat and its running job's; return that execution."""
        self._heartbeat = now = tx.now()
        execution = self._execution
        if execution is not None and execution.state is not _ABANDONED:
            job = execution.job                 # running, or in its callbacks: still ours until
            key = ('started', job.origin)       # _finish takes it out of the started registry
            stored = tx.job_get(job.id) if tx.zscore(key, job.id) is not None else None
            if stored is not None and stored[_WORKER_NAME] == self.name \
                    and stored[_STARTED] == job._rec[_STARTED]:
                _zadd_until(tx, key, job.id, now + self._heartbeat_ttl)
        tx.set(('worker', self.name), self._record())
        return execution

    def _heartbeat_loop(self):
        """On a shared store: renew this worker's and its job's heartbeat; take commands."""
        while not self._loop_done.wait(self._monitoring_interval):
            with self._store.transaction() as tx:
                execution = self._beat(tx)
                commands = tx.get(('worker-commands', self.name), ())
                if commands:
                    tx.delete(('worker-commands', self.name))
            for command in commands:
                if command == 'shutdown':
                    self.request_stop()
                elif (execution is not None and execution.state is _RUNNING
                      and command == f'stop-job {execution.job.id}'):
                    _stop_execution(self, execution)

    def _drive(self):
        """Run the loop in this thread; the thread that ends it normally retires the worker."""
        try:
            ended = self._loop()
        except _INTERRUPTS:                 # a replaced thread's interrupt, arriving late
            return
        except Exception:                   # an emulator bug or a broken store: never hang
            _log.exception('Worker %s: stopped by an unexpected error', self.name)
            ended = True
        if ended:
            self._retire()

    def _retire(self):
        self._state = 'stopped' if self._stopping else 'idle'
        self.register_death()
        with self._watch:
            self._watch_closed = True
            self._watch.notify()
        _log.info('Worker %s: done, %d jobs', self.name, self._jobs_run)
        self._loop_done.set()

    def _loop(self):
        """Run jobs until told to stop; False when a watchdog took this thread's place."""
        while self._max_jobs is None or self._jobs_run < self._max_jobs:
            job = self._dequeue()
            if job is None:
                return True
            self._did_work = True
            self._jobs_run += 1
            if not self._run(job):
                return False
        return True

    def _dequeue(self):
        """Take the next job (started, inside one transaction) or None when the loop should end."""
        idle_since = time.monotonic()
        with self._store.transaction() as tx:
            while not self._stopping:
                _housekeep(tx)
                if _suspended(tx):
                    timeout = self._wait_timeout(tx, idle_since)
                    if self._burst or (timeout is not None and timeout <= 0):
                        return None         # RQ: a suspended burst worker exits
                    self._state = WorkerStatus.SUSPENDED
                    tx.wait_for_work(lambda: self._stopping or not _suspended(tx), timeout)
                    continue
                for queue in self._order:
                    job_id = tx.queue_pop(queue.name)
                    while job_id is not None:
                        record = self._read(tx, queue, job_id)
                        if record is not None and record[_STATUS] is _QUEUED:
                            return self._take(tx, queue, record)
                        job_id = tx.queue_pop(queue.name)   # expired (ttl) or a stale duplicate id
                if self._burst:
                    return None
                if self._state is not WorkerStatus.IDLE:
                    self._state = WorkerStatus.IDLE
                    if self._heartbeat_ttl is not None:     # others read it from the store
                        tx.set(('worker', self.name), self._record())
                timeout = self._wait_timeout(tx, idle_since)
                if timeout is not None and timeout <= 0:
                    return None
                names = [queue.name for queue in self._order]
                due = tx.timer_next()
                tx.wait_for_work(lambda: (self._stopping or any(tx.queue_len(n) for n in names)
                                          or tx.timer_next() != due), timeout)
        return None

    @staticmethod
    def _read(tx, queue, job_id):
        """The record of a popped job; one that cannot be read is failed, not run."""
        try:
            return tx.job_get(job_id)
        except DeserializationError as exc:
            _unreadable(tx, job_id, queue.name, exc)
            return None

    def _wait_timeout(self, tx, idle_since):
        """Seconds to wait for work: until the next scheduled job is due, or idle time runs out."""
        timeout = None
        due = tx.timer_next()
        if due is not None:
            timeout = max(due - tx.now(), 0.0005)
        if self._max_idle_time is not None:
            left = idle_since + self._max_idle_time - time.monotonic()
            timeout = left if timeout is None else min(timeout, left)
        return timeout

    def _take(self, tx, queue, record):
        job = self.job_class._from_record(record, self._store, self.connection)
        _start(tx, job, self.name, self._heartbeat_ttl)
        self._state = _BUSY
        if self._heartbeat_ttl is not None:      # others read this worker's state from the store
            tx.set(('worker', self.name), dict(self._record(), job_id=job.id))
        if self._strategy is not _STRICT:
            if self._strategy is DequeueStrategy.ROUND_ROBIN:
                index = self._order.index(queue) + 1
                self._order = self._order[index:] + self._order[:index]
            else:
                random.shuffle(self._order)
        return job

    def _run(self, job):
        """Execute a started job; False if the watchdog abandoned it (this thread then ends)."""
        timeout = job._rec[_TIMEOUT]
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        execution = _Execution(job, deadline)
        self._execution = execution
        # Wake the watchdog only if it plans to sleep past this deadline. It
        # publishes _watch_until before it reads _execution, and this thread
        # writes _execution before it reads _watch_until: one sees the other.
        if deadline is not None and deadline < self._watch_until:
            with self._watch:
                self._ensure_watchdog()
                self._watch.notify()
        if _log.isEnabledFor(logging.INFO):
            _log.info('%s: %s (%s)', job.origin, job.description, job.id)
        try:
            outcome = _execute(job, execution)
            with self._claim_lock:
                if execution.state is not _RUNNING:
                    return False
                execution.state = _CLAIMED
        except _INTERRUPTS:                 # raised by _abandon just as the job returned
            if execution.state is _ABANDONED:
                return False
            raise
        _complete(job, outcome, self)
        return True

    def _count(self, succeeded, working_time, now):
        """Called by _finish, inside its transaction."""
        if succeeded:
            self.successful_job_count += 1
        else:
            self.failed_job_count += 1
        self.total_working_time += working_time
        self._heartbeat = now

    def _handle_exception(self, job, exc_type, exc_value, tb):
        for handler in list(self._exc_handlers):
            fall_through = _call_quietly(f'exception handler {handler!r}', handler, job,
                                         exc_type, exc_value, tb)
            if fall_through is False:
                break

    # -- timeouts and stop commands --------------------------------------------

    def _ensure_watchdog(self):
        """Called with _watch held."""
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch_loop, daemon=True,
                                              name=f'rq-watchdog-{self.name}')
            self._watchdog.start()

    def _watch_loop(self):
        """Wake at the running job's deadline; if it still runs, fail it and move on."""
        with self._watch:
            while not self._watch_closed:
                self._watch_until = math.inf        # before reading _execution (see _run)
                execution = self._execution
                delay = None if execution is None or execution.deadline is None else (
                    execution.deadline - time.monotonic())
                if delay is None or (delay <= 0 and execution.state is not _RUNNING):
                    self._watch.wait()
                    continue
                if delay > 0:
                    # Sleep to this deadline even if the job is done already: the next
                    # jobs' deadlines are later, so they need not wake the watchdog.
                    self._watch_until = execution.deadline
                    self._watch.wait(delay)
                    continue
                self._watch.release()
                try:
                    seconds = execution.job.timeout
                    seconds = int(seconds) if seconds == int(seconds) else seconds
                    self._abandon(execution, _Outcome.failure(JobTimeoutException(
                        f'Task exceeded maximum timeout value ({seconds} seconds)')),
                        JobTimeoutException)
                finally:
                    self._watch.acquire()
            self._watchdog = None
            self._watch_until = math.inf

    def _abandon(self, execution, outcome, exc_type):
        """Take over from a thread stuck in a job: record ``outcome`` and go on in a new thread.

        The stuck thread gets ``exc_type`` raised inside it (which stops pure
        Python code); whatever it returns later is discarded.
        """
        with self._claim_lock:
            if execution.state is not _RUNNING:
                return False
            execution.state = _ABANDONED
            if execution.in_job:
                # Holding the store's lock, the stuck thread is outside every
                # transaction; the exception fires at its next bytecode, before it
                # can enter one (MemoryStore.__enter__ copes with a blocked acquire).
                with self._store.transaction():
                    _raise_in_thread(execution.thread_id, exc_type)
        _log.warning('%s: job %s: %s', execution.job.origin, execution.job.id,
                     outcome.exc_string.strip().splitlines()[-1])
        thread = threading.Thread(target=self._resume, args=(execution.job, outcome), daemon=True,
                                  name=f'rq-worker-{self.name}')
        thread.start()
        return True

    def _resume(self, job, outcome):
        _complete(job, outcome, self)
        self._drive()

    # RQ compatibility aliases
    def request_force_stop(self, signum=None, frame=None):
        self.request_stop()

    @property
    def current_job_working_time(self):
        job = self.get_current_job()
        return 0 if job is None or job._started is None else self._store.now() - job._started


class SimpleWorker(Worker):
    """RQ's in-process worker; here every worker runs jobs in its own thread, so the same."""


class WorkerPool:
    """``WorkerPool(queues, connection=None, num_workers=2)``: N workers in threads of this process."""

    def __init__(self, queues, connection=None, num_workers=1, name=None, worker_class=None,
                 **kwargs):
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f'num_workers={num_workers!r}: expected a whole number >= 1')
        worker_class = worker_class or Worker
        self.num_workers = num_workers
        self.queues = queues
        self.connection = connection
        self.workers = [worker_class(queues, connection=connection,
                                     name=f'{name}-{i}' if name else None, **kwargs)
                        for i in range(num_workers)]

    def start(self, burst=False, logging_level=None, **work_kwargs):
        """Run the workers until they stop (with ``burst``, until the queues are empty)."""
        for worker in self.workers:
            worker.start(burst=burst, **work_kwargs)
        for worker in self.workers:             # until a burst ends, or stop() is called
            worker._loop_done.wait()

    def stop(self, timeout=None):
        return all([worker.stop(timeout) for worker in self.workers])


# ==== Commands and helpers ===================================================

def send_stop_job_command(connection, job_id, serializer=None):
    """Stop a running job: it becomes ``stopped`` and its ``on_stopped`` callback runs.

    A worker of another process (on a shared store) acts on it at its next heartbeat.
    """
    for worker in Worker.all(connection):
        execution = worker._execution
        if execution is not None and execution.job.id == job_id and _stop_execution(worker, execution):
            return
        if worker._remote_job_id == job_id:     # a worker of another process: at its next heartbeat
            _send_command(worker, f'stop-job {job_id}')
            return
    raise InvalidJobOperation(f'cannot stop job {job_id!r}: Job is not currently executing')


def _stop_execution(worker, execution):
    job_id = execution.job.id
    outcome = _Outcome(_STOPPED, exc_string=f'Job {job_id} was stopped by a stop-job command')
    return worker._abandon(execution, outcome, StopRequested)


def _send_command(worker, command):
    with worker._store.transaction() as tx:
        key = ('worker-commands', worker.name)
        tx.set(key, tx.get(key, ()) + (command,))


def send_shutdown_command(connection, worker_name):
    """Ask the worker named ``worker_name`` to stop after its current job."""
    for worker in Worker.all(connection):
        if worker.name != worker_name:
            continue
        if worker._store._live_workers.get(worker.name) is worker:
            worker.request_stop()
        else:                               # a worker of another process: at its next heartbeat
            _send_command(worker, 'shutdown')


def suspend(connection=None, ttl=None):
    """Suspend the workers of a store: they finish the job in hand and take no new one."""
    store = _resolve_store(connection)
    with store.transaction() as tx:
        until = math.inf if ttl is None else tx.now() + ttl
        tx.set(('suspended',), until)
        if ttl is not None:
            tx.timer_add(until, ('suspended',), '')   # idle workers wake when it ends


def resume(connection=None):
    """Let suspended workers take jobs again."""
    store = _resolve_store(connection)
    with store.transaction() as tx:
        tx.delete(('suspended',))
        tx.wake_workers()


def is_suspended(connection=None, worker=None):
    store = _resolve_store(connection)
    with store.transaction() as tx:
        return _suspended(tx)


def send_kill_horse_command(connection, worker_name):
    """Stop the job the worker named ``worker_name`` is running, if any."""
    for worker in Worker.all(connection):
        job_id = worker.get_current_job_id()
        if worker.name == worker_name and job_id is not None:
            send_stop_job_command(connection, job_id)


def cancel_job(job_id, connection=None, serializer=None, enqueue_dependents=False):
    Job.fetch(job_id, connection=connection).cancel(enqueue_dependents=enqueue_dependents)


def requeue_job(job_id, connection=None, serializer=None):
    return Job.fetch(job_id, connection=connection).requeue()


class job:  # noqa: N801 -- RQ's decorator is a lowercase class
    """``@job(queue, connection=None, timeout=None, ...)``: adds ``.delay()``/``.enqueue()`` to a function."""

    queue_class = Queue

    def __init__(self, queue, connection=None, timeout=None, result_ttl=DEFAULT_RESULT_TTL,
                 ttl=None, queue_class=None, depends_on=None, at_front=False, meta=None,
                 description=None, failure_ttl=None, retry=None, on_failure=None,
                 on_success=None, on_stopped=None, **kwargs):
        self.queue = queue
        self.queue_class = queue_class or self.queue_class
        self.connection = connection
        self.options = dict(timeout=timeout, result_ttl=result_ttl, ttl=ttl, meta=meta,
                            description=description, failure_ttl=failure_ttl, retry=retry,
                            on_failure=on_failure, on_success=on_success, on_stopped=on_stopped)
        self.depends_on, self.at_front = depends_on, at_front

    def __call__(self, f):
        def delay(*args, **kwargs):
            queue = self.queue
            if isinstance(queue, str):
                queue = self.queue_class(queue, connection=self.connection)
            depends_on = kwargs.pop('depends_on', self.depends_on)
            job_id = kwargs.pop('job_id', None)
            at_front = kwargs.pop('at_front', self.at_front)
            return queue.enqueue_call(f, args=args, kwargs=kwargs, depends_on=depends_on,
                                      job_id=job_id, at_front=at_front, **self.options)
        f.delay = f.enqueue = delay
        return f

# ==== RQ front door ==========================================================
# install_as_rq() makes `import rq` (and its submodules) resolve here, with RQ's
# meaning in the three places where the seed API differs (SPEC §1).

class _RQJob(Job):
    """``rq.job.Job``: ``Job(id, connection)`` names an existing job; ``Job.create`` builds one."""

    __slots__ = ()

    def __init__(self, id=None, connection=None, serializer=None):
        self._blank(_resolve_store(connection), connection, serializer)
        self.id = id if id is not None else _new_id()


class _RQQueue(Queue):
    """``rq.Queue``: ``empty()`` deletes the queued jobs; ``timeout=`` goes to the function."""

    job_class = _RQJob
    _timeout_is_job_timeout = False
    _option_names = frozenset(_ENQUEUE_OPTIONS + ('args', 'kwargs'))

    def empty(self):
        """Delete every queued job and return how many were removed."""
        with self._store.transaction() as tx:
            return self._delete_queued(tx)

    def _registry(self, kind):
        return _RQ_REGISTRIES[kind](queue=self)


class _RQWorker(Worker):
    queue_class = _RQQueue
    job_class = _RQJob


class _RQSimpleWorker(_RQWorker):
    pass


class _RQjob(job):
    queue_class = _RQQueue


class _RQStartedJobRegistry(StartedJobRegistry):
    job_class, queue_class = _RQJob, _RQQueue


class _RQFinishedJobRegistry(FinishedJobRegistry):
    job_class, queue_class = _RQJob, _RQQueue


class _RQFailedJobRegistry(FailedJobRegistry):
    job_class, queue_class = _RQJob, _RQQueue


class _RQDeferredJobRegistry(DeferredJobRegistry):
    job_class, queue_class = _RQJob, _RQQueue


class _RQScheduledJobRegistry(ScheduledJobRegistry):
    job_class, queue_class = _RQJob, _RQQueue


class _RQCanceledJobRegistry(CanceledJobRegistry):
    job_class, queue_class = _RQJob, _RQQueue


_RQ_REGISTRIES = {cls.kind: cls for cls in (
    _RQStartedJobRegistry, _RQFinishedJobRegistry, _RQFailedJobRegistry, _RQDeferredJobRegistry,
    _RQScheduledJobRegistry, _RQCanceledJobRegistry)}


def _rq_modules():
    """The module objects that stand in for ``rq`` and its submodules."""
    registries = {_REGISTRIES[kind].__name__: cls for kind, cls in _RQ_REGISTRIES.items()}
    names = {
        'rq': dict(Queue=_RQQueue, Worker=_RQWorker, SimpleWorker=_RQSimpleWorker, Retry=Retry,
                   Repeat=Repeat, Callback=Callback, cancel_job=cancel_job,
                   get_current_job=get_current_job, requeue_job=requeue_job,
                   VERSION='2.12.0', __version__='2.12.0'),
        'rq.job': dict(Job=_RQJob, JobStatus=JobStatus, Retry=Retry, Callback=Callback,
                       Dependency=Dependency, cancel_job=cancel_job, requeue_job=requeue_job,
                       get_current_job=get_current_job, Repeat=Repeat),
        'rq.queue': dict(Queue=_RQQueue, EnqueueData=EnqueueData),
        'rq.worker': dict(Worker=_RQWorker, SimpleWorker=_RQSimpleWorker, WorkerStatus=WorkerStatus,
                          DequeueStrategy=DequeueStrategy, DEFAULT_RESULT_TTL=DEFAULT_RESULT_TTL,
                          BaseWorker=_RQWorker, RoundRobinWorker=_RQWorker, RandomWorker=_RQWorker),
        'rq.registry': dict(registries, BaseRegistry=BaseRegistry, clean_registries=clean_registries),
        'rq.exceptions': {cls.__name__: cls for cls in (
            NoSuchJobError, InvalidJobOperation, InvalidJobOperationError, DequeueTimeout,
            AbandonedJobError, DeserializationError, InvalidJobDependency, DuplicateJobError,
            NoSuchGroupError, ShutDownImminentException, TimeoutFormatError, SchedulerNotFound,
            DuplicateSchedulerError, StopRequested)},
        'rq.timeouts': dict(JobTimeoutException=JobTimeoutException,
                            BaseTimeoutException=BaseTimeoutException,
                            HorseMonitorTimeoutException=HorseMonitorTimeoutException),
        'rq.decorators': dict(job=_RQjob),
        'rq.results': dict(Result=Result),
        'rq.serializers': dict(DefaultSerializer=DefaultSerializer, PickleSerializer=PickleSerializer,
                               JSONSerializer=JSONSerializer, resolve_serializer=resolve_serializer),
        'rq.command': dict(send_stop_job_command=send_stop_job_command,
                           send_shutdown_command=send_shutdown_command,
                           send_kill_horse_command=send_kill_horse_command),
        'rq.group': dict(Group=Group),
        'rq.repeat': dict(Repeat=Repeat),
        'rq.worker_pool': dict(WorkerPool=WorkerPool),
        'rq.suspension': dict(suspend=suspend, resume=resume, is_suspended=is_suspended),
        'rq.utils': dict(parse_timeout=parse_timeout, import_attribute=_import_attribute),
        'rq.defaults': dict(DEFAULT_RESULT_TTL=DEFAULT_RESULT_TTL,
                            DEFAULT_FAILURE_TTL=DEFAULT_FAILURE_TTL,
                            CALLBACK_TIMEOUT=CALLBACK_TIMEOUT),
    }
    modules = {}
    for name, attributes in names.items():
        module = types.ModuleType(name, f'rq_emulator standing in for {name}')
        module.__dict__.update(attributes)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=(name == 'rq'))
        if name == 'rq':
            module.__path__ = []
        modules[name] = module
    for name, module in modules.items():
        if name != 'rq':
            setattr(modules['rq'], name.split('.', 1)[1], module)
    return modules


_saved_modules = None     # what sys.modules held before install_as_rq(), for uninstall_as_rq()


def install_as_rq():
    """Make ``import rq`` and its submodules resolve to this emulator; idempotent."""
    global _saved_modules
    if _saved_modules is not None:
        return
    modules = _rq_modules()
    _saved_modules = {name: sys.modules.get(name) for name in modules}
    for name in list(sys.modules):           # real rq submodules we do not stand in for
        if (name == 'rq' or name.startswith('rq.')) and name not in modules:
            _saved_modules[name] = sys.modules.pop(name)
    sys.modules.update(modules)


def uninstall_as_rq():
    """Undo ``install_as_rq()``: ``import rq`` means the real package (if any) again."""
    global _saved_modules
    if _saved_modules is None:
        return
    for name, module in _saved_modules.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    _saved_modules = None


# ==== Dashboard ==============================================================
# `python -m rq_emulator dashboard` and serve_dashboard(): web pages, a JSON API
# and Prometheus metrics for one store, read and changed only through the public
# API above. Secure by default: it listens on 127.0.0.1, answers only requests
# whose Host header names it (DNS rebinding), changes state only on a POST that
# comes from its own origin and carries its per-process token, escapes every
# value that comes from a job, and sends no-store, DENY and a strict CSP.

_DASH_KINDS = ('queued', 'started', 'deferred', 'scheduled', 'finished', 'failed', 'canceled')
_DASH_TOKEN_ENV = 'RQ_EMULATOR_DASHBOARD_TOKEN'
_DASH_PER_PAGE = 25
_DASH_MAX_PER_PAGE = 500
_DASH_SHORT = 200               # characters of a value shown before "show all"
_DASH_MAX_BODY = 64 * 1024      # bytes of a POST body
_LOOPBACK_NAMES = ('127.0.0.1', 'localhost', '[::1]')


def serve_dashboard(connection=None, host='127.0.0.1', port=9181, *, read_only=False,
                    token=None, refresh=5, allowed_hosts=()):
    """Serve the dashboard of a store in a background thread and return the server.

    ``connection`` is the store (``None``: the default store). The server's
    ``url`` is where it listens (``port=0`` picks a free port) and
    ``shutdown()`` stops it; it is also a context manager. ``read_only=True``
    hides every action and refuses them. ``token``, when given, is required
    from every client, as the password of HTTP Basic authentication (any user
    name) or as ``Authorization: Bearer <token>``. ``refresh`` is the number of
    seconds between the page's own refreshes (0: never). ``allowed_hosts`` adds
    names the ``Host`` header may carry besides the address it listens on
    (``localhost`` and ``127.0.0.1`` when that is a loopback address).

    Listening anywhere but a loopback address warns (``RuntimeWarning``): whoever
    reaches the port reads every job and, unless ``read_only``, changes them.
    Raises ``OSError`` when the address cannot be listened on.
    """
    server = _DashboardServer(_resolve_store(connection), host, port, read_only=read_only,
                              token=token, refresh=refresh, allowed_hosts=allowed_hosts)
    if not server.loopback:
        warnings.warn(_dash_exposed_warning(server), RuntimeWarning, stacklevel=2)
    server.start()
    return server


def _dash_exposed_warning(server):
    return (f'the rq_emulator dashboard listens on {server.server_address[0]!r}, not on a '
            'loopback address: anyone who can reach it can read every job'
            + ('' if server.read_only else ' and requeue, cancel, stop or delete them')
            + ('' if server.token else '; give a token (--token or $' + _DASH_TOKEN_ENV + ')'))


class _DashboardServer(http.server.ThreadingHTTPServer):
    """The dashboard's HTTP server: one thread per request, every read through the public API."""

    daemon_threads = True

    def __init__(self, store, host='127.0.0.1', port=9181, read_only=False, token=None,
                 refresh=5, allowed_hosts=()):
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError(f'token={token!r}: expected a non-empty string, or None')
        if isinstance(refresh, bool) or not isinstance(refresh, (int, float)) or refresh < 0:
            raise ValueError(f'refresh={refresh!r}: expected seconds >= 0 (0: no refresh)')
        if ':' in host:
            self.address_family = socket.AF_INET6
        super().__init__((host.strip('[]'), port), _DashboardHandler)
        self.store = store
        self.read_only = read_only
        self.token = token
        self.refresh = refresh
        self.csrf_token = secrets.token_urlsafe(32)   # the per-process token of every form
        self.port = self.server_address[1]
        self.loopback = _dash_is_loopback(host)
        name = f'[{host.strip("[]")}]' if ':' in host else host
        everywhere = host in ('', '0.0.0.0', '[::]', '::')
        self.url = f'http://{"127.0.0.1" if everywhere else name}:{self.port}/'
        # What the Host header may say (a DNS-rebinding page says its own name): name:port.
        names = [name, *allowed_hosts] + list(_LOOPBACK_NAMES if self.loopback or everywhere else ())
        self.allowed_hosts = {_dash_with_port(n.lower(), self.port) for n in names}
        self._thread = None

    def server_bind(self):
        # HTTPServer.server_bind looks the host name up in DNS (getfqdn), which can
        # take seconds; the handler never needs it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={'poll_interval': 0.05},
                                        name=f'rq-dashboard-{self.port}', daemon=True)
        self._thread.start()
        return self

    def shutdown(self):
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            super().shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown()


def _dash_with_port(name, port):
    tail = name.rsplit(']', 1)[-1]
    return name if ':' in tail else f'{name}:{port}'


def _dash_is_loopback(host):
    host = host.strip('[]').lower()
    return host in ('localhost', '::1') or host.startswith('127.')


class _DashHTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _Unreadable:
    """A value the dashboard could not read (a record that cannot be unpickled): shown as such."""

    def __init__(self, exc):
        self.text = f'{type(exc).__name__}: {exc}'

    def __str__(self):
        return f'cannot be read: {self.text}'


def _dash_safe(read):
    # Each read of a job's data is guarded on its own (called with a small lambda), so that
    # one value that cannot be unpickled or repr'd spoils only itself, never the page.
    try:
        return read()
    except Exception as exc:    # user classes may fail to unpickle or to repr in any way
        return _Unreadable(exc)


class _DashboardHandler(http.server.BaseHTTPRequestHandler):
    server_version = 'rq-emulator-dashboard'
    sys_version = ''

    def do_GET(self):
        self._serve('GET')

    def do_HEAD(self):
        self._serve('GET')

    def do_POST(self):
        self._serve('POST')

    def log_message(self, format, *args):
        _log.info('dashboard: %s %s', self.address_string(), format % args)

    def _serve(self, method):
        nonce = secrets.token_urlsafe(16)
        try:
            body = self._body() if method == 'POST' else ''   # read first: refusals included
            self._check_request(method)
            url = urllib.parse.urlsplit(self.path)
            parts = [urllib.parse.unquote(part) for part in url.path.split('/')[1:]]
            query = urllib.parse.parse_qs(url.query)
            if method == 'POST':
                response = _dash_post(self.server, parts, self._form(body))
            else:
                response = _dash_get(self.server, parts, query, self.path, nonce)
        except _DashHTTPError as exc:
            response = (exc.status, 'text/html', _dash_error_page(self.server, exc, nonce))
        except Exception as exc:
            _log.exception('dashboard: %s %s failed', method, self.path)
            response = (500, 'text/html', _dash_error_page(self.server, _DashHTTPError(
                500, f'the dashboard failed: {type(exc).__name__}: {exc}'), nonce))
        self._send(*response, nonce=nonce)

    def _check_request(self, method):
        server = self.server
        if _dash_with_port((self.headers.get('Host') or '').lower(), 80) not in server.allowed_hosts:
            raise _DashHTTPError(400, f'Host {self.headers.get("Host")!r} is not this dashboard '
                                      f'(expected one of {", ".join(sorted(server.allowed_hosts))}; '
                                      'allowed_hosts / --allowed-host add names)')
        if server.token is not None and not self._authorized(server.token):
            raise _DashHTTPError(401, 'this dashboard needs its token')
        if method != 'POST':
            return
        if server.read_only:
            raise _DashHTTPError(403, 'this dashboard is read-only: it changes nothing')
        origin = self.headers.get('Origin')
        if origin != f'http://{self.headers.get("Host")}':
            raise _DashHTTPError(403, f'refused: a change must come from this dashboard\'s own '
                                      f'page (Origin {origin!r})')
        if self.headers.get('Sec-Fetch-Site', 'same-origin') != 'same-origin':
            raise _DashHTTPError(403, 'refused: a change must come from this dashboard\'s own page')

    def _authorized(self, token):
        scheme, _, credentials = (self.headers.get('Authorization') or '').partition(' ')
        if scheme.lower() == 'basic':
            try:
                credentials = base64.b64decode(credentials, validate=True).decode('utf-8')
            except (ValueError, UnicodeDecodeError):
                return False
            credentials = credentials.partition(':')[2]
        elif scheme.lower() != 'bearer':
            return False
        return hmac.compare_digest(credentials.encode('utf-8'), token.encode('utf-8'))

    def _body(self):
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _DASH_MAX_BODY:
            self.close_connection = True
            raise _DashHTTPError(400, f'a form of {_DASH_MAX_BODY} bytes at most is expected')
        return self.rfile.read(length).decode('utf-8', 'replace')

    def _form(self, body):
        form = {name: values[-1] for name, values in urllib.parse.parse_qs(body).items()}
        if not hmac.compare_digest(form.get('csrf', '').encode(), self.server.csrf_token.encode()):
            raise _DashHTTPError(403, 'refused: the form does not carry this dashboard\'s token '
                                      '(reload the page)')
        return form

    def _send(self, status, content_type, body, location=None, nonce=''):
        data = body.encode('utf-8')
        self.send_response(status)
        charset = '' if content_type == 'application/json' else '; charset=utf-8'
        self.send_header('Content-Type', content_type + charset)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('X-Frame-Options', 'DENY')
        self.send_header('X-Content-Type-Options', 'nosniff')
        self.send_header('Referrer-Policy', 'same-origin')   # no-referrer makes Origin 'null'
        self.send_header('Cross-Origin-Resource-Policy', 'same-origin')
        self.send_header('Content-Security-Policy', (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'"))
        if status == 401:
            self.send_header('WWW-Authenticate', 'Basic realm="rq-emulator dashboard", charset="UTF-8"')
        if location is not None:
            self.send_header('Location', location)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)


# -- reading the store (the same data for the pages and the JSON API) ----------

def _dash_get(server, parts, query, path, nonce):
    store, api = server.store, parts[:1] == ['api']
    if api:
        parts = parts[1:]
    if parts == ['metrics'] and not api:
        return 200, 'text/plain; version=0.0.4', _dash_metrics(store)
    if parts == ['jobs'] and 'id' in query:
        job_id = query['id'][-1].strip()
        return 303, 'text/html', '', f'/{"api/" if api else ""}jobs/{_dash_quote(job_id)}'
    if len(parts) == 2 and parts[0] == 'queues':
        return 303, 'text/html', '', f'/{"api/" if api else ""}queues/{_dash_quote(parts[1])}/queued'
    if parts in ([''], ['queues']):
        data, render = _dash_overview(store), _dash_overview_html
    elif len(parts) == 3 and parts[0] == 'queues':
        data, render = _dash_registry_page(store, parts[1], parts[2], query), _dash_list_html
    elif len(parts) == 2 and parts[0] == 'jobs':
        full = query.get('full', [''])[-1] == '1'
        data, render = _dash_job(store, parts[1], full), _dash_job_html
    elif parts == ['workers']:
        data, render = {'workers': _dash_workers(store), 'suspended': bool(is_suspended(store))}, \
            _dash_workers_html
    elif parts == ['cron']:
        data, render = {'cron_schedulers': _dash_cron(store)}, _dash_cron_html
    else:
        raise _DashHTTPError(404, f'no page at {path!r}')
    if api:
        text = json.dumps(data, default=_dash_json, indent=1)     # and no markup, ever:
        return 200, 'application/json', text.replace('<', '\\u003c').replace('>', '\\u003e')
    return 200, 'text/html', _dash_html_page(server, render(server, data, path), nonce, path)


def _dash_json(value):
    if isinstance(value, _Unreadable):
        return {'unreadable': value.text}
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def _dash_overview(store):
    queues = []
    for queue in Queue.all(connection=store):
        queues.append({'name': queue.name,
                       'counts': {kind: int(_dash_source(queue, kind).count) for kind in _DASH_KINDS}})
    return {'queues': queues, 'workers': len(Worker.all(connection=store)),
            'suspended': bool(is_suspended(store)), 'cron_schedulers': _dash_cron(store)}


def _dash_source(queue, kind):
    """The queue itself for 'queued', else the registry of that kind."""
    return queue if kind == 'queued' else getattr(queue, f'{kind}_job_registry')


def _dash_queue(store, name, kind):
    if kind not in _DASH_KINDS:
        raise _DashHTTPError(404, f'no registry {kind!r}: expected one of {", ".join(_DASH_KINDS)}')
    try:
        return Queue(name, connection=store)
    except ValueError as exc:
        raise _DashHTTPError(404, str(exc)) from None


def _dash_int(query, name, default, high):
    text = query.get(name, [str(default)])[-1]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= high:
        raise _DashHTTPError(400, f'{name}={text!r}: expected a whole number from 1 to {high}')
    return value


def _dash_registry_page(store, name, kind, query):
    """One page of a queue's jobs or of a registry: the server reads only that page's jobs."""
    queue = _dash_queue(store, name, kind)
    page = _dash_int(query, 'page', 1, 10 ** 9)
    per_page = _dash_int(query, 'per_page', _DASH_PER_PAGE, _DASH_MAX_PER_PAGE)
    order = query.get('order', ['desc'])[-1]
    if order not in ('desc', 'asc'):
        raise _DashHTTPError(400, f'order={order!r}: expected desc (newest first) or asc')
    start = (page - 1) * per_page
    source = _dash_source(queue, kind)
    total = int(source.count)
    if kind != 'queued':
        ids = source.get_job_ids(start, start + per_page - 1, desc=order == 'desc', cleanup=False)
    elif order == 'asc':
        ids = queue.get_job_ids(start, per_page)
    else:                               # newest first: the end of the queue, reversed
        offset = max(total - start - per_page, 0)
        ids = queue.get_job_ids(offset, total - start - offset)[::-1] if total > start else []
    jobs = [_dash_summary(job_id, job, source if kind == 'scheduled' else None)
            for job_id, job in _dash_fetch(store, ids)]
    return {'queue': queue.name, 'registry': kind, 'total': total, 'page': page,
            'per_page': per_page, 'pages': max(1, -(-total // per_page)), 'order': order,
            'counts': {k: int(_dash_source(queue, k).count) for k in _DASH_KINDS}, 'jobs': jobs}


def _dash_fetch(store, ids):
    """(id, Job | None | _Unreadable) for each id: one unreadable record spoils no page."""
    try:
        return list(zip(ids, Job.fetch_many(ids, connection=store)))
    except DeserializationError:
        return [(job_id, _dash_fetch_one(store, job_id)) for job_id in ids]


def _dash_fetch_one(store, job_id):
    try:
        return Job.fetch(job_id, connection=store)
    except NoSuchJobError:
        return None
    except DeserializationError as exc:
        return _Unreadable(exc)


def _dash_summary(job_id, job, scheduled=None):
    if not isinstance(job, Job):
        return {'id': job_id, 'status': None,
                'unreadable': job.text if isinstance(job, _Unreadable) else 'the job is gone'}
    status = job.get_status(refresh=False)
    summary = {'id': job_id, 'status': status.value, 'origin': job.origin,
               'func_name': _dash_safe(lambda: job.func_name),
               'description': _dash_safe(lambda: _dash_short(job.description)),
               'created_at': job.created_at, 'enqueued_at': job.enqueued_at,
               'ended_at': job.ended_at, 'worker_name': job.worker_name}
    if status in (JobStatus.FAILED, JobStatus.STOPPED):
        summary['error'] = _dash_safe(lambda: ((job.exc_info or '').strip().splitlines() or [''])[-1])
    if scheduled is not None:
        summary['scheduled_for'] = _dash_safe(lambda: scheduled.get_scheduled_time(job_id))
    return summary


def _dash_short(text, full=False):
    text = str(text)
    if full or len(text) <= _DASH_SHORT:
        return text
    return f'{text[:_DASH_SHORT]}… ({len(text) - _DASH_SHORT} more characters)'


def _dash_job(store, job_id, full=False):
    """Everything about one job; an unreadable record is shown as such."""
    job = _dash_fetch_one(store, job_id)
    if job is None:
        raise _DashHTTPError(404, f'no job {job_id!r} in this store (deleted, expired, or '
                                  'never created)')
    if isinstance(job, _Unreadable):
        return {'id': job_id, 'status': None, 'unreadable': job.text}
    status = job.get_status(refresh=False)
    show = lambda value: _dash_short(repr(value), full)     # noqa: E731
    results = _dash_safe(job.results)
    detail = {
        'id': job.id, 'status': status.value, 'origin': job.origin,
        'func_name': _dash_safe(lambda: job.func_name),
        'description': _dash_safe(lambda: _dash_short(job.description, full)),
        'args': _dash_safe(lambda: [show(arg) for arg in job.args]),
        'kwargs': _dash_safe(lambda: {key: show(value) for key, value in job.kwargs.items()}),
        'meta': _dash_safe(lambda: {str(key): show(value) for key, value in job.meta.items()}),
        'result': _dash_safe(lambda: show(job.return_value()) if status is JobStatus.FINISHED
                             else None),
        'exc_info': _dash_safe(lambda: job.exc_info),
        'created_at': job.created_at, 'enqueued_at': job.enqueued_at,
        'started_at': job.started_at, 'ended_at': job.ended_at,
        'timeout': job.timeout, 'result_ttl': job.result_ttl, 'ttl': job.ttl,
        'failure_ttl': job.failure_ttl, 'retries_left': job.retries_left,
        'worker_name': job.worker_name, 'group_id': job.group_id, 'full': full,
        'dependencies': _dash_related(store, job.dependency_ids),
        'dependents': _dash_related(store, job.dependent_ids),
        'results': [] if isinstance(results, _Unreadable) else [_dash_result(r, full) for r in results],
    }
    if status is JobStatus.SCHEDULED:
        registry = ScheduledJobRegistry(job.origin, connection=store)
        detail['scheduled_for'] = _dash_safe(lambda: registry.get_scheduled_time(job.id))
    if status is JobStatus.QUEUED:
        detail['position'] = job.get_position()
    return detail


def _dash_related(store, ids):
    return [{'id': job_id, 'status': job.get_status(refresh=False).value if isinstance(job, Job)
             else 'unreadable' if isinstance(job, _Unreadable) else 'gone'}
            for job_id, job in _dash_fetch(store, ids)]


def _dash_result(result, full):
    return {'id': result.id, 'type': result.type.name.lower(), 'created_at': result.created_at,
            'worker_name': result.worker_name,
            'return_value': _dash_safe(lambda: _dash_short(repr(result.return_value), full))
            if result.type == Result.Type.SUCCESSFUL else None,
            'exc_string': result.exc_string or None}


def _dash_workers(store):
    workers = []
    for worker in sorted(Worker.all(connection=store), key=lambda w: w.name):
        state = worker.get_state()
        workers.append({
            'name': worker.name, 'hostname': worker.hostname, 'pid': worker.pid,
            'state': str(getattr(state, 'value', state)), 'queues': worker.queue_names(),
            'current_job_id': worker.get_current_job_id(),
            'successful_job_count': worker.successful_job_count,
            'failed_job_count': worker.failed_job_count,
            'total_working_time': worker.total_working_time,
            'birth_date': worker.birth_date, 'last_heartbeat': worker.last_heartbeat})
    return workers


def _dash_cron(store):
    """Cron schedulers and their jobs, when this module has CronScheduler; else None."""
    scheduler_class = globals().get('CronScheduler')
    if scheduler_class is None:
        return None
    schedulers = _dash_safe(lambda: scheduler_class.all(store))
    if isinstance(schedulers, _Unreadable):
        return [{'name': None, 'error': schedulers.text, 'jobs': []}]
    return [_dash_cron_scheduler(scheduler) for scheduler in schedulers]


def _dash_cron_scheduler(scheduler):
    jobs = _dash_safe(scheduler.get_jobs)
    return {'name': getattr(scheduler, 'name', None), 'hostname': getattr(scheduler, 'hostname', None),
            'pid': getattr(scheduler, 'pid', None),
            'created_at': getattr(scheduler, 'created_at', None),
            'last_heartbeat': _dash_safe(lambda: scheduler.last_heartbeat),
            'jobs': [] if isinstance(jobs, _Unreadable) else [_dash_cron_job(job) for job in jobs]}


def _dash_cron_job(job):
    names = ('name', 'func_name', 'queue_name', 'interval', 'cron', 'next_enqueue_time',
             'latest_enqueue_time')
    return {name: getattr(job, name, None) for name in names}


def _dash_metrics(store):
    """The Prometheus text format, with the names django-rq's exporter gives them."""
    workers, lines = _dash_workers(store), []
    families = (('rq_workers', 'gauge', 'RQ workers', ('name', 'state', 'queues'), lambda w: 1),
                ('rq_job_successful_total', 'counter', 'RQ successful job count',
                 ('name', 'queues'), lambda w: w['successful_job_count']),
                ('rq_job_failed_total', 'counter', 'RQ failed job count', ('name', 'queues'),
                 lambda w: w['failed_job_count']),
                ('rq_working_seconds_total', 'counter', 'RQ total working time',
                 ('name', 'queues'), lambda w: w['total_working_time']))
    for name, kind, help_text, labels, value in families:
        lines += [f'# HELP {name} {help_text}', f'# TYPE {name} {kind}']
        for worker in workers:
            worker = dict(worker, queues=','.join(worker['queues']))
            lines.append(f'{name}{_dash_labels((label, worker[label]) for label in labels)} '
                         f'{float(value(worker))!r}')
    lines += ['# HELP rq_jobs RQ jobs by status', '# TYPE rq_jobs gauge']
    for queue in Queue.all(connection=store):
        for kind in _DASH_KINDS:
            count = float(_dash_source(queue, kind).count)
            lines.append(f'rq_jobs{_dash_labels((("queue", queue.name), ("status", kind)))} {count!r}')
    return '\n'.join(lines) + '\n'


def _dash_labels(pairs):
    return '{' + ','.join(f'{name}="{_dash_label_value(value)}"' for name, value in pairs) + '}'


def _dash_label_value(text):
    return str(text).replace('\\', r'\\').replace('"', r'\"').replace('\n', r'\n')


# -- changing the store: POST only, own origin, per-process token ---------------

def _dash_post(server, parts, form):
    if len(parts) != 2 or parts[0] != 'actions' or parts[1] not in _DASH_ACTIONS:
        raise _DashHTTPError(404, f'no action {"/".join(parts)!r}')
    act, question = _DASH_ACTIONS[parts[1]]
    if question is not None and form.get('confirmed') != '1':
        return 200, 'text/html', _dash_confirm_page(server, parts[1], question.format_map(
            collections.defaultdict(str, form)), form)
    try:
        act(server.store, form)
    except (InvalidJobOperation, InvalidJobOperationError, NoSuchJobError, DeserializationError,
            ValueError) as exc:
        raise _DashHTTPError(409, f'{parts[1]}: {exc}') from None
    return 303, 'text/html', '', _dash_local(form.get('next', '/'))


def _dash_local(target):
    """``target`` if it is a path of this site, else '/': never a redirect elsewhere, nor a
    header broken by a line end."""
    if (not target.startswith('/') or target.startswith('//') or '\\' in target
            or any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return '/'
    return target


def _dash_job_of(store, form):
    job_id = form.get('job_id', '')
    if not job_id:
        raise ValueError('no job_id given')
    return Job.fetch(job_id, connection=store)


def _act_requeue_all(store, form):
    registry = Queue(form.get('queue', ''), connection=store).failed_job_registry
    for job_id in registry.get_job_ids():
        with contextlib.suppress(InvalidJobOperation, InvalidJobOperationError, NoSuchJobError,
                                 DeserializationError):
            registry.requeue(job_id)


def _act_empty(store, form):
    kind = form.get('registry', '')
    if kind not in _DASH_KINDS or kind == 'started':
        raise ValueError(f'registry={kind!r}: expected one of queued, deferred, scheduled, '
                         'finished, failed, canceled (running jobs are stopped, not emptied)')
    name = form.get('queue', '')
    if kind == 'queued':
        _RQQueue(name, connection=store).empty()
        return
    registry = _dash_source(Queue(name, connection=store), kind)
    for job_id in registry.get_job_ids():
        try:
            registry.remove(job_id, delete_job=True)
        except DeserializationError:    # a record nobody can read: at least out of the registry
            registry.remove(job_id)


_DASH_ACTIONS = {       # name: (what it does, the question asked first, or None)
    'requeue': (lambda store, form: _dash_job_of(store, form).requeue(), None),
    'requeue-all': (_act_requeue_all, None),
    'cancel': (lambda store, form: _dash_job_of(store, form).cancel(),
               'Cancel job {job_id}? It leaves its queue or registry and will not run.'),
    'delete': (lambda store, form: _dash_job_of(store, form).delete(),
               'Delete job {job_id}? Its record and results are removed for good.'),
    'stop': (lambda store, form: send_stop_job_command(store, form.get('job_id', '')),
             'Stop job {job_id}, which is running now? It becomes stopped.'),
    'empty': (_act_empty, 'Delete every job of {registry} in queue {queue}? This cannot be '
                          'undone.'),
    'suspend': (lambda store, form: suspend(store), None),
    'resume': (lambda store, form: resume(store), None),
}


# -- HTML: one page template; every value from the store goes through _esc --------

_DASH_TEMPLATE = '''<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - rq-emulator</title>
<style nonce="{nonce}">
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f5f6f8; }}
header {{ background: #1f3a5f; color: #fff; padding: 8px 16px; display: flex; gap: 16px;
         align-items: center; flex-wrap: wrap; }}
header a {{ color: #fff; text-decoration: none; font-weight: 600; }}
header form {{ margin-left: auto; }}
main {{ padding: 12px 16px; }}
table {{ border-collapse: collapse; background: #fff; margin: 8px 0 16px; }}
th, td {{ border: 1px solid #d5d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #eef1f5; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
pre {{ background: #fff; border: 1px solid #d5d9e0; padding: 8px; overflow: auto;
      white-space: pre-wrap; word-break: break-word; margin: 0; }}
code, pre {{ font: 12px/1.4 ui-monospace, monospace; }}
form.inline {{ display: inline; margin: 0; }}
button {{ font: inherit; padding: 1px 8px; cursor: pointer; }}
button.danger {{ color: #9b1c1c; }}
.bad {{ color: #9b1c1c; font-weight: 600; }}
.badge {{ background: #c47f00; color: #fff; border-radius: 3px; padding: 1px 6px; }}
.status {{ font-weight: 600; }} .failed, .stopped {{ color: #9b1c1c; }} .finished {{ color: #1c6b2f; }}
.started {{ color: #1f5fa8; }} .muted, footer {{ color: #66707c; }}
nav.tabs a, nav.pages a {{ margin-right: 10px; }} nav.tabs a.here {{ font-weight: 700; }}
footer {{ padding: 4px 16px 16px; }}
td.actions {{ white-space: nowrap; }} td.id {{ font: 12px ui-monospace, monospace; }}
#jobs {{ width: 100%; }} #jobs td {{ overflow-wrap: anywhere; }} div.bar {{ margin: 8px 0; }}
</style></head>
<body><header><a href="/">rq-emulator</a><a href="/">Queues</a><a href="/workers">Workers</a>
{cron_link}<a href="/metrics">Metrics</a><a href="/api{api_path}" id="json-link">JSON</a>{badges}
<form method="get" action="/jobs"><input name="id" placeholder="job id" aria-label="job id" required>
<button type="submit">Find job</button></form></header>
<main>
{body}
</main>
<footer>{store} &middot; times are UTC &middot; <span id="refresh-status">{refresh_text}</span></footer>
<script nonce="{nonce}">
(function () {{
  var every = {refresh_ms}, busy = false, status = document.getElementById('refresh-status');
  if (!every || !window.fetch || !window.DOMParser) return;
  function later() {{ setTimeout(tick, every); }}
  function tick() {{
    var focus = document.activeElement;
    if (busy || document.hidden || (focus && focus.tagName === 'INPUT')) {{ later(); return; }}
    busy = true;                      // the next refresh is planned only once this one ended
    fetch(location.href, {{cache: 'no-store', credentials: 'same-origin',
                           headers: {{'X-Dashboard-Refresh': '1'}}}})
      .then(function (response) {{
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      }})
      .then(function (text) {{
        var fresh = new DOMParser().parseFromString(text, 'text/html').querySelector('main');
        var main = document.querySelector('main');
        if (fresh && main) main.replaceWith(document.adoptNode(fresh));
        status.textContent = 'updated ' + new Date().toLocaleTimeString();
      }})
      .catch(function (error) {{ status.textContent = 'refresh failed: ' + error.message; }})
      .then(function () {{ busy = false; later(); }});
  }}
  later();
}})();
</script></body></html>
'''


def _esc(value):
    return html.escape(str(value), quote=True)


def _dash_quote(text):
    return urllib.parse.quote(str(text), safe='')


def _dash_html_page(server, body, nonce, path='/'):
    badges = ''
    if server.read_only:
        badges += ' <span class="badge">read-only</span>'
    if is_suspended(server.store):
        badges += ' <span class="badge" id="suspended-badge">workers suspended</span>'
    refresh = server.refresh
    return _DASH_TEMPLATE.format(
        title=_esc(_dash_title(body)), nonce=nonce, body=body, badges=badges,
        cron_link='<a href="/cron">Cron</a>' if 'CronScheduler' in globals() else '',
        api_path=_esc(path), store=_esc(repr(server.store)), refresh_ms=int(refresh * 1000),
        refresh_text=f'refreshing every {refresh:g} s' if refresh else 'no auto-refresh')


def _dash_title(body):
    match = re.search(r'<h1[^>]*>(.*?)</h1>', body, re.S)
    return html.unescape(re.sub(r'<[^>]+>', '', match.group(1))) if match else 'dashboard'


def _dash_value(value, pre=False):
    """A value for the page: escaped, None as a dash, unreadable values flagged."""
    if isinstance(value, _Unreadable):
        return f'<span class="bad unreadable">{_esc(value)}</span>'
    if value is None or value == '':
        return '<span class="muted">–</span>'
    if isinstance(value, datetime.datetime):
        text = value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')
        return f'<time datetime="{_esc(value.isoformat())}" title="UTC">{_esc(text)}</time>'
    if isinstance(value, float):
        value = f'{value:.3f}'
    return f'<pre>{_esc(value)}</pre>' if pre else _esc(value)


def _dash_button(server, action, label, fields, path, danger=False, ident=None):
    """A POST form with this dashboard's token; nothing at all when read-only."""
    if server.read_only:
        return ''
    hidden = ''.join(f'<input type="hidden" name="{_esc(name)}" value="{_esc(value)}">'
                     for name, value in (('csrf', server.csrf_token), ('next', path), *fields))
    attrs = (f' id="{_esc(ident)}"' if ident else '') + (' class="danger"' if danger else '')
    return (f'<form class="inline" method="post" action="/actions/{_esc(action)}">{hidden}'
            f'<button type="submit" data-action="{_esc(action)}"{attrs}>{_esc(label)}</button></form>')


def _dash_plural(count, noun):
    return f'{count} {noun}' + ('' if count == 1 else 's')


def _dash_job_link(job_id):
    return f'<a href="/jobs/{_esc(_dash_quote(job_id))}">{_esc(job_id)}</a>'


def _dash_list_url(queue, kind, **query):
    text = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    return f'/queues/{_dash_quote(queue)}/{kind}' + (f'?{text}' if text else '')


def _dash_overview_html(server, data, path):
    rows = []
    for queue in data['queues']:
        name, counts = queue['name'], queue['counts']
        cells = ''.join(f'<td class="n"><a href="{_esc(_dash_list_url(name, kind))}">'
                        f'{counts[kind]}</a></td>' for kind in _DASH_KINDS)
        actions = ''
        if counts['failed']:
            actions += _dash_button(server, 'requeue-all', 'Requeue failed', [('queue', name)], path)
        if counts['queued']:
            actions += _dash_button(server, 'empty', 'Empty queue',
                                    [('queue', name), ('registry', 'queued')], path, danger=True)
        rows.append(f'<tr><th><a href="{_esc(_dash_list_url(name, "queued"))}">{_esc(name)}</a>'
                    f'</th>{cells}<td class="actions">{actions}</td></tr>')
    head = ''.join(f'<th>{kind}</th>' for kind in _DASH_KINDS)
    table = (f'<table id="queues"><tr><th>queue</th>{head}<th></th></tr>{"".join(rows)}</table>'
             if rows else '<p class="muted">No queue yet.</p>')
    body = (f'<h1>Queues</h1>{table}<h2>Workers</h2><div class="bar"><a href="/workers">'
            f'{_dash_plural(data["workers"], "worker")}</a> &middot; '
            f'{_dash_suspension_html(server, data["suspended"], path)}</div>')
    if data['cron_schedulers'] is not None:
        body += _dash_cron_html(server, data, path, heading='h2')
    return body


def _dash_suspension_html(server, suspended, path):
    if suspended:
        return ('workers are <b>suspended</b> (they take no new job) '
                + _dash_button(server, 'resume', 'Resume workers', [], path, ident='resume'))
    return 'workers take jobs ' + _dash_button(server, 'suspend', 'Suspend workers', [], path,
                                               ident='suspend')


def _dash_list_html(server, data, path):
    queue, kind, page, pages = data['queue'], data['registry'], data['page'], data['pages']
    tabs = ''.join(f'<a href="{_esc(_dash_list_url(queue, k))}"{" class=here" if k == kind else ""}>'
                   f'{k} ({data["counts"][k]})</a>' for k in _DASH_KINDS)
    other = 'asc' if data['order'] == 'desc' else 'desc'
    url = lambda p, order=data['order']: _esc(_dash_list_url(  # noqa: E731
        queue, kind, page=p, per_page=None if data['per_page'] == _DASH_PER_PAGE else data['per_page'],
        order=None if order == 'desc' else order))
    links = [f'<a href="{url(1)}">« first</a>', f'<a rel="prev" href="{url(page - 1)}">‹ previous</a>'
             if page > 1 else '', f'page {page} of {pages}',
             f'<a rel="next" href="{url(page + 1)}">next ›</a>' if page < pages else '',
             f'<a href="{url(pages)}">last »</a>',
             f'<a href="{url(1, other)}">{"oldest" if other == "asc" else "newest"} first</a>']
    nav = f'<nav class="pages">{" ".join(link for link in links if link)}</nav>'
    extra = {'scheduled': 'due', 'failed': 'error'}.get(kind)
    head = ('<tr><th>id</th><th>status</th><th>description</th>'
            f'<th>{"ended" if kind in ("finished", "failed") else "enqueued"}</th>'
            + (f'<th>{extra}</th>' if extra else '') + '<th></th></tr>')
    rows = ''.join(_dash_row_html(server, job, kind, extra, path) for job in data['jobs'])
    actions = ''
    if kind == 'failed' and data['total']:
        actions += _dash_button(server, 'requeue-all', 'Requeue all', [('queue', queue)], path,
                                ident='requeue-all')
    if kind != 'started' and data['total']:
        actions += _dash_button(server, 'empty', f'Empty {kind}', [('queue', queue),
                                ('registry', kind)], path, danger=True, ident='empty')
    return (f'<h1>Queue {_esc(queue)}: {kind}</h1><nav class="tabs">{tabs}</nav>'
            f'<div class="bar">{_dash_plural(data["total"], "job")}, '
            f'{"newest" if data["order"] == "desc" else "oldest"} first. {actions}</div>{nav}'
            f'<table id="jobs">{head}{rows}</table>{nav}')


def _dash_row_html(server, job, kind, extra, path):
    if 'unreadable' in job:
        return (f'<tr><td>{_dash_job_link(job["id"])}</td><td colspan="5" class="bad unreadable">'
                f'cannot be read: {_esc(job["unreadable"])}</td></tr>')
    key = {'scheduled': 'scheduled_for', 'failed': 'error'}.get(kind)
    cells = [_dash_job_link(job['id']), f'<span class="status {_esc(job["status"])}">'
             f'{_esc(job["status"])}</span>', _dash_value(job['description']),
             _dash_value(job['ended_at'] if kind in ('finished', 'failed') else job['enqueued_at'])]
    if extra:
        cells.append(_dash_value(job.get(key)))
    actions = _dash_job_actions(server, job['id'], job['status'], path)
    return (f'<tr><td class="id">{cells[0]}</td>' + ''.join(f'<td>{cell}</td>' for cell in cells[1:])
            + f'<td class="actions">{actions}</td></tr>')


def _dash_job_actions(server, job_id, status, path, ids=False):
    fields = [('job_id', job_id)]
    buttons = []
    if status in ('failed', 'stopped'):
        buttons.append(('requeue', 'Requeue', False))
    if status in ('queued', 'deferred', 'scheduled'):
        buttons.append(('cancel', 'Cancel', True))
    if status == 'started':
        buttons.append(('stop', 'Stop', True))
    buttons.append(('delete', 'Delete', True))
    return ' '.join(_dash_button(server, action, label, fields, path, danger=danger,
                                 ident=action if ids else None)
                    for action, label, danger in buttons)


def _dash_job_html(server, job, path):
    title = f'<h1>Job <code>{_esc(job["id"])}</code></h1>'
    if 'unreadable' in job:
        return (f'{title}<p class="bad unreadable">This record cannot be read: '
                f'{_esc(job["unreadable"])}</p>')
    queue = job['origin']
    rows = [('status', f'<span class="status {_esc(job["status"])}" id="status">'
                       f'{_esc(job["status"])}</span>'),
            ('queue', f'<a href="{_esc(_dash_list_url(queue, "queued"))}">{_esc(queue)}</a>'),
            ('function', _dash_value(job['func_name'])),
            ('description', _dash_value(job['description'], pre=True)),
            ('args', _dash_mapping(job['args'])), ('kwargs', _dash_mapping(job['kwargs'])),
            ('meta', _dash_mapping(job['meta'])),
            ('result', _dash_value(job['result'], pre=True)),
            ('exception', _dash_value(job['exc_info'], pre=True))]
    for name in ('scheduled_for', 'position', 'created_at', 'enqueued_at', 'started_at',
                 'ended_at', 'timeout', 'result_ttl', 'ttl', 'failure_ttl', 'retries_left',
                 'group_id'):
        if name in job:
            rows.append((name.replace('_', ' '), _dash_value(job[name])))
    worker = job['worker_name']
    rows.append(('worker', _dash_value(worker)))
    for name in ('dependencies', 'dependents'):
        rows.append((name, ', '.join(f'{_dash_job_link(r["id"])} ({_esc(r["status"])})'
                                     for r in job[name]) or _dash_value(None)))
    table = ''.join(f'<tr><th>{_esc(name)}</th><td id="{_esc(name.replace(" ", "-"))}">{cell}</td></tr>'
                    for name, cell in rows)
    full = '' if job['full'] else (f'<p><a href="/jobs/{_esc(_dash_quote(job["id"]))}?full=1">'
                                   'show every value in full</a></p>')
    results = ''.join(
        f'<tr><td>{_esc(r["id"])}</td><td>{_esc(r["type"])}</td><td>{_dash_value(r["created_at"])}'
        f'</td><td>{_dash_value(r["worker_name"])}</td><td>'
        f'{_dash_value(r["return_value"] if r["type"] == "successful" else r["exc_string"], pre=True)}'
        '</td></tr>' for r in job['results'])
    actions = _dash_job_actions(server, job['id'], job['status'], path, ids=True)
    return (f'{title}<div class="bar">{actions}</div><table id="job">{table}</table>{full}<h2>Results</h2>'
            '<table id="results"><tr><th>id</th><th>type</th><th>at</th><th>worker</th>'
            f'<th>value or exception</th></tr>{results}</table>')


def _dash_mapping(value):
    if isinstance(value, _Unreadable) or not value:
        return _dash_value(value)
    items = enumerate(value) if isinstance(value, list) else value.items()
    return ''.join(f'<div><code>{_esc(key)}</code>: {_dash_value(text, pre=True)}</div>'
                   for key, text in items)


def _dash_workers_html(server, data, path):
    rows = []
    for w in data['workers']:
        job_id = w['current_job_id']
        job = _dash_job_link(job_id) + ' ' + _dash_button(
            server, 'stop', 'Stop job', [('job_id', job_id)], path, danger=True) if job_id else ''
        cells = [_esc(w['name']), _esc(w['hostname']), _esc(w['pid']), _esc(w['state']),
                 _esc(', '.join(w['queues'])), job or _dash_value(None),
                 _esc(w['successful_job_count']), _esc(w['failed_job_count']),
                 _dash_value(w['total_working_time']), _dash_value(w['birth_date']),
                 _dash_value(w['last_heartbeat'])]
        rows.append('<tr>' + ''.join(f'<td>{cell}</td>' for cell in cells) + '</tr>')
    head = ''.join(f'<th>{name}</th>' for name in (
        'name', 'host', 'pid', 'state', 'queues', 'current job', 'finished', 'failed',
        'working time (s)', 'started', 'last heartbeat'))
    table = (f'<table id="workers"><tr>{head}</tr>{"".join(rows)}</table>' if rows
             else '<p class="muted">No worker is running.</p>')
    return (f'<h1>Workers</h1><div class="bar">{_dash_suspension_html(server, data["suspended"], path)}</div>'
            f'{table}')


def _dash_cron_html(server, data, path, heading='h1'):
    schedulers = data['cron_schedulers']
    if schedulers is None:
        return f'<{heading}>Cron</{heading}><p class="muted">This version has no cron scheduler.</p>'
    parts = [f'<{heading}>Cron schedulers</{heading}>']
    if not schedulers:
        parts.append('<p class="muted">No cron scheduler is running.</p>')
    for s in schedulers:
        if 'error' in s:
            parts.append(f'<p class="bad unreadable">{_esc(s["error"])}</p>')
            continue
        rows = ''.join('<tr>' + ''.join(f'<td>{_dash_value(job[name])}</td>' for name in (
            'name', 'func_name', 'queue_name', 'interval', 'cron', 'latest_enqueue_time',
            'next_enqueue_time')) + '</tr>' for job in s['jobs'])
        parts.append(
            f'<p><b>{_esc(s["name"])}</b> on {_esc(s["hostname"])} (pid {_esc(s["pid"])}), last '
            f'heartbeat {_dash_value(s["last_heartbeat"])}</p><table class="cron"><tr><th>name'
            '</th><th>function</th><th>queue</th><th>interval (s)</th><th>cron</th><th>last '
            f'enqueued</th><th>next enqueue</th></tr>{rows}</table>')
    return ''.join(parts)


def _dash_confirm_page(server, action, question, form):
    nonce = secrets.token_urlsafe(16)
    fields = [(k, v) for k, v in form.items() if k not in ('csrf', 'next', 'confirmed')]
    fields.append(('confirmed', '1'))
    back = _dash_local(form.get('next', '/'))
    body = (f'<h1>Are you sure?</h1><p id="question">{_esc(question)}</p><div class="bar">'
            + _dash_button(server, action, f'Yes, {action}', fields, back, danger=True,
                           ident='confirm')
            + f' <a href="{_esc(back)}" id="back">No, go back</a></div>')
    return _DASH_TEMPLATE.format(
        title='Are you sure?', nonce=nonce, body=body, badges='', cron_link='', api_path='',
        store=_esc(repr(server.store)), refresh_ms=0, refresh_text='no auto-refresh here')


def _dash_error_page(server, exc, nonce):
    # No store path here: a refused request (wrong Host, no token) learns nothing of it.
    body = f'<h1>{exc.status}</h1><p class="bad" id="error">{_esc(exc)}</p><p><a href="/">Queues</a></p>'
    return _DASH_TEMPLATE.format(
        title=str(exc.status), nonce=nonce, body=body, badges='', cron_link='', api_path='',
        store='rq-emulator dashboard', refresh_ms=0, refresh_text='')


# -- the command line's `dashboard` -------------------------------------------------

def _add_dashboard_command(commands, common):
    dashboard = commands.add_parser(
        'dashboard', parents=[common], help='Serve the dashboard (web pages, JSON, /metrics).',
        description='Serve web pages, a JSON API (/api/...) and Prometheus metrics (/metrics) '
                    'for the jobs of the SQLite file. Actions are POST forms of its own pages.')
    dashboard.add_argument('--host', default='127.0.0.1',
                           help='address to listen on (default: 127.0.0.1, this machine only)')
    dashboard.add_argument('--port', type=int, default=9181, help='default: 9181')
    dashboard.add_argument('--read-only', action='store_true', help='show, never change')
    dashboard.add_argument('--token', default=os.environ.get(_DASH_TOKEN_ENV),
                           help=f'required from every client (Basic auth password or Bearer '
                                f'token; default: ${_DASH_TOKEN_ENV})')
    dashboard.add_argument('--allowed-host', action='append', default=[], metavar='NAME',
                           help='a name clients use for this server (checked in the Host header)')
    dashboard.add_argument('--refresh', type=float, default=5, metavar='SECONDS',
                           help='page refresh interval (default: 5; 0: never)')
    dashboard.set_defaults(run=_cli_dashboard)


def _cli_dashboard(store, args):
    try:
        server = _DashboardServer(store, args.host, args.port, read_only=args.read_only,
                                  token=args.token or None, refresh=args.refresh,
                                  allowed_hosts=args.allowed_host)
    except OSError as exc:
        raise OSError(f'cannot listen on {args.host}:{args.port}: {exc.strerror or exc}') from None
    if not server.loopback:
        print(f'WARNING: {_dash_exposed_warning(server)}.', file=sys.stderr)
    print(f'Dashboard of {store!r} at {server.url}'
          f'{" (read-only)" if server.read_only else ""}; Ctrl-C stops it', file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ==== CLI ====================================================================
# `python -m rq_emulator` and the `rq-emulator` script: RQ's commands (worker,
# info, enqueue, requeue, empty, suspend, resume) on a SQLite file that several
# processes share. Each command parses its arguments and calls the public API.

_DB_ENV = 'RQ_EMULATOR_DB'
_DEFAULT_DB = 'rq_emulator.db'
_SUSPENDED_MESSAGE = 'RQ is currently suspended, to resume job execution run "rq-emulator resume"'


class _UsageError(Exception):
    """A bad command line: printed as 'Error: ...', exit code 2 (as click's BadParameter)."""


def main(argv=None) -> int:
    """Run one command line (``argv`` defaults to ``sys.argv[1:]``); return the exit code."""
    try:
        args = _cli_parser().parse_args(argv)
    except SystemExit as exc:           # --help, or argparse's own usage error
        return exc.code if isinstance(exc.code, int) else 2
    store = None
    try:
        store = SqliteStore(args.db or os.environ.get(_DB_ENV) or _DEFAULT_DB)
        return args.run(store, args)
    except _UsageError as exc:
        print(f'Error: {exc}', file=sys.stderr)
        return 2
    except (RQEmulatorError, ValueError, TypeError, OSError, sqlite3.Error) as exc:
        print(f'Error: {exc}', file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()


def _cli_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--db', metavar='PATH',
                        help=f'SQLite file of the jobs (default: ${_DB_ENV}, else ./{_DEFAULT_DB})')
    parser = argparse.ArgumentParser(prog='rq-emulator', description="RQ's command line, "
                                     'on a SQLite file instead of Redis.')
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    _add_worker_command(commands, common)
    _add_enqueue_command(commands, common)
    _add_dashboard_command(commands, common)
    info = commands.add_parser('info', parents=[common], help='Show queues and workers.')
    info.add_argument('queues', nargs='*', metavar='QUEUE')
    info.add_argument('-r', '--raw', action='store_true', help='plain numbers, no bar charts')
    info.add_argument('-Q', '--only-queues', action='store_true', help='only the queues')
    info.add_argument('-W', '--only-workers', action='store_true', help='only the workers')
    info.set_defaults(run=_cli_info)
    requeue = commands.add_parser('requeue', parents=[common], help='Requeue failed jobs.')
    requeue.add_argument('job_ids', nargs='*', metavar='JOB_ID')
    requeue.add_argument('-q', '--queue', default='default', help="the queue (default: 'default')")
    requeue.add_argument('-a', '--all', action='store_true', help='every failed job of the queue')
    requeue.set_defaults(run=_cli_requeue)
    empty = commands.add_parser('empty', parents=[common], help='Delete the jobs queued.')
    empty.add_argument('queues', nargs='*', metavar='QUEUE')
    empty.add_argument('-a', '--all', action='store_true', help='every queue')
    empty.set_defaults(run=_cli_empty)
    suspend_ = commands.add_parser('suspend', parents=[common], help='Suspend every worker.')
    suspend_.add_argument('--duration', type=int, help='seconds (default: until resumed)')
    suspend_.set_defaults(run=_cli_suspend)
    commands.add_parser('resume', parents=[common], help='Resume the workers.').set_defaults(
        run=_cli_resume)
    return parser


def _add_worker_command(commands, common):
    worker = commands.add_parser('worker', parents=[common], help='Run a worker.')
    worker.add_argument('queues', nargs='*', metavar='QUEUE', help="default: 'default'")
    worker.add_argument('-b', '--burst', action='store_true', help='quit when the queues are empty')
    worker.add_argument('-n', '--name')
    worker.add_argument('--max-jobs', type=int)
    worker.add_argument('--max-idle-time', type=int, metavar='SECONDS')
    worker.add_argument('-s', '--with-scheduler', action='store_true',
                        help='accepted for RQ: every worker here enqueues due scheduled jobs')
    worker.add_argument('-ds', '--dequeue-strategy', default='default',
                        choices=('default', 'round_robin', 'random'))
    worker.add_argument('-w', '--worker-class', help='dotted path (default: rq_emulator.Worker)')
    worker.add_argument('-t', '--threads', type=int, default=1, help='N workers in threads')
    worker.add_argument('--job-monitoring-interval', type=float, default=30, metavar='SECONDS',
                        help='heartbeat interval; a job whose worker misses 3 is abandoned')
    worker.add_argument('-P', '--path', action='append', default=[],
                        help='a directory put first on sys.path, to import job modules')
    worker.add_argument('-l', '--logging-level', default='INFO', type=str.upper,
                        choices=('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'))
    worker.add_argument('-q', '--quiet', action='store_true', help='log warnings only')
    worker.set_defaults(run=_cli_worker)


def _add_enqueue_command(commands, common):
    enqueue = commands.add_parser(
        'enqueue', parents=[common], help='Enqueue a job.',
        description="Arguments: 'v' (a string), 'k=v', ':json', 'k:=json', '%%literal', "
                    "'k%%=literal'; a value '@file' is that file's content.")
    enqueue.add_argument('function', help='dotted path of the function')
    enqueue.add_argument('arguments', nargs='*', metavar='ARG')
    enqueue.add_argument('-q', '--queue', default='default')
    enqueue.add_argument('--timeout', help="the job timeout ('30', '5m', '1h')")
    enqueue.add_argument('--result-ttl', type=int)
    enqueue.add_argument('--ttl', type=int)
    enqueue.add_argument('--failure-ttl', type=int)
    enqueue.add_argument('--description')
    enqueue.add_argument('--depends-on', action='append', metavar='JOB_ID')
    enqueue.add_argument('--job-id')
    enqueue.add_argument('--at-front', action='store_true')
    enqueue.add_argument('--retry-max', type=int, default=0)
    enqueue.add_argument('--retry-interval', type=int, action='append', metavar='SECONDS')
    enqueue.add_argument('--schedule-in', metavar='DELAY', help="e.g. '10s', '5m', '1h'")
    enqueue.add_argument('--schedule-at', metavar='DATETIME', help='ISO 8601; naive means local')
    enqueue.add_argument('--quiet', action='store_true')
    enqueue.set_defaults(run=_cli_enqueue)


# -- worker ---------------------------------------------------------------------

def _cli_worker(store, args):
    for path in reversed(args.path):
        sys.path.insert(0, path)
    if is_suspended(store):
        print(_SUSPENDED_MESSAGE, file=sys.stderr)
        return 1
    worker_class = _import_attribute(args.worker_class) if args.worker_class else Worker
    queues = args.queues or ['default']
    options = dict(max_jobs=args.max_jobs, max_idle_time=args.max_idle_time,
                   dequeue_strategy=args.dequeue_strategy)
    with _cli_logging('WARNING' if args.quiet else args.logging_level):
        if args.threads > 1:
            pool = WorkerPool(queues, connection=store, num_workers=args.threads,
                              name=args.name, worker_class=worker_class,
                              job_monitoring_interval=args.job_monitoring_interval)
            with _SignalStop(pool.workers):
                pool.start(burst=args.burst, **options)
        else:
            worker = worker_class(queues, name=args.name, connection=store,
                                  job_monitoring_interval=args.job_monitoring_interval)
            with _SignalStop([worker]):
                worker.work(burst=args.burst, with_scheduler=True, **options)
    return 0


@contextlib.contextmanager
def _cli_logging(level):
    """Log the emulator's records to stderr in RQ's format while the worker runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(asctime)s %(message)s', '%H:%M:%S'))
    old_level = _log.level
    _log.addHandler(handler)
    _log.setLevel(level)
    try:
        yield
    finally:
        _log.removeHandler(handler)
        _log.setLevel(old_level)


class _SignalStop:
    """SIGINT/SIGTERM while workers run: the first stops them after the job in hand, the
    second ends the process at once (its job stays started, to be found abandoned)."""

    def __init__(self, workers):
        self.workers = workers
        self.received = 0
        self.saved = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for name in ('SIGINT', 'SIGTERM'):
                if hasattr(signal, name):
                    self.saved[name] = signal.signal(getattr(signal, name), self.handle)
        return self

    def __exit__(self, *exc_info):
        for name, handler in self.saved.items():
            signal.signal(getattr(signal, name), handler)

    def handle(self, signum, frame):
        self.received += 1
        if self.received > 1:
            _log.warning('Cold shut down')
            logging.shutdown()
            os._exit(1)
        # request_stop opens a transaction: not in here, where the main thread may hold one.
        threading.Thread(target=self.stop_workers, args=(signal.Signals(signum).name,),
                         name='rq-cli-stop', daemon=True).start()

    def stop_workers(self, signal_name):
        for worker in self.workers:
            worker.request_stop()
        _log.warning('Warm shut down requested (%s): the job in hand finishes first; '
                     'signal again to stop at once', signal_name)


# -- info -------------------------------------------------------------------------

def _cli_info(store, args):
    queues = [Queue(name, connection=store) for name in args.queues] or Queue.all(connection=store)
    if not args.only_workers:
        _show_queues(queues, args.raw)
    if not args.only_queues:
        if not (args.only_workers or args.raw):
            print()
        _show_workers(store, queues, args.queues, args.raw)
    if not (args.only_queues or args.only_workers or args.raw):
        print(f'\nUpdated: {datetime.datetime.now()}')
    return 0


def _show_queues(queues, raw):
    counts = [queue.count for queue in queues]
    top = max(counts, default=0)
    scale = next((s for s in (20, 50, 100, 200, 400, 600, 800, 1000) if top <= s), top)
    ratio = min(20, shutil.get_terminal_size().columns - 20) / scale
    bar = _bar_character()
    for queue, count in zip(queues, counts):
        detail = (f'{queue.started_job_registry.count} executing, '
                  f'{queue.finished_job_registry.count} finished, '
                  f'{queue.failed_job_registry.count} failed, '
                  f'{queue.deferred_job_registry.count} deferred, '
                  f'{queue.scheduled_job_registry.count} scheduled, '
                  f'{queue.canceled_job_registry.count} canceled')
        if raw:
            print(f'queue {queue.name} {count}, {detail}')
        else:
            print(f'{queue.name:<12} |{bar * int(ratio * count)} {count}, {detail}')
    if not raw:
        print(f'{len(queues)} queues, {sum(counts)} jobs total')


def _bar_character():
    try:
        '\u2588'.encode(getattr(sys.stdout, 'encoding', None) or 'utf-8')
    except (UnicodeEncodeError, LookupError):
        return '#'
    return '\u2588'


def _show_workers(store, queues, only_names, raw):
    workers = sorted(Worker.all(connection=store), key=lambda w: w.name)
    if only_names:
        workers = [w for w in workers if set(w.queue_names()) & set(only_names)]
    for worker in workers:
        state = worker.get_state()
        state = state.value if isinstance(state, enum.Enum) else state
        if raw:
            print(f'worker {worker.name} {state} {",".join(worker.queue_names())}')
        else:
            print(f'{worker.name} {state}: {", ".join(worker.queue_names())}')
    if not raw:
        print(f'{len(workers)} workers, {len(queues)} queues')


# -- enqueue ----------------------------------------------------------------------

def _cli_enqueue(store, args):
    func_args, func_kwargs = _parse_function_args(args.arguments)
    when = _schedule_time(args.schedule_in, args.schedule_at)
    retry = Retry(args.retry_max, args.retry_interval or 0) if args.retry_max > 0 else None
    queue = Queue(args.queue, connection=store)
    job = queue.create_job(args.function, func_args, func_kwargs, timeout=args.timeout,
                           result_ttl=args.result_ttl, ttl=args.ttl, failure_ttl=args.failure_ttl,
                           description=args.description, depends_on=args.depends_on,
                           job_id=args.job_id, retry=retry,
                           status=JobStatus.QUEUED if when is None else JobStatus.CREATED)
    if when is None:
        queue.enqueue_job(job, at_front=args.at_front)
    else:
        job.enqueue_at_front = args.at_front
        queue.schedule_job(job, when)
    if not args.quiet:
        print(f"Enqueued {job.get_call_string()} with job-id '{job.id}'.")
    return 0


def _parse_function_args(arguments):
    """RQ's argument syntax: the positional and keyword arguments of the command line."""
    args, kwargs = [], {}
    for text in arguments:
        keyword, value = _parse_function_arg(text, len(args) + 1)
        if keyword is None:
            args.append(value)
        elif keyword in kwargs:
            raise _UsageError(f"You can't specify multiple values for the same keyword: {keyword}")
        else:
            kwargs[keyword] = value
    return args, kwargs


def _parse_function_arg(text, position):
    """'v', 'k=v' (strings), ':json', 'k:=json', '%literal', 'k%=literal'; '@file' reads a file."""
    keyword, mode, value = None, '', text
    index = text.find('=')
    if text[:1] in (':', '%'):
        mode, value = text[0], text[1:]
    elif index > 0:
        mode = text[index - 1] if text[index - 1] in (':', '%') else ''
        keyword, value = text[:index - len(mode)], text[index + 1:]
    if value.startswith('@'):
        try:
            with open(value[1:], encoding='utf-8') as file:
                value = file.read()
        except OSError as exc:
            raise _UsageError(f'Could not open file {value[1:]!r}: {exc.strerror}') from None
    what = keyword or f'{position}. non keyword argument'
    try:
        if mode == ':':
            return keyword, json.loads(value)
        if mode == '%':
            return keyword, ast.literal_eval(value)
    except json.JSONDecodeError:
        raise _UsageError(f'Unable to parse {what} as JSON.') from None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _UsageError(f'Unable to eval {what} as Python object. See '
                          'https://docs.python.org/3/library/ast.html#ast.literal_eval') from None
    return keyword, value


def _schedule_time(schedule_in, schedule_at):
    if schedule_in is not None and schedule_at is not None:
        raise _UsageError("You can't specify both --schedule-in and --schedule-at")
    if schedule_in is not None:
        seconds = parse_timeout(schedule_in, '--schedule-in')
        return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    if schedule_at is not None:
        try:
            return datetime.datetime.fromisoformat(schedule_at)
        except ValueError:
            raise _UsageError(f'--schedule-at {schedule_at!r}: expected an ISO 8601 date and '
                              'time such as 2021-05-27T21:45:00') from None
    return None


# -- requeue, empty, suspend, resume -------------------------------------------------

def _cli_requeue(store, args):
    registry = Queue(args.queue, connection=store).failed_job_registry
    job_ids = registry.get_job_ids() if args.all else args.job_ids
    if not job_ids:
        print('Nothing to do')
        return 0
    print(f'Requeueing {len(job_ids)} jobs from failed queue')
    failures = 0
    for job_id in job_ids:
        try:
            registry.requeue(job_id)
        except (InvalidJobOperation, InvalidJobOperationError, NoSuchJobError):
            failures += 1
    if failures:
        print(f'Unable to requeue {failures} jobs from failed job registry')
    return 0


def _cli_empty(store, args):
    names = [queue.name for queue in Queue.all(connection=store)] if args.all else args.queues
    if not names:
        print('Nothing to do')
    for name in names:
        removed = _RQQueue(name, connection=store).empty()
        print(f'{removed} jobs removed from {name} queue')
    return 0


def _cli_suspend(store, args):
    if args.duration is not None and args.duration < 1:
        print('Duration must be an integer greater than 1', file=sys.stderr)
        return 1
    suspend(store, args.duration)
    if args.duration:
        print(f'Suspending workers for {args.duration} seconds.  No new jobs will be started '
              'during that time, but then will automatically resume')
    else:
        print('Suspending workers.  No new jobs will be started.  But current jobs will be '
              'completed')
    return 0


def _cli_resume(store, args):
    resume(store)
    print('Resuming workers.')
    return 0


if __name__ == '__main__':
    # `python -m rq_emulator` runs this file as __main__, a second module object: hand
    # off to the imported module, whose classes are the ones job modules import.
    import rq_emulator
    sys.exit(rq_emulator.main())
