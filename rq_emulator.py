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
constants, Utilities (clock, ids, serializers), Storage (BaseStore, MemoryStore,
SqliteStore, stores chosen by connection), Job (the record layout, Retry,
Repeat, Callback, Dependency, Result), Lifecycle (the one owner of every state
change and of each run of a job), Queue, Registries (and Execution), Worker,
Cron (CronScheduler, RQScheduler), Commands and helpers, Test wiring and
connections (run_jobs, RQTestMixin, the pytest plugin, EmulatorRedis), RQ front
door (install_as_rq), Dashboard (serve_dashboard), CLI (main).
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import base64
import bisect
import calendar
import collections
import contextlib
import ctypes
import datetime
import enum
import functools
import heapq
import hmac
import html
import http.server
import importlib
import importlib.machinery
import importlib.util
import inspect
import io
import itertools
import json
import logging
import logging.config
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
import zlib

__all__ = [
    'AbandonedJobError',
    'BaseRegistry',
    'BaseStore',
    'BaseTimeoutException',
    'CALLBACK_TIMEOUT',
    'Callback',
    'CanceledJobRegistry',
    'CronJob',
    'CronScheduler',
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
    'EmulatorRedis',
    'EnqueueData',
    'Execution',
    'ExecutionRegistry',
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
    'RQScheduler',
    'RQTestMixin',
    'Repeat',
    'Result',
    'Retry',
    'ScheduledJobRegistry',
    'SchedulerNotFound',
    'SchedulerStatus',
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
    'cron',
    'get_current_job',
    'install_as_rq',
    'is_suspended',
    'job',
    'main',
    'parse_timeout',
    'requeue_job',
    'reset_stores',
    'resolve_serializer',
    'resume',
    'run_jobs',
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
    _S.FINISHED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED,
                  _S.FAILED},               # its success callback raised (RQ)
    _S.FAILED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.STOPPED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED, _S.CANCELED},
    _S.CANCELED: {_S.QUEUED, _S.DEFERRED, _S.SCHEDULED},
}


class WorkerStatus(str, enum.Enum):
    STARTING = 'starting'       # (RQ uses these two as bare strings)
    STOPPED = 'stopped'
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
_QUEUED, _STARTED, _FINISHED = JobStatus.QUEUED, JobStatus.STARTED, JobStatus.FINISHED
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
        self._beaters = weakref.WeakSet()  # live workers, to beat before the sweep on advance()
        self._stores = weakref.WeakSet()   # the stores to sweep on advance()
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
        for listener in list(self._beaters) + list(self._stores):
            listener._clock_moved()
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


def _parse_ttl(value, what):
    """A TTL as RQ takes it: None, whole seconds, -1 (for good), or a string such as '1d'."""
    if value is None or value == -1 and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(parse_timeout(value, what))
        except (TimeoutFormatError, ValueError):
            raise ValueError(f"{what}={value!r}: expected seconds (e.g. 500), a string such as "
                             "'30m', '1h' or '1d', or -1 to keep it for good") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{what}={value!r}: expected a number of seconds (-1 keeps forever)')
    return int(value) if value == int(value) else value


def _rq_parse_timeout(timeout):
    """``rq.utils.parse_timeout``: RQ's converter to whole seconds (0 and negatives pass through)."""
    if timeout is None or isinstance(timeout, int):
        return None if timeout is None else int(timeout)
    try:
        return int(timeout)
    except ValueError:
        pass
    try:
        return int(timeout[:-1]) * _TIMEOUT_UNITS[timeout[-1:].lower()]
    except (ValueError, KeyError):
        raise TimeoutFormatError(f'timeout {timeout!r} does not parse: use whole seconds (e.g. '
                                 "30) or digits with a unit s, m, h or d (e.g. '5m')") from None


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


# RQ's small helpers (rq.utils), for code that imports them after install_as_rq().

_UTC_FORMAT = '%Y-%m-%dT%H:%M:%S.%fZ'     # RQ's timestamp format in Redis


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _utcformat(dt):
    return dt.strftime(_UTC_FORMAT)


def _utcparse(text):
    try:
        parsed = datetime.datetime.strptime(text, _UTC_FORMAT)
    except ValueError:                   # RQ's older format, without microseconds
        parsed = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')
    return parsed.replace(tzinfo=datetime.timezone.utc)


def _utc_text(moment):
    """A datetime (or None) as RQ writes it into Redis: UTC, with microseconds."""
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).strftime(_UTC_FORMAT)


def _str_to_date(text):
    if not text:
        raise ValueError(f'str_to_date({text!r}): expected a timestamp such as '
                         "'2024-01-31T12:00:00.000000Z'")
    return _utcparse(_as_text(text))


def _current_timestamp():
    return int(time.time())


def _as_text(value):
    if isinstance(value, bytes):
        return value.decode('utf-8')
    if isinstance(value, str):
        return value
    raise ValueError(f'as_text({value!r}): expected bytes or str, got {type(value).__name__}')


def _decode_redis_hash(mapping, *, decode_values=False):
    return {_as_text(k): _as_text(v) if decode_values else v for k, v in mapping.items()}


_NOT_JSON_SERIALIZABLE = '<not JSON serializable>'


def _safe_json_dumps(value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return _NOT_JSON_SERIALIZABLE


def _ceildiv(a, b):
    return -(-a // b)


def _compact(items):
    return [item for item in items if item is not None]


def _is_nonstring_iterable(obj):
    return getattr(type(obj), '__iter__', None) is not None and not isinstance(obj, str)


def _ensure_list(obj):
    return list(obj) if _is_nonstring_iterable(obj) else [obj]


def _split_list(items, segment_size):
    for start in range(0, len(items), segment_size):
        yield items[start:start + segment_size]


def _truncate_long_string(text, max_length=None):
    if max_length is None or len(text) <= max_length:
        return text
    return text[:max_length] + '...'


def _get_call_string(func_name, args, kwargs, max_length=None):
    """RQ's ``get_call_string``: 'module.func(1, k=2)', each repr cut at ``max_length``."""
    if func_name is None:
        return None
    parts = [_truncate_long_string(repr(arg), max_length) for arg in args]
    parts += sorted(f'{k}={_truncate_long_string(repr(v), max_length)}' for k, v in kwargs.items())
    return f'{func_name}({", ".join(parts)})'


def _resolve_function_reference(func):
    """(instance, function name) as RQ stores them for a job's function."""
    if inspect.ismethod(func):
        return func.__self__, func.__name__
    if inspect.isfunction(func) or inspect.isbuiltin(func):
        return None, f'{func.__module__}.{func.__qualname__}'
    if isinstance(func, str):
        return None, func
    if not inspect.isclass(func) and callable(func):
        return func, '__call__'
    raise TypeError(f'expected a callable or a dotted path string, got {func!r}')


def _backend_class(holder, default_name, override=None):
    if override is None:
        return getattr(holder, default_name)
    return _import_attribute(override) if isinstance(override, str) else override


def _parse_composite_key(composite_key):
    job_id, _, execution_id = composite_key.partition(':')
    return job_id, execution_id


def _normalize_config_path(config_path):
    if os.path.sep not in config_path and not config_path.endswith('.py'):
        return config_path                  # already a dotted module path
    path = config_path[:-3] if config_path.endswith('.py') else config_path
    return path.lstrip(os.path.sep).replace(os.path.sep, '.')


def _validate_absolute_path(file_path):
    if not os.path.exists(file_path):
        raise FileNotFoundError(f'configuration file not found at {file_path!r}')
    if not os.path.isfile(file_path):
        raise IsADirectoryError(f'configuration path {file_path!r} is a directory, not a file')
    return file_path


def _get_version(connection=None):
    """The Redis version whose features the emulator offers (RQ asks the server)."""
    return (7, 0, 0)


class _Platform(enum.Enum):
    WINDOWS = 'windows'
    MAC = 'mac'
    LINUX = 'linux'
    OTHERS = 'others'


def _get_platform():
    name = sys.platform.lower()
    if name.startswith('win'):
        return _Platform.WINDOWS
    if name == 'darwin':
        return _Platform.MAC
    return _Platform.LINUX if name.startswith('linux') else _Platform.OTHERS

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
    """Run an ``async def`` job's coroutine to completion in a new event loop, closed
    afterwards; the calling thread's own event loop (if any) is left as it was."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coro)
    # Called from inside a running loop (is_async=False in async code): use a thread.
    box = {}

    def runner():
        _current.job = job
        try:
            box['value'] = _run_in_new_loop(coro)
        except BaseException as exc:      # handed back to the calling thread below
            box['error'] = exc
    thread = threading.Thread(target=runner, name='rq-emulator-async')
    thread.start()
    thread.join()
    if 'error' in box:
        raise box['error']
    return box['value']


def _run_in_new_loop(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


# ==== Storage ================================================================

_RECHECK = 1.0     # seconds: a shared store's waiters re-check at least this often


class BaseStore:
    """What every store provides: the primitives the lifecycle is written on.

    They mirror RQ's use of Redis: a record per job (the job's hash), lists for
    queues, sorted sets for registries, timers for what must happen at a time,
    sets for dependents, and plain values for the rest (results, workers,
    groups). Every primitive must be called inside ``transaction()``, which
    holds the store's one lock and, on exit, wakes everyone waiting in
    ``wait()``. A store keeps what it is given as it is given (a job record is
    opaque to it) and knows nothing of statuses, retries, dependencies or the
    lifecycle's keys; that lives in the Lifecycle section, written once for
    every store. Keys are tuples of strings.
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
        self._deferred = None                       # what runs after this transaction (defer)
        self._live_workers = weakref.WeakValueDictionary()   # name -> Worker of this process

    def now(self) -> float:
        """The store's clock: epoch seconds."""
        return self.clock()

    # -- transactions --------------------------------------------------------

    def transaction(self):
        """A context manager holding the store's lock; gives the store (``tx``)."""
        return self

    def __enter__(self):
        try:
            self._lock.acquire()
        except _INTERRUPTS:             # raised in this thread just after acquire() returned
            self._lock.release()        # (a timed-out or stopped job's thread: see _Execution)
            raise
        if self.atomic:
            try:
                self._begin()
            except BaseException:
                self._lock.release()
                raise
        return self

    def __exit__(self, exc_type, exc, tb):
        deferred = None
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
            if self._deferred is not None:
                deferred, self._deferred = self._deferred, None
            self._lock.release()
        if deferred is not None and exc_type is None:
            for func, args in deferred:
                func(*args)

    def _begin(self):
        """Start the underlying transaction (only when ``atomic``)."""

    def _end(self, commit):
        """Commit (or roll back) the underlying transaction (only when ``atomic``)."""

    def defer(self, func, *args):
        """Call ``func(*args)`` once this transaction has committed, outside the lock."""
        if self._deferred is None:
            self._deferred = []
        self._deferred.append((func, args))

    def wait(self, predicate, timeout=None, key=None) -> bool:
        """Wait inside a transaction until ``predicate()``; with ``key``, woken only by ``signal(key)``."""
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
        """Where idle workers wait: woken by a queued job, a moved first timer, ``wake_workers()``."""
        self._work_waiting += 1
        try:
            return self._wait(self._work, predicate, timeout)
        finally:
            self._work_waiting -= 1

    def _wait(self, condition, predicate, timeout):
        if self.poll is None:
            return condition.wait_for(predicate, timeout)
        # Other processes cannot notify this Condition, so a shared store waits
        # outside its database transaction and re-checks the predicate in a new
        # one when: this process notified it (its own commits, or a wake-up hint
        # another process sent, see _listen), or a check every `poll` seconds
        # finds that another process committed (_version), or at the latest
        # every _RECHECK seconds (a predicate may depend on the clock alone).
        # While hints arrive, the checks back off from `poll` to _RECHECK: each
        # wake-up of an idle thread costs tens of microseconds of CPU.
        end = None if timeout is None else time.monotonic() + timeout
        for_work = condition is self._work
        interval = self.poll
        try:
            while not predicate():
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                hinted = self._listen(for_work)
                version = self._version()   # (read in the transaction: what predicate() saw)
                self._end(commit=True)      # (a polling store is an atomic one)
                try:
                    interval = self._poll(condition, end, hinted, interval, version)
                finally:
                    self._begin()
            return True
        finally:
            self._unlisten(for_work)

    def _poll(self, condition, end, hinted, interval, version):
        """Wait outside the transaction until a re-check is worth it; the next interval."""
        recheck = time.monotonic() + _RECHECK
        while True:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return interval
            if condition.wait(interval if left is None else min(interval, left)):
                return self.poll            # notified here, or hinted by another process
            if version is None or self._version() != version:
                return self.poll
            if hinted:                      # hints come at once: poll less and less often
                interval = min(interval * 2, _RECHECK)
            if time.monotonic() >= recheck:
                return interval

    def _listen(self, for_work):
        """Before a shared store waits: ask other processes to hint at their commits.

        Whether they will (then the store polls less and less often while nothing changes).
        """
        return False

    def _unlisten(self, for_work):
        """After a shared store's wait, inside its transaction again."""

    def _version(self):
        """A value that changes when another process commits; None: unknown."""
        return None

    def signal(self, key):
        """Wake the threads waiting with this ``key`` (a job id) when the transaction ends."""
        if key in self._keys_waited:
            self._dirty = self._signaled = True

    def wake_workers(self):
        """Wake every idle worker when the transaction ends."""
        self._dirty = True
        self._wake = math.inf

    def _clock_moved(self):
        _tick(self)             # the Lifecycle section's sweep: promote due jobs, expire TTLs

    def flush(self):
        """Empty the store: every job, queue, registry, result, schedule and suspension.

        What Redis's FLUSHDB does to RQ's keys, worker registrations included:
        a worker still running on the store is no longer listed by
        ``Worker.all()``, and goes on serving the store. Its job in hand runs to
        its end and the outcome is discarded (as for a job deleted while it
        ran); idle workers wake, find nothing and wait again (a burst worker
        ends); suspended workers resume.
        """
        with self.transaction() as tx:
            tx.clear()
            for key in list(self._keys_waited):     # get_result() of a job that is gone
                tx.signal(key)

    # -- the primitives (each store implements them) --------------------------

    def job_get(self, job_id):
        """The record stored for ``job_id``, or None when there is none or it has expired."""
        raise NotImplementedError

    def job_put(self, job_id, record):
        """Store ``record`` for ``job_id`` (keeping the expiry it had, unless that has passed)."""
        raise NotImplementedError

    def job_delete(self, job_id):
        """Remove the record of ``job_id`` (and wake its waiters)."""
        raise NotImplementedError

    def job_expire(self, job_id, at):
        """Let the record of ``job_id`` expire at epoch ``at`` (None: keep it for good)."""
        raise NotImplementedError

    def queue_push(self, name, job_id, at_front=False):
        """Append ``job_id`` to the queue ``name`` (at its head with ``at_front``); wakes a worker."""
        raise NotImplementedError

    def queue_pop(self, name):
        """Remove and return the id at the head of queue ``name``, or None when it is empty."""
        raise NotImplementedError

    def queue_remove(self, name, job_id):
        """Remove the first ``job_id`` from queue ``name``; whether it was there."""
        raise NotImplementedError

    def queue_ids(self, name):
        """The ids of queue ``name``, head first."""
        raise NotImplementedError

    def queue_len(self, name):
        """How many ids queue ``name`` holds."""
        raise NotImplementedError

    def queue_position(self, name, job_id):
        """The index of ``job_id`` in queue ``name``, or None."""
        raise NotImplementedError

    def queue_names(self):
        """The names of every registered queue, sorted."""
        raise NotImplementedError

    def queue_register(self, name):
        """Register queue ``name`` (so that ``queue_names()`` lists it), even while empty."""
        raise NotImplementedError

    def queue_forget(self, name):
        """Unregister queue ``name`` and drop its ids."""
        raise NotImplementedError

    def zadd(self, key, member, score):
        """Add ``member`` to the sorted set ``key`` with ``score`` (a known member keeps its place)."""
        raise NotImplementedError

    def zrem(self, key, member):
        """Remove ``member`` from the sorted set ``key``; whether it was there."""
        raise NotImplementedError

    def zscore(self, key, member):
        """The score of ``member`` in the sorted set ``key``, or None."""
        raise NotImplementedError

    def zcard(self, key):
        """How many members the sorted set ``key`` has."""
        raise NotImplementedError

    def zmembers(self, key, max_score=math.inf, desc=False):
        """The members with score <= ``max_score``, by score (ties in insertion order)."""
        raise NotImplementedError

    def timer_add(self, at, key, member):
        """Remember that something named by ``(key, member)`` is due at epoch ``at``."""
        raise NotImplementedError

    def timers_due(self, now):
        """Pop and return the ``(key, member, at)`` timers due by ``now``, earliest first."""
        raise NotImplementedError

    def timer_next(self):
        """When the earliest timer is due, or None."""
        raise NotImplementedError

    def sadd(self, key, member):
        """Add ``member`` to the set ``key``."""
        raise NotImplementedError

    def srem(self, key, member):
        """Remove ``member`` from the set ``key``."""
        raise NotImplementedError

    def smembers(self, key):
        """The members of the set ``key``, sorted."""
        raise NotImplementedError

    def get(self, key, default=None):
        """The value stored under ``key``, or ``default``."""
        raise NotImplementedError

    def set(self, key, value):
        """Store ``value`` under ``key``."""
        raise NotImplementedError

    def delete(self, key):
        """Remove the value or the set stored under ``key``."""
        raise NotImplementedError

    def clear(self):
        """Forget everything: every job, queue, registry, timer, set and value."""
        raise NotImplementedError

    def portable(self, job):
        """Check, before a transaction, that ``job``'s record can be stored here; raise if not."""


_memory_stores = weakref.WeakSet()      # every MemoryStore of this process, for fork()


class _ForkedLock:
    """Stands in for a MemoryStore's lock in a child process made by fork()."""

    def __init__(self, store):
        self.store = store

    def acquire(self, *args):
        raise RuntimeError(f'{self.store!r} was created before this process forked: a '
                           'MemoryStore lives in one process and each process would run its '
                           "jobs separately; use SqliteStore('path') to share jobs between "
                           'processes')

    release = acquire


def _after_fork_in_child():
    for store in list(_memory_stores):
        store._lock = _ForkedLock(store)


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class MemoryStore(BaseStore):
    """The in-memory store: every job, queue and registry of one process.

    ``MemoryStore(clock=None)``: ``clock`` is any zero-argument callable giving
    epoch seconds (``time.time`` by default; a ``ManualClock`` in tests). Two
    ``Queue('x')`` objects on one store are the same queue, as on one Redis.
    """

    def __init__(self, clock=None):
        super().__init__(clock)
        self._jobs = {}                             # id -> record (a list, see _RECORD_LAYOUT)
        self._expiry = {}                           # id -> epoch when the job's keys expire
        self._queues = {}                           # name -> deque of ids
        self._zsets = collections.defaultdict(dict)  # key -> {member: score}
        self._timers = []                           # (at, seq, key, member), a heap
        self._sets = collections.defaultdict(set)   # key -> set of members
        self._values = {}                           # key -> any value
        self._seq = itertools.count()
        _memory_stores.add(self)

    def __repr__(self):
        return f'<MemoryStore {len(self._jobs)} jobs, {len(self._queues)} queues>'

    # -- jobs ----------------------------------------------------------------

    def job_put(self, job_id, record):
        self._jobs[job_id] = record
        self._dirty = True
        at = self._expiry.get(job_id)
        if at is not None and at <= self.clock():
            del self._expiry[job_id]        # a new record under the id of an expired one

    def job_get(self, job_id):
        at = self._expiry.get(job_id)
        if at is not None and at <= self.clock():
            return None                     # collected by its 'expire' timer (_housekeep)
        return self._jobs.get(job_id)

    def job_delete(self, job_id):
        self.signal(job_id)
        self._dirty = True
        self._jobs.pop(job_id, None)
        self._expiry.pop(job_id, None)

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
        self._sets.pop(key, None)
        self._dirty = True

    def clear(self):
        for table in (self._jobs, self._expiry, self._queues, self._zsets, self._sets,
                      self._values):
            table.clear()
        self._timers.clear()
        self.wake_workers()


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
# The processes waiting on a file, and the loopback UDP port each hears hints on
# (kinds: 1 waits for work, 2 waits for other changes). A row outlives a crashed
# process until another process finds its pid gone; a hint to it is lost, harmlessly.
_SQLITE_WAKEUPS = ('CREATE TABLE IF NOT EXISTS wakeups '
                   '(port INTEGER PRIMARY KEY, pid INTEGER NOT NULL, kinds INTEGER NOT NULL)')


def _function_path(func, where):
    """'module.qualname' of a job function another process can import; ValueError if none."""
    module = getattr(func, '__module__', None)
    qualname = getattr(func, '__qualname__', '')
    if inspect.isfunction(func) and (module == '__main__' or '<' in qualname):
        raise ValueError(f'cannot store job function {func!r} in {where}: functions from the '
                         '__main__ module, lambdas and nested functions cannot be imported by a '
                         'worker process; define it in a module')
    bound_to = getattr(func, '__self__', None)
    if inspect.isfunction(func) or (inspect.isbuiltin(func)
                                    and (bound_to is None or inspect.ismodule(bound_to))):
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
    are pickled. Waiters are woken at once by changes made in their process,
    and by those of other processes through a datagram on the loopback
    interface; should one be lost, they notice within ``poll_interval``
    seconds of a change, or within a second after a quiet spell. Open a store
    in each process (a connection does not survive ``fork``).
    """

    shared = atomic = True

    def __init__(self, path, clock=None, poll_interval=0.02):
        super().__init__(clock)
        self.path = os.fspath(path)
        self.poll = poll_interval
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                       check_same_thread=False)
        except sqlite3.Error as exc:
            raise type(exc)(f'SQLite file {self.path!r}: {exc}') from exc
        self._waker = _SqliteWaker()
        self._changes = 0               # the connection's total_changes when this transaction began
        self._wake_at_begin = 0         # self._wake when this transaction began
        # Closed by close(), or else when the store is collected or the process exits.
        self._closer = weakref.finalize(self, self._waker.close, self._db)
        try:
            self._db.execute('PRAGMA journal_mode=WAL')
            self._db.execute('PRAGMA synchronous=NORMAL')
            self._check_version()
            self._db.executescript(_SQLITE_SCHEMA)
            self._db.execute(_SQLITE_WAKEUPS)
        except RQEmulatorError:
            self._closer()
            raise
        except sqlite3.Error as exc:
            self._closer()
            raise type(exc)(f'SQLite file {self.path!r}: {exc}') from exc

    def _check_version(self):
        """Stamp a new file with the record layout's version; refuse a file of another layout."""
        self._db.execute('BEGIN IMMEDIATE')
        try:
            version = self._db.execute('PRAGMA user_version').fetchone()[0]
            tables = self._db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                                      ).fetchone()[0]
            if version == 0 and not tables:
                self._db.execute(f'PRAGMA user_version = {_RECORD_VERSION}')
            elif version != _RECORD_VERSION:
                raise RQEmulatorError(
                    f'cannot open {self.path!r}: it was written by another version of '
                    f'rq_emulator (job record layout {version}; this one reads layout '
                    f'{_RECORD_VERSION}). Finish its jobs with the version that wrote it, '
                    'or start a new file')
        finally:
            self._db.execute('COMMIT')

    def __repr__(self):
        return f'SqliteStore({self.path!r})'

    def close(self):
        """Close the database connection; the store cannot be used afterwards.

        A store is also closed when it is garbage-collected or the process exits,
        so most programs never call this. ``with contextlib.closing(SqliteStore(path))
        as store:`` closes it at the end of a block (``with store:`` alone is a
        transaction, not this).
        """
        with self._lock:
            self._closer()

    def _begin(self):
        self._db.execute('BEGIN IMMEDIATE')
        self._changes = self._db.total_changes
        self._wake_at_begin = self._wake

    def _end(self, commit):
        hints = None
        if commit:
            # What this transaction did, other processes waiting in wait() or
            # wait_for_work() hear at once (a hint: they re-check).
            queued = self._wake != self._wake_at_begin
            if queued or self._db.total_changes != self._changes:
                hints = self._waker.targets(self._db, queued)
            self._db.execute('COMMIT')
        else:
            self._db.execute('ROLLBACK')
        if hints:
            self._waker.send(hints)
        if self._waker.thread is not None:
            self._waker.started()

    def _listen(self, for_work):
        kinds = (1 if self._work_waiting else 0) | (2 if self._waiting or self._keys_waited else 0)
        return self._waker.listen(self._db, kinds, self)

    def _unlisten(self, for_work):
        if not self._db.in_transaction:
            return                          # (_begin failed: nothing to write in)
        work = self._work_waiting - for_work
        changed = self._waiting + sum(self._keys_waited.values()) - (not for_work)
        self._waker.listen(self._db, (1 if work else 0) | (2 if changed else 0), self)

    def _version(self):
        return self._db.execute('PRAGMA data_version').fetchone()[0]

    def _q(self, sql, *args):
        return self._db.execute(sql, args)

    def _write(self, sql, *args):
        self._dirty = True
        return self._db.execute(sql, args)

    # -- jobs ----------------------------------------------------------------

    def job_get(self, job_id):
        row = self._q('SELECT record, expires FROM jobs WHERE id = ?', job_id).fetchone()
        if row is None or (row[1] is not None and row[1] <= self.clock()):
            return None                     # (an expired one is collected by its timer)
        try:
            return pickle.loads(row[0])
        except Exception as exc:
            raise DeserializationError(f'cannot read job {job_id!r} from {self!r}: {exc}') from exc

    def job_put(self, job_id, record):
        self._write('INSERT OR REPLACE INTO jobs (id, record, expires) '
                    'VALUES (?, ?, (SELECT expires FROM jobs WHERE id = ? AND expires > ?))',
                    job_id, pickle.dumps(record, pickle.HIGHEST_PROTOCOL), job_id, self.clock())

    def job_delete(self, job_id):
        self.signal(job_id)
        self._write('DELETE FROM jobs WHERE id = ?', job_id)

    def portable(self, job):
        """Functions become dotted paths another process imports; the record must read back.

        (A bound method or callable object stays in the record and is pickled with it.)
        """
        record = job._rec
        if callable(record[_FUNC]):
            record[_FUNC] = _function_path(record[_FUNC], repr(self))
        for callback in record[_ON_SUCCESS:_ON_STOPPED + 1]:
            if callback is not None and callable(callback.func):
                _function_path(callback.func, repr(self))
        try:
            _ImportableOnly(io.BytesIO(pickle.dumps(record, pickle.HIGHEST_PROTOCOL))).load()
        except Exception as exc:
            raise ValueError(f'cannot store job {record[_ID]!r} in {self!r}: {exc}') from exc

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
        self._write('DELETE FROM sets WHERE key = ?', _key(key))

    def clear(self):
        for table in ('jobs', 'queue_names', 'queues', 'zsets', 'timers', 'sets', 'kv'):
            self._write(f'DELETE FROM {table}')
        self.wake_workers()


_HINT = b'rq-emulator: committed'


class _SqliteWaker:
    """What lets processes sharing a SQLite file wake each other instead of polling.

    A process about to wait registers a loopback UDP port in the
    ``wakeups`` table; a commit sends one datagram to every other registered
    process (to those waiting for work only when it queued work or woke
    workers), and that process's listening thread notifies its waiters, who
    re-check their predicate in a transaction. A datagram is only a hint: one
    that is lost (or a platform without sockets) costs latency (the waiters
    still poll, see ``BaseStore._wait``), never a job.
    """

    def __init__(self):
        self.sock = None            # the port this store hears hints on, once it waited
        self.port = None
        self.kinds = 0              # what its row says is waiting here: 1 work, 2 other changes
        self.sender = None          # the socket hints are sent from (False: sockets fail here)
        self.thread = None          # the listening thread, until started()
        self.closed = False

    def started(self):
        """Start the listening thread, outside the transaction that registered its port.

        (Datagrams sent meanwhile wait in the socket's buffer.)
        """
        thread, self.thread = self.thread, None
        thread.start()

    def listen(self, db, kinds, store):
        """Register for hints of these kinds (inside a transaction); whether hints work here."""
        if self.closed:
            return False
        if self.sock is None and kinds:
            if self.sender is False:
                return False        # no sockets here: polling only
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind(('127.0.0.1', 0))
            except OSError:
                self.sender = False
                return False
            self.sock, self.port = sock, sock.getsockname()[1]
            self.thread = threading.Thread(target=_hear_hints, args=(sock, weakref.ref(store)),
                                           name=f'rq-emulator hints {self.port}', daemon=True)
            self._forget_the_dead(db)   # (the thread starts after the commit: see started())
        if self.sock is None:
            return False
        if kinds != self.kinds:     # registered only while waiting: busy processes get no hints
            if kinds:
                db.execute('INSERT OR REPLACE INTO wakeups (port, pid, kinds) VALUES (?, ?, ?)',
                           (self.port, os.getpid(), kinds))
            else:
                db.execute('DELETE FROM wakeups WHERE port = ?', (self.port,))
            self.kinds = kinds
        return True

    @staticmethod
    def _forget_the_dead(db):
        if os.name != 'posix':
            return                  # (os.kill(pid, 0) would end the process on Windows)
        for port, pid in db.execute('SELECT port, pid FROM wakeups').fetchall():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                db.execute('DELETE FROM wakeups WHERE port = ?', (port,))
            except OSError:
                pass                # alive, another user's

    def targets(self, db, queued):
        """The ports to hint after this commit (read inside the transaction)."""
        mask = 3 if queued else 2
        return [port for port, kinds in db.execute('SELECT port, kinds FROM wakeups')
                if kinds & mask and port != self.port]

    def send(self, ports):
        if not self.sender:
            try:
                self.sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            except OSError:
                self.sender = False
                return
        for port in ports:
            try:
                self.sender.sendto(_HINT, ('127.0.0.1', port))
            except OSError:
                pass                # a full buffer or a vanished port: the poll covers it

    def close(self, db):
        """Close the registration, the listening thread, the sockets and the database."""
        self.closed = True
        try:
            if self.port is not None:
                try:
                    db.execute('DELETE FROM wakeups WHERE port = ?', (self.port,))
                except sqlite3.Error:
                    pass            # (inside another thread's transaction, or locked)
                try:                # wake the listening thread, so that it ends
                    self.sock.sendto(b'', ('127.0.0.1', self.port))
                except OSError:
                    pass
        finally:
            for sock in (self.sock, self.sender):
                if sock:
                    sock.close()
            db.close()


def _hear_hints(sock, store_ref):
    """The listening thread of a store that waited: a hint notifies its waiters."""
    while True:
        try:
            data = sock.recv(64)
        except ConnectionResetError:    # (Windows: an earlier datagram found no one)
            continue
        except OSError:
            return
        store = store_ref()
        if store is None or store._waker.closed:
            return
        if data == _HINT and (store._work_waiting or store._waiting or store._keys_waited):
            with store._lock:
                store._work.notify_all()
                store._changed.notify_all()
        del store


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


# -- which store a connection means -------------------------------------------
# The module's state: the default store, and the stores chosen by connection,
# as Redis chooses data: one per server and database. All of it is guarded by
# _stores_lock; lookups that hit the cache (_stores_by_pool) take no lock.
_default_store = None
_stores_lock = threading.Lock()
_stores_by_address = {}                          # (address, db) -> store, for redis clients
_stores_by_name = weakref.WeakValueDictionary()  # fakeredis server name -> store (see below)
_stores_by_server = weakref.WeakKeyDictionary()  # fakeredis server object -> {db: store}
_stores_by_pool = weakref.WeakKeyDictionary()    # a client's connection pool -> its store
_stores_clock = None                             # the clock of stores made from now on
_ANONYMOUS_HOST = re.compile(r'[0-9a-f]{32}\Z')  # the host fakeredis makes up for FakeRedis()


def _resolve_store(connection):
    """The store that ``connection=`` means: a store itself, the default store for None,
    else the store of the server and database a Redis client (redis-py, fakeredis, or
    anything with ``connection_pool.connection_kwargs``) names. Other objects mean the
    default store. Nothing here ever touches the network.
    """
    if connection is None:
        store = _default_store
        return store if store is not None else _make_default_store()
    if isinstance(connection, BaseStore):
        return connection
    pool = getattr(connection, 'connection_pool', None)
    if pool is None:
        return _make_default_store()
    store = getattr(pool, 'store', None)        # an EmulatorRedis's pool names its store
    if isinstance(store, BaseStore):
        return store
    try:
        store = _stores_by_pool.get(pool)
    except TypeError:                   # an unhashable pool, or one without weak references
        store = None
    if store is not None:
        return store
    kwargs = getattr(pool, 'connection_kwargs', None)
    if not isinstance(kwargs, dict):
        return _make_default_store()
    with _stores_lock:
        store = _store_for_client(pool, kwargs)
        try:
            _stores_by_pool[pool] = store   # the store lives as long as a client naming it
        except TypeError:
            pass
    return store


def _make_default_store():
    global _default_store
    store = _default_store
    if store is None:
        with _stores_lock:
            if _default_store is None:
                _default_store = MemoryStore(clock=_stores_clock)
            store = _default_store
    return store


def _store_for_client(pool, kwargs):
    """Find or make the store for these connection kwargs (under _stores_lock)."""
    db = kwargs.get('db') or 0
    if 'server_type' in kwargs or 'server' in kwargs:       # fakeredis: each server is a store
        server = kwargs.get('server')
        if server is not None:
            stores = _stores_by_server.setdefault(server, {})
            if db not in stores:
                stores[db] = MemoryStore(clock=_stores_clock)
            return stores[db]
        # fakeredis names its server after the address, type and major version. A bare
        # FakeRedis() gets a made-up host of its own: that store goes when its clients go.
        host = kwargs.get('host')
        version = kwargs.get('version') or 7
        major = version[0] if isinstance(version, tuple) else str(version).split('.')[0]
        name = (kwargs.get('path') or f'{host}:{kwargs.get("port")}',
                kwargs.get('server_type'), str(major), db)
        store = _stores_by_name.get(name)
        if store is None:
            store = _stores_by_name[name] = MemoryStore(clock=_stores_clock)
            if not (isinstance(host, str) and _ANONYMOUS_HOST.match(host)):
                _stores_by_address[('fakeredis',) + name] = store    # kept, as fakeredis keeps it
        return store
    service = getattr(pool, 'service_name', None)           # a Sentinel pool names its master
    address = (('sentinel', service) if service is not None else kwargs.get('path')
               or (kwargs.get('host') or 'localhost', int(kwargs.get('port') or 6379)))
    store = _stores_by_address.get((address, db))
    if store is None:
        store = _stores_by_address[(address, db)] = MemoryStore(clock=_stores_clock)
    return store


def _known_stores():
    """Every store made by _resolve_store (the default one included), alive."""
    with _stores_lock:
        stores = {id(s): s for s in _stores_by_address.values()}
        stores.update((id(s), s) for s in list(_stores_by_name.values()))
        for by_db in list(_stores_by_server.values()):
            stores.update((id(s), s) for s in by_db.values())
        if _default_store is not None:
            stores[id(_default_store)] = _default_store
    return list(stores.values())


def reset_stores(clock=None):
    """Empty the default store and every store chosen by a connection: a clean slate for a test.

    Each store is emptied in place (``flush()``), so queues and connections made
    earlier (a module-level ``Queue``) see the same, now empty, store. With
    ``clock`` (a ``ManualClock``, or any zero-argument callable giving epoch
    seconds), those stores, and every store chosen by a connection from now on,
    use that clock; ``reset_stores()`` without it goes back to real time.
    Workers still running on a store go on with the emptied store (see ``flush``).
    """
    if clock is not None and not callable(clock):
        raise TypeError(f'reset_stores(clock={clock!r}): expected a ManualClock or a callable '
                        'giving epoch seconds')
    for store in _known_stores():
        store.flush()
    _use_clock(clock)


def _use_clock(clock):
    """Give the known stores, and those made from now on, this clock (None: real time)."""
    global _stores_clock
    with _stores_lock:
        _stores_clock = clock
    for store in _known_stores():
        _set_clock(store, clock)


def _set_clock(store, clock):
    old = store.clock
    if old is clock or (clock is None and old is time.time):
        return
    if isinstance(old, ManualClock):
        old._stores.discard(store)
    with store.transaction() as tx:
        store.clock = clock or time.time
        if isinstance(clock, ManualClock):
            clock._stores.add(store)
        tx.wake_workers()               # idle workers re-read how long to wait

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
        type_, data, self.exc_string, created, self.worker_name, self.execution_id = record
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
# live object. This table is the whole layout: each field's slot is its place
# here, and the constants below name the slots (checked by _check_layout).
_RECORD_LAYOUT = (
    ('id', None),
    ('func', None),                 # a callable, or a dotted path
    ('data', None),                 # the arguments: None, (args, kwargs) kept as is, or serialized
    ('serializer', DefaultSerializer),
    ('status', JobStatus.CREATED),
    ('origin', ''),                 # the queue's name
    ('description', None),
    ('created_at', None),           # timestamps: epoch seconds on the store's clock
    ('enqueued_at', None),
    ('started_at', None),
    ('ended_at', None),
    ('timeout', None),
    ('result_ttl', None),
    ('failure_ttl', None),
    ('ttl', None),
    ('meta', None),                 # serialized
    ('retries_left', None),
    ('retry_intervals', None),
    ('retry_at_front', False),
    ('number_of_retries', 0),       # how many times the job returned Retry
    ('repeats_left', None),
    ('repeat_intervals', None),
    ('dependency_ids', ()),
    ('allow_failure', False),
    ('at_front', False),            # released dependents and scheduled runs go to the front
    ('on_success', None),
    ('on_failure', None),
    ('on_stopped', None),
    ('worker_name', None),
    ('group_id', None),
    ('exc_info', None),             # the traceback text of the last failure
    ('sync', False),                # entered through an is_async=False queue: runs inline
    ('scheduled_at', None),         # when a scheduled job is due
    ('execution_id', None),         # the id of its latest run (rq.executions)
)
(_ID, _FUNC, _DATA, _SERIALIZER, _STATUS, _ORIGIN, _DESCRIPTION, _CREATED_AT, _ENQUEUED_AT,
 _STARTED_AT, _ENDED_AT, _TIMEOUT, _RESULT_TTL, _FAILURE_TTL, _TTL, _META, _RETRIES_LEFT,
 _RETRY_INTERVALS, _RETRY_AT_FRONT, _NUMBER_OF_RETRIES, _REPEATS_LEFT, _REPEAT_INTERVALS,
 _DEPENDENCY_IDS, _ALLOW_FAILURE, _AT_FRONT, _ON_SUCCESS, _ON_FAILURE, _ON_STOPPED, _WORKER_NAME,
 _GROUP_ID, _EXC_INFO, _SYNC, _SCHEDULED_AT, _EXECUTION_ID) = range(len(_RECORD_LAYOUT))
_BLANK_RECORD = [default for _, default in _RECORD_LAYOUT]
# Stamped on every SQLite file (PRAGMA user_version): a file written with another
# layout is refused instead of misread. Derived from the field names, so that
# any change of the layout changes it.
_RECORD_VERSION = zlib.crc32(' '.join(name for name, _ in _RECORD_LAYOUT).encode()) & 0x7fffffff


def _check_layout():
    names = globals()
    for slot, (field, _) in enumerate(_RECORD_LAYOUT):
        assert names['_' + field.upper()] == slot, f'record slot of {field!r} is misnamed'


_check_layout()


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
    _created = _field(_CREATED_AT)          # timestamps are epoch seconds on the store's clock
    _enqueued = _field(_ENQUEUED_AT)
    _started = _field(_STARTED_AT)
    _ended = _field(_ENDED_AT)
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
        ttl, result_ttl, failure_ttl = (_parse_ttl(ttl, 'ttl'), _parse_ttl(result_ttl, 'result_ttl'),
                                        _parse_ttl(failure_ttl, 'failure_ttl'))
        if ttl is not None and ttl <= 0:
            raise ValueError(f'ttl={ttl!r}: a job ttl must be a number of seconds greater than 0')
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
        rec[_CREATED_AT] = self._store.now()
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

    def _flush_meta(self):
        """Serialize local meta into the record (before a transaction: user code may run)."""
        if self._meta is not None:          # meta was read here and may have been changed
            self._rec[_META] = self.serializer.dumps(self._meta) if self._meta else None

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
        return _resolve_func(self._rec[_FUNC])

    @property
    def func_name(self):
        func = self._rec[_FUNC]
        return _func_name(_resolve_func(func) if type(func) is bytes else func)

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
    def _dependency_id(self):
        """The first parent's id, or None (RQ code reads it)."""
        return self._dependency_ids[0] if self._dependency_ids else None

    @property
    def scheduled_at(self):
        """When a scheduled job is due (an aware UTC datetime), or None."""
        return _to_datetime(self._rec[_SCHEDULED_AT])

    @scheduled_at.setter
    def scheduled_at(self, value):
        self._rec[_SCHEDULED_AT] = None if value is None else _to_epoch(value, 'scheduled_at')

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
        self._flush_meta()
        if self._store.shared:
            self._store.portable(self)
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
        self._result = self._execute()
        return self._result

    def _execute(self):
        """Call ``self.func`` with the job's arguments (a subclass may wrap ``func``)."""
        func = self.func
        data = self._rec[_DATA]
        if data is None:
            result = func()
        elif type(data) is tuple and not data[1]:       # arguments kept as they are, no kwargs
            result = func(*data[0])
        else:
            result = func(*self.args, **self.kwargs)
        if type(result) is types.CoroutineType:
            result = _run_coroutine(result, self)
        return result

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
        """The runs of this job going on now (one at most here), as ``Execution`` objects."""
        record = self._stored()
        if record is None or record[_STATUS] is not _STARTED or not record[_EXECUTION_ID]:
            return []
        return [Execution._of(record, self.connection)]

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


def _resolve_func(func):
    """A job's function from its record: a dotted path is imported, a pickled one loaded."""
    if type(func) is str:
        return _import_attribute(func)
    if type(func) is bytes:
        return pickle.loads(func)
    return func

# ==== Lifecycle ==============================================================
# Every change of a job's state happens here, inside a transaction, through one
# owner per step: _enqueue is the only way into a queue (enqueue, requeue,
# retries, the scheduler and released dependents all call it); _start marks a
# job started; _Execution runs it; _end_run (through _finish) is the only place
# a started job changes state. The runner (a worker, or the caller of an
# is_async=False queue) passes facts in and gets a _Report back; nothing here
# calls back into a Worker. Registries are sorted sets keyed (kind, queue name),
# as RQ's are in Redis; what must happen at a time is a timer (see _TIMERS).

_REGISTRY_KINDS = ('started', 'finished', 'failed', 'deferred', 'scheduled', 'canceled')


def _set_status(job, new):
    record = job._rec
    assert new in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> {new}'
    record[_STATUS] = new


def _save(tx, job, include_meta=True):
    """Store ``job``'s record (its meta was serialized into it before the transaction)."""
    record = job._rec[:]
    if not include_meta:                    # keep meta that the job itself saved meanwhile
        old = tx.job_get(job.id)
        if old is not None:
            record[_META] = old[_META]
    tx.job_put(job.id, record)


def _reload(tx, job, doing=None):
    """Bring ``job`` up to date with the store; NoSuchJobError (or InvalidJobOperation
    naming what was being ``doing``) if it is gone."""
    record = tx.job_get(job.id)
    if record is None:
        if doing is not None:
            raise InvalidJobOperation(f'cannot {doing} job {job.id!r}: it was deleted or has expired')
        raise NoSuchJobError(f'No such job: {job.id!r} (it was deleted or has expired)')
    job._load(record)


def _drop(tx, job_id):
    """Remove a job's record and every key kept for it."""
    tx.job_delete(job_id)
    tx.delete(('results', job_id))
    tx.delete(('dependents', job_id))


def _expire_at(tx, job_id, at):
    """Let the job's record expire at ``at`` (None: never); its 'expire' timer collects it."""
    tx.job_expire(job_id, at)
    if at is not None:
        tx.timer_add(at, ('expire',), job_id)


def _zadd_until(tx, key, job_id, at):
    """Add to a registry whose score is the time at which the entry must go (or run)."""
    tx.zadd(key, job_id, at)
    if at != math.inf:
        tx.timer_add(at, key, job_id)


def _keep_until(tx, kind, job, ttl):
    """The one definition of "kept until": an ended job stays in its registry ``kind``,
    and in the store, for ``ttl`` seconds (-1: for good). One timer serves both:
    _on_kept drops the entry and collects the record that expired with it."""
    record = job._rec
    key, job_id = (kind, record[_ORIGIN]), record[_ID]
    if ttl < 0:
        tx.zadd(key, job_id, math.inf)
        tx.job_expire(job_id, None)
        return
    at = tx.clock() + ttl
    tx.zadd(key, job_id, at)
    tx.job_expire(job_id, at)
    tx.timer_add(at, key, job_id)


def _enqueue(tx, job, at_front=False):
    """Put ``job`` on its queue (at the head with ``at_front``): the only way into a queue."""
    record = job._rec                       # (the hottest path: _set_status and _save inlined)
    assert _QUEUED in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> queued'
    record[_STATUS] = _QUEUED
    record[_ENQUEUED_AT] = now = tx.clock()
    record[_STARTED_AT] = record[_ENDED_AT] = None
    job_id = record[_ID]
    tx.job_put(job_id, record[:])
    tx.queue_push(record[_ORIGIN], job_id, at_front)
    ttl = record[_TTL]
    _expire_at(tx, job_id, now + ttl if ttl and ttl > 0 else None)


def _defer_if_waiting(tx, job):
    """Defer ``job`` while any existing parent has not finished (as RQ); whether it did."""
    pending = []
    for parent_id in job._rec[_DEPENDENCY_IDS]:
        parent = tx.job_get(parent_id)
        if parent is not None and parent[_STATUS] is not JobStatus.FINISHED:
            pending.append(parent_id)
    if not pending:
        return False
    _set_status(job, JobStatus.DEFERRED)
    job._enqueued = None
    _save(tx, job)
    tx.queue_register(job.origin)
    tx.zadd(('deferred', job.origin), job.id, tx.now())
    for parent_id in pending:
        tx.sadd(('dependents', parent_id), job.id)
    _expire_waiting(tx, job)
    return True


def _expire_waiting(tx, job):
    ttl = job.ttl
    _expire_at(tx, job.id, tx.now() + ttl if ttl and ttl > 0 else None)


def _schedule(tx, job, at):
    _set_status(job, JobStatus.SCHEDULED)
    job._enqueued = None
    job._rec[_SCHEDULED_AT] = at
    _save(tx, job)
    tx.queue_register(job.origin)
    _zadd_until(tx, ('scheduled', job.origin), job.id, at)
    _expire_waiting(tx, job)


def _start(tx, record, worker_name, heartbeat_ttl=None):
    """Mark the stored job ``record`` started, in place (the runner's Job is made from it
    afterwards); with ``heartbeat_ttl`` its worker must renew it in time."""
    assert _STARTED in _NEXT_STATUS[record[_STATUS]], f'emulator bug: {record[_STATUS]} -> started'
    record[_STATUS] = _STARTED
    record[_STARTED_AT] = now = tx.clock()
    record[_WORKER_NAME] = worker_name
    record[_EXECUTION_ID] = next(_execution_ids)
    job_id = record[_ID]
    tx.job_put(job_id, record)
    tx.job_expire(job_id, None)             # a running job never expires (RQ's perform())
    at = math.inf if heartbeat_ttl is None else now + heartbeat_ttl
    _zadd_until(tx, ('started', record[_ORIGIN]), job_id, at)


def _new_execution_ids():
    """Unique ids for the runs of jobs: a counter, then this process's id, in hex."""
    return map('{:x}{:x}'.format, itertools.count(int(time.time() * 1e6)),
               itertools.repeat(os.getpid()))


def _execution_ids_after_fork():
    global _execution_ids
    _execution_ids = _new_execution_ids()


_execution_ids = _new_execution_ids()
if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_execution_ids_after_fork)
_SUCCESS, _FAILURE, _STOPPED = 'success', 'failure', 'stopped'    # compared with 'is'
_SUCCESSFUL = int(Result.Type.SUCCESSFUL)


class _Outcome:
    """What running a job came to: a value, or an exception (as exc_info and text)."""
    __slots__ = ('kind', 'value', 'exc_info', 'exc_string', 'data')

    def __init__(self, kind, value=None, exc_info=(None, None, None), exc_string=None):
        self.kind, self.value, self.exc_info, self.exc_string = kind, value, exc_info, exc_string
        self.data = None                    # the value as stored (captured before the transaction)

    @classmethod
    def failure(cls, exc):
        exc_info = (type(exc), exc, exc.__traceback__)
        return cls(_FAILURE, None, exc_info, _exc_string(*exc_info))


class _Report:
    """What the end of a run did, handed back to the runner (who does its own accounting)."""
    __slots__ = ('applied', 'succeeded', 'working_time', 'released')

    def __init__(self):
        self.applied = False                # False: the job was canceled or deleted meanwhile
        self.succeeded = False              # it counts as a success (not a Retry)
        self.working_time = 0.0
        self.released = []                  # dependents put on their queues by this end


# -- one run of a job -----------------------------------------------------------

_RUNNING, _CLAIMED, _TAKEN_OVER = 'running', 'claimed', 'taken over'
_claims = threading.Lock()      # guards every _Execution.state: the runner vs a watchdog or stop


class _Execution:
    """One run of a started job in one thread, which a watchdog or a stop command may
    take over (once) while it runs: then whatever the job returns later is discarded."""
    __slots__ = ('job', 'queue', 'thread_id', 'deadline', 'state', 'in_job', 'left', 'concluded')

    def __init__(self, job, queue=None, deadline=None):
        self.job = job
        self.queue = queue
        self.thread_id = threading.get_ident()
        self.deadline = deadline        # time.monotonic() value, or None for no timeout
        self.state = _RUNNING
        self.in_job = False             # True only while the job's own code runs
        self.left = None                # after a take-over: an Event set as run() ends
        self.concluded = None           # after a take-over: an Event set once it is recorded

    def run(self):
        """Run the job here (``job.perform()``, so a Job subclass's ``func`` is honoured)."""
        job = self.job
        previous = getattr(_current, 'job', None)
        _current.job = job
        try:
            self.in_job = True
            return _Outcome(_SUCCESS, job.perform())
        except BaseException as exc:     # SystemExit too: a job never kills its worker
            return _Outcome.failure(exc)
        finally:
            left = self.left
            if left is not None:
                left.set()
            self.in_job = False
            _current.job = previous

    def claim(self):
        """The runner's claim once the job returned: False when it was taken over."""
        with _claims:
            if self.state is not _RUNNING:
                return False
            self.state = _CLAIMED
            return True

    def take_over(self, store, exc_type):
        """Claim a run still going (a timeout, a stop command) and interrupt its thread."""
        with _claims:
            if self.state is not _RUNNING:
                return False
            self.state = _TAKEN_OVER
            self.concluded = threading.Event()
            if self.in_job:
                self.left = threading.Event()
                # Holding the store's lock, the job's thread is outside every
                # transaction; the exception fires at its next bytecode, before it
                # can enter one (BaseStore.__enter__ copes with a blocked acquire).
                with store.transaction():
                    _raise_in_thread(self.thread_id, exc_type)
                threading.Thread(target=self._keep_interrupting, args=(store, exc_type),
                                 name='rq-interrupt', daemon=True).start()
        return True

    def _keep_interrupting(self, store, exc_type):
        """The job's code may swallow one interrupt (a bare ``except``, or a finalizer that
        ran in its thread just then): raise it again every ``_NUDGE`` seconds for as long as
        that thread still runs code called from this run, and stop as soon as run() ends."""
        while not self.left.wait(_NUDGE):
            with store.transaction():
                if not self._in_job_code():
                    return
                _raise_in_thread(self.thread_id, exc_type)

    def _in_job_code(self):
        """Whether the run's thread is in code called from this run() (not in run() itself)."""
        frame = sys._current_frames().get(self.thread_id)
        depth = 0
        while frame is not None:
            if frame.f_code is _RUN_CODE and frame.f_locals.get('self') is self:
                return depth > 0
            frame, depth = frame.f_back, depth + 1
        return False


_RUN_CODE = _Execution.run.__code__
_NUDGE = 0.1        # seconds between interrupts of a taken-over job that swallowed one


def _raise_in_thread(thread_id, exc_type):
    """Ask CPython to raise ``exc_type`` in another thread at its next bytecode (best effort)."""
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type))
    except (AttributeError, OSError):   # not CPython: the timed-out thread simply runs on
        pass


def _run_callbacks(job, outcome):
    """The job's own callbacks, outside every lock; returns the outcome they leave."""
    connection, record = job.connection, job._rec
    succeeded = outcome.kind is _SUCCESS and not isinstance(outcome.value, Retry)
    # What get_status(refresh=False) says in the callbacks and RQ's hooks; the stored
    # status changes only when the run's end is recorded (_finish).
    if succeeded:
        _set_status(job, JobStatus.FINISHED)
    elif outcome.kind is _FAILURE:
        _set_status(job, JobStatus.FAILED)
    if succeeded and record[_ON_SUCCESS] is not None:
        try:
            job._success_callback(job, connection, outcome.value)
        except Exception as exc:            # a raising success callback fails the job (RQ)
            _log.exception('success callback of job %s raised', job.id)
            outcome = _Outcome.failure(exc)
            _set_status(job, JobStatus.FAILED)
    if outcome.kind is _FAILURE and record[_ON_FAILURE] is not None:
        try:
            job._failure_callback(job, connection, *outcome.exc_info)
        except Exception as exc:
            _log.exception('failure callback of job %s raised', job.id)
            outcome.exc_string = _exc_string(type(exc), exc, exc.__traceback__)
    if outcome.kind is _STOPPED and record[_ON_STOPPED] is not None:
        _call_quietly(f'stopped callback of job {job.id}', job._stopped_callback, job, connection)
    return outcome


def _end_run(job, outcome, default_result_ttl=DEFAULT_RESULT_TTL, keep_failure=True):
    """Record how a run ended (after its callbacks); return the _Report."""
    store = job._store
    if outcome.kind is not _STOPPED:
        job._rec[_ENDED_AT] = store.clock()
    if outcome.kind is _SUCCESS and not isinstance(outcome.value, Retry):
        outcome.data = _capture_value(job._rec[_SERIALIZER], outcome.value)   # user code: no lock
        job._result = outcome.value
    with store.transaction() as tx:
        report = _finish(tx, job, outcome, default_result_ttl, keep_failure)
    if not report.applied:
        _log.warning('job %s was canceled or deleted while it ran; its outcome is discarded', job.id)
    return report


def _finish(tx, job, outcome, default_result_ttl, keep_failure):
    """The one place a started job changes state: success, repeat, retry, failure or stop.

    Works on the stored record (the job object only says which run this was);
    changes nothing when the job was canceled or deleted while it ran.
    """
    record, report = job._rec, _Report()
    stored = tx.job_get(record[_ID])
    if (stored is None or stored[_STATUS] is not _STARTED
            or stored[_EXECUTION_ID] != record[_EXECUTION_ID]):
        return report                       # canceled or deleted (perhaps re-enqueued) meanwhile
    stored[_ENDED_AT] = record[_ENDED_AT]
    job._rec = record = stored              # with the meta the job saved while it ran
    job._meta = None                        # (local, unsaved meta is dropped, as in RQ)
    job_id, report.applied = record[_ID], True
    report.working_time = tx.clock() - record[_STARTED_AT]
    tx.zrem(('started', record[_ORIGIN]), job_id)
    kind, value = outcome.kind, outcome.value
    if kind is _SUCCESS and isinstance(value, Retry):
        _retry_returned(tx, job, value, keep_failure, report)
    elif kind is _SUCCESS and record[_REPEATS_LEFT]:
        intervals = record[_REPEAT_INTERVALS]       # used in order; the last one is kept
        record[_REPEATS_LEFT] -= 1
        record[_REPEAT_INTERVALS] = intervals[1:] or intervals
        _succeed(tx, job, outcome.data, default_result_ttl, report, keep_going=True)
        _again(tx, job, intervals[0], record[_AT_FRONT])
    elif kind is _SUCCESS:
        _succeed(tx, job, outcome.data, default_result_ttl, report)
    elif kind is _FAILURE and record[_RETRIES_LEFT]:
        interval = job.get_retry_interval()
        record[_RETRIES_LEFT] -= 1
        record[_EXC_INFO] = outcome.exc_string
        _again(tx, job, interval, record[_RETRY_AT_FRONT])
    elif kind is _FAILURE:
        _fail(tx, job, outcome.exc_string, Result.Type.FAILED, keep_failure, report)
    else:                                   # stopped: failed registry, no retry, no dependents
        _set_status(job, JobStatus.STOPPED)
        record[_ENDED_AT], record[_EXC_INFO] = None, outcome.exc_string
        _add_result(tx, job, int(Result.Type.FAILED), None, outcome.exc_string)
        _save(tx, job)
        _keep_until(tx, 'failed', job, _failure_ttl(job))
    tx.signal(job_id)                       # wakes get_result() and latest_result() waiters
    job._rec = record[:]                    # the stored list is the store's: keep a copy
    return report


def _failure_ttl(job):
    ttl = job._rec[_FAILURE_TTL]
    return DEFAULT_FAILURE_TTL if ttl is None else ttl


def _succeed(tx, job, data, default_result_ttl, report, keep_going=False):
    record = job._rec
    _set_status(job, _FINISHED)
    report.succeeded = True
    ttl = record[_RESULT_TTL]
    if ttl is None:
        ttl = default_result_ttl
    if ttl == 0 and not keep_going:         # RQ deletes the job at once, after its dependents
        tx.job_put(record[_ID], record)
        report.released = _release_dependents(tx, job)
        _forget(tx, job)
        _drop(tx, record[_ID])
        return
    _add_result(tx, job, _SUCCESSFUL, data, None)
    tx.job_put(record[_ID], record)
    _keep_until(tx, 'finished', job, ttl)
    if not keep_going:
        report.released = _release_dependents(tx, job)


def _fail(tx, job, exc_string, result_type, keep_failure, report):
    _set_status(job, JobStatus.FAILED)
    job._rec[_EXC_INFO] = exc_string
    _save(tx, job)
    if keep_failure:                        # False: disable_default_exception_handler (RQ)
        _add_result(tx, job, int(result_type), None, exc_string)
        _keep_until(tx, 'failed', job, _failure_ttl(job))
    report.released = _release_dependents(tx, job)


def _retry_returned(tx, job, retry, keep_failure, report):
    """The job returned Retry(max, interval): run it again, up to ``max`` times."""
    record = job._rec
    if record[_NUMBER_OF_RETRIES] >= retry.max:
        _fail(tx, job, f'Job {job.id} exceeded the maximum of {retry.max} retries '
                       'it asked for by returning Retry', Result.Type.MAX_RETRIES_EXCEEDED,
              keep_failure, report)
        return
    interval = Retry.get_interval(record[_NUMBER_OF_RETRIES], retry.intervals)
    record[_NUMBER_OF_RETRIES] += 1
    _add_result(tx, job, int(Result.Type.RETRIED), None, None)
    _again(tx, job, interval, retry.enqueue_at_front)


def _again(tx, job, interval, at_front):
    """Run a job once more: now (back on its queue) or after ``interval`` seconds (scheduled)."""
    if interval:
        job._rec[_AT_FRONT] = at_front
        _schedule(tx, job, tx.now() + interval)
    else:
        _enqueue(tx, job, at_front)


def _add_result(tx, job, result_type, data, exc_string):
    record = job._rec
    key = ('results', record[_ID])
    results = tx.get(key, ())
    worker_name = record[_WORKER_NAME] if record[_WORKER_NAME] != 'sync' else ''
    entry = (result_type, data, exc_string, tx.clock(), worker_name, record[_EXECUTION_ID] or '')
    tx.set(key, results + (entry,) if len(results) < _MAX_RESULTS else results[1:] + (entry,))


def _release_dependents(tx, parent, parent_counts_as_met=False):
    """Enqueue the deferred children of ``parent`` whose every parent is now satisfied;
    return them (built with the parent's job class)."""
    key = ('dependents', parent._rec[_ID])
    released = []
    for child_id in tx.smembers(key):
        record = tx.job_get(child_id)
        if record is None or record[_STATUS] is not JobStatus.DEFERRED:
            tx.srem(key, child_id)
            continue
        child = type(parent)._from_record(record, parent._store, parent.connection)
        if not _dependencies_met(tx, child, parent.id if parent_counts_as_met else None):
            continue                        # stays: this parent may be requeued and finish later
        tx.srem(key, child_id)
        tx.zrem(('deferred', child.origin), child.id)
        _enqueue(tx, child, child.enqueue_at_front)
        released.append(child)
    return released


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
    _reload(tx, job, 'cancel')
    if job._status is JobStatus.CANCELED:
        raise InvalidJobOperation(f'cannot cancel job {job.id!r}: it is already canceled')
    _forget(tx, job)
    _set_status(job, JobStatus.CANCELED)
    _save(tx, job)
    tx.zadd(('canceled', job.origin), job.id, tx.now())
    tx.signal(job.id)
    if enqueue_dependents:
        return _release_dependents(tx, job, parent_counts_as_met=True)
    return []


def _requeue(tx, job, kinds, at_front=False):
    """Move ``job`` from one of the registries ``kinds`` back onto its queue."""
    _reload(tx, job, 'requeue')
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
    _forget(tx, job)                        # (its parents keep its id, as in RQ)
    if delete_dependents:
        for child_id in tx.smembers(('dependents', job.id)):
            child = tx.job_get(child_id)
            if child is not None:
                _delete(tx, type(job)._from_record(child, job._store), True)
    _drop(tx, job.id)


def _unreadable(tx, job_id, origin, exc):
    """Replace a record no one can read (say, it pickled a class of another program's
    __main__) by a failed job that says so, instead of letting it stop a worker."""
    tx.defer(_log.error, '%s: job %s cannot be read, and is failed: %s', origin, job_id, exc)
    record = _BLANK_RECORD[:]
    record[_ID], record[_STATUS], record[_ORIGIN] = job_id, JobStatus.FAILED, origin
    record[_CREATED_AT] = record[_ENDED_AT] = tx.now()
    record[_EXC_INFO] = f'{type(exc).__name__}: {exc}'
    tx.job_put(job_id, record)
    for kind in _REGISTRY_KINDS:
        tx.zrem((kind, origin), job_id)
    tx.zadd(('failed', origin), job_id, math.inf)


def _suspended(tx):
    until = tx.get(('suspended',))
    return until is not None and until > tx.now()


# -- what must happen at a time: one handler per kind of timer ------------------
# Each timer names a (key, member) pair and the time it was set for. A handler
# acts only if that entry still holds that time (an entry that moved or left
# since leaves a stale timer behind, which is skipped), and returns the job it
# put on a queue, if any.

def _timer_entry(tx, key, job_id, at):
    """The record of a timer's job if its registry entry still holds ``at``, else None."""
    if tx.zscore(key, job_id) != at:
        return None                         # stale: the entry moved or left since
    tx.zrem(key, job_id)
    try:
        return tx.job_get(job_id)
    except DeserializationError as exc:
        if key[0] in ('scheduled', 'started'):
            _unreadable(tx, job_id, key[1], exc)
        return None


def _on_expire(tx, key, job_id, at, job_class):
    """A record's ttl ran out: collect the job and what is kept for it."""
    try:
        if tx.job_get(job_id) is None:
            _drop(tx, job_id)
    except DeserializationError:
        pass


def _on_due(tx, key, job_id, at, job_class):
    """A scheduled job (or a retry, or a repeat) is due: enqueue it."""
    record = _timer_entry(tx, key, job_id, at)
    if record is not None and record[_STATUS] is JobStatus.SCHEDULED:
        job = job_class._from_record(record, tx)
        _enqueue(tx, job, job.enqueue_at_front)
        return job
    return None


def _on_heartbeat_missed(tx, key, job_id, at, job_class):
    """A started job whose worker stopped beating (its process died): retry it or fail it."""
    record = _timer_entry(tx, key, job_id, at)
    if record is None or record[_STATUS] is not _STARTED:
        return None
    job = job_class._from_record(record, tx)
    text = f'Moved to FailedJobRegistry, due to AbandonedJobError, at {_iso(at)}'
    tx.defer(_log.warning, '%s: job %s: %s', job.origin, job.id, text)
    job._rec[_ENDED_AT] = tx.now()
    _finish(tx, job, _Outcome(_FAILURE, exc_string=text), DEFAULT_RESULT_TTL, True)
    return None


def _on_kept(tx, key, job_id, at, job_class):
    """A registry entry's keep-until time came: drop the entry, and collect the job's
    record if it expired at the same time (see _keep_until)."""
    if tx.zscore(key, job_id) == at:
        tx.zrem(key, job_id)
    _on_expire(tx, key, job_id, at, job_class)


def _on_suspension_end(tx, key, member, at, job_class):
    """A suspension's ttl ran out: wake the workers."""
    tx.wake_workers()


_TIMERS = {
    'expire': _on_expire,
    'scheduled': _on_due,
    'started': _on_heartbeat_missed,
    'finished': _on_kept,
    'failed': _on_kept,
    'deferred': _on_kept,
    'canceled': _on_kept,
    'suspended': _on_suspension_end,
}


def _housekeep(tx, job_class=None):
    """Act on every timer that is due; return the jobs that were put on a queue."""
    due = tx.timers_due(tx.now())
    if not due:
        return ()
    promoted = []
    for key, member, at in due:
        job = _TIMERS[key[0]](tx, key, member, at, job_class or Job)
        if job is not None:
            promoted.append(job)
    return promoted


def _tick(store):
    """Housekeep now, and run the due jobs of is_async=False queues in this thread."""
    with store.transaction() as tx:
        promoted = _housekeep(tx)
    for job in promoted:
        if job._rec[_SYNC]:
            _run_inline(job)


# -- running a job where it was enqueued (Queue(is_async=False)) ----------------

def _run_inline(job):
    """Run a queued job now, in this thread, through the same steps a worker takes;
    then its released dependents of is_async=False queues, and retries due at once."""
    pending = [job]
    while pending:
        job = pending.pop(0)
        store = job._store
        with store.transaction() as tx:
            if not tx.queue_remove(job.origin, job.id):
                continue
            _start(tx, job._rec, 'sync')    # (its own record: it holds the very function)
            job._rec = job._rec[:]          # the store keeps the list it was given
        outcome = _run_callbacks(job, _Execution(job).run())
        report = _end_run(job, outcome)
        if job._status is _QUEUED:          # a retry with no interval runs again at once
            pending.append(job)
        pending += [child for child in report.released if child._rec[_SYNC]]

# ==== Queue ==================================================================

_ENQUEUE_OPTIONS = ('job_timeout', 'description', 'result_ttl', 'ttl', 'failure_ttl',
                    'depends_on', 'job_id', 'at_front', 'meta', 'retry', 'repeat', 'on_success',
                    'on_failure', 'on_stopped', 'webhooks', 'pipeline', 'unique', 'group_id')

EnqueueData = collections.namedtuple('EnqueueData', [
    'func', 'args', 'kwargs', 'timeout', 'result_ttl', 'ttl', 'failure_ttl', 'description',
    'depends_on', 'job_id', 'at_front', 'meta', 'retry', 'on_success', 'on_failure',
    'on_stopped', 'repeat'])


_NO_OPTIONS = (None,) * 14
_CALL_OPTIONS = dict(timeout=None, result_ttl=None, ttl=None, failure_ttl=None, description=None,
                     depends_on=None, job_id=None, at_front=False, meta=None, retry=None,
                     repeat=None, on_success=None, on_failure=None, on_stopped=None,
                     pipeline=None, unique=False, webhooks=None)


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
        self._keeps_immutables = self.serializer is DefaultSerializer     # see Job._capture
        self._template_record = _BLANK_RECORD[:]   # what every plain job of this queue starts as
        self._template_record[_SERIALIZER] = self.serializer
        self._template_record[_ORIGIN] = name
        self._template_record[_TIMEOUT] = self._default_timeout
        self._template_record[_SYNC] = not is_async

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

    @property
    def scheduler_pid(self):
        """The pid of the RQScheduler holding this queue's scheduler lock, or None."""
        return _scheduler_pid(self._store, self.name)

    # -- enqueueing ----------------------------------------------------------

    def enqueue(self, f, *args, **kwargs) -> Job:
        """Enqueue ``f(*args, **kwargs)`` and return the job.

        RQ's options (``job_timeout``, ``description``, ``result_ttl``, ``ttl``,
        ``failure_ttl``, ``depends_on``, ``job_id``, ``at_front``, ``meta``,
        ``retry``, ``repeat``, ``on_success``, ``on_failure``, ``on_stopped``,
        ``unique``) are taken out of ``kwargs``; so are ``args=`` and
        ``kwargs=`` (explicit mode). On this front door ``timeout=`` is the job
        timeout too; after ``install_as_rq()`` it goes to ``f``, as in RQ. As in
        RQ, it goes through ``enqueue_call`` and then ``enqueue_job`` /
        ``_enqueue_job``, so a subclass may override any of them.
        """
        if kwargs and not self._option_names.isdisjoint(kwargs):
            options = self._pop_options(kwargs)
            args, kwargs = self._explicit_args(args, kwargs)
            return self.enqueue_call(func=f, args=args, kwargs=kwargs, **dict(_CALL_OPTIONS,
                                                                             **options))
        # Every option by keyword, as RQ calls it: subclasses record and replay these.
        return self.enqueue_call(func=f, args=args, kwargs=kwargs, timeout=None, result_ttl=None,
                                 ttl=None, failure_ttl=None, description=None, depends_on=None,
                                 job_id=None, at_front=False, meta=None, retry=None, repeat=None,
                                 on_success=None, on_failure=None, on_stopped=None,
                                 pipeline=None, unique=False, webhooks=None)

    def enqueue_call(self, func, args=None, kwargs=None, timeout=None, result_ttl=None, ttl=None,
                     failure_ttl=None, description=None, depends_on=None, job_id=None,
                     at_front=False, meta=None, retry=None, repeat=None, on_success=None,
                     on_failure=None, on_stopped=None, pipeline=None, unique=False,
                     webhooks=None, group_id=None) -> Job:
        """Enqueue with every option spelled out (here the job timeout is ``timeout``)."""
        if ((timeout, result_ttl, ttl, failure_ttl, description, depends_on, job_id, meta, retry,
             repeat, on_success, on_failure, on_stopped, group_id) == _NO_OPTIONS
                and not at_front and not unique and type(args) is tuple
                and (kwargs is None or type(kwargs) is dict)):
            return self._enqueue_job(self._plain_job(func, args, kwargs))   # the common case
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
        job._rec[_SYNC] = not self._is_async
        return job

    def enqueue_job(self, job, pipeline=None, at_front=False, unique=False) -> Job:
        """Enqueue an existing Job object (deferred while it has unfinished parents); returns it."""
        self._adopt(job)
        if job._rec[_DEPENDENCY_IDS]:
            with self._store.transaction() as tx:
                if unique and tx.job_get(job.id) is not None:
                    raise DuplicateJobError(f'Job with ID {job.id!r} already exists')
                deferred = _defer_if_waiting(tx, job)
            if deferred:
                return job
        return self._enqueue_job(job, pipeline=pipeline, at_front=at_front, unique=unique)

    def _enqueue_job(self, job, pipeline=None, at_front=False, unique=False) -> Job:
        """Put a job on this queue without looking at its dependencies (RQ's ``_enqueue_job``);
        with ``is_async=False`` it then runs here and now."""
        if self._store.shared:
            self._store.portable(job)
        with self._store.transaction() as tx:
            if unique and tx.job_get(job.id) is not None:
                raise DuplicateJobError(f'Job with ID {job.id!r} already exists')
            _enqueue(tx, job, at_front)
        if not self._is_async:
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
        record[_ID], record[_FUNC], record[_CREATED_AT] = _new_id(), f, self._store.clock()
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
        job._flush_meta()
        job.origin = self.name
        job._store, job.connection = self._store, self.connection
        job._rec[_SYNC] = not self._is_async
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
        if self._store.shared:
            self._store.portable(job)
        with self._store.transaction() as tx:
            if unique and tx.job_get(job.id) is not None:
                raise DuplicateJobError(f'Job with ID {job.id!r} already exists')
            _schedule(tx, job, at)
        return job

    def _run_sync(self, job):
        """Run a job now, in this thread (is_async=False); then whatever became due meanwhile."""
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
        """Add ``job`` for ``ttl`` seconds (-1: for good); then it leaves this registry."""
        job_id = job.id if isinstance(job, Job) else job
        with self._store.transaction() as tx:
            if xx and tx.zscore(self._key, job_id) is None:
                return
            _zadd_until(tx, self._key, job_id, math.inf if ttl == -1 else tx.now() + (ttl or 0))

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
                _housekeep(tx, self.job_class)
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

    def get_job_and_execution_ids(self, start=0, end=-1, desc=False, cleanup=True) -> list:
        """``(job id, execution id)`` of each running job, as RQ's registry holds them."""
        ids = self.get_job_ids(start, end, desc, cleanup)
        with self._store.transaction() as tx:
            records = [tx.job_get(job_id) for job_id in ids]
        return [(r[_ID], r[_EXECUTION_ID]) for r in records
                if r is not None and r[_STATUS] is _STARTED and r[_EXECUTION_ID]]

    def get_executions(self):
        return [Execution(execution_id, job_id, self.connection)
                for job_id, execution_id in self.get_job_and_execution_ids()]


class Execution:
    """One run of a job (``rq.executions.Execution``): its id, job, worker and times."""

    def __init__(self, id, job_id, connection=None, worker_name=''):
        self.id = id
        self.job_id = job_id
        self.connection = connection
        self.worker_name = worker_name
        self.created_at = self.last_heartbeat = None
        self._job = None

    def __eq__(self, other):
        return isinstance(other, Execution) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f'Execution({self.id!r}, job_id={self.job_id!r})'

    @property
    def key(self):
        return f'rq:execution:{self.composite_key}'

    @property
    def composite_key(self):
        return f'{self.job_id}:{self.id}'

    @property
    def job(self):
        if self._job is None:
            self._job = Job.fetch(self.job_id, connection=self.connection)
        return self._job

    @classmethod
    def fetch(cls, id, job_id, connection=None):
        """The run ``id`` of job ``job_id`` while it goes on; ValueError otherwise (as RQ)."""
        execution = cls(id, job_id, connection)
        execution.refresh()
        return execution

    @classmethod
    def from_composite_key(cls, composite_key, connection=None):
        job_id, _, execution_id = composite_key.partition(':')
        return cls(execution_id, job_id, connection)

    @classmethod
    def _of(cls, record, connection):
        execution = cls(record[_EXECUTION_ID], record[_ID], connection, record[_WORKER_NAME] or '')
        execution.created_at = execution.last_heartbeat = _to_datetime(record[_STARTED_AT])
        return execution

    def refresh(self):
        store = _resolve_store(self.connection)
        with store.transaction() as tx:
            record = tx.job_get(self.job_id)
            deadline = tx.zscore(('started', record[_ORIGIN]), self.job_id) if record else None
        if record is None or record[_STATUS] is not _STARTED or record[_EXECUTION_ID] != self.id:
            raise ValueError(f'Execution {self.id} not found')
        self.worker_name = record[_WORKER_NAME] or ''
        self.created_at = self.last_heartbeat = _to_datetime(record[_STARTED_AT])
        if deadline is not None and deadline != math.inf:
            beat = _to_datetime(deadline - 3 * 30)      # the deadline is 3 heartbeats ahead
            self.last_heartbeat = max(beat, self.created_at)

    def serialize(self) -> dict:
        return {'id': self.id, 'worker_name': self.worker_name,
                'created_at': self.created_at.timestamp() if self.created_at else None,
                'last_heartbeat': self.last_heartbeat.timestamp() if self.last_heartbeat else None}


class ExecutionRegistry:
    """The runs of one job going on now (``rq.executions.ExecutionRegistry``)."""

    key_template = 'rq:executions:{0}'

    def __init__(self, job_id, connection=None):
        self.job_id = job_id
        self.connection = connection
        self.key = self.key_template.format(job_id)

    def cleanup(self, timestamp=None):
        """Runs leave on their own when they end."""

    def get_execution_ids(self, start=0, end=-1) -> list:
        ids = [execution.id for execution in self.get_executions()]
        return ids[start:] if end == -1 else ids[start:end + 1]

    def get_executions(self, start=0, end=-1) -> list:
        try:
            executions = Job.fetch(self.job_id, connection=self.connection).get_executions()
        except NoSuchJobError:
            return []
        return executions[start:] if end == -1 else executions[start:end + 1]


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

class Worker:
    """Runs jobs from one or more queues, in priority order, in this process.

    ``Worker(queues, name=None, connection=None, ...)``: ``queues`` is a Queue, a
    queue name, or a list of them (strict priority: each job comes from the first
    non-empty queue in the list). ``work(burst=False)`` runs jobs in the calling
    thread, as RQ's ``SimpleWorker`` does, and returns whether it ran any;
    ``start()`` runs the same loop in a background thread; ``stop()`` stops it
    gracefully. A job past its timeout is failed on time; a started worker goes
    on at once in a fresh thread, while ``work()`` goes on when the timed-out
    code returns or is interrupted. Jobs go through RQ's hooks (``execute_job``,
    ``perform_job``, ``prepare_job_execution``, ``handle_job_success``,
    ``handle_job_failure``, ``handle_exception``), which subclasses may extend.
    """

    queue_class = Queue
    job_class = Job
    log = _log
    _timeout_exception = JobTimeoutException

    def __init__(self, queues, name=None, default_result_ttl=DEFAULT_RESULT_TTL, connection=None,
                 exception_handlers=None, default_worker_ttl=None, worker_ttl=None,
                 job_class=None, queue_class=None, log_job_description=True,
                 job_monitoring_interval=30, disable_default_exception_handler=False,
                 prepare_for_work=True, serializer=None, work_horse_killed_handler=None,
                 **kwargs):
        if job_class is not None:
            self.job_class = _import_attribute(job_class) if isinstance(job_class, str) else job_class
        if queue_class is not None:
            self.queue_class = (_import_attribute(queue_class) if isinstance(queue_class, str)
                                else queue_class)
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
        self.serializer = resolve_serializer(serializer)
        self.queues = [q if isinstance(q, Queue) else self.queue_class(
            q, connection=self.connection, job_class=self.job_class, serializer=serializer)
            for q in items]
        self.name = name or _new_id().replace('-', '')
        self.default_result_ttl = default_result_ttl
        self.disable_default_exception_handler = disable_default_exception_handler
        self.log_job_description = log_job_description
        if exception_handlers is None:
            self._exc_handlers = []
        elif isinstance(exception_handlers, (list, tuple)):
            self._exc_handlers = list(exception_handlers)
        else:
            self._exc_handlers = [exception_handlers]
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.python_version = sys.version
        self.successful_job_count = 0       # counted by this worker from each run's _Report
        self.failed_job_count = 0
        self.total_working_time = 0.0
        self._state = WorkerStatus.STARTING
        self.birth_date = None
        self._heartbeat = None              # epoch seconds of the last heartbeat or job end
        self._order = list(self.queues)     # dequeue order; rotated or shuffled by strategy
        self._strategy = DequeueStrategy.DEFAULT
        self._burst = False
        self._max_jobs = None
        self._max_idle_time = None
        self._jobs_run = 0
        self._did_work = False
        self._in_caller = False             # work() runs the loop in the caller's thread
        self._interrupt = None              # a KeyboardInterrupt a job got, re-raised by work()
        self._stopping = False              # set by stop(); read by the dequeue wait predicate
        self._loop_done = threading.Event()  # set when the work loop (in whatever thread) ends
        self._loop_done.set()
        self._thread = None
        self._watch = threading.Condition()  # the watchdog's own lock and wake-up
        self._watch_until = math.inf         # when the watchdog plans to wake up
        self._watch_closed = False
        self._watchdog = None
        self._execution = None              # the _Execution of the job in hand
        self._outcomes = {}                 # job id -> the outcome its hooks are recording
        self.scheduler = None               # RQ's RQScheduler, with work(with_scheduler=True)
        self._registries = {}               # queue name -> its StartedJobRegistry, for the hooks
        self._log_info = False              # whether INFO is logged, checked once per job
        self._crash = None                  # the unexpected error that ended the loop, if any
        # On a store shared with other processes, a worker proves it is alive
        # with a heartbeat every job_monitoring_interval seconds; a job whose
        # worker missed three is abandoned (RQ's AbandonedJobError).
        self._monitoring_interval = job_monitoring_interval
        self._heartbeat_ttl = 3 * job_monitoring_interval if self._store.shared else None

    def __repr__(self):
        return f'{type(self).__name__}({self.name!r})'

    def __eq__(self, other):
        return isinstance(other, (Worker, _WorkerView)) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    @classmethod
    def all(cls, connection=None, job_class=None, queue_class=None, queue=None, serializer=None):
        """The workers currently working on the store (optionally: on ``queue``).

        Workers of this process are the Worker objects themselves; those of other
        processes sharing the store are read-only views of their records.
        """
        store = _resolve_store(connection if queue is None else queue.connection)
        with store.transaction() as tx:
            now = tx.now()
            records = [tx.get(('worker', name)) for name in tx.smembers(('workers',))]
        workers = []
        for record in records:
            if record is None or record['expires'] < now:
                continue                    # gone, or its process died (no heartbeat)
            live = store._live_workers.get(record['name'])
            workers.append(live if live is not None else _WorkerView(record, store, cls))
        if queue is not None:
            workers = [w for w in workers if queue.name in w.queue_names()]
        return workers

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
             max_jobs=None, max_idle_time=None, with_scheduler=False,
             dequeue_strategy=DequeueStrategy.DEFAULT) -> bool:
        """Run jobs in this thread until stopped (with ``burst``, until the queues are empty).

        ``max_jobs`` stops after that many jobs, ``max_idle_time`` after that many
        idle seconds. ``dequeue_strategy`` is ``'default'`` (strict priority),
        ``'round_robin'`` or ``'random'``. Every worker also enqueues due
        scheduled jobs; ``with_scheduler=True`` also gives it RQ's ``RQScheduler``
        (``worker.scheduler``: the queues' scheduler locks and heartbeats). Returns
        whether any job ran (failed ones included). Jobs run in this very thread,
        so they see its database connection, application context and
        thread-locals. A KeyboardInterrupt inside a job fails that job, stops the
        worker and is raised again here.
        """
        if self._thread is not None and not self._loop_done.is_set():
            raise RuntimeError(f'worker {self.name!r} is already running')
        self._prepare(burst, max_jobs, max_idle_time, dequeue_strategy, with_scheduler)
        self._in_caller = True
        try:
            with _StopOnSignals([self]):
                self._drive()
        finally:
            self._in_caller = False
        interrupt, self._interrupt = self._interrupt, None
        if interrupt is not None:
            raise interrupt
        return self._did_work

    def start(self, burst=False, **work_kwargs):
        """Run ``work(burst, ...)`` in a background thread and return at once."""
        if self._thread is not None and not self._loop_done.is_set():
            raise RuntimeError(f'worker {self.name!r} is already running')
        self._prepare(burst, work_kwargs.get('max_jobs'), work_kwargs.get('max_idle_time'),
                      work_kwargs.get('dequeue_strategy', DequeueStrategy.DEFAULT),
                      work_kwargs.get('with_scheduler', False))
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
        execution = self._execution
        return execution.job if execution is not None and execution.state is _RUNNING else None

    def get_current_job_id(self):
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

    # -- RQ's hooks: what running one job goes through -----------------------------

    def execute_job(self, job, queue):
        """Run one dequeued job (RQ: in a forked horse; here, as SimpleWorker, in this thread)."""
        return self.perform_job(job, queue)

    def perform_job(self, job, queue) -> bool:
        """Prepare, run the job, then hand its outcome to the success or failure hooks."""
        execution = self._execution
        self.prepare_job_execution(job)
        outcome = execution.run()
        if not execution.claim():
            return False                    # timed out or stopped: recorded by whoever took over
        if isinstance(outcome.exc_info[1], KeyboardInterrupt):
            self._interrupt = outcome.exc_info[1]
            self.request_stop()
        return self._conclude(job, queue, outcome)

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        """Bookkeeping before the job runs (it is already started, atomically with its dequeue)."""
        self._state = _BUSY

    def prepare_execution(self, job):
        """Start ``job`` by this worker without running it (RQ's main-process step); return
        its ``Execution``. A job already started by this worker keeps its run."""
        with self._store.transaction() as tx:
            _reload(tx, job)
            if job._status is not _STARTED or job.worker_name != self.name:
                tx.queue_remove(job.origin, job.id)
                record = tx.job_get(job.id)
                _start(tx, record, self.name, self._heartbeat_ttl)
                job._load(record)
        return Execution._of(job._rec, self.connection)

    def handle_job_success(self, job, queue, started_job_registry=None):
        """Record the job's success (or its repeat, or the Retry it returned)."""
        self._account(_end_run(job, self._outcome_of(job), self.default_result_ttl))

    def handle_job_failure(self, job, queue=None, started_job_registry=None, exc_string=''):
        """Record the job's failure: retried if it has retries left, else failed."""
        outcome = self._outcome_of(job)
        if exc_string:
            outcome.exc_string = exc_string
        self._account(_end_run(job, outcome, self.default_result_ttl,
                               not self.disable_default_exception_handler))

    def handle_exception(self, job, *exc_info):
        """Log the failure with its traceback, then run the exception handlers in order."""
        exc_string = ''.join(traceback.format_exception(*exc_info)) if exc_info[0] else (
            self._outcome_of(job).exc_string or '')
        self.log.error('Worker %s: job %s: exception raised while executing (%s)\n%s',
                       self.name, job.id, job.func_name, exc_string,
                       extra={'queue': job.origin, 'job_id': job.id})
        for handler in list(self._exc_handlers):
            fall_through = _call_quietly(f'exception handler {handler!r}', handler, job, *exc_info)
            if fall_through is False:
                break

    # -- the loop --------------------------------------------------------------

    def _prepare(self, burst, max_jobs, max_idle_time, dequeue_strategy, with_scheduler=False):
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
        self._state = WorkerStatus.STARTED  # (what the record written at birth says)
        self.register_birth()
        self._strategy, self._burst = strategy, burst
        self._max_jobs, self._max_idle_time = max_jobs, max_idle_time
        self._jobs_run, self._did_work = 0, False
        with self._watch:
            self._watch_closed = False
        self._loop_done.clear()
        if isinstance(self._store.clock, ManualClock):
            self._store.clock._beaters.add(self)
        if self._heartbeat_ttl is not None:
            threading.Thread(target=self._heartbeat_loop, daemon=True,
                             name=f'rq-heartbeat-{self.name}').start()
        self.log.info('Worker %s: started with PID %d, version %s', self.name, self.pid,
                      __version__)
        self.log.info('*** Listening on %s...', ', '.join(self.queue_names()))
        if with_scheduler:
            self._start_scheduler(burst)

    def _start_scheduler(self, burst):
        """RQ's scheduler for this worker's queues (the Cron section's RQScheduler, named here
        only at run time): in burst mode it enqueues what is due once; else it runs beside."""
        scheduler = self.scheduler = RQScheduler(self.queues, connection=self.connection,
                                                 serializer=self.serializer)
        if not scheduler.acquire_locks():
            return
        if burst:
            scheduler.register_birth()
            scheduler.enqueue_scheduled_jobs()
            scheduler.release_locks()
            scheduler.register_death()
        else:
            scheduler.start()

    def _drive(self):
        """Run the loop in this thread; the thread that ends it normally retires the worker."""
        try:
            ended = self._loop()
        except _INTERRUPTS:                 # a replaced thread's interrupt, arriving late
            return
        except Exception as exc:            # an emulator bug or a broken store: never hang
            self.log.exception('Worker %s: stopped by an unexpected error', self.name)
            self._crash = exc
            ended = True
        if ended:
            self._retire()

    def _retire(self):
        self._state = WorkerStatus.STOPPED if self._stopping else WorkerStatus.IDLE
        scheduler = self.scheduler
        if scheduler is not None and scheduler._process is not None:
            scheduler.request_stop()        # its loop releases the locks as it ends
            scheduler._process.join(5)
        self.register_death()
        with self._watch:
            self._watch_closed = True
            self._watch.notify()
        if self._stopping:
            self.log.info('Worker %s: stopping on request', self.name)
        else:
            self.log.info('Worker %s: done, quitting', self.name)
        self._loop_done.set()

    def _loop(self):
        """Run jobs until told to stop; False when a watchdog took this thread's place."""
        while self._max_jobs is None or self._jobs_run < self._max_jobs:
            taken = self._dequeue()
            if taken is None:
                return True
            self._did_work = True
            self._jobs_run += 1
            if not self._run(*taken) and not self._in_caller:
                return False
        return True

    def _run(self, job, queue):
        """Run a started job through execute_job; False if it was taken over meanwhile."""
        timeout = job._rec[_TIMEOUT]
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        execution = _Execution(job, queue, deadline)
        self._execution = execution
        # Wake the watchdog only if it plans to sleep past this deadline. It
        # publishes _watch_until before it reads _execution, and this thread
        # writes _execution before it reads _watch_until: one sees the other.
        if deadline is not None and deadline < self._watch_until:
            with self._watch:
                self._ensure_watchdog()
                self._watch.notify()
        self._log_info = self.log.isEnabledFor(logging.INFO)
        if self._log_info:
            if self.log_job_description:
                self.log.info('Worker %s: %s: %s (%s)', self.name, queue.name, job.description,
                              job.id)
            else:
                self.log.info('Worker %s: %s: %s', self.name, queue.name, job.id)
        try:
            self.execute_job(job, queue)
        except _INTERRUPTS:                 # the interrupt of a take-over, just as the job returned
            if execution.state is not _TAKEN_OVER:
                raise
        if execution.state is not _TAKEN_OVER:
            return True
        if self._in_caller:                 # work() goes on once the take-over is recorded
            while not execution.concluded.wait(_SIGNAL_SLICE):
                pass                        # (in slices: see _slice)
        return False

    def _conclude(self, job, queue, outcome):
        """What follows a run (in the runner's thread, or a take-over's): callbacks, then
        RQ's hooks. Returns whether the job succeeded."""
        job_id = job._rec[_ID]
        self._outcomes[job_id] = outcome = _run_callbacks(job, outcome)
        try:
            if outcome.kind is _SUCCESS:
                self.handle_job_success(job, queue, self._started_registry(queue))
                self._log_success(job, queue)
                return True
            if outcome.kind is _FAILURE:
                self.handle_exception(job, *outcome.exc_info)
                self.handle_job_failure(job, queue, self._started_registry(queue),
                                        outcome.exc_string)
            else:
                self._account(_end_run(job, outcome, self.default_result_ttl))
            return False
        finally:
            self._outcomes.pop(job_id, None)

    def _outcome_of(self, job):
        outcome = self._outcomes.get(job._rec[_ID])
        return outcome if outcome is not None else _Outcome(_SUCCESS, job._result)

    def _started_registry(self, queue):
        registry = self._registries.get(queue.name)
        if registry is None:
            registry = self._registries[queue.name] = queue.started_job_registry
        return registry

    def _log_success(self, job, queue):
        if not self._log_info:
            return
        self.log.info('Worker %s: %s: %s (%s)', self.name, job.origin, 'Job OK', job.id)
        ttl = job.get_result_ttl(self.default_result_ttl)
        if ttl == 0:
            self.log.info('Worker %s: job %s result discarded immediately', self.name, job.id)
        elif ttl > 0:
            self.log.info('Worker %s: job %s result is kept for %s seconds', self.name, job.id, ttl)
        else:
            self.log.info('Worker %s: job %s result will never expire, clean up result key '
                          'manually', self.name, job.id)

    def _account(self, report):
        """This worker's own counters, from what the end of a run reported."""
        if not report.applied:
            return
        if report.succeeded:
            self.successful_job_count += 1
        else:
            self.failed_job_count += 1
        self.total_working_time += report.working_time
        self._heartbeat = self._store.now()

    # -- taking the next job -----------------------------------------------------

    def _dequeue(self):
        """The next (job, queue), started inside one transaction; None when the loop should end."""
        idle_since = time.monotonic()
        with self._store.transaction() as tx:
            while not self._stopping:
                _housekeep(tx, self.job_class)
                if _suspended(tx):
                    if not self._wait_suspended(tx, idle_since):
                        return None
                    continue
                taken = self._pop(tx)
                if taken is not None:
                    return taken
                if self._burst or not self._wait_idle(tx, idle_since):
                    return None
        return None

    def _pop(self, tx):
        for queue in self._order:
            job_id = tx.queue_pop(queue.name)
            while job_id is not None:
                record = self._read(tx, queue, job_id)
                if record is not None and record[_STATUS] is _QUEUED:
                    return self._take(tx, queue, record), queue
                job_id = tx.queue_pop(queue.name)   # expired (ttl) or a stale duplicate id
        return None

    def _wait_suspended(self, tx, idle_since):
        """Wait while the workers are suspended; False when this worker should end instead."""
        timeout = self._wait_timeout(tx, idle_since)
        if self._burst or (timeout is not None and timeout <= 0):
            if self._burst:
                self.log.info('Worker %s: suspended in burst mode, exiting', self.name)
            return False                    # RQ: a suspended burst worker exits
        self._state = WorkerStatus.SUSPENDED
        tx.wait_for_work(lambda: self._stopping or not _suspended(tx), self._slice(timeout))
        return True

    def _wait_idle(self, tx, idle_since):
        """Wait for a job or a due timer; False when idle time ran out."""
        if self._state is not WorkerStatus.IDLE:
            self._state = WorkerStatus.IDLE
            if self._heartbeat_ttl is not None:     # others read it from the store
                tx.set(('worker', self.name), self._record())
        timeout = self._wait_timeout(tx, idle_since)
        if timeout is not None and timeout <= 0:
            return False
        names = [queue.name for queue in self._order]
        due = tx.timer_next()
        tx.wait_for_work(lambda: (self._stopping or any(map(tx.queue_len, names))
                                  or tx.timer_next() != due), self._slice(timeout))
        return True

    def _slice(self, timeout):
        """work() in the main thread waits in slices: a signal the kernel gave another thread
        runs its Python handler only when the main thread wakes, and an untimed wait never
        does. (The loop then just checks its queues again.)"""
        if not self._in_caller or threading.current_thread() is not threading.main_thread():
            return timeout
        return _SIGNAL_SLICE if timeout is None else min(timeout, _SIGNAL_SLICE)

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
        _start(tx, record, self.name, self._heartbeat_ttl)
        job = queue.job_class._from_record(record, self._store, self.connection)
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

    # -- timeouts, stop commands and heartbeats -------------------------------------

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
                    self._take_over(execution, _Outcome.failure(self._timeout_exception(
                        f'Task exceeded maximum timeout value ({seconds} seconds)')),
                        self._timeout_exception)
                finally:
                    self._watch.acquire()
            self._watchdog = None
            self._watch_until = math.inf

    def _take_over(self, execution, outcome, exc_type):
        """Record ``outcome`` for a job still running (timed out, or stopped) in a thread of
        its own; a started worker goes on in that thread, work() when its job returns."""
        if not execution.take_over(self._store, exc_type):
            return False
        job = execution.job
        self.log.warning('Worker %s: job %s: %s', self.name, job.id,
                         outcome.exc_string.strip().splitlines()[-1])
        thread = threading.Thread(target=self._resume, args=(execution, outcome), daemon=True,
                                  name=f'rq-worker-{self.name}')
        thread.start()
        return True

    def _resume(self, execution, outcome):
        try:
            self._conclude(execution.job, execution.queue, outcome)
        finally:
            execution.concluded.set()
        if not self._in_caller:
            self._drive()

    def _stop_job(self, job_id):
        """Stop the job ``job_id`` if this worker runs it (a stop-job command); whether it did."""
        execution = self._execution
        if execution is None or execution.job.id != job_id:
            return False
        outcome = _Outcome(_STOPPED, exc_string=f'Job {job_id} was stopped by a stop-job command')
        return self._take_over(execution, outcome, StopRequested)

    def _shutdown(self):
        """A shutdown command: stop after the job in hand."""
        self.request_stop()

    def _clock_moved(self):
        """A ManualClock moved: beat first, so the store's sweep finds this worker alive."""
        if self._heartbeat_ttl is not None and not self._loop_done.is_set():
            with self._store.transaction() as tx:
                self._beat(tx)

    def _beat(self, tx):
        """Renew this worker's heartbeat and its running job's; return that execution."""
        self._heartbeat = now = tx.now()
        execution = self._execution
        if execution is not None and execution.state is not _TAKEN_OVER:
            job = execution.job                 # running, or in its callbacks: still ours until
            key = ('started', job.origin)       # _finish takes it out of the started registry
            stored = tx.job_get(job.id) if tx.zscore(key, job.id) is not None else None
            if stored is not None and stored[_WORKER_NAME] == self.name \
                    and stored[_STARTED_AT] == job._rec[_STARTED_AT]:
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
                elif execution is not None and command == f'stop-job {execution.job.id}':
                    self._stop_job(execution.job.id)

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

    # RQ compatibility aliases
    def request_force_stop(self, signum=None, frame=None):
        self.request_stop()

    @property
    def current_job_working_time(self):
        job = self.get_current_job()
        return 0 if job is None or job._started is None else self._store.now() - job._started


_SIGNAL_SLICE = 0.25     # seconds: how long the main thread may wait without a wake-up


class _StopOnSignals:
    """Ctrl-C (SIGINT) and SIGTERM while workers run in the main thread, as in RQ: the
    first stops them after the job in hand (a warm shut down), the second raises
    KeyboardInterrupt at once (a cold one). Handlers someone else installed stay."""

    replace_any = False     # True: replace whatever handlers were installed

    def __init__(self, workers):
        self.workers = workers
        self.received = 0
        self.saved = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for name in ('SIGINT', 'SIGTERM'):
                number = getattr(signal, name, None)
                if number is not None and (self.replace_any or signal.getsignal(number) in (
                        signal.default_int_handler, signal.SIG_DFL)):
                    self.saved[number] = signal.signal(number, self.handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self.saved.items():
            signal.signal(number, handler)

    def handle(self, signum, frame):
        self.received += 1
        if self.received > 1:
            for worker in self.workers:
                worker.log.warning('Worker %s: cold shut down', worker.name)
            self.cold()
        # request_stop opens a transaction: not in here, where this thread may hold one.
        threading.Thread(target=self.stop_workers, args=(signal.Signals(signum).name,),
                         name='rq-stop-on-signal', daemon=True).start()

    def cold(self):
        raise KeyboardInterrupt

    def stop_workers(self, signal_name):
        for worker in self.workers:
            worker.log.debug('Worker %s: got signal %s', worker.name, signal_name)
            worker.request_stop()
            worker.log.info('Worker %s [PID %d]: warm shut down requested', worker.name,
                            worker.pid)
            if worker.get_state() == WorkerStatus.BUSY:
                worker.log.debug('Worker %s: stopping after the job in hand. Signal again for '
                                 'a cold shutdown.', worker.name)


class _WorkerView:
    """A worker of another process, read-only, as its record in the shared store shows it."""

    def __init__(self, record, store, worker_class=Worker):
        self._store = self.connection = store
        self._job_class = worker_class.job_class
        self.name = record['name']
        self.queues = [worker_class.queue_class(name, connection=store) for name in record['queues']]
        self.pid, self.hostname = record['pid'], record['hostname']
        self.successful_job_count = record['successful']
        self.failed_job_count = record['failed']
        self.total_working_time = record['working_time']
        self._state = record['state']
        self.birth_date = _to_datetime(record['birth'])
        self.last_heartbeat = _to_datetime(record['heartbeat'])
        self._job_id = record['job_id']

    def __repr__(self):
        return f'Worker({self.name!r}, pid={self.pid}, host={self.hostname!r})'

    def __eq__(self, other):
        return isinstance(other, (Worker, _WorkerView)) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    @property
    def key(self):
        return f'rq:worker:{self.name}'

    def queue_names(self):
        return [q.name for q in self.queues]

    def get_state(self):
        return self._state

    state = property(get_state)

    def get_current_job_id(self):
        return self._job_id

    def get_current_job(self):
        if self._job_id is None:
            return None
        return self._job_class.fetch_many([self._job_id], self._store)[0]

    def refresh(self):
        """A view is read when Worker.all() runs; call it again for newer figures."""

    def _stop_job(self, job_id):
        if self._job_id != job_id:
            return False
        self._command(f'stop-job {job_id}')     # acted on at its next heartbeat
        return True

    def _shutdown(self):
        self._command('shutdown')

    def _command(self, command):
        with self._store.transaction() as tx:
            key = ('worker-commands', self.name)
            tx.set(key, tx.get(key, ()) + (command,))


class SimpleWorker(Worker):
    """RQ's in-process worker: every worker here runs jobs in this process, so the same."""


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
            while not worker._loop_done.wait(_SIGNAL_SLICE):
                pass                            # (in slices: see Worker._slice)

    def stop(self, timeout=None):
        return all([worker.stop(timeout) for worker in self.workers])


# ==== Cron ===================================================================
# RQ's cron (rq.cron, rq.cron_job_registry, rq.cron_scheduler_registry) and the
# scheduler object of rq.scheduler. Cron expressions are read here, in UTC (RQ
# hands croniter an aware UTC "now", so its schedules are UTC too). Every time
# comes from the store's clock: with a ManualClock, advance() enqueues the runs
# that became due, in the advancing thread, before it returns.

_UTC = datetime.timezone.utc
_CRON_USAGE = ("expected five fields 'minute hour day-of-month month day-of-week' (e.g. "
               "'30 10 * * 2'), each '*', a number, a range 'a-b', a step '*/n' or 'a-b/n', or a "
               "comma-separated list of them; months and days of the week may be names (jan, mon), "
               "Sunday is 0 or 7; or one of @yearly, @monthly, @weekly, @daily, @hourly")
_CRON_ALIASES = {'@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
                 '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *',
                 '@hourly': '0 * * * *'}
_MONTH_NAMES = {name: number for number, name in enumerate(
    ('jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'), 1)}
_DAY_NAMES = {name: number for number, name in enumerate(
    ('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'))}
# name, lowest value, highest value, highest value of '*', names
_CRON_FIELDS = (('minute', 0, 59, 59, {}), ('hour', 0, 23, 23, {}),
                ('day of month', 1, 31, 31, {}), ('month', 1, 12, 12, _MONTH_NAMES),
                ('day of week', 0, 7, 6, _DAY_NAMES))
_MAX_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_CRON_SCHEDULER_TTL = 120               # RQ's DEFAULT_CRON_SCHEDULER_TTL
_CRON_HISTORY_LIMIT = 1000              # RQ's DEFAULT_CRON_JOB_HISTORY_LIMIT
_CRON_HISTORY_TTL = 365 * 24 * 3600     # RQ's DEFAULT_CRON_JOB_HISTORY_TTL
_CRON_BEAT = 60                         # a running scheduler beats at least this often (RQ: 60 s)
_NOT_JSON = '<not JSON serializable>'


class _CronExpression:
    """A parsed five-field cron expression; ``next_after(epoch)`` is the next match, in UTC.

    Day of month and day of week follow cron (and croniter): when both are
    restricted a day matches either; when one is '*', the other decides. A
    day field that lists every value also counts as '*', unless the other day
    field is written without a '*'.
    """

    def __init__(self, text):
        if not isinstance(text, str):
            raise TypeError(f'cron expression {text!r}: expected a string; {_CRON_USAGE}')
        self.text = text
        fields = _CRON_ALIASES.get(text.strip().lower(), text).split()
        if len(fields) != 5:
            raise ValueError(f'cron expression {text!r} has {len(fields)} fields; {_CRON_USAGE}')
        minutes, hours, days, months, weekdays = [
            self._field(fields[i], i) for i in range(5)]
        weekdays = {day % 7 for day in weekdays}
        self._minutes, self._hours, self._months = sorted(minutes), sorted(hours), sorted(months)
        any_day = fields[2] in ('*', '?') or (len(days) == 31 and '*' in fields[4])
        any_weekday = fields[4] in ('*', '?') or (len(weekdays) == 7 and '*' in fields[2])
        self._days = None if any_day else frozenset(days)
        self._weekdays = None if any_weekday else frozenset(weekdays)
        if self._weekdays is None and self._days is not None and not any(
                day <= _MAX_MONTH_DAYS[month - 1] for day in self._days for month in months):
            raise ValueError(f'cron expression {text!r} never matches: no month of '
                             f'{sorted(months)} has day {min(self._days)}')

    def __repr__(self):
        return f'_CronExpression({self.text!r})'

    def _field(self, text, position):
        name, low, high, star_high, names = _CRON_FIELDS[position]
        values = set()
        for part in text.split(','):
            span, slash, step_text = part.partition('/')
            step = self._number(step_text, 'step', 1, 10 ** 6, {}) if slash else 1
            if span in ('*', '?') and (span == '*' or position in (2, 4)):
                first, last = low, star_high
            elif '-' in span:
                first_text, _, last_text = span.partition('-')
                first = self._number(first_text, name, low, high, names)
                last = self._number(last_text, name, low, high, names)
                if first == last:               # croniter reads '5-5' as the whole field
                    first, last = low, star_high
            else:
                first = self._number(span, name, low, high, names)
                last = high if slash else first
            if first <= last:
                run = list(range(first, last + 1))
            else:                               # a range that wraps: '22-2' is 22, 23, 0, 1, 2
                run = list(range(first, high + 1)) + list(range(low, last + 1))
            values.update(run[::step])
        return values

    def _number(self, token, what, low, high, names):
        value = names.get(token.lower()) if names else None
        if value is None:
            if not token.isdigit():
                raise ValueError(f'cron expression {self.text!r}: {what} {token!r} is not a '
                                 f'number{" or a name" if names else ""}; {_CRON_USAGE}')
            value = int(token)
        if not low <= value <= high:
            raise ValueError(f'cron expression {self.text!r}: {what} {token!r} is out of range '
                             f'{low}-{high}; {_CRON_USAGE}')
        return value

    def _day_matches(self, weekday, day):
        days, weekdays = self._days, self._weekdays
        if days is None:
            return weekdays is None or weekday in weekdays
        if weekdays is None:
            return day in days
        return day in days or weekday in weekdays

    def _first_day(self, year, month, day):
        """The first matching day >= ``day`` of the month, or None."""
        last = calendar.monthrange(year, month)[1]
        if self._days is None and self._weekdays is None:
            return day if day <= last else None
        weekday = (datetime.date(year, month, min(day, last)).weekday() + 1) % 7  # Sunday 0
        for candidate in range(day, last + 1):
            if self._day_matches(weekday, candidate):
                return candidate
            weekday = (weekday + 1) % 7
        return None

    def next_after(self, epoch) -> float:
        """The first matching minute strictly after ``epoch`` (epoch seconds, UTC)."""
        start = datetime.datetime.fromtimestamp((math.floor(epoch / 60) + 1) * 60, _UTC)
        year, month, day = start.year, start.month, start.day
        hour, minute = start.hour, start.minute
        months, hours, minutes = self._months, self._hours, self._minutes
        while year <= 9999:          # each turn moves on by a month, a day or an hour at least
            index = bisect.bisect_left(months, month)
            if index == len(months):
                year, month, day, hour, minute = year + 1, months[0], 1, 0, 0
            elif months[index] != month:
                month, day, hour, minute = months[index], 1, 0, 0
            found = self._first_day(year, month, day)
            if found is None:
                month, day, hour, minute = month + 1, 1, 0, 0
                if month > 12:
                    year, month = year + 1, 1
                continue
            if found != day:
                day, hour, minute = found, 0, 0
            index = bisect.bisect_left(hours, hour)
            if index == len(hours):
                day, hour, minute = day + 1, 0, 0
                continue
            if hours[index] != hour:
                hour, minute = hours[index], 0
            index = bisect.bisect_left(minutes, minute)
            if index == len(minutes):
                hour, minute = hour + 1, 0
                continue
            found = datetime.datetime(year, month, day, hour, minutes[index], tzinfo=_UTC)
            return found.timestamp()
        raise ValueError(f'cron expression {self.text!r}: no matching time before the year 10000')


# -- cron job history and the two cron registries (rq.cron_job_registry, ...) --------

_CRON_JOBS_KEY = ('cron-jobs',)                  # sorted set: cron job name -> last enqueue
_CRON_SCHEDULERS_KEY = ('cron-schedulers',)      # sorted set: scheduler name -> last heartbeat


def _cron_history_key(name):
    return ('cron-job-jobs', name)                # sorted set: job id -> enqueued at


def _get_cron_job_history_key(name):
    return f'rq:cron_job:{name}:jobs'


def _get_cron_job_ids(name, connection=None, start=0, end=-1):
    """Ids of the jobs the named cron job enqueued, newest first (``start``/``end`` as zrange)."""
    store = _resolve_store(connection)
    with store.transaction() as tx:
        ids = tx.zmembers(_cron_history_key(name), desc=True)
    end = len(ids) + end if end < 0 else end
    return ids[start:end + 1]


def _cron_jobs_registry_key():
    return 'rq:cron_jobs'


def _cron_jobs_add(name, connection=None, enqueue_timestamp=None):
    with _resolve_store(connection).transaction() as tx:
        tx.zadd(_CRON_JOBS_KEY, name, enqueue_timestamp or tx.now())


def _cron_jobs_names(connection=None, cleanup=True):
    """Cron job names, oldest last enqueue first."""
    if cleanup:
        _cron_jobs_remove_stale(connection)
    with _resolve_store(connection).transaction() as tx:
        return tx.zmembers(_CRON_JOBS_KEY)


def _cron_jobs_remove_stale(connection=None, threshold=_CRON_HISTORY_TTL):
    with _resolve_store(connection).transaction() as tx:
        stale = tx.zmembers(_CRON_JOBS_KEY, tx.now() - threshold)
        for name in stale:
            tx.zrem(_CRON_JOBS_KEY, name)
    return len(stale)


def _cron_schedulers_registry_key():
    return 'rq:cron_schedulers'


def _cron_schedulers_register(cron_scheduler, pipeline=None):
    """Add a scheduler to the registry; DuplicateSchedulerError if its name is there."""
    with cron_scheduler._store.transaction() as tx:
        if tx.zscore(_CRON_SCHEDULERS_KEY, cron_scheduler.name) is not None:
            raise DuplicateSchedulerError(
                f"CronScheduler '{cron_scheduler.name}' is already registered")
        tx.zadd(_CRON_SCHEDULERS_KEY, cron_scheduler.name, tx.now())


def _cron_schedulers_unregister(cron_scheduler, pipeline=None):
    with cron_scheduler._store.transaction() as tx:
        if not tx.zrem(_CRON_SCHEDULERS_KEY, cron_scheduler.name):
            raise SchedulerNotFound(f"CronScheduler '{cron_scheduler.name}' not found in registry")


def _cron_schedulers_names(connection=None):
    """Scheduler names, oldest heartbeat first."""
    with _resolve_store(connection).transaction() as tx:
        return tx.zmembers(_CRON_SCHEDULERS_KEY)


def _cron_schedulers_cleanup(connection=None, threshold=_CRON_SCHEDULER_TTL):
    """Remove the schedulers that have not beaten for ``threshold`` seconds; return how many."""
    with _resolve_store(connection).transaction() as tx:
        stale = tx.zmembers(_CRON_SCHEDULERS_KEY, tx.now() - threshold)
        for name in stale:
            tx.zrem(_CRON_SCHEDULERS_KEY, name)
    return len(stale)


def _cron_store_key(redis_key):
    """The store entry behind one of RQ's cron keys, for a Redis stand-in; None if not one.

    ``rq:cron_job:<name>:jobs`` (a sorted set of job ids by enqueue time), ``rq:cron_jobs``
    and ``rq:cron_schedulers`` (sorted sets) give ``('zset', key)``; ``rq:cron_scheduler:<name>``
    and ``rq:scheduler:<name>`` (hashes, kept as ``(expires_at, mapping)`` values) give
    ``('hash', key)``; ``rq:scheduler-lock:<queue>`` (kept as ``(owner, expires_at)``) gives
    ``('lock', key)``.
    """
    if redis_key == 'rq:cron_jobs':
        return 'zset', _CRON_JOBS_KEY
    if redis_key == 'rq:cron_schedulers':
        return 'zset', _CRON_SCHEDULERS_KEY
    if redis_key.startswith('rq:cron_job:') and redis_key.endswith(':jobs'):
        return 'zset', _cron_history_key(redis_key[len('rq:cron_job:'):-len(':jobs')])
    for prefix, kind, store_key in (('rq:cron_scheduler:', 'hash', 'cron-scheduler'),
                                    ('rq:scheduler:', 'hash', 'scheduler'),
                                    ('rq:scheduler-lock:', 'lock', 'scheduler-lock')):
        if redis_key.startswith(prefix):
            return kind, (store_key, redis_key[len(prefix):])
    return None



def _json_or_placeholder(value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return _NOT_JSON


# -- CronJob -------------------------------------------------------------------------

class CronJob:
    """A function enqueued every ``interval`` seconds or at each match of a ``cron`` string.

    ``CronJob(queue_name, func=None, func_name=None, args=None, kwargs=None,
    interval=None, cron=None, job_timeout=None, result_ttl=500, ttl=None,
    failure_ttl=None, meta=None, webhooks=None, name='')``, as RQ's. Exactly
    one of ``interval`` and ``cron`` is required (ValueError otherwise).
    ``name`` defaults to the function's dotted name; cron jobs may share a
    name. Times are aware UTC datetimes on the clock of the scheduler that
    registered the job (the real clock otherwise).
    """

    def __init__(self, queue_name, func=None, func_name=None, args=None, kwargs=None,
                 interval=None, cron=None, job_timeout=None, result_ttl=DEFAULT_RESULT_TTL,
                 ttl=None, failure_ttl=None, meta=None, webhooks=None, name=''):
        if interval and cron:
            raise ValueError('Cannot specify both interval and cron parameters')
        if not interval and not cron:
            raise ValueError('Must specify either interval or cron parameter')
        if interval and (isinstance(interval, bool) or not isinstance(interval, (int, float))):
            raise TypeError(f'CronJob interval {interval!r}: expected a number of seconds')
        if interval and interval < 0:
            raise ValueError(f'CronJob interval {interval!r}: expected a positive number of '
                             'seconds')
        if webhooks and (isinstance(webhooks, (str, bytes)) or not hasattr(webhooks, '__iter__')):
            raise TypeError('webhooks must be a sequence of Webhook instances')
        if func is not None:
            self.func = func
            self.func_name = f'{func.__module__}.{func.__name__}'
        elif func_name:
            self.func = None
            self.func_name = func_name
        else:
            raise ValueError('Either func or func_name must be provided')
        self.name = name or self.func_name
        self.args = tuple(args) if args else ()
        self.kwargs = dict(kwargs) if kwargs else {}
        self.interval = interval
        self.cron = cron
        self.queue_name = queue_name
        self.next_enqueue_time = None       # aware UTC datetime of the next run
        self.latest_enqueue_time = None     # aware UTC datetime of the last run
        self._clock = time.time             # the registering scheduler's store clock
        self._queue_class = Queue           # rq.cron's scheduler enqueues through rq.Queue
        self._expression = _CronExpression(cron) if cron else None
        if cron:
            self.next_enqueue_time = self._next_time(self._clock())
        options = dict(job_timeout=job_timeout, result_ttl=result_ttl, ttl=ttl,
                       failure_ttl=failure_ttl, meta=meta,
                       webhooks=list(webhooks) if webhooks else None)
        self.job_options = {key: value for key, value in options.items() if value is not None}

    def __repr__(self):
        schedule = f'cron={self.cron!r}' if self.cron else f'interval={self.interval!r}'
        return f'CronJob({self.name!r}, queue={self.queue_name!r}, {schedule})'

    @property
    def job_history_key(self) -> str:
        return _get_cron_job_history_key(self.name)

    def enqueue(self, connection=None) -> Job:
        """Enqueue a run now, through the queue's ``enqueue``, and record it in the history."""
        if not self.func:
            raise ValueError('CronJob has no function to enqueue. It may have been created for '
                             'monitoring purposes.')
        queue = self._queue_class(self.queue_name, connection=connection)
        job = queue.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options)
        at = job.enqueued_at.timestamp() if job.enqueued_at is not None else None
        with queue._store.transaction() as tx:
            at = tx.now() if at is None else at
            key = _cron_history_key(self.name)
            tx.zadd(key, job.id, at)
            if tx.zcard(key) > _CRON_HISTORY_LIMIT:
                for old in tx.zmembers(key, desc=True)[_CRON_HISTORY_LIMIT:]:
                    tx.zrem(key, old)
            tx.zadd(_CRON_JOBS_KEY, self.name, at)
        _log.info('Enqueued job %s to queue %s', getattr(self.func, '__name__', self.func_name),
                  self.queue_name)
        return job

    def get_job_ids(self, connection=None, start=0, end=-1) -> list:
        """Ids of the jobs this cron job enqueued, newest first."""
        return _get_cron_job_ids(self.name, connection, start, end)

    def get_next_enqueue_time(self) -> datetime.datetime:
        """The next run after the latest one (a cron job: after now if it never ran)."""
        if self.cron:
            latest = self.latest_enqueue_time
            return self._next_time(latest.timestamp() if latest else self._clock())
        if self.interval and self.latest_enqueue_time:
            return self.latest_enqueue_time + datetime.timedelta(seconds=self.interval)
        return datetime.datetime.max

    def should_run(self) -> bool:
        """True when a run is due: an interval job that never ran, or next_enqueue_time passed."""
        if not self.latest_enqueue_time and not self.cron:
            return True
        if self.next_enqueue_time:
            return self._clock() >= self.next_enqueue_time.timestamp()
        return False

    def set_enqueue_time(self, time) -> None:
        """Record a run at ``time`` (a datetime) and compute the next one."""
        self.latest_enqueue_time = time
        if self.interval is not None or self.cron is not None:
            self.next_enqueue_time = self.get_next_enqueue_time()

    def to_dict(self) -> dict:
        """RQ's monitoring form: strings and numbers only (args, kwargs and meta as JSON)."""
        data = {
            'func_name': self.func_name,
            'name': self.name,
            'queue_name': self.queue_name,
            'args': _json_or_placeholder(self.args) if self.args else None,
            'kwargs': _json_or_placeholder(self.kwargs) if self.kwargs else None,
            'interval': self.interval,
            'cron': self.cron,
            'latest_enqueue_time': (_utc_text(self.latest_enqueue_time)
                                    if self.latest_enqueue_time else None),
            'next_enqueue_time': (_utc_text(self.next_enqueue_time)
                                  if self.next_enqueue_time else None),
        }
        for key, value in self.job_options.items():
            if key == 'meta':
                data[key] = _json_or_placeholder(value)
            elif key == 'webhooks':
                data[key] = json.dumps([getattr(hook, 'to_dict', lambda: repr(hook))()
                                        for hook in value])
            else:
                data[key] = value
        return data

    @classmethod
    def from_dict(cls, data) -> CronJob:
        """A CronJob for monitoring, from ``to_dict()``'s form; it has no function to enqueue."""
        def loaded(key):
            value = data.get(key)
            return json.loads(value) if value and value != _NOT_JSON else value
        args = loaded('args')
        job = cls(queue_name=data['queue_name'], func_name=data['func_name'],
                  name=data.get('name', ''), args=tuple(args) if isinstance(args, list) else args,
                  kwargs=loaded('kwargs'), interval=data.get('interval'), cron=data.get('cron'),
                  job_timeout=data.get('job_timeout'),
                  result_ttl=data.get('result_ttl', DEFAULT_RESULT_TTL), ttl=data.get('ttl'),
                  failure_ttl=data.get('failure_ttl'), meta=loaded('meta'))
        webhooks = data.get('webhooks')
        if webhooks and webhooks != _NOT_JSON:
            job.job_options['webhooks'] = json.loads(webhooks)
        if data.get('latest_enqueue_time'):
            job.latest_enqueue_time = _utcparse(data['latest_enqueue_time'])
        if data.get('next_enqueue_time'):
            job.next_enqueue_time = _utcparse(data['next_enqueue_time'])
        return job

    def _next_time(self, epoch):
        return _to_datetime(self._expression.next_after(epoch))

    def _next_epoch_after(self, epoch):
        """When the run after one at ``epoch`` is due, by this job's schedule."""
        if self._expression is not None:
            return self._expression.next_after(epoch)
        return epoch + self.interval

    def _identity(self):
        """The same text for the same cron job in every process that loads the same config."""
        return json.dumps([self.name, self.func_name, self.queue_name, self.interval, self.cron,
                           self.args, self.kwargs], default=repr, sort_keys=True)


# -- module-level registration, for configuration files ------------------------------

# RQ's rq.cron keeps the registrations of a configuration file in a module-level
# list until a scheduler takes them (load_config_from_file, create_cron); so do we.
_cron_definitions = []


def _cron_register(func, queue_name, args=None, kwargs=None, interval=None, cron=None,
                   job_timeout=None, result_ttl=DEFAULT_RESULT_TTL, ttl=None, failure_ttl=None,
                   meta=None, webhooks=None, name='') -> dict:
    """``rq.cron.register``: note a cron job for the next scheduler that loads the config."""
    definition = dict(func=func, queue_name=queue_name, args=args, kwargs=kwargs,
                      interval=interval, cron=cron, job_timeout=job_timeout,
                      result_ttl=result_ttl, ttl=ttl, failure_ttl=failure_ttl, meta=meta,
                      webhooks=webhooks, name=name)
    _cron_definitions.append(definition)
    return definition


# -- CronScheduler -------------------------------------------------------------------

class CronScheduler:
    """Enqueues its cron jobs when they are due; workers run them (RQ's ``rq.cron``).

    ``CronScheduler(connection=None, logging_level=INFO, name='')``. Register
    jobs with ``register()`` or ``load_config_from_file()``, then ``start()``:
    it enqueues the interval jobs at once, then each job when it is due, and
    blocks until ``stop()`` (or SIGINT/SIGTERM in the main thread);
    ``start(background=True)`` runs the same loop in a thread and returns.
    With a ``ManualClock`` a started scheduler enqueues inside ``advance()``.
    Missed runs are not caught up (as RQ): after a jump of the clock past
    several due runs a job is enqueued once, and its next run is the first one
    after that enqueue. Schedulers sharing a store (several processes on one
    SQLite file) claim each run in one transaction, so a run is enqueued once.
    """

    queue_class = Queue

    def __init__(self, connection=None, logging_level=logging.INFO, name=''):
        self.connection = connection        # may be set later, before register() (django-rq)
        self._cron_jobs = []
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.name = name or f'{self.hostname}:{self.pid}:{_new_id()[:6]}'
        self.config_file = ''
        self.created_at = _to_datetime(self._store.now())
        self.log = _log
        self._wake = threading.Condition()      # the loop's own lock: guards the three below
        self._stopping = False
        self._running = False                   # between start() and the loop's end
        self._thread = None
        self._pass_lock = threading.Lock()      # one enqueue pass at a time (loop vs advance())

    def __repr__(self):
        return f'CronScheduler({self.name!r}, {len(self._cron_jobs)} jobs)'

    def __eq__(self, other):
        return isinstance(other, self.__class__) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def register(self, func, queue_name, args=None, kwargs=None, interval=None, cron=None,
                 job_timeout=None, result_ttl=DEFAULT_RESULT_TTL, ttl=None, failure_ttl=None,
                 meta=None, webhooks=None, name='') -> CronJob:
        """Add a cron job: every ``interval`` seconds, or at each match of ``cron``."""
        cron_job = CronJob(queue_name=queue_name, func=func, args=args, kwargs=kwargs,
                           interval=interval, cron=cron, job_timeout=job_timeout,
                           result_ttl=result_ttl, ttl=ttl, failure_ttl=failure_ttl, meta=meta,
                           webhooks=webhooks, name=name)
        cron_job._clock, cron_job._queue_class = self._store.clock, self.queue_class
        if cron:
            cron_job.next_enqueue_time = cron_job._next_time(self._store.now())
        self._cron_jobs.append(cron_job)
        what = f'every {interval} seconds' if interval else f"with cron schedule '{cron}'"
        self.log.info("Registered '%s' to run on %s %s", cron_job.func_name, queue_name, what)
        return cron_job

    def get_jobs(self) -> list:
        return self._cron_jobs

    def enqueue_jobs(self) -> list:
        """Enqueue every job that is due now; return those cron jobs."""
        with self._pass_lock:
            now = self._store.now()
            enqueued = []
            for cron_job in self._cron_jobs:
                if not cron_job.should_run():
                    continue
                claimed_by_other = self._claim(cron_job, now)
                if claimed_by_other is not None:       # another scheduler enqueued this run
                    cron_job.set_enqueue_time(_to_datetime(claimed_by_other))
                    continue
                cron_job.enqueue(self.connection if self.connection is not None else self._store)
                cron_job.set_enqueue_time(_to_datetime(now))
                enqueued.append(cron_job)
            return enqueued

    def calculate_sleep_interval(self) -> float:
        """Seconds until the next job is due (0 if one is overdue), at most 60."""
        times = [job.next_enqueue_time for job in self._cron_jobs if job.next_enqueue_time]
        if not times:
            return _CRON_BEAT
        seconds = min(times).timestamp() - self._store.now()
        return 0 if seconds <= 0 else min(seconds, _CRON_BEAT)

    def start(self, background=False):
        """Run the scheduler until ``stop()``; with ``background=True`` in a thread (returned)."""
        with self._wake:
            if self._running:
                raise RuntimeError(f'CronScheduler {self.name!r} is already running')
            self._running, self._stopping = True, False
        self.log.info('CronScheduler %s: starting...', self.name)
        try:
            self.register_birth()
            self._run_pass()
        except BaseException:
            with self._wake:
                self._running = False
            raise
        _watch_clock(self, True)
        if background:
            self._thread = threading.Thread(target=self._loop, name=f'rq-cron-{self.name}',
                                            daemon=True)
            self._thread.start()
            return self._thread
        with _CronSignalStop(self):
            self._loop()
        return None

    def stop(self, timeout=None) -> bool:
        """Ask the loop to end; wait up to ``timeout`` seconds; True once it has ended."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            return not thread.is_alive()
        with self._wake:
            return self._wake.wait_for(lambda: not self._running, timeout)

    def load_config_from_file(self, config_path):
        """Import a configuration file or module and register the jobs it registers.

        ``config_path`` is a file path (absolute, or relative to a directory of
        ``sys.path``) or a dotted module path; the file calls ``rq.cron.register``
        (``rq_emulator.cron.register``) for each job.
        """
        self.config_file = config_path
        del _cron_definitions[:]
        _import_config(config_path)
        count = 0
        for definition in list(_cron_definitions):
            try:
                self.register(**definition)
                count += 1
            except Exception:
                self.log.exception('Failed to register job %s from config',
                                   getattr(definition['func'], '__name__', definition['func']))
        del _cron_definitions[:]
        self.log.info("Successfully registered %s cron jobs from '%s'", count, config_path)

    @property
    def key(self) -> str:
        return f'rq:cron_scheduler:{self.name}'

    def to_dict(self) -> dict:
        return {'hostname': self.hostname, 'pid': str(self.pid), 'name': self.name,
                'created_at': _utc_text(self.created_at), 'config_file': self.config_file or '',
                'cron_jobs': json.dumps([job.to_dict() for job in self._cron_jobs])}

    def save(self, pipeline=None) -> None:
        """Store this scheduler's record (kept ``120`` seconds past the last save or beat)."""
        with self._store.transaction() as tx:
            tx.set(self._record_key, (tx.now() + _CRON_SCHEDULER_TTL, self.to_dict()))

    def restore(self, raw_data) -> None:
        data = {_as_text(k): _as_text(v) for k, v in dict(raw_data).items()}
        self.hostname = data.get('hostname', '')
        self.pid = int(data.get('pid', 0) or 0)
        self.name = data.get('name', self.name)
        if data.get('created_at'):
            self.created_at = _utcparse(data['created_at'])
        self.config_file = data.get('config_file', '')
        try:
            self._cron_jobs = [CronJob.from_dict(job) for job in json.loads(data.get('cron_jobs')
                                                                             or '[]')]
        except (ValueError, KeyError, TypeError) as exc:
            self.log.warning('Failed to restore cron jobs: %s', exc)
            self._cron_jobs = []

    @classmethod
    def fetch(cls, name, connection=None) -> CronScheduler:
        """The scheduler named ``name`` as last saved; SchedulerNotFound if there is none."""
        store = _resolve_store(connection)
        with store.transaction() as tx:
            saved = tx.get(('cron-scheduler', name))
            now = tx.now()
        if saved is None or saved[0] <= now:
            raise SchedulerNotFound(f"CronScheduler with name '{name}' not found")
        scheduler = cls(connection=connection, name=name)
        scheduler.restore(saved[1])
        return scheduler

    @classmethod
    def all(cls, connection=None, cleanup=True) -> list:
        """Every live scheduler of the store (with ``cleanup``, silent ones are dropped first)."""
        if cleanup:
            _cron_schedulers_cleanup(connection)
        schedulers = []
        for name in _cron_schedulers_names(connection):
            with contextlib.suppress(SchedulerNotFound):
                schedulers.append(cls.fetch(name, connection))
        return schedulers

    def register_birth(self) -> None:
        """Enter the scheduler registry (as RQ, no error if already there) and save the record."""
        self.log.info('CronScheduler %s: registering birth...', self.name)
        with self._store.transaction() as tx:
            if tx.zscore(_CRON_SCHEDULERS_KEY, self.name) is None:
                tx.zadd(_CRON_SCHEDULERS_KEY, self.name, tx.now())
        self.save()

    def register_death(self, pipeline=None) -> None:
        self.log.info('CronScheduler %s: registering death...', self.name)
        _cron_schedulers_unregister(self)

    def heartbeat(self) -> None:
        """Refresh this scheduler's registry entry and record (re-creating them if gone)."""
        with self._store.transaction() as tx:
            now = tx.now()
            tx.zadd(_CRON_SCHEDULERS_KEY, self.name, now)
            saved = tx.get(self._record_key)
            if saved is not None and saved[0] > now:
                tx.set(self._record_key, (now + _CRON_SCHEDULER_TTL, saved[1]))
                return
        self.save()

    @property
    def last_heartbeat(self):
        """The UTC datetime of the last heartbeat, or None when not registered."""
        with self._store.transaction() as tx:
            score = tx.zscore(_CRON_SCHEDULERS_KEY, self.name)
        return _to_datetime(score)

    # -- private ---------------------------------------------------------------

    @property
    def _store(self):
        return _resolve_store(self.connection)

    @property
    def _record_key(self):
        return ('cron-scheduler', self.name)

    def _run_pass(self):
        if self.enqueue_jobs():
            self.save()
        self.heartbeat()

    def _clock_moved(self):
        """A ManualClock moved: enqueue what became due, in the thread that moved it."""
        with self._wake:
            if self._stopping or not self._running:
                return
        self._run_pass()

    def _loop(self):
        try:
            while True:
                with self._wake:
                    # With a ManualClock nothing becomes due by waiting: advance() runs the pass.
                    manual = _manual_clock(self._store)
                    timeout = None if manual else self.calculate_sleep_interval()
                    if self._wake.wait_for(lambda: self._stopping, timeout):
                        break
                self._run_pass()
        except Exception:
            self.log.exception('CronScheduler %s: stopped by an error', self.name)
        finally:
            _watch_clock(self, False)
            with contextlib.suppress(SchedulerNotFound):
                self.register_death()
            with self._wake:
                self._running = False
                self._wake.notify_all()
            self.log.info('CronScheduler %s: shutdown complete', self.name)

    def _claim(self, cron_job, now):
        """Claim the due run of ``cron_job`` for this scheduler, in one store transaction.

        Returns None when this scheduler is to enqueue it, or the time at which
        another live scheduler on the store already enqueued it (this run, or
        one so recent that the next is not yet due).
        """
        key = ('cron-claim', cron_job._identity())
        latest = cron_job.latest_enqueue_time
        with self._store.transaction() as tx:
            claim = tx.get(key)
            if claim is not None and claim[1] != self.name:
                at, owner = claim
                beat = tx.zscore(_CRON_SCHEDULERS_KEY, owner)
                alive = beat is not None and beat > now - _CRON_SCHEDULER_TTL
                if alive and (latest is None or at > latest.timestamp()) and \
                        cron_job._next_epoch_after(at) > now:
                    return at
            tx.set(key, (now, self.name))
        return None


def _watch_clock(scheduler, on):
    """Enqueue inside ManualClock.advance(): the one place that joins the clock's watchers."""
    clock = scheduler._store.clock
    if isinstance(clock, ManualClock):
        if on:
            clock._stores.add(scheduler)
        else:
            clock._stores.discard(scheduler)


def _manual_clock(store):
    return isinstance(store.clock, ManualClock)


def _import_config(config_path):
    """Import a cron configuration (RQ's rules: absolute file, relative file, or module)."""
    if os.path.isabs(config_path):
        if not os.path.exists(config_path):
            raise FileNotFoundError(f"Configuration file not found at '{config_path}'")
        if not os.path.isfile(config_path):
            raise IsADirectoryError(
                f"Configuration path points to a directory, not a file: '{config_path}'")
        module_name = f'rq_cron_config_{os.path.basename(config_path).replace(".", "_")}'
        spec = importlib.util.spec_from_file_location(module_name, config_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ImportError(f"Failed to load configuration file '{config_path}': {exc}") from exc
        return
    dotted = config_path
    if os.path.sep in config_path or config_path.endswith('.py'):
        dotted = config_path[:-3] if config_path.endswith('.py') else config_path
        dotted = dotted.strip(os.path.sep).replace(os.path.sep, '.')
    try:
        if dotted in sys.modules:
            importlib.reload(sys.modules[dotted])
        else:
            importlib.import_module(dotted)
    except ImportError as exc:
        raise ImportError(f"Failed to import configuration module '{dotted}' "
                          f"(from '{config_path}'): {exc}") from exc


class _CronSignalStop:
    """SIGINT/SIGTERM while a scheduler runs in the main thread: stop it (from a thread,
    since the signal may arrive while the main thread holds a lock)."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
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
        self.scheduler.log.info('CronScheduler %s: received shutdown signal %s',
                                self.scheduler.name, signum)
        threading.Thread(target=self.scheduler.stop, args=(0,), name='rq-cron-stop',
                         daemon=True).start()


def _create_cron(connection=None, scheduler_class=None) -> CronScheduler:
    """``rq.cron.create_cron``: a scheduler holding every job registered so far (taken once)."""
    scheduler = (scheduler_class or CronScheduler)(connection=connection)
    definitions = _cron_definitions[:]
    del _cron_definitions[:]
    for definition in definitions:
        scheduler.register(**definition)
    return scheduler


def _cron_overview(connection=None) -> list:
    """What a monitor shows: each live scheduler and its jobs with their next run time.

    A list of ``{'name', 'hostname', 'pid', 'created_at', 'last_heartbeat',
    'config_file', 'jobs': [{'name', 'func_name', 'queue_name', 'schedule',
    'latest_enqueue_time', 'next_enqueue_time'}]}``, times as aware UTC datetimes.
    """
    overview = []
    for scheduler in CronScheduler.all(connection):
        jobs = [{'name': job.name, 'func_name': job.func_name, 'queue_name': job.queue_name,
                 'schedule': f'cron {job.cron}' if job.cron else f'every {job.interval}s',
                 'latest_enqueue_time': job.latest_enqueue_time,
                 'next_enqueue_time': job.next_enqueue_time} for job in scheduler.get_jobs()]
        overview.append({'name': scheduler.name, 'hostname': scheduler.hostname,
                         'pid': scheduler.pid, 'created_at': scheduler.created_at,
                         'last_heartbeat': scheduler.last_heartbeat,
                         'config_file': scheduler.config_file, 'jobs': jobs})
    return overview


cron = types.ModuleType('rq_emulator.cron', "RQ's rq.cron on the emulator's front door")
cron.__dict__.update(CronJob=CronJob, CronScheduler=CronScheduler, register=_cron_register,
                     create_cron=_create_cron, get_cron_job_ids=_get_cron_job_ids,
                     get_cron_job_history_key=_get_cron_job_history_key)


# -- RQScheduler (rq.scheduler) ------------------------------------------------------

def _scheduler_pid(store, queue_name):
    """RQ's Queue.scheduler_pid: the pid of the live scheduler holding the queue's lock."""
    with store.transaction() as tx:
        now = tx.now()
        lock = tx.get(('scheduler-lock', queue_name))
        if lock is None or lock[1] <= now:
            return None
        saved = tx.get(('scheduler', lock[0]))
    if saved is None or saved[0] <= now or not saved[1].get('pid'):
        return None
    return int(saved[1]['pid'])


class SchedulerStatus(str, enum.Enum):
    STARTED = 'started'
    WORKING = 'working'
    STOPPED = 'stopped'


class RQScheduler:
    """``rq.scheduler.RQScheduler``: the scheduler behind ``Worker(..., with_scheduler=True)``.

    ``RQScheduler(queues, connection=None, interval=1, ...)``. Every emulator
    worker already enqueues the due scheduled jobs of its store, and a
    ``ManualClock``'s ``advance()`` does too; this object gives RQ's view of
    that: per-queue locks (store values that expire ``interval + 60``
    seconds after the last refresh), ``enqueue_scheduled_jobs()`` (the due
    jobs, now, when this scheduler holds a lock), a status and heartbeats.
    ``start()`` runs ``work()`` in a thread: heartbeats every ``interval``
    seconds until ``stop()``.
    """

    Status = SchedulerStatus

    def __init__(self, queues, connection=None, interval=1, logging_level=logging.INFO,
                 date_format=None, log_format=None, serializer=None, name=None):
        names = [queues] if isinstance(queues, (str, Queue)) else list(queues or ())
        self._queue_names = {q.name if isinstance(q, Queue) else q for q in names}
        if connection is None:
            connection = next((q.connection for q in names if isinstance(q, Queue)), None)
        self.connection = connection
        self._store = _resolve_store(connection)
        self._acquired_locks = set()
        self.lock_acquisition_time = None
        self.serializer = resolve_serializer(serializer)
        self.name = name or _new_id().replace('-', '')
        self.hostname = socket.gethostname()
        self.created_at = _to_datetime(self._store.now())
        self.pid = 0
        self.last_heartbeat = None
        self.interval = interval
        self.log = _log
        self._status = SchedulerStatus.STOPPED
        self._wake = threading.Condition()      # guards _stop_requested
        self._stop_requested = False
        self._process = None                # the thread of start() (RQ: a forked process)

    def __repr__(self):
        return f'RQScheduler({self.name!r}, queues={sorted(self._queue_names)!r})'

    @property
    def acquired_locks(self):
        return self._acquired_locks

    @property
    def status(self):
        return self._status

    @property
    def key(self) -> str:
        return f'rq:scheduler:{self.name}'

    @property
    def should_reacquire_locks(self) -> bool:
        if self._queue_names == self._acquired_locks:
            return False
        if not self.lock_acquisition_time:
            return True
        elapsed = self._store.now() - self.lock_acquisition_time.timestamp()
        return elapsed > 120                # RQ's DEFAULT_SCHEDULER_FALLBACK_PERIOD

    @classmethod
    def get_locking_key(cls, name) -> str:
        return f'rq:scheduler-lock:{name}'

    def acquire_locks(self, auto_start=False) -> set:
        """Take (or refresh) the lock of each queue no other live scheduler holds; return them."""
        owned = set()
        with self._store.transaction() as tx:
            now = tx.now()
            for name in sorted(self._queue_names):
                lock = tx.get(('scheduler-lock', name))
                if lock is None or lock[0] == self.name or lock[1] <= now:
                    tx.set(('scheduler-lock', name), (self.name, now + self.interval + 60))
                    owned.add(name)
        self._acquired_locks = owned
        self.lock_acquisition_time = _to_datetime(self._store.now())
        if owned and auto_start and (self._process is None or not self._process.is_alive()):
            self.start()
        return owned

    def release_locks(self) -> None:
        """Release the locks this scheduler holds; other schedulers' locks stay."""
        with self._store.transaction() as tx:
            for name in self._acquired_locks:
                lock = tx.get(('scheduler-lock', name))
                if lock is not None and lock[0] == self.name:
                    tx.delete(('scheduler-lock', name))
        self._acquired_locks = set()

    def prepare_registries(self, queue_names=None):
        """Accepted for RQ: the emulator reads the scheduled registries when it enqueues."""

    def enqueue_scheduled_jobs(self) -> None:
        """Enqueue the due scheduled jobs now (when this scheduler holds a queue's lock)."""
        self._status = SchedulerStatus.WORKING
        try:
            if self._acquired_locks:
                _tick(self._store)      # the store's sweep: due scheduled jobs to their queues
        finally:
            self._status = SchedulerStatus.STARTED

    def heartbeat(self) -> None:
        """Refresh this scheduler's record and its locks; drop locks another one took over."""
        with self._store.transaction() as tx:
            now = tx.now()
            self.last_heartbeat = _to_datetime(now)
            lost = set()
            for name in self._acquired_locks:
                lock = tx.get(('scheduler-lock', name))
                if lock is not None and lock[0] != self.name and lock[1] > now:
                    lost.add(name)
                else:
                    tx.set(('scheduler-lock', name), (self.name, now + self.interval + 60))
            tx.set(('scheduler', self.name), (now + self.interval + 60, self.to_dict()))
        if lost:
            self.log.warning('Scheduler locks for %s were taken over by another scheduler',
                             ', '.join(sorted(lost)))
            self._acquired_locks -= lost

    def to_dict(self) -> dict:
        return {'name': self.name, 'hostname': self.hostname, 'pid': str(self.pid),
                'queues': ','.join(sorted(self._queue_names)),
                'created_at': _utc_text(self.created_at),
                'last_heartbeat': _utc_text(self.last_heartbeat) if self.last_heartbeat else ''}

    def restore(self, raw_data) -> None:
        data = {_as_text(k): _as_text(v) for k, v in dict(raw_data).items()}
        self.name, self.hostname = data['name'], data['hostname']
        self.pid = int(data['pid'])
        self._queue_names = set(data['queues'].split(',')) if data.get('queues') else set()
        self.created_at = _utcparse(data['created_at'])
        self.last_heartbeat = (_utcparse(data['last_heartbeat'])
                               if data.get('last_heartbeat') else None)

    def save(self, pipeline=None) -> None:
        with self._store.transaction() as tx:
            tx.set(('scheduler', self.name), (tx.now() + self.interval + 60, self.to_dict()))

    def register_birth(self) -> None:
        self.pid = os.getpid()
        self.last_heartbeat = _to_datetime(self._store.now())
        self.save()

    def register_death(self) -> bool:
        with self._store.transaction() as tx:
            existed = tx.get(('scheduler', self.name)) is not None
            tx.delete(('scheduler', self.name))
        return existed

    @classmethod
    def fetch(cls, name, connection=None) -> RQScheduler:
        store = _resolve_store(connection)
        with store.transaction() as tx:
            saved = tx.get(('scheduler', name))
            now = tx.now()
        if saved is None or saved[0] <= now:
            raise SchedulerNotFound(f"Scheduler with name '{name}' not found")
        scheduler = cls([], connection=connection, name=name)
        scheduler.restore(saved[1])
        return scheduler

    def request_stop(self, signum=None, frame=None) -> None:
        with self._wake:
            self._stop_requested = True
            self._wake.notify_all()

    def stop(self) -> None:
        """Release the locks, mark the scheduler stopped and delete its record."""
        self.log.info('Scheduler stopping, releasing locks for %s...',
                      ', '.join(sorted(self._acquired_locks)))
        self.release_locks()
        self._status = SchedulerStatus.STOPPED
        self.register_death()

    def start(self):
        """Run ``work()`` in a thread (RQ forks a process); returns the thread."""
        self._status = SchedulerStatus.STARTED
        with self._wake:
            self._stop_requested = False
        self._process = threading.Thread(target=self.work, name=f'rq-scheduler-{self.name}',
                                        daemon=True)
        self._process.start()
        return self._process

    def work(self) -> None:
        """Heartbeat and enqueue due jobs every ``interval`` seconds until ``request_stop()``."""
        self.register_birth()
        while True:
            with self._wake:
                if self._stop_requested:
                    break
            if self.should_reacquire_locks:
                self.acquire_locks()
            self.heartbeat()
            self.enqueue_scheduled_jobs()
            with self._wake:    # a timer for the heartbeat; due jobs need no waking up here
                self._wake.wait_for(lambda: self._stop_requested, self.interval)
        self.stop()

# ==== Commands and helpers ===================================================

def send_stop_job_command(connection, job_id, serializer=None):
    """Stop a running job: it becomes ``stopped`` and its ``on_stopped`` callback runs.

    A worker of another process (on a shared store) acts on it at its next heartbeat.
    """
    for worker in Worker.all(connection):
        if worker._stop_job(job_id):
            return
    raise InvalidJobOperation(f'cannot stop job {job_id!r}: Job is not currently executing')


def send_shutdown_command(connection, worker_name):
    """Ask the worker named ``worker_name`` to stop after its current job."""
    for worker in Worker.all(connection):
        if worker.name == worker_name:
            worker._shutdown()


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

# ==== Test wiring and connections ============================================
# What test suites need around the engine: run every queued job and see its
# failure, a clean slate and a clock per test (unittest mixin, pytest plugin),
# and EmulatorRedis, a Redis client stand-in answering RQ's own keys.

def run_jobs(connection=None, queues=None) -> int:
    """Run every queued job to completion in this thread; re-raise the first job failure.

    With no arguments, drains every queue of the default store and of every store
    chosen by a connection, again and again until a pass runs nothing (so jobs
    that enqueue jobs, and released dependents, run too); ``connection=`` limits
    it to that connection's store, ``queues=`` to those queues (one burst).
    Jobs scheduled for later run once they are due (move a ``ManualClock``).
    Returns how many jobs ran. When a job ended ``failed``, the exception it
    raised is raised here (a retried job that later succeeded is not a failure).
    """
    failures = []

    def capture(job, exc_type, exc_value, tb):
        failures.append((job, exc_value))

    ran = 0
    while True:
        if queues is not None:
            groups = [list(queues) if isinstance(queues, (list, tuple)) else [queues]]
        else:
            stores = [_resolve_store(connection)] if connection is not None else _known_stores()
            groups = [Queue.all(connection=store) for store in stores]
        done = 0
        for group in groups:
            if group:
                worker = SimpleWorker(group, exception_handlers=[capture])
                worker.work(burst=True)
                done += worker.successful_job_count + worker.failed_job_count
        ran += done
        if not done or queues is not None:
            break
    for job, exc in failures:
        try:
            failed = job.get_status() == JobStatus.FAILED
        except (NoSuchJobError, InvalidJobOperation):
            failed = True
        if failed and isinstance(exc, BaseException):
            if hasattr(exc, 'add_note'):
                exc.add_note(f'raised by job {job.id} ({job.func_name}) on queue {job.origin!r}')
            raise exc
    return ran


class RQTestMixin:
    """Mix into a ``unittest.TestCase``: RQ's front door, empty stores and a clock per test.

    ``class MyTests(rq_emulator.RQTestMixin, unittest.TestCase): ...``. Each
    ``setUp`` calls ``install_as_rq()`` and ``reset_stores()``; with
    ``rq_manual_clock = True`` on the class, ``self.rq_clock`` is a
    ``ManualClock`` that every store uses during the test (real time again
    afterwards), else ``self.rq_clock`` is None. ``self.run_jobs()`` is
    ``run_jobs()``. Code that imports ``rq`` when it is itself imported needs
    ``install_as_rq()`` earlier, at the top of the test package's ``__init__``.
    """

    rq_manual_clock = False

    def setUp(self):
        super().setUp()
        install_as_rq()
        self.rq_clock = ManualClock() if self.rq_manual_clock else None
        reset_stores(clock=self.rq_clock)
        if self.rq_clock is not None:
            self.addCleanup(_use_clock, None)

    def run_jobs(self, connection=None, queues=None) -> int:
        return run_jobs(connection, queues)


# -- the pytest plugin: `-p rq_emulator` (pytest.ini's addopts), or
# `pytest_plugins = ['rq_emulator']` in the top conftest.py. The module never
# imports pytest: these hooks are plain functions, and the fixtures are made
# with the pytest that is running them.

def pytest_addoption(parser, pluginmanager):
    """Install the front door and the fixtures as soon as pytest registers this plugin.

    Called at registration, before pytest-django loads the Django settings (and
    before conftest.py files and test modules import anything), so every later
    ``import rq`` gets the emulator.
    """
    install_as_rq()
    fixture = sys.modules['pytest'].fixture
    fixtures = types.ModuleType('rq_emulator.pytest_fixtures')

    def rq_emulator_reset():
        """Every store empty and on real time before each test."""
        reset_stores()
        yield
        _use_clock(None)

    def rq_clock(rq_emulator_reset):
        """A ManualClock that every store uses during the test."""
        clock = ManualClock()
        _use_clock(clock)
        return clock

    def rq_run_jobs(rq_emulator_reset):
        """``run_jobs``: run every queued job, re-raising the first job failure."""
        return run_jobs

    fixtures.rq_emulator_reset = fixture(autouse=True)(rq_emulator_reset)
    fixtures.rq_clock = fixture(rq_clock)
    fixtures.rq_run_jobs = fixture(rq_run_jobs)
    pluginmanager.register(fixtures, 'rq_emulator-fixtures')


# -- EmulatorRedis --------------------------------------------------------------

class _EmulatorPool:
    """What RQ code reads from a client's ``connection_pool``: its ``connection_kwargs``."""

    def __init__(self, connection_kwargs, store=None):
        self.connection_kwargs = connection_kwargs
        self.store = store

    def __repr__(self):
        return f'_EmulatorPool({self.connection_kwargs!r})'

    def disconnect(self, inuse_connections=True):
        pass


def _rq_key(key):
    """What an RQ key names, as a tuple ('queue', name), ('job', id), ...; None if not RQ's."""
    if isinstance(key, bytes):
        key = key.decode('utf-8', 'replace')
    if not isinstance(key, str) or not key.startswith('rq:'):
        return None
    _, kind, *rest = key.split(':', 2)
    rest = rest[0] if rest else None
    if kind == 'job' and rest and rest.endswith(':dependents'):
        return ('dependents', rest[:-len(':dependents')])
    if kind in ('queue', 'job', 'worker') and rest:
        return (kind, rest)
    if kind in _REGISTRIES and rest:
        return ('registry', kind, rest)
    if kind in ('queues', 'suspended') and rest is None:
        return (kind,)
    if kind == 'workers':
        return ('workers', rest)
    return ('other', key)       # an RQ key with nothing behind it here (scheduler locks, ...)


def _redis_range(items, start, end):
    """Redis's inclusive start/end indexes (negative from the end) over a list."""
    n = len(items)
    start = max(start + n if start < 0 else start, 0)
    end = end + n if end < 0 else end
    return items[start:end + 1] if end >= start else []


def _redis_score(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.lower().lstrip('(')
        return {'-inf': -math.inf, '+inf': math.inf, 'inf': math.inf}.get(text) or float(text)
    return float(value)


def _server_stores(store):
    """The stores of every db of the server whose db ``store`` is (for FLUSHALL)."""
    with _stores_lock:
        groups = [list(by_db.values()) for by_db in list(_stores_by_server.values())]
        by_server = collections.defaultdict(list)
        for key, other in list(_stores_by_address.items()) + list(_stores_by_name.items()):
            by_server[key[:-1]].append(other)      # every key ends with the db number
        groups += list(by_server.values())
    return next((group for group in groups if any(s is store for s in group)), [store])


class EmulatorRedis:
    """A stand-in for a ``redis.Redis`` client that answers RQ's own keys from a store.

    ``EmulatorRedis(host='localhost', port=6379, db=0, unix_socket_path=None,
    decode_responses=False, store=None, client=None)`` or
    ``EmulatorRedis.from_url('redis://localhost:6379/1')``: the store is the
    one a ``redis.Redis`` with the same address and db means (``store=`` names
    one; ``client=`` wraps a client, fakeredis's or redis-py's, and uses its
    store). Give it wherever RQ takes a connection. Commands on RQ's keys
    (``rq:queue:<name>``, ``rq:job:<id>``, ``rq:queues``, the registries'
    ``rq:<registry>:<queue>``, ``rq:workers``, ``rq:suspended``) are answered
    through the store: ``ping``, ``flushdb``, ``flushall``, ``exists``,
    ``delete``, ``get``, ``lindex``, ``llen``, ``lrange``, ``lrem``, ``hget``,
    ``hmget``, ``hgetall``, ``hexists``, ``zcard``, ``zscore``, ``zrange``,
    ``zrangebyscore``, ``zadd``, ``zrem``, ``smembers``, ``scard``,
    ``sismember``, and ``pipeline()`` batching them. Another key goes to the
    wrapped ``client``; with none it raises ``RQEmulatorError``. Replies are
    bytes, or str with ``decode_responses=True``. No network is ever touched.
    """

    def __init__(self, host='localhost', port=6379, db=0, unix_socket_path=None,
                 decode_responses=False, store=None, client=None, **kwargs):
        self._client = client
        if client is not None:
            self.connection_pool = getattr(client, 'connection_pool', None)
            kwargs = getattr(self.connection_pool, 'connection_kwargs', None) or {}
            self._decode = bool(kwargs.get('decode_responses'))
            self.store = _resolve_store(client)
            return
        if unix_socket_path is not None:
            address = {'path': unix_socket_path}
        else:
            address = {'host': host or 'localhost', 'port': int(port or 6379)}
        if store is not None and not isinstance(store, BaseStore):
            raise TypeError(f'EmulatorRedis(store={store!r}): expected a MemoryStore or SqliteStore')
        self.connection_pool = _EmulatorPool(dict(address, db=int(db or 0),
                                                  decode_responses=decode_responses))
        self._decode = bool(decode_responses)
        self.store = self.connection_pool.store = store or _resolve_store(self)

    @classmethod
    def from_url(cls, url, db=None, **kwargs):
        """``redis://[[user]:password@]host[:port][/db]``, ``rediss://...``, ``unix:///path?db=N``."""
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        if parts.scheme not in ('redis', 'rediss', 'unix'):
            raise ValueError(f'EmulatorRedis.from_url({url!r}): expected a redis://, rediss:// '
                             'or unix:// URL')
        url_db = parts.path.strip('/') if parts.scheme != 'unix' else None
        url_db = url_db or (query.get('db') or [None])[0]
        db = int(url_db) if url_db else (db or 0)
        if parts.scheme == 'unix':
            return cls(unix_socket_path=parts.path, db=db, **kwargs)
        return cls(host=parts.hostname or 'localhost', port=parts.port or 6379, db=db, **kwargs)

    def __repr__(self):
        kwargs = getattr(self.connection_pool, 'connection_kwargs', None) or {}
        where = kwargs.get('path') or f'{kwargs.get("host")}:{kwargs.get("port")}'
        return f'<EmulatorRedis {where}/{kwargs.get("db", 0)} on {self.store!r}>'

    def __eq__(self, other):
        if isinstance(other, EmulatorRedis):
            return self.store is other.store and self._client is other._client
        return self._client is not None and other is self._client

    def __hash__(self):
        return hash(self._client) if self._client is not None else hash(self.store)

    def __getattr__(self, name):
        # Only reached for what EmulatorRedis does not define. A wrapper is a proxy:
        # whatever is not about RQ's keys (other commands, settings) is its client's;
        # a command naming one of RQ's keys is refused, since that data is not there.
        client = self.__dict__.get('_client')
        if client is None or name.startswith('__'):
            raise AttributeError(f'EmulatorRedis has no {name!r}: it answers commands on RQ\'s '
                                 'own keys only; give EmulatorRedis(client=...) a client for others')
        attribute = getattr(client, name)
        if not callable(attribute):
            return attribute

        def command(*args, **kwargs):
            if args and _rq_key(args[0]) is not None:
                raise RQEmulatorError(f'EmulatorRedis.{name}({args[0]!r}): RQ\'s keys live in '
                                      'the emulator\'s store, which does not answer this command')
            return attribute(*args, **kwargs)
        return command

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        pass

    # -- the whole store -------------------------------------------------------

    def ping(self, **kwargs):
        return True

    def flushdb(self, asynchronous=False, **kwargs):
        """Empty this connection's store (``store.flush()``)."""
        return self._do('flushdb', (None,), self._flush, [self.store])

    def flushall(self, asynchronous=False, **kwargs):
        """Empty the stores of every db of this connection's server."""
        return self._do('flushall', (None,), self._flush, _server_stores(self.store))

    def pipeline(self, transaction=True, shard_hint=None):
        return _EmulatorPipeline(self)

    # -- commands on keys --------------------------------------------------------

    def exists(self, *names):
        return self._do('exists', (None,), self._each, 'exists', self._exists, names)

    def delete(self, *names):
        return self._do('delete', (None,), self._each, 'delete', self._delete, names)

    def get(self, name):
        return self._do('get', (name,), self._get, name)

    def lindex(self, name, index):
        return self._do('lindex', (name, index), self._lindex, name, index)

    def llen(self, name):
        return self._do('llen', (name,), self._llen, name)

    def lrange(self, name, start, end):
        return self._do('lrange', (name, start, end), self._list_items, name, start, end)

    def lrem(self, name, count, value):
        return self._do('lrem', (name, count, value), self._lrem, name, count, value)

    def hget(self, name, key):
        return self._do('hget', (name, key), self._hash_fields, name, [key], True)

    def hmget(self, name, keys, *args):
        fields = (list(keys) if isinstance(keys, (list, tuple)) else [keys]) + list(args)
        return self._do('hmget', (name, keys) + args, self._hash_fields, name, fields, False)

    def hgetall(self, name):
        return self._do('hgetall', (name,), self._hash_fields, name, None, False)

    def hexists(self, name, key):
        return self._do('hexists', (name, key), self._hexists, name, key)

    def zcard(self, name):
        return self._do('zcard', (name,), self._zcard, name)

    def zscore(self, name, value):
        return self._do('zscore', (name, value), self._zscore, name, value)

    def zrange(self, name, start, end, desc=False, withscores=False):
        return self._do('zrange', (name, start, end, desc, withscores), self._zrange, name,
                        start, end, desc, withscores, -math.inf, math.inf)

    def zrangebyscore(self, name, min, max, start=None, num=None, withscores=False):
        last = -1 if num is None or num < 0 else (start or 0) + num - 1
        return self._do('zrangebyscore', (name, min, max, start, num, withscores), self._zrange,
                        name, start or 0, last, False, withscores, _redis_score(min),
                        _redis_score(max))

    def zadd(self, name, mapping):
        return self._do('zadd', (name, mapping), self._zadd, name, mapping)

    def zrem(self, name, *values):
        return self._do('zrem', (name,) + values, self._zrem, name, values)

    def smembers(self, name):
        return self._do('smembers', (name,), self._smembers, name)

    def scard(self, name):
        return self._do('scard', (name,), lambda: len(self._smembers(name)))

    def sismember(self, name, value):
        value = value.encode() if isinstance(value, str) and not self._decode else value
        return self._do('sismember', (name, value), lambda: value in self._smembers(name))

    # -- how commands are answered -----------------------------------------------

    def _do(self, command, call, answer, *args):
        """Answer from the store when the key (``call[0]``) is RQ's or there is none."""
        if call[0] is None or _rq_key(call[0]) is not None:
            return answer(*args)
        return self._other(command, *call)

    def _other(self, command, *call):
        if self._client is not None:
            return getattr(self._client, command)(*call)
        raise RQEmulatorError(f'EmulatorRedis.{command}({call[0]!r}): only RQ\'s own keys '
                              '(rq:...) are answered here; for other keys give '
                              'EmulatorRedis(client=...) a client to send them to')

    def _each(self, command, one, names):
        """exists/delete over several keys, RQ's answered here and the others by the client."""
        return sum(one(name) if _rq_key(name) is not None else self._other(command, name)
                   for name in names)

    @staticmethod
    def _flush(stores):
        for store in stores:
            store.flush()
        return True

    def _out(self, text):
        if text is None or self._decode or not isinstance(text, str):
            return text
        return text.encode('utf-8')

    def _exists(self, name):
        key = _rq_key(name)
        if key[0] == 'job':
            return int(Job.exists(key[1], connection=self.store))
        if key[0] in ('queue', 'registry', 'queues', 'workers', 'dependents'):
            return int(bool(self._items(key)))
        if key[0] == 'suspended':
            return int(is_suspended(self.store))
        if key[0] == 'worker':
            return int(any(w.name == key[1] for w in Worker.all(connection=self.store)))
        return 0

    def _items(self, key):
        """The members of a list, sorted set or set key, as strings."""
        store = self.store
        with store.transaction() as tx:
            if key[0] == 'queue':
                return tx.queue_ids(key[1])
            if key[0] == 'registry':
                return tx.zmembers((key[1], key[2]))
            if key[0] == 'queues':
                return [Queue.redis_queue_namespace_prefix + name for name in tx.queue_names()]
            if key[0] == 'dependents':
                return tx.smembers(('dependents', key[1]))
        if key[0] == 'workers':
            queue = None if key[1] is None else Queue(key[1], connection=store)
            return [worker.key for worker in Worker.all(connection=store, queue=queue)]
        return []

    def _delete(self, name):
        key, store = _rq_key(name), self.store
        if key[0] == 'suspended':
            deleted = int(is_suspended(store))
            resume(store)
            return deleted
        with store.transaction() as tx:
            if key[0] == 'job':
                deleted = tx.job_get(key[1]) is not None
                tx.job_delete(key[1])           # the job's hash only, as DEL does
                return int(deleted)
            if key[0] == 'queue':
                deleted = tx.queue_len(key[1]) > 0
                tx.queue_forget(key[1])
                tx.queue_register(key[1])       # rq:queues still names it, as on Redis
                return int(deleted)
            if key[0] == 'registry':
                members = tx.zmembers((key[1], key[2]))
                for member in members:
                    tx.zrem((key[1], key[2]), member)
                return int(bool(members))
        return 0

    def _get(self, name):
        if _rq_key(name)[0] == 'suspended' and is_suspended(self.store):
            return self._out('1')
        return None

    def _llen(self, name):
        key = _rq_key(name)
        return len(self._items(key)) if key[0] == 'queue' else 0

    def _list_items(self, name, start, end):
        key = _rq_key(name)
        ids = self._items(key) if key[0] == 'queue' else []
        return [self._out(job_id) for job_id in _redis_range(ids, start, end)]

    def _lindex(self, name, index):
        items = self._list_items(name, index, index)
        return items[0] if items else None

    def _lrem(self, name, count, value):
        key = _rq_key(name)
        if key[0] != 'queue':
            return 0
        job_id = value.decode() if isinstance(value, bytes) else str(value)
        removed = 0
        with self.store.transaction() as tx:
            while (count == 0 or removed < abs(count)) and tx.queue_remove(key[1], job_id):
                removed += 1
        return removed

    def _job_hash(self, key):
        """The main fields of a job's hash, as RQ writes them; None when there is no job."""
        if key[0] != 'job':
            return None
        try:
            job = Job.fetch(key[1], connection=self.store)
        except NoSuchJobError:
            return None
        always = {                              # RQ writes these, '' when unset
            'created_at': _utc_text(job.created_at), 'started_at': _utc_text(job.started_at),
            'ended_at': _utc_text(job.ended_at), 'last_heartbeat': _utc_text(job.last_heartbeat),
            'worker_name': job.worker_name, 'group_id': job.group_id,
        }
        when_set = {
            'status': job.get_status(refresh=False).value, 'origin': job.origin,
            'description': job.description, 'enqueued_at': _utc_text(job.enqueued_at),
            'timeout': job.timeout, 'result_ttl': job.result_ttl, 'failure_ttl': job.failure_ttl,
            'ttl': job.ttl, 'retries_left': job.retries_left,
        }
        fields = {field: '' if value is None else str(value) for field, value in always.items()}
        fields.update((field, str(value)) for field, value in when_set.items() if value is not None)
        return fields

    def _hash_fields(self, name, fields, single):
        values = self._job_hash(_rq_key(name)) or {}
        if fields is None:                      # hgetall
            return {self._out(k): self._out(v) for k, v in values.items()}
        fields = [f.decode() if isinstance(f, bytes) else f for f in fields]
        answers = [self._out(values.get(field)) for field in fields]
        return answers[0] if single else answers

    def _hexists(self, name, field):
        field = field.decode() if isinstance(field, bytes) else field
        return field in (self._job_hash(_rq_key(name)) or {})

    def _zset(self, name):
        key = _rq_key(name)
        return (key[1], key[2]) if key[0] == 'registry' else None

    def _zcard(self, name):
        zset = self._zset(name)
        if zset is None:
            return 0
        with self.store.transaction() as tx:
            return tx.zcard(zset)

    def _zscore(self, name, value):
        zset = self._zset(name)
        if zset is None:
            return None
        member = value.decode() if isinstance(value, bytes) else str(value)
        with self.store.transaction() as tx:
            return tx.zscore(zset, member)

    def _zrange(self, name, start, end, desc, withscores, low, high):
        zset = self._zset(name)
        if zset is None:
            return []
        with self.store.transaction() as tx:
            members = tx.zmembers(zset, high, desc)
            scored = [(m, tx.zscore(zset, m)) for m in members]
        scored = _redis_range([(m, s) for m, s in scored if s >= low], start, end)
        if withscores:
            return [(self._out(m), s) for m, s in scored]
        return [self._out(m) for m, _ in scored]

    def _zadd(self, name, mapping):
        zset = self._zset(name)
        if zset is None:
            return 0
        with self.store.transaction() as tx:
            added = 0
            for member, score in mapping.items():
                member = member.decode() if isinstance(member, bytes) else str(member)
                added += tx.zscore(zset, member) is None
                tx.zadd(zset, member, _redis_score(score))
        return added

    def _zrem(self, name, values):
        zset = self._zset(name)
        if zset is None:
            return 0
        with self.store.transaction() as tx:
            return sum(bool(tx.zrem(zset, v.decode() if isinstance(v, bytes) else str(v)))
                       for v in values)

    def _smembers(self, name):
        key = _rq_key(name)
        if key[0] not in ('queues', 'workers', 'dependents'):
            return set()
        return {self._out(member) for member in self._items(key)}


class _EmulatorPipeline(EmulatorRedis):
    """``EmulatorRedis.pipeline()``: commands wait for ``execute()``, then run in order.

    Each command runs on its own (the batch is not one atomic transaction);
    ``multi()``, ``watch()`` and ``unwatch()`` are accepted and do nothing.
    """

    def __init__(self, connection):
        self._client, self._decode = connection._client, connection._decode
        self.connection_pool, self.store = connection.connection_pool, connection.store
        self._commands = []

    def __repr__(self):
        return f'<EmulatorRedis pipeline of {len(self._commands)} commands on {self.store!r}>'

    def __len__(self):
        return len(self._commands)

    def __exit__(self, *exc_info):
        self.reset()

    def _do(self, command, call, answer, *args):
        self._commands.append((command, call, answer, args))
        return self

    def execute(self, raise_on_error=True):
        commands, self._commands = self._commands, []
        return [EmulatorRedis._do(self, command, call, answer, *args)
                for command, call, answer, args in commands]

    def reset(self):
        self._commands = []

    def multi(self):
        pass

    def watch(self, *names):
        pass

    def unwatch(self):
        pass

    def pipeline(self, transaction=True, shard_hint=None):
        return self


def _rq_connection(connection, store):
    """What RQ code sees as ``queue.connection``: an EmulatorRedis on the store.

    RQ code talks to Redis itself about RQ's keys (django-rq's views read
    ``lindex(queue.key, 0)``; tests call ``connection.flushdb()``), which a real
    client without a server cannot answer; the wrapper answers them from the
    store and passes everything else to the client it wraps.
    """
    if isinstance(connection, EmulatorRedis):
        return connection
    key = id(store if connection is None or isinstance(connection, BaseStore) else connection)
    wrapper = _rq_connections.get(key)     # one per client: `q1.connection is q2.connection`
    if wrapper is None:
        if connection is None or isinstance(connection, BaseStore):
            wrapper = EmulatorRedis(store=store)
        else:
            wrapper = EmulatorRedis(client=connection)
        _rq_connections[key] = wrapper
    return wrapper


# id(client or store) -> its EmulatorRedis; an entry lives as long as its wrapper, which
# holds the client (or store), so an id is never reused while its entry exists.
_rq_connections = weakref.WeakValueDictionary()

# ==== RQ front door ==========================================================
# install_as_rq() makes `import rq` and every module of RQ 2.12 resolve here:
# the classes below give RQ's meaning where the seed API differs (Queue.empty,
# timeout=, Job(id)); _RQ_MODULES lists each module's names; a name whose
# feature the emulator lacks is a stand-in that imports and raises when used.

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = _rq_connection(self.connection, self._store)

    def empty(self):
        """Delete every queued job and return how many were removed."""
        with self._store.transaction() as tx:
            return self._delete_queued(tx)

    def _registry(self, kind):
        return _RQ_REGISTRIES[kind](queue=self)


class _RQWorker(Worker):
    queue_class = _RQQueue
    job_class = _RQJob
    log = logging.getLogger('rq.worker')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = _rq_connection(self.connection, self._store)


class _RQSimpleWorker(_RQWorker):
    pass


class _RQSpawnWorker(_RQWorker):
    """``rq.SpawnWorker``: RQ spawns a process per job; here it runs jobs as every worker does."""


class _RQHerokuWorker(_RQWorker):
    """``rq.worker.HerokuWorker``: RQ's SIGTERM handling for Heroku; here a plain worker."""


class _RQRoundRobinWorker(_RQWorker):
    """``rq.worker.RoundRobinWorker``: takes one job from each queue in turn."""

    def work(self, *args, dequeue_strategy=DequeueStrategy.ROUND_ROBIN, **kwargs):
        return super().work(*args, dequeue_strategy=dequeue_strategy, **kwargs)

    def start(self, burst=False, **work_kwargs):
        work_kwargs.setdefault('dequeue_strategy', DequeueStrategy.ROUND_ROBIN)
        return super().start(burst, **work_kwargs)


class _RQRandomWorker(_RQWorker):
    """``rq.worker.RandomWorker``: takes each job from a queue picked at random."""

    def work(self, *args, dequeue_strategy=DequeueStrategy.RANDOM, **kwargs):
        return super().work(*args, dequeue_strategy=dequeue_strategy, **kwargs)

    def start(self, burst=False, **work_kwargs):
        work_kwargs.setdefault('dequeue_strategy', DequeueStrategy.RANDOM)
        return super().start(burst, **work_kwargs)


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


class _Unemulated:
    """Base of the stand-ins for RQ names whose feature the emulator lacks."""

    _feature = 'this feature'

    def __init__(self, *args, **kwargs):
        cls = type(self)
        raise NotImplementedError(f'{cls.__module__}.{cls.__qualname__}: rq_emulator does not '
                                  f'emulate {cls._feature}')


def _unemulated(module, name, feature):
    """A stand-in for RQ's ``module.name``: it imports (and can be subclassed); calling it raises."""
    return type(name, (_Unemulated,), {
        '__module__': module, '__qualname__': name, '_feature': feature,
        '__doc__': f'Stand-in for RQ\'s {module}.{name}: rq_emulator does not emulate {feature}.'})


class _RQWebhook:
    """``rq.Webhook(url, job_status, *, method='GET', headers=None, timeout=10)``, validated as in RQ.

    The emulator's workers do not send webhooks; ``send(job)`` performs the
    request itself (errors are logged, never raised, as in RQ).
    """

    def __init__(self, url, job_status, *, method='GET', headers=None, timeout=10):
        if not (isinstance(url, str) and re.match(r'https?://[^/?#]', url, re.IGNORECASE)):
            raise ValueError(f'url must be an http:// or https:// URL, got {url!r}')
        if job_status not in ('finished', 'failed'):
            raise ValueError(f"job_status must be 'finished' or 'failed', got {job_status!r}")
        if method not in ('GET', 'POST'):
            raise ValueError(f"method must be 'GET' or 'POST', got {method!r}")
        if headers and not isinstance(headers, dict):
            raise TypeError(f'headers must be a dict or None, got {type(headers).__name__}')
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
            raise ValueError(f'timeout must be a positive integer, got {timeout!r}')
        self.url, self.job_status, self.method = url, job_status, method
        self.headers, self.timeout = headers, timeout

    def __eq__(self, other):
        return isinstance(other, _RQWebhook) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f'Webhook({self.url!r}, {self.job_status!r}, method={self.method!r})'

    def to_dict(self):
        return {'url': self.url, 'job_status': self.job_status, 'method': self.method,
                'headers': self.headers, 'timeout': self.timeout}

    @classmethod
    def from_dict(cls, data):
        return cls(data['url'], data['job_status'], method=data.get('method', 'GET'),
                   headers=data.get('headers'), timeout=data.get('timeout', 10))

    def get_payload(self, job, *, exc_string=None):
        payload = {'job_id': job.id, 'func_name': job.func_name, 'status': self.job_status,
                   'enqueued_at': job.enqueued_at.isoformat() if job.enqueued_at else None,
                   'ended_at': job.ended_at.isoformat() if job.ended_at else None}
        if self.job_status == 'failed':
            payload['exc_info'] = exc_string
        return payload

    def send(self, job, *, exc_string=None):
        import urllib.request             # only a user who sends webhooks pays for the import
        headers, data = dict(self.headers or {}), None
        if self.method == 'POST':
            data = json.dumps(self.get_payload(job, exc_string=exc_string)).encode('utf-8')
            headers.setdefault('Content-Type', 'application/json')
        try:
            request = urllib.request.Request(self.url, data=data, headers=headers,
                                             method=self.method)
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
        except Exception:
            logging.getLogger('rq.webhook').warning(
                'Failed to send webhook to %s for job %s', self.url, job.id, exc_info=True)


# -- rq.logutils --------------------------------------------------------------

_COLOR_CODES = {'': '', 'reset': '\x1b[39;49;00m', 'bold': '\x1b[01m', 'faint': '\x1b[02m',
                'standout': '\x1b[03m', 'underline': '\x1b[04m', 'blink': '\x1b[05m',
                'overline': '\x1b[06m'}
for _code, (_dark, _light) in enumerate(zip(
        ('black', 'darkred', 'darkgreen', 'brown', 'darkblue', 'purple', 'teal', 'lightgray'),
        ('darkgray', 'red', 'green', 'yellow', 'blue', 'fuchsia', 'turquoise', 'white')), 30):
    _COLOR_CODES[_dark], _COLOR_CODES[_light] = f'\x1b[{_code}m', f'\x1b[{_code};01m'
_COLOR_CODES.update(darkteal=_COLOR_CODES['turquoise'], darkyellow=_COLOR_CODES['brown'],
                    fuscia=_COLOR_CODES['fuchsia'], white=_COLOR_CODES['bold'])
del _code, _dark, _light


class _Colorizer:
    """``rq.logutils.colorizer``: ANSI colours, or plain text when stdout is not a terminal."""

    def __init__(self):
        self.codes = _COLOR_CODES
        isatty = getattr(sys.stdout, 'isatty', None)
        self.notty = not (isatty and isatty())

    def colorize(self, color_key, text):
        return text if self.notty else self.codes[color_key] + text + self.codes['reset']


def _make_colorizer(color):
    def inner(text):
        return _rq_colorizer.colorize(color, text)
    return inner


_rq_colorizer = _Colorizer()


class _ColorizingStreamHandler(logging.StreamHandler):
    """``rq.logutils.ColorizingStreamHandler(exclude=None, stream=None)``: a StreamHandler."""

    levels = {logging.WARNING: _make_colorizer('darkyellow'),
              logging.ERROR: _make_colorizer('darkred'), logging.CRITICAL: _make_colorizer('darkred')}

    def __init__(self, exclude=None, *args, **kwargs):
        self.exclude = exclude
        super().__init__(*args, **kwargs)

    @property
    def is_tty(self):
        isatty = getattr(self.stream, 'isatty', None)
        return bool(isatty and isatty())


def _setup_loghandlers(level=None, date_format='%H:%M:%S', log_format='%(asctime)s %(message)s',
                       name='rq.worker'):
    """RQ's ``setup_loghandlers``: stdout below ERROR, stderr from ERROR, unless already handled."""
    logger = logging.getLogger(name)
    handled, parent = False, logger
    while parent is not None and not handled:
        handled, parent = bool(parent.handlers), parent.parent
    if not handled:
        formatter = logging.Formatter(fmt=log_format, datefmt=date_format)
        for stream, wanted in ((sys.stdout, lambda r: r.levelno < logging.ERROR),
                               (sys.stderr, lambda r: r.levelno >= logging.ERROR)):
            handler = _ColorizingStreamHandler(stream=stream)
            handler.setFormatter(formatter)
            handler.addFilter(wanted)
            logger.addHandler(handler)
    if level is not None:
        logger.setLevel(level if isinstance(level, int) else level.upper())


def _setup_loghandlers_from_args(verbose, quiet, date_format, log_format):
    if verbose and quiet:
        raise RuntimeError('Flags --verbose and --quiet are mutually exclusive.')
    level = 'DEBUG' if verbose else 'WARNING' if quiet else None
    _setup_loghandlers(level, date_format=date_format, log_format=log_format)


# -- rq.local -----------------------------------------------------------------

class _Local(threading.local):
    """``rq.local.Local``: attributes private to the current thread."""

    def __release_local__(self):
        self.__dict__.clear()


class _LocalStack:
    """``rq.local.LocalStack``: a stack of objects private to the current thread."""

    def __init__(self):
        self._local = _Local()

    def __len__(self):
        return len(getattr(self._local, 'stack', ()))

    def __release_local__(self):
        self._local.__release_local__()

    def push(self, obj):
        stack = self._local.__dict__.setdefault('stack', [])
        stack.append(obj)
        return stack

    def pop(self):
        stack = getattr(self._local, 'stack', None)
        if not stack:
            return None
        return stack.pop()

    @property
    def top(self):
        stack = getattr(self._local, 'stack', None)
        return stack[-1] if stack else None


def _release_local(local):
    local.__release_local__()


# -- rq.worker_registration, rq.command, rq.dependency ------------------------

def _rq_register_worker(worker, pipeline=None):
    """``rq.worker_registration.register``: list the worker in Worker.all()."""
    worker.register_birth()


def _rq_unregister_worker(worker, pipeline=None):
    worker.register_death()


def _rq_worker_keys(queue=None, connection=None):
    """``rq.worker_registration.get_keys``: the keys of the live workers (of ``queue``)."""
    if queue is None and connection is None:
        raise ValueError('"Queue" or "connection" argument is required')
    if queue is not None:
        return {w.key for w in Worker.all(queue=queue)}
    return {w.key for w in Worker.all(connection=connection)}


def _rq_clean_worker_registry(queue):
    """Forget the registered workers that are gone (no record, or no heartbeat in time)."""
    store = _resolve_store(queue.connection)
    with store.transaction() as tx:
        registered = set(tx.smembers(('workers',)))     # before: a worker born later stays
    live = {worker.name for worker in Worker.all(connection=store)}
    with store.transaction() as tx:
        for name in registered - live:
            tx.srem(('workers',), name)
            tx.delete(('worker', name))


def _rq_send_command(connection, worker_name, command, **kwargs):
    """``rq.command.send_command``: 'shutdown', 'kill-horse' or 'stop-job' (with job_id=)."""
    if command == 'shutdown':
        return send_shutdown_command(connection, worker_name)
    if command == 'kill-horse':
        return send_kill_horse_command(connection, worker_name)
    if command == 'stop-job':
        return send_stop_job_command(connection, kwargs['job_id'])
    raise ValueError(f"command {command!r}: expected 'shutdown', 'kill-horse' or 'stop-job'")


def _rq_parse_payload(payload):
    return json.loads(payload.get('data'))


def _rq_handle_command(worker, payload):
    """``rq.command.handle_command``: act on a command payload ({'command': ..., ...})."""
    return _rq_send_command(worker.connection, worker.name, payload['command'],
                            **{k: v for k, v in payload.items() if k != 'command'})


def _rq_handle_shutdown_command(worker):
    worker.request_stop()


def _rq_handle_kill_worker_command(worker, payload):
    send_kill_horse_command(worker.connection, worker.name)


def _rq_handle_stop_job_command(worker, payload):
    send_stop_job_command(worker.connection, payload['job_id'])


class _RQDependencyHelper:
    """``rq.dependency.Dependency``: RQ's internal helper (the user class is ``rq.job.Dependency``)."""

    @classmethod
    def get_jobs_with_met_dependencies(cls, jobs, pipeline=None):
        """Split ``jobs`` into (those whose dependencies are met, the others)."""
        met, unmet = [], []
        for job in jobs:
            ok = (_S.FINISHED, _S.FAILED, _S.STOPPED, _S.CANCELED) if job.allow_dependency_failures \
                else (_S.FINISHED,)
            done = all(parent.get_status() in ok for parent in job.fetch_dependencies())
            (met if done else unmet).append(job)
        return met, unmet


def _rq_signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return 'SIG_UNKNOWN'


def _rq_clean_intermediate_queue(worker, queue):
    """Nothing to clean: the emulator moves each job into its registry atomically."""


def _rq_parse_job_id(job_or_execution_id):
    return job_or_execution_id.split(':')[0]


def _rq_validate_job_id(job_id):
    if not isinstance(job_id, str):
        raise TypeError(f'Job ID must be a string, not {type(job_id)}')
    _validate_job_id(job_id)


def _rq_import_class(name, base, what):
    cls = _import_attribute(name)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f'Invalid {what} class: {name}')
    return cls


def _rq_import_job_class(name):
    return _rq_import_class(name, Job, 'job')


def _rq_import_queue_class(name):
    return _rq_import_class(name, Queue, 'queue')


def _rq_import_worker_class(name):
    return _rq_import_class(name, Worker, 'worker')


def _rq_parse_names(queues_or_names):
    return [q.name if isinstance(q, Queue) else str(q) for q in queues_or_names]


def _rq_connection_from_queues(queues_or_names):
    return next((q.connection for q in queues_or_names if isinstance(q, Queue)), None)


def _rq_read_config_file(module):
    """The UPPERCASE settings of a module (``rq -c settings``)."""
    return {k: v for k, v in vars(importlib.import_module(module)).items() if k.upper() == k}


_RQEnqueueArgs = collections.namedtuple('EnqueueArgs', [
    'func', 'timeout', 'description', 'result_ttl', 'ttl', 'failure_ttl', 'depends_on', 'job_id',
    'at_front', 'meta', 'retry', 'repeat', 'on_success', 'on_failure', 'on_stopped', 'pipeline',
    'unique', 'args', 'kwargs', 'webhooks'])


class _RQParsingMode(enum.Enum):
    PLAIN_TEXT = 0
    JSON = 1
    LITERAL_EVAL = 2


class _RQSerializer:
    """``rq.serializers.Serializer``: what a serializer provides (``dumps``, ``loads``)."""

    def dumps(self, obj):
        raise NotImplementedError

    def loads(self, data):
        raise NotImplementedError


class _NoRedisConnectionException(Exception):
    pass


_UNEVALUATED = object()       # rq.job.UNEVALUATED: RQ's "not loaded yet" sentinel
_RQ_DEATH_PENALTIES = {name: _unemulated('rq.timeouts', name, 'death penalties (the worker '
                                         'itself enforces job timeouts)')
                       for name in ('BaseDeathPenalty', 'UnixSignalDeathPenalty', 'TimerDeathPenalty')}


def _rq_default_death_penalty_class():
    return _RQ_DEATH_PENALTIES['TimerDeathPenalty' if os.name == 'nt' else 'UnixSignalDeathPenalty']


def _rq_results_key(job_id):
    return f'rq:results:{job_id}'


# Every module of RQ 2.12 and the names it shares with other RQ modules (the
# same object wherever it appears); _rq_names() maps each to its object and
# _rq_own_names() adds the names that mean something else in each module.
_RQ_MODULES = {
    'rq': 'Callback Queue Repeat Retry SimpleWorker SpawnWorker VERSION Webhook Worker '
          'cancel_job get_current_job requeue_job',
    'rq.command': 'InvalidJobOperation Job PUBSUB_CHANNEL_TEMPLATE handle_command '
                  'handle_kill_worker_command handle_shutdown_command handle_stop_job_command '
                  'parse_payload send_command send_kill_horse_command send_shutdown_command '
                  'send_stop_job_command',
    'rq.connections': 'NoRedisConnectionException REDIS_RUNTIME_CONNECTION_KWARGS '
                      'get_connection_kwargs parse_connection',
    'rq.contrib': '',
    'rq.decorators': 'Callback DEFAULT_RESULT_TTL Queue Webhook job',
    'rq.defaults': 'CALLBACK_TIMEOUT DEFAULT_CONNECTION_CLASS DEFAULT_CRON_JOB_HISTORY_LIMIT '
                   'DEFAULT_CRON_JOB_HISTORY_TTL DEFAULT_CRON_SCHEDULER_TTL '
                   'DEFAULT_DEATH_PENALTY_CLASS DEFAULT_FAILURE_TTL DEFAULT_JOB_CLASS '
                   'DEFAULT_JOB_MONITORING_INTERVAL DEFAULT_LOGGING_DATE_FORMAT '
                   'DEFAULT_LOGGING_FORMAT DEFAULT_MAINTENANCE_TASK_INTERVAL DEFAULT_QUEUE_CLASS '
                   'DEFAULT_RESULT_TTL DEFAULT_SCHEDULER_FALLBACK_PERIOD DEFAULT_SERIALIZER_CLASS '
                   'DEFAULT_WORKER_CLASS DEFAULT_WORKER_TTL UNSERIALIZABLE_RETURN_VALUE_PAYLOAD',
    'rq.dependency': 'Job',
    'rq.exceptions': 'AbandonedJobError DequeueTimeout DeserializationError DuplicateJobError '
                     'DuplicateSchedulerError InvalidJobDependency InvalidJobOperation '
                     'InvalidJobOperationError NoSuchGroupError NoSuchJobError SchedulerNotFound '
                     'ShutDownImminentException StopRequested TimeoutFormatError',
    'rq.group': 'EnqueueData Group Job NoSuchGroupError Queue as_text',
    'rq.intermediate_queue': 'IntermediateQueue now',
    'rq.job': 'BaseDeathPenalty CALLBACK_TIMEOUT Callback Dependency DeserializationError '
              'FailureCallbackType FunctionReferenceType InvalidJobOperation JOB_ID_PATTERN Job '
              'JobDependencyType JobStatus JobTimeoutException LocalStack NoSuchJobError Retry '
              'SuccessCallbackType UNEVALUATED UNSERIALIZABLE_RETURN_VALUE_PAYLOAD Webhook as_text '
              'cancel_job decode_redis_hash ensure_job_list get_call_string get_current_job '
              'import_attribute now parse_job_id parse_timeout requeue_job '
              'resolve_function_reference resolve_serializer str_to_date utcformat validate_job_id',
    'rq.local': 'Local LocalManager LocalProxy LocalStack release_local',
    'rq.logutils': 'ColorizingStreamHandler DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT '
                   'blue colorizer green make_colorizer red setup_loghandlers yellow',
    'rq.maintenance': 'IntermediateQueue Queue clean_intermediate_queue',
    'rq.queue': 'BaseDeathPenalty Callback DEFAULT_RESULT_TTL Dependency DequeueTimeout '
                'EnqueueArgs EnqueueData FunctionReferenceType IntermediateQueue Job '
                'JobDependencyType JobStatus NoSuchJobError Queue Repeat Serializer '
                'UnixSignalDeathPenalty Webhook as_text backend_class blue compact get_version '
                'green import_attribute now parse_timeout resolve_serializer save_unique_job '
                'schedule_unique_job',
    'rq.registry': 'AbandonedJobError BaseDeathPenalty BaseRegistry CanceledJobRegistry '
                   'DEFAULT_FAILURE_TTL DeferredJobRegistry FailedJobRegistry FinishedJobRegistry '
                   'InvalidJobOperation Job JobStatus NoSuchJobError Queue ScheduledJobRegistry '
                   'StartedJobRegistry UnixSignalDeathPenalty as_text backend_class '
                   'clean_registries current_timestamp get_connection_kwargs now '
                   'parse_composite_key resolve_serializer',
    'rq.repeat': 'Repeat',
    'rq.results': 'Job Result UNSERIALIZABLE_RETURN_VALUE_PAYLOAD decode_redis_hash get_key now '
                  'resolve_serializer',
    'rq.scripts': 'ACQUIRE_OR_REFRESH_LOCK_SCRIPT DuplicateJobError RELEASE_LOCK_SCRIPT '
                  'UNIQUE_ENQUEUE_SCRIPT UNIQUE_SCHEDULE_SCRIPT acquire_or_refresh_lock blue '
                  'get_unique_enqueue_script get_unique_schedule_script green release_lock '
                  'save_unique_job schedule_unique_job',
    'rq.serializers': 'DefaultSerializer JSONSerializer PickleSerializer SERIALIZER_ALIASES '
                      'Serializer import_attribute resolve_serializer',
    'rq.suspension': 'WORKERS_SUSPENDED is_suspended resume suspend',
    'rq.timeouts': 'BaseDeathPenalty BaseTimeoutException HorseMonitorTimeoutException '
                   'JobTimeoutException TimerDeathPenalty UnixSignalDeathPenalty '
                   'get_default_death_penalty_class',
    'rq.types': 'FailureCallbackType FunctionReferenceType JobDependencyType SuccessCallbackType',
    'rq.utils': 'NOT_JSON_SERIALIZABLE Platform TimeoutFormatError as_text backend_class ceildiv '
                'compact current_timestamp decode_redis_hash ensure_job_list get_call_string '
                'get_connection_from_queues get_platform get_version import_attribute '
                'import_job_class import_queue_class import_worker_class is_nonstring_iterable '
                'normalize_config_path now parse_composite_key parse_names parse_timeout '
                'resolve_function_reference safe_json_dumps split_list str_to_date '
                'truncate_long_string utcformat utcparse validate_absolute_path',
    'rq.version': 'VERSION',
    'rq.webhook': 'Webhook',
    'rq.worker': 'BaseWorker DEFAULT_RESULT_TTL DequeueStrategy HerokuWorker RandomWorker '
                 'RoundRobinWorker SHUTDOWN_SIGNAL SimpleWorker SpawnWorker Worker WorkerStatus '
                 '_signames signal_name',
    'rq.worker.base': 'BaseWorker DEFAULT_JOB_MONITORING_INTERVAL DEFAULT_LOGGING_DATE_FORMAT '
                      'DEFAULT_LOGGING_FORMAT DEFAULT_MAINTENANCE_TASK_INTERVAL DEFAULT_RESULT_TTL '
                      'DEFAULT_WORKER_TTL DequeueStrategy DequeueTimeout DeserializationError '
                      'Execution Group Job JobStatus JobTimeoutException PUBSUB_CHANNEL_TEMPLATE '
                      'Queue RQScheduler Result Retry SHUTDOWN_SIGNAL Serializer '
                      'StartedJobRegistry StopRequested VERSION WorkerStatus as_text blue '
                      'clean_registries cleanup_execution compact decode_redis_hash '
                      'ensure_job_list get_connection_from_queues get_default_death_penalty_class '
                      'get_version green handle_command import_job_class import_queue_class '
                      'is_suspended now parse_payload prepare_execution resolve_serializer '
                      'setup_loghandlers signal_name utcformat utcparse yellow',
    'rq.worker.worker_classes': 'BaseWorker DEFAULT_WORKER_TTL HerokuWorker '
                                'HorseMonitorTimeoutException InvalidJobOperation Job JobStatus '
                                'RandomWorker RoundRobinWorker SHUTDOWN_SIGNAL '
                                'ShutDownImminentException SimpleWorker SpawnWorker Worker '
                                'WorkerStatus get_connection_kwargs now signal_name',
    'rq.worker_pool': 'BaseWorker DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT '
                      'DefaultSerializer Job Queue Worker WorkerData WorkerPool parse_connection '
                      'parse_names run_worker setup_loghandlers',
    'rq.worker_registration': 'MAX_KEYS REDIS_WORKER_KEYS WORKERS_BY_QUEUE_KEY as_text split_list',
    # The features still to come (cron, RQScheduler, executions): see _rq_pending_names().
    'rq.cron': 'DEFAULT_CRON_JOB_HISTORY_LIMIT DEFAULT_CRON_JOB_HISTORY_TTL '
               'DEFAULT_CRON_SCHEDULER_TTL DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT '
               'DEFAULT_RESULT_TTL Job NOT_JSON_SERIALIZABLE Queue SchedulerNotFound StopRequested '
               'Webhook as_text decode_redis_hash normalize_config_path now resolve_serializer '
               'safe_json_dumps setup_loghandlers str_to_date utcformat utcparse '
               'validate_absolute_path',
    'rq.cron_job_registry': 'DEFAULT_CRON_JOB_HISTORY_TTL',
    'rq.cron_scheduler_registry': 'DEFAULT_CRON_SCHEDULER_TTL DuplicateSchedulerError '
                                  'SchedulerNotFound',
    'rq.executions': 'BaseRegistry Job StartedJobRegistry as_text current_timestamp now '
                     'parse_composite_key',
    'rq.scheduler': 'ACQUIRE_OR_REFRESH_LOCK_SCRIPT DEFAULT_LOGGING_DATE_FORMAT '
                    'DEFAULT_LOGGING_FORMAT DEFAULT_SCHEDULER_FALLBACK_PERIOD Job Queue '
                    'ScheduledJobRegistry SchedulerNotFound acquire_or_refresh_lock '
                    'current_timestamp decode_redis_hash now parse_connection parse_names '
                    'release_lock resolve_serializer setup_loghandlers utcformat utcparse',
}
_RQ_PACKAGES = ('rq', 'rq.cli', 'rq.contrib', 'rq.worker')
# A module that another RQ module binds as an attribute besides its parent package.
_RQ_MODULE_ATTRIBUTES = (('rq.cron', 'cron_job_registry', 'rq.cron_job_registry'),
                         ('rq.cron', 'cron_scheduler_registry', 'rq.cron_scheduler_registry'),
                         ('rq.worker.base', 'worker_registration', 'rq.worker_registration'))


def _rq_names():
    """RQ's names that mean the same in every RQ module that has them, and their objects."""
    unemulated = _unemulated
    registries = {_REGISTRIES[kind].__name__: cls for kind, cls in _RQ_REGISTRIES.items()}
    exceptions = {cls.__name__: cls for cls in (
        NoSuchJobError, InvalidJobOperation, InvalidJobOperationError, DequeueTimeout,
        AbandonedJobError, DeserializationError, InvalidJobDependency, DuplicateJobError,
        NoSuchGroupError, ShutDownImminentException, TimeoutFormatError, SchedulerNotFound,
        DuplicateSchedulerError, StopRequested, JobTimeoutException, BaseTimeoutException,
        HorseMonitorTimeoutException)}
    scripts = "RQ's Redis Lua scripts"
    pools = 'Redis connection pools (there is no Redis connection)'
    defaults = dict(
        DEFAULT_JOB_CLASS='rq.job.Job', DEFAULT_QUEUE_CLASS='rq.Queue',
        DEFAULT_WORKER_CLASS='rq.Worker', DEFAULT_SERIALIZER_CLASS='rq.serializers.DefaultSerializer',
        DEFAULT_CONNECTION_CLASS='redis.Redis', DEFAULT_WORKER_TTL=420,
        DEFAULT_JOB_MONITORING_INTERVAL=30, DEFAULT_RESULT_TTL=DEFAULT_RESULT_TTL,
        DEFAULT_FAILURE_TTL=DEFAULT_FAILURE_TTL, DEFAULT_CRON_JOB_HISTORY_LIMIT=1000,
        DEFAULT_CRON_JOB_HISTORY_TTL=31536000, DEFAULT_CRON_SCHEDULER_TTL=120,
        DEFAULT_SCHEDULER_FALLBACK_PERIOD=120, DEFAULT_MAINTENANCE_TASK_INTERVAL=600,
        CALLBACK_TIMEOUT=CALLBACK_TIMEOUT, DEFAULT_LOGGING_DATE_FORMAT='%H:%M:%S',
        DEFAULT_LOGGING_FORMAT='%(asctime)s %(message)s',
        DEFAULT_DEATH_PENALTY_CLASS='rq.timeouts.UnixSignalDeathPenalty',
        UNSERIALIZABLE_RETURN_VALUE_PAYLOAD='Unserializable return value')
    utils = dict(
        NOT_JSON_SERIALIZABLE=_NOT_JSON_SERIALIZABLE, Platform=_Platform, as_text=_as_text,
        backend_class=_backend_class, ceildiv=_ceildiv, compact=_compact,
        current_timestamp=_current_timestamp, decode_redis_hash=_decode_redis_hash,
        ensure_job_list=_ensure_list, get_call_string=_get_call_string,
        get_connection_from_queues=_rq_connection_from_queues, get_platform=_get_platform,
        get_version=_get_version, import_attribute=_import_attribute,
        import_job_class=_rq_import_job_class, import_queue_class=_rq_import_queue_class,
        import_worker_class=_rq_import_worker_class, is_nonstring_iterable=_is_nonstring_iterable,
        normalize_config_path=_normalize_config_path, now=_now,
        parse_composite_key=_parse_composite_key, parse_names=_rq_parse_names,
        parse_timeout=_rq_parse_timeout, resolve_function_reference=_resolve_function_reference,
        safe_json_dumps=_safe_json_dumps, split_list=_split_list, str_to_date=_str_to_date,
        truncate_long_string=_truncate_long_string, utcformat=_utcformat, utcparse=_utcparse,
        validate_absolute_path=_validate_absolute_path)
    return dict(
        registries, **exceptions, **_RQ_DEATH_PENALTIES, **defaults, **utils,
        Queue=_RQQueue, Job=_RQJob, JobStatus=JobStatus, Retry=Retry, Repeat=Repeat,
        Callback=Callback, Dependency=Dependency, Group=Group, Result=Result, Webhook=_RQWebhook,
        EnqueueData=EnqueueData, EnqueueArgs=_RQEnqueueArgs, BaseRegistry=BaseRegistry,
        clean_registries=clean_registries, cancel_job=cancel_job, requeue_job=requeue_job,
        get_current_job=get_current_job, job=_RQjob, VERSION='2.12.0',
        JOB_ID_PATTERN=re.compile(r'[A-Za-z0-9_-]+'), UNEVALUATED=_UNEVALUATED,
        parse_job_id=_rq_parse_job_id, validate_job_id=_rq_validate_job_id,
        resolve_serializer=resolve_serializer,
        # rq.worker, rq.worker_pool
        Worker=_RQWorker, SimpleWorker=_RQSimpleWorker, SpawnWorker=_RQSpawnWorker,
        BaseWorker=_RQWorker, HerokuWorker=_RQHerokuWorker, RoundRobinWorker=_RQRoundRobinWorker,
        RandomWorker=_RQRandomWorker, WorkerStatus=WorkerStatus, DequeueStrategy=DequeueStrategy,
        SHUTDOWN_SIGNAL=getattr(signal, 'SIGKILL', signal.SIGTERM), signal_name=_rq_signal_name,
        _signames={getattr(signal, name): name for name in dir(signal)
                   if name.startswith('SIG') and '_' not in name},
        WorkerPool=WorkerPool, WorkerData=collections.namedtuple('WorkerData', 'name pid process'),
        run_worker=unemulated('rq.worker_pool', 'run_worker', 'worker processes of a WorkerPool'),
        get_default_death_penalty_class=_rq_default_death_penalty_class,
        # rq.command, rq.suspension
        PUBSUB_CHANNEL_TEMPLATE='rq:pubsub:%s', send_command=_rq_send_command,
        send_stop_job_command=send_stop_job_command, send_shutdown_command=send_shutdown_command,
        send_kill_horse_command=send_kill_horse_command, parse_payload=_rq_parse_payload,
        handle_command=_rq_handle_command, handle_shutdown_command=_rq_handle_shutdown_command,
        handle_kill_worker_command=_rq_handle_kill_worker_command,
        handle_stop_job_command=_rq_handle_stop_job_command,
        WORKERS_SUSPENDED='rq:suspended', suspend=suspend, resume=resume, is_suspended=is_suspended,
        # rq.serializers, rq.types
        DefaultSerializer=DefaultSerializer, PickleSerializer=PickleSerializer,
        JSONSerializer=JSONSerializer, Serializer=_RQSerializer,
        SERIALIZER_ALIASES={'json': JSONSerializer, 'pickle': PickleSerializer},
        FunctionReferenceType=object, JobDependencyType=object, SuccessCallbackType=object,
        FailureCallbackType=object,
        # rq.logutils, rq.local
        ColorizingStreamHandler=_ColorizingStreamHandler, setup_loghandlers=_setup_loghandlers,
        colorizer=_rq_colorizer, make_colorizer=_make_colorizer,
        green=_make_colorizer('darkgreen'), yellow=_make_colorizer('darkyellow'),
        blue=_make_colorizer('darkblue'), red=_make_colorizer('darkred'),
        Local=_Local, LocalStack=_LocalStack, release_local=_release_local,
        LocalManager=unemulated('rq.local', 'LocalManager', 'LocalManager'),
        LocalProxy=unemulated('rq.local', 'LocalProxy', 'LocalProxy'),
        # rq.results, rq.worker_registration, rq.maintenance, rq.intermediate_queue
        get_key=_rq_results_key,
        WORKERS_BY_QUEUE_KEY='rq:workers:%s', REDIS_WORKER_KEYS='rq:workers', MAX_KEYS=1000,
        clean_intermediate_queue=_rq_clean_intermediate_queue,
        IntermediateQueue=unemulated('rq.intermediate_queue', 'IntermediateQueue',
                                     "RQ's intermediate queue (jobs move atomically here)"),
        # rq.connections, rq.scripts
        NoRedisConnectionException=_NoRedisConnectionException,
        REDIS_RUNTIME_CONNECTION_KWARGS=(
            'maint_notifications_config', 'maint_notifications_pool_handler',
            'himport_registry', 'event_dispatcher', 'orig_host_address', 'orig_socket_timeout',
            'orig_socket_connect_timeout'),
        get_connection_kwargs=unemulated('rq.connections', 'get_connection_kwargs', pools),
        parse_connection=unemulated('rq.connections', 'parse_connection', pools),
        ACQUIRE_OR_REFRESH_LOCK_SCRIPT=unemulated('rq.scripts', 'ACQUIRE_OR_REFRESH_LOCK_SCRIPT',
                                                  scripts),
        RELEASE_LOCK_SCRIPT=unemulated('rq.scripts', 'RELEASE_LOCK_SCRIPT', scripts),
        UNIQUE_ENQUEUE_SCRIPT=unemulated('rq.scripts', 'UNIQUE_ENQUEUE_SCRIPT', scripts),
        UNIQUE_SCHEDULE_SCRIPT=unemulated('rq.scripts', 'UNIQUE_SCHEDULE_SCRIPT', scripts),
        acquire_or_refresh_lock=unemulated('rq.scripts', 'acquire_or_refresh_lock', scripts),
        release_lock=unemulated('rq.scripts', 'release_lock', scripts),
        get_unique_enqueue_script=unemulated('rq.scripts', 'get_unique_enqueue_script', scripts),
        get_unique_schedule_script=unemulated('rq.scripts', 'get_unique_schedule_script', scripts),
        save_unique_job=unemulated('rq.scripts', 'save_unique_job', scripts),
        schedule_unique_job=unemulated('rq.scripts', 'schedule_unique_job', scripts),
    )


def _rq_own_names():
    """RQ's names that differ between modules (loggers, RQ's internal Dependency, registers)."""
    loggers = {'rq.job': 'rq.job', 'rq.queue': 'rq.queue', 'rq.registry': 'rq.registry',
               'rq.utils': 'rq.utils', 'rq.webhook': 'rq.webhook', 'rq.worker': 'rq.worker',
               'rq.worker.base': 'rq.worker', 'rq.executions': 'rq.worker',
               'rq.scripts': 'rq.scripts'}
    own = {module: {'logger': logging.getLogger(name)} for module, name in loggers.items()}
    own['rq'] = {'__version__': '2.12.0'}
    own['rq.dependency'] = {'Dependency': _RQDependencyHelper}
    own['rq.worker_registration'] = dict(
        register=_rq_register_worker, unregister=_rq_unregister_worker, get_keys=_rq_worker_keys,
        clean_worker_registry=_rq_clean_worker_registry)
    return own


# -- Pending features: import-only stand-ins until the emulator has them ------
# Each entry is replaced by the real object when the feature lands.

def _rq_scheduler_run(scheduler):
    """``rq.scheduler.run``: the scheduler's loop, here in this thread (RQ forks for it)."""
    scheduler.work()


class _RQCronScheduler(CronScheduler):
    queue_class = _RQQueue


def _rq_cron_modules():
    """rq.cron, rq.cron_job_registry, rq.cron_scheduler_registry and rq.scheduler."""
    return {
        'rq.cron': dict(cron.__dict__, __name__='rq.cron', CronScheduler=_RQCronScheduler,
                        create_cron=lambda connection: _create_cron(connection, _RQCronScheduler),
                        DEFAULT_CRON_JOB_HISTORY_LIMIT=_CRON_HISTORY_LIMIT,
                        DEFAULT_CRON_JOB_HISTORY_TTL=_CRON_HISTORY_TTL,
                        DEFAULT_CRON_SCHEDULER_TTL=_CRON_SCHEDULER_TTL,
                        DEFAULT_RESULT_TTL=DEFAULT_RESULT_TTL),
        'rq.cron_job_registry': dict(get_registry_key=_cron_jobs_registry_key, add=_cron_jobs_add,
                                     get_names=_cron_jobs_names,
                                     remove_stale_entries=_cron_jobs_remove_stale),
        'rq.cron_scheduler_registry': dict(
            get_registry_key=_cron_schedulers_registry_key, register=_cron_schedulers_register,
            unregister=_cron_schedulers_unregister, get_keys=_cron_schedulers_names,
            cleanup=_cron_schedulers_cleanup),
        'rq.scheduler': dict(RQScheduler=RQScheduler, SchedulerStatus=SchedulerStatus,
                             SCHEDULER_KEY_TEMPLATE='rq:scheduler:%s',
                             SCHEDULER_LOCKING_KEY_TEMPLATE='rq:scheduler-lock:%s'),
    }


def _prepare_execution(worker, job):
    """``rq.worker.base.prepare_execution``: ``worker.prepare_execution(job)``."""
    return worker.prepare_execution(job)


def _cleanup_execution(worker, job, pipeline=None):
    """``rq.worker.base.cleanup_execution``: a run's record goes when the run ends here."""


def _rq_modules():
    """The module objects that stand in for ``rq`` and its submodules."""
    shared, own = _rq_names(), _rq_own_names()
    shared.update(Execution=Execution, cleanup_execution=_cleanup_execution,   # what other
                  prepare_execution=_prepare_execution,                        # modules import
                  RQScheduler=RQScheduler, CronScheduler=_RQCronScheduler)
    own.setdefault('rq.executions', {}).update(
        Execution=Execution, ExecutionRegistry=ExecutionRegistry,
        cleanup_execution=_cleanup_execution, prepare_execution=_prepare_execution)
    for module, names in _rq_cron_modules().items():    # rq.cron, its registries, rq.scheduler
        own.setdefault(module, {}).update(names)
    own['rq.scheduler']['run'] = _rq_scheduler_run
    modules = {}
    for name, names in _RQ_MODULES.items():
        attributes = {attr: shared[attr] for attr in names.split()}
        attributes.update(own.get(name, {}))
        modules[name] = _rq_module(name, attributes)
    if importlib.util.find_spec('click') is not None:
        modules.update(_rq_cli_modules(shared))
    for name, module in modules.items():
        parent, _, attr = name.rpartition('.')
        if parent:
            setattr(modules[parent], attr, module)
    for name, attr, target in _RQ_MODULE_ATTRIBUTES:
        setattr(modules[name], attr, modules[target])
    return modules


def _rq_module(name, attributes):
    module = types.ModuleType(name, f'rq_emulator standing in for {name}')
    module.__dict__.update(attributes)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=name in _RQ_PACKAGES)
    if name in _RQ_PACKAGES:
        module.__path__ = []
    return module


# -- rq.cli (built only when click is importable) -----------------------------
# RQ's click commands with RQ's options; each runs the emulator's own command
# line, main(argv), on the SQLite store that several processes share.

_RQ_SHARED_OPTIONS = (
    (('--url', '-u'), dict(envvar='RQ_REDIS_URL', help='Where the jobs are stored.')),
    (('--config', '-c'), dict(envvar='RQ_CONFIG', help='Module containing RQ settings.')),
    (('--worker-class', '-w'), dict(envvar='RQ_WORKER_CLASS', default='rq.Worker',
                                    help='Worker class to use.')),
    (('--job-class', '-j'), dict(envvar='RQ_JOB_CLASS', default='rq.job.Job',
                                 help='Job class to use.')),
    (('--queue-class',), dict(envvar='RQ_QUEUE_CLASS', default='rq.Queue',
                              help='Queue class to use.')),
    (('--connection-class',), dict(envvar='RQ_CONNECTION_CLASS', default='redis.Redis',
                                   help='Redis client class to use.')),
    (('--path', '-P'), dict(default=['.'], multiple=True, help='Specify the import path.')),
    (('--serializer', '-S'), dict(default='rq.serializers.DefaultSerializer',
                                  help='Serializer: json, pickle, or a dotted import path.')),
)
_LOG_FORMAT, _DATE_FORMAT = '%(asctime)s %(message)s', '%H:%M:%S'
_RQ_CLI_COMMANDS = {     # command: (help, options, arguments)
    'worker': ('Starts an RQ worker.', (
        (('--burst', '-b'), dict(is_flag=True, help='Quit when the queues are empty.')),
        (('--logging_level',), dict(type=str, default=None, help='Logging level.')),
        (('--log-format',), dict(type=str, default=_LOG_FORMAT, help='Format of the logs.')),
        (('--date-format',), dict(type=str, default=_DATE_FORMAT, help='Date format of the logs.')),
        (('--name', '-n'), dict(help='Name of the worker.')),
        (('--results-ttl',), dict(type=int, default=DEFAULT_RESULT_TTL,
                                  help='Seconds that results are kept.')),
        (('--worker-ttl',), dict(type=int, default=420, help='Worker timeout in seconds.')),
        (('--maintenance-interval',), dict(type=int, default=600,
                                           help='Seconds between maintenance tasks.')),
        (('--job-monitoring-interval',), dict(type=int, default=30,
                                              help='Seconds between heartbeats during a job.')),
        (('--disable-job-desc-logging',), dict(is_flag=True, help='Do not log job descriptions.')),
        (('--verbose', '-v'), dict(is_flag=True, help='Show more output.')),
        (('--quiet', '-q'), dict(is_flag=True, help='Show less output.')),
        (('--exception-handler',), dict(multiple=True, help='Dotted path of an exception handler.')),
        (('--pid',), dict(help='Write the process id to this file.')),
        (('--disable-default-exception-handler', '-d'), dict(
            is_flag=True, help="Do not move failed jobs with RQ's default handler.")),
        (('--max-jobs',), dict(type=int, default=None, help='Stop after this many jobs.')),
        (('--max-idle-time',), dict(type=int, default=None,
                                    help='Stop after this many seconds without a job.')),
        (('--with-scheduler', '-s'), dict(is_flag=True, help='Also enqueue due scheduled jobs.')),
        (('--dequeue-strategy', '-ds'), dict(default='default',
                                             help='default, round_robin or random.'))),
        (('queues', -1),)),
    'info': ('RQ command-line monitor.', (
        (('--interval', '-i'), dict(type=float, help='Refresh every N seconds.')),
        (('--raw', '-r'), dict(is_flag=True, help='Plain numbers, no bar charts.')),
        (('--only-queues', '-Q'), dict(is_flag=True, help='Show only the queues.')),
        (('--only-workers', '-W'), dict(is_flag=True, help='Show only the workers.')),
        (('--by-queue', '-R'), dict(is_flag=True, help='Show the workers by queue.'))),
        (('queues', -1),)),
    'empty': ('Empty given queues.', (
        (('--all', '-a'), dict(is_flag=True, help='Empty every queue.')),), (('queues', -1),)),
    'requeue': ('Requeue failed jobs.', (
        (('--all', '-a'), dict(is_flag=True, help='Requeue every failed job.')),
        (('--queue',), dict(required=True, type=str, help='The queue of the failed jobs.'))),
        (('job_ids', -1),)),
    'suspend': ('Suspends all workers, to resume run `rq resume`', (
        (('--duration',), dict(type=int, help='Seconds to suspend (default: until resumed).')),),
        ()),
    'resume': ('Resumes processing of queues, that were suspended with `rq suspend`', (), ()),
    'enqueue': ('Enqueues a job from the command line', (
        (('--queue', '-q'), dict(default='default', help='The queue.')),
        (('--timeout',), dict(help='The job timeout.')),
        (('--result-ttl',), dict(help='Seconds that the result is kept.')),
        (('--ttl',), dict(help='Seconds that the job may wait in the queue.')),
        (('--failure-ttl',), dict(help='Seconds that a failed job is kept.')),
        (('--description',), dict(help='Description of the job.')),
        (('--depends-on',), dict(multiple=True, help='Id of a job to wait for.')),
        (('--job-id',), dict(help='Id of the job.')),
        (('--at-front',), dict(is_flag=True, help='Put the job at the front of the queue.')),
        (('--retry-max',), dict(default=0, type=int, help='Maximum number of retries.')),
        (('--retry-interval',), dict(multiple=True, type=int, default=[0],
                                     help='Seconds between retries.')),
        (('--schedule-in',), dict(help='Delay before the job is queued (10s, 5m, 2d).')),
        (('--schedule-at',), dict(help='When to queue the job (ISO 8601, local time).')),
        (('--quiet',), dict(is_flag=True, help='Only log errors.'))),
        (('function', 1), ('arguments', -1))),
    'worker-pool': ('Starts a RQ worker pool.', (
        (('--burst', '-b'), dict(is_flag=True, help='Quit when the queues are empty.')),
        (('--logging-level', '-l'), dict(type=str, default='INFO', help='Logging level.')),
        (('--exception-handler',), dict(multiple=True, help='Dotted path of an exception handler.')),
        (('--verbose', '-v'), dict(is_flag=True, help='Show more output.')),
        (('--quiet', '-q'), dict(is_flag=True, help='Show less output.')),
        (('--log-format',), dict(type=str, default=_LOG_FORMAT, help='Format of the logs.')),
        (('--date-format',), dict(type=str, default=_DATE_FORMAT, help='Date format of the logs.')),
        (('--num-workers', '-n'), dict(type=int, default=1, help='Number of workers.'))),
        (('queues', -1),)),
    'cron': ('Starts the RQ cron scheduler.', (
        (('--logging-level', '-l'), dict(
            choice=('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'), default='INFO',
            show_default=True, help='Logging level.')),), (('config_path', 1),)),
}


def _rq_click_command(click, name):
    help_text, options, arguments = _RQ_CLI_COMMANDS[name]
    params = []
    for decls, attrs in options + _RQ_SHARED_OPTIONS:
        attrs = dict(attrs)
        if 'choice' in attrs:
            attrs['type'] = click.Choice(attrs.pop('choice'), case_sensitive=False)
        params.append(click.Option(list(decls), **attrs))
    params += [click.Argument([arg], nargs=nargs) for arg, nargs in arguments]
    command = click.Command(name, params=params, callback=_rq_click_run, help=help_text)
    command.__doc__ = help_text         # as click's decorator sets it from the function's
    return command


def _rq_click_run(**values):
    """Run the current click command as the emulator's ``main([...])`` and exit with its code."""
    import click
    ctx = click.get_current_context()
    name = ctx.command.name
    commands = next(action.choices for action in _cli_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    if name not in commands:
        raise click.UsageError(f"rq_emulator does not emulate 'rq {name}'")
    known = commands[name]._option_string_actions
    argv, positional = [name], []
    for param in ctx.command.params:
        value = values[param.name]
        if isinstance(param, click.Argument):
            positional += list(value) if param.nargs == -1 else [value]
            continue
        source = ctx.get_parameter_source(param.name)
        if source in (None, click.core.ParameterSource.DEFAULT) or value in (None, ()):
            continue
        spellings = list(param.opts) + [opt.replace('_', '-') for opt in param.opts]
        flag = next((opt for opt in spellings if opt in known), None)
        if flag is None:
            raise click.UsageError(f"rq_emulator does not emulate option {param.opts[0]} "
                                   f"of 'rq {name}'")
        if param.is_flag:
            argv.append(flag)
        else:
            for item in value if param.multiple else [value]:
                argv += [flag, str(item)]
    ctx.exit(main(argv + positional))


class _RQCliConfig:
    """``rq.cli.helpers.CliConfig``: the shared options of a command, as RQ's commands get them."""

    def __init__(self, url=None, config=None, worker_class='rq.Worker', job_class='rq.job.Job',
                 death_penalty_class=None, queue_class='rq.Queue',
                 connection_class='redis.Redis', path=None, *args, **kwargs):
        for directory in path or ():
            sys.path.append(directory)
        self.url, self.config = url, config
        self.worker_class = _rq_import_worker_class(worker_class)
        self.job_class = _rq_import_job_class(job_class)
        self.queue_class = _rq_import_queue_class(queue_class)
        self.connection_class = connection_class
        self.serializer = resolve_serializer(kwargs.get('serializer'))

    @property
    def connection(self):
        raise NotImplementedError('rq.cli.helpers.CliConfig.connection: rq_emulator has no Redis '
                                  'connection; the commands use its SQLite store')


def _rq_pass_cli_config(func):
    """``rq.cli.helpers.pass_cli_config``: add the shared options; call ``func(cli_config, ...)``."""
    import click
    for decls, attrs in _RQ_SHARED_OPTIONS:
        func = click.option(*decls, **attrs)(func)

    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        return ctx.invoke(func, _RQCliConfig(**kwargs), *args[1:], **kwargs)
    return functools.update_wrapper(wrapper, func)


def _rq_pad(s, pad_to_length):
    return f'{s:<{pad_to_length}}'


def _rq_state_symbol(state):
    import click
    colors = {WorkerStatus.BUSY: 'red', WorkerStatus.IDLE: 'green', WorkerStatus.SUSPENDED: 'yellow'}
    return click.style(state.value, fg=colors[state]) if state in colors else state


def _rq_get_scale(x):
    return next((scale for scale in (20, 50, 100, 200, 400, 600, 800, 1000) if x <= scale), x)


def _rq_cli_modules(shared):
    """rq.cli and its submodules, on click (imported here, never by ``import rq_emulator``)."""
    import click
    main_group = click.Group('main', help='RQ command line tool.')
    click.version_option('2.12.0')(main_group)
    commands = {name: _rq_click_command(click, name) for name in _RQ_CLI_COMMANDS}
    for command in commands.values():
        main_group.add_command(command)
    styles = {color: functools.partial(click.style, fg=color) for color in ('red', 'green', 'yellow')}
    pick = {name: shared[name] for name in (
        'DEFAULT_CONNECTION_CLASS', 'DEFAULT_DEATH_PENALTY_CLASS', 'DEFAULT_JOB_CLASS',
        'DEFAULT_QUEUE_CLASS', 'DEFAULT_SERIALIZER_CLASS', 'DEFAULT_WORKER_CLASS',
        'DEFAULT_JOB_MONITORING_INTERVAL', 'DEFAULT_LOGGING_DATE_FORMAT', 'DEFAULT_LOGGING_FORMAT',
        'DEFAULT_MAINTENANCE_TASK_INTERVAL', 'DEFAULT_RESULT_TTL', 'DEFAULT_WORKER_TTL',
        'WorkerStatus', 'import_attribute', 'import_job_class', 'import_worker_class', 'now',
        'parse_timeout', 'setup_loghandlers', 'FailedJobRegistry', 'InvalidJobOperationError',
        'JobStatus', 'Retry', 'blue', 'clean_registries', 'get_call_string', 'WorkerPool',
        'is_suspended', 'resolve_serializer', 'CronScheduler')}
    unemulated = 'the monitor of `rq info` (run `rq info` itself)'
    helpers = dict(
        CliConfig=_RQCliConfig, ParsingMode=_RQParsingMode, get_scale=_rq_get_scale,
        get_redis_from_config=_unemulated('rq.cli.helpers', 'get_redis_from_config',
                                          'Redis connections from settings'),
        pad=_rq_pad, red=styles['red'], green=styles['green'], yellow=styles['yellow'],
        state_symbol=_rq_state_symbol,
        parse_function_arg=_parse_function_arg, parse_function_args=_parse_function_args,
        parse_schedule=_schedule_time, pass_cli_config=_rq_pass_cli_config,
        read_config_file=_rq_read_config_file,
        refresh=_unemulated('rq.cli.helpers', 'refresh', unemulated),
        setup_loghandlers_from_args=_setup_loghandlers_from_args,
        shared_options=[click.option(*decls, **attrs) for decls, attrs in _RQ_SHARED_OPTIONS],
        show_both=_unemulated('rq.cli.helpers', 'show_both', unemulated),
        show_queues=_unemulated('rq.cli.helpers', 'show_queues', unemulated),
        show_workers=_unemulated('rq.cli.helpers', 'show_workers', unemulated))
    common = dict(pick, **helpers, main=main_group, info=commands['info'],
                  worker=commands['worker'], cron=commands['cron'])
    tables = {
        'rq.cli': 'cron info main worker',
        'rq.cli.cli': 'FailedJobRegistry InvalidJobOperationError JobStatus Retry blue '
                      'clean_registries clean_worker_registry connection_resume '
                      'connection_suspend empty enqueue get_call_string info main '
                      'parse_function_args parse_schedule pass_cli_config refresh requeue resume '
                      'show_both show_queues show_workers suspend version',
        'rq.cli.cli_cron': 'CronScheduler cron main pass_cli_config read_config_file',
        'rq.cli.helpers': 'CliConfig DEFAULT_CONNECTION_CLASS DEFAULT_DEATH_PENALTY_CLASS '
                          'DEFAULT_JOB_CLASS DEFAULT_QUEUE_CLASS DEFAULT_SERIALIZER_CLASS '
                          'DEFAULT_WORKER_CLASS ParsingMode WorkerStatus get_redis_from_config '
                          'get_scale green import_attribute import_job_class import_worker_class '
                          'now pad parse_function_arg parse_function_args parse_schedule '
                          'parse_timeout pass_cli_config read_config_file red refresh '
                          'setup_loghandlers setup_loghandlers_from_args shared_options '
                          'show_both show_queues show_workers state_symbol yellow',
        'rq.cli.workers': 'DEFAULT_JOB_MONITORING_INTERVAL DEFAULT_LOGGING_DATE_FORMAT '
                          'DEFAULT_LOGGING_FORMAT DEFAULT_MAINTENANCE_TASK_INTERVAL '
                          'DEFAULT_RESULT_TTL DEFAULT_WORKER_TTL WorkerPool import_attribute '
                          'is_suspended main pass_cli_config read_config_file resolve_serializer '
                          'setup_loghandlers_from_args worker worker_pool',
    }
    common.update(empty=commands['empty'], enqueue=commands['enqueue'],
                  requeue=commands['requeue'], resume=commands['resume'],
                  suspend=commands['suspend'], worker_pool=commands['worker-pool'],
                  connection_resume=resume, connection_suspend=suspend, version='2.12.0',
                  clean_worker_registry=_rq_clean_worker_registry)
    return {name: _rq_module(name, {attr: common[attr] for attr in names.split()})
            for name, names in tables.items()}


_saved_modules = None     # what sys.modules held before install_as_rq(), for uninstall_as_rq()


def install_as_rq():
    """Make ``import rq`` and its submodules resolve to this emulator; idempotent.

    Call it before anything imports ``rq``: if the real package was imported
    already, a RuntimeWarning says that names bound from it earlier (``from rq
    import Queue``) stay on real RQ.
    """
    global _saved_modules
    if _saved_modules is not None:
        return
    if 'rq' in sys.modules:
        warnings.warn('install_as_rq(): the real rq package was imported before; names bound '
                      'from it earlier (e.g. `from rq import Queue`) still refer to real RQ. '
                      'Call install_as_rq() first (e.g. at the top of conftest.py).',
                      RuntimeWarning, stacklevel=2)
    modules = _rq_modules()
    JobTimeoutException.__module__ = 'rq.timeouts'     # as a timed-out job's traceback names it
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
    JobTimeoutException.__module__ = __name__
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
# RQ's own flags are accepted wherever they mean something here; the few that
# cannot (Redis clients, Sentry) are named in a warning or an error that says why.

_DB_ENV = 'RQ_EMULATOR_DB'
_DEFAULT_DB = 'rq_emulator.db'
_SUSPENDED_MESSAGE = 'RQ is currently suspended, to resume job execution run "rq-emulator resume"'
_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')
_REDIS_SETTINGS = ('REDIS_HOST', 'REDIS_PORT', 'REDIS_DB', 'REDIS_PASSWORD', 'REDIS_SSL',
                   'SENTINEL')
_REFUSED_FLAGS = {          # RQ 1.x worker flags that RQ 2.x refuses too; silently dropping them
    '--sentry-dsn': 'RQ 2.0 removed its Sentry integration (RQ 2.12 refuses this flag too); '
                    "report errors with sentry-sdk's RQ integration or --exception-handler",
    '--sentry-ca-certs': 'RQ 2.0 removed its Sentry integration (RQ 2.12 refuses this flag too)',
    '--sentry-debug': 'RQ 2.0 removed its Sentry integration (RQ 2.12 refuses this flag too)',
    '--death-penalty-class': 'jobs run in threads here, and a job past its timeout is failed '
                             'on time by the worker (RQ 2.12 refuses this flag too)',
}
_IGNORED_FLAGS = {          # dest -> why an RQ flag changes nothing here (a warning, not an error)
    'connection_class': 'there is no Redis client here: the jobs are in a SQLite file',
    'worker_ttl': 'a worker here is alive while it renews its heartbeat every '
                  '--job-monitoring-interval seconds, and dead after three missed ones',
    'maintenance_interval': 'registries are cleaned each time a worker looks for a job',
}


class _UsageError(Exception):
    """A bad command line: printed under the command's usage, exit code 2 (as click's)."""


def main(argv=None) -> int:
    """Run one command line (``argv`` defaults to ``sys.argv[1:]``); return the exit code."""
    saved_path = sys.path[:]
    store = None
    try:
        args = _parse_command_line(argv)
        _prepare_command(args)
        store = _open_store(args)
        return args.run(store, args)
    except SystemExit as exc:           # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    except _UsageError as exc:
        args.parser.print_usage(sys.stderr)
        print(f'{args.parser.prog}: error: {exc}', file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f'Error: {_sqlite_message(exc, args)}', file=sys.stderr)
        return 1
    except (RQEmulatorError, ValueError, TypeError, OSError) as exc:
        print(f'Error: {exc}', file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()
        sys.path[:] = saved_path


def _parse_command_line(argv):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _cli_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:       # RQ (click) lets options and queue names mix: `worker high -v low`
        args = args.parser.parse_intermixed_args(argv[argv.index(args.command) + 1:],
                                                 argparse.Namespace(command=args.command))
    return args


def _cli_parser():
    common = _common_options()
    parser = argparse.ArgumentParser(prog='rq-emulator', description="RQ's command line, "
                                     'on a SQLite file instead of Redis.')
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    _add_worker_command(commands, common)
    _add_info_command(commands, common)
    _add_enqueue_command(commands, common)
    _add_cron_command(commands, common)
    _add_dashboard_command(commands, common)
    _add_requeue_command(commands, common)
    _add_empty_command(commands, common)
    _add_suspend_commands(commands, common)
    for command in commands.choices.values():      # errors show the command's own usage
        command.set_defaults(parser=command)
    return parser


def _common_options():
    """RQ's shared options (every command takes them), plus --db."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group('where the jobs are (one of these, else '
                                      f'${_DB_ENV}, else ./{_DEFAULT_DB})')
    where.add_argument('--db', metavar='PATH', help='the SQLite file of the jobs')
    where.add_argument('-u', '--url', metavar='URL',
                       help='sqlite:///relative/path.db or sqlite:////absolute/path.db')
    where.add_argument('-c', '--config', metavar='MODULE',
                       help="a settings module, as RQ's: REDIS_URL (a sqlite:/// URL here), "
                            'QUEUES, NAME, DICT_CONFIG')
    rq_options = common.add_argument_group("RQ's shared options")
    rq_options.add_argument('-P', '--path', action='append', metavar='DIR',
                            help="added to sys.path to import job modules (default: '.'); "
                                 'repeatable')
    rq_options.add_argument('-w', '--worker-class', metavar='DOTTED.PATH',
                            help='default: rq_emulator.Worker (rq.* paths mean the emulator)')
    rq_options.add_argument('-j', '--job-class', metavar='DOTTED.PATH')
    rq_options.add_argument('--queue-class', metavar='DOTTED.PATH')
    rq_options.add_argument('-S', '--serializer', metavar='NAME',
                            help="pickle, json, or a dotted path (a worker reads each job "
                                 'with the serializer it was enqueued with)')
    rq_options.add_argument('--connection-class', metavar='DOTTED.PATH', help=argparse.SUPPRESS)
    for flag, reason in _REFUSED_FLAGS.items():
        common.add_argument(flag, action=_RefusedFlag, reason=reason)
    return common


class _RefusedFlag(argparse.Action):
    """An RQ 1.x flag: an error that names it and says why it has no meaning."""

    def __init__(self, option_strings, dest, reason, **kwargs):
        super().__init__(option_strings, dest, nargs='?', help=argparse.SUPPRESS)
        self.reason = reason

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f'{option_string}: {self.reason}')


def _add_worker_command(commands, common):
    worker = commands.add_parser('worker', parents=[common], help='Run a worker.',
                                 usage='%(prog)s [options] [QUEUE ...]',
                                 description='Run a worker, as `rq worker` does.')
    worker.add_argument('queues', nargs='*', metavar='QUEUE',
                        help="default: QUEUES of --config, else 'default'")
    worker.add_argument('-b', '--burst', action='store_true', help='quit when the queues are empty')
    worker.add_argument('-n', '--name', help='default: NAME of --config, else a random one')
    worker.add_argument('--max-jobs', type=int)
    worker.add_argument('--max-idle-time', type=int, metavar='SECONDS')
    worker.add_argument('-s', '--with-scheduler', action='store_true',
                        help='accepted for RQ: every worker here enqueues due scheduled jobs')
    worker.add_argument('-ds', '--dequeue-strategy', default='default',
                        choices=('default', 'round_robin', 'random'))
    worker.add_argument('-t', '--threads', type=int, default=1, help='N workers in threads')
    worker.add_argument('--results-ttl', type=int, default=DEFAULT_RESULT_TTL, metavar='SECONDS',
                        help='how long results are kept (default: %(default)s)')
    worker.add_argument('--job-monitoring-interval', type=float, default=30, metavar='SECONDS',
                        help='heartbeat interval; a job whose worker misses 3 is abandoned')
    worker.add_argument('--exception-handler', action='append', metavar='DOTTED.PATH',
                        help='called as handler(job, exc_type, exc_value, traceback); repeatable')
    worker.add_argument('-d', '--disable-default-exception-handler', action='store_true',
                        help='failed jobs are not moved to the failed job registry')
    worker.add_argument('--disable-job-desc-logging', action='store_true',
                        help='log job ids, not their descriptions')
    worker.add_argument('--pid', metavar='FILE', help='write the process id to FILE')
    worker.add_argument('--worker-ttl', type=int, help=argparse.SUPPRESS)
    worker.add_argument('--maintenance-interval', type=int, help=argparse.SUPPRESS)
    _add_logging_options(worker)
    worker.set_defaults(run=_cli_worker, create_db=True)


def _add_logging_options(command):
    logs = command.add_argument_group('logging (as RQ: INFO and below to stdout, errors to stderr)')
    levels = logs.add_mutually_exclusive_group()
    levels.add_argument('-v', '--verbose', action='store_true', help='log DEBUG too')
    levels.add_argument('-q', '--quiet', action='store_true', help='log warnings and errors only')
    logs.add_argument('-l', '--logging-level', '--logging_level', dest='logging_level',
                      type=str.upper, choices=_LEVELS, metavar='LEVEL',
                      help=f'one of {", ".join(_LEVELS)} (default: INFO)')
    logs.add_argument('--log-format', default='%(asctime)s %(message)s',
                      help="default: '%%(asctime)s %%(message)s'")
    logs.add_argument('--date-format', default='%H:%M:%S', help="default: '%%H:%%M:%%S'")


def _add_info_command(commands, common):
    info = commands.add_parser('info', parents=[common], help='Show queues and workers.',
                               usage='%(prog)s [options] [QUEUE ...]',
                               description='Show queues and workers, as `rq info` does.')
    info.add_argument('queues', nargs='*', metavar='QUEUE', help='default: every queue')
    info.add_argument('-i', '--interval', type=float, metavar='SECONDS',
                      help='redraw every SECONDS until Ctrl-C (default: show once)')
    info.add_argument('-r', '--raw', action='store_true', help='plain numbers, no bar charts')
    info.add_argument('-Q', '--only-queues', action='store_true', help='only the queues')
    info.add_argument('-W', '--only-workers', action='store_true', help='only the workers')
    info.add_argument('-R', '--by-queue', action='store_true', help='the workers of each queue')
    info.set_defaults(run=_cli_info)


def _add_enqueue_command(commands, common):
    enqueue = commands.add_parser(
        'enqueue', parents=[common], help='Enqueue a job.',
        usage='%(prog)s [options] FUNCTION [ARG ...]',
        description="Arguments: 'v' (a string), 'k=v', ':json', 'k:=json', '%literal', "
                    "'k%=literal'; a value '@file' is that file's content.")
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
    enqueue.set_defaults(run=_cli_enqueue, create_db=True)


def _add_requeue_command(commands, common):
    requeue = commands.add_parser('requeue', parents=[common], help='Requeue failed jobs.',
                                  usage='%(prog)s [options] [JOB_ID ...]')
    requeue.add_argument('job_ids', nargs='*', metavar='JOB_ID')
    requeue.add_argument('-q', '--queue', default='default', help="the queue (default: 'default')")
    requeue.add_argument('-a', '--all', action='store_true', help='every failed job of the queue')
    requeue.set_defaults(run=_cli_requeue)


def _add_empty_command(commands, common):
    empty = commands.add_parser('empty', parents=[common], help='Delete the jobs queued.',
                                usage='%(prog)s [options] [QUEUE ...]')
    empty.add_argument('queues', nargs='*', metavar='QUEUE')
    empty.add_argument('-a', '--all', action='store_true', help='every queue')
    empty.set_defaults(run=_cli_empty)


def _add_suspend_commands(commands, common):
    suspend_ = commands.add_parser('suspend', parents=[common], help='Suspend every worker.')
    suspend_.add_argument('--duration', type=int, help='seconds (default: until resumed)')
    suspend_.set_defaults(run=_cli_suspend)
    commands.add_parser('resume', parents=[common], help='Resume the workers.').set_defaults(
        run=_cli_resume)


# -- what every command shares: path, config, classes, the database ------------------

def _prepare_command(args):
    """Check the shared options and fill in what they name (classes, settings, the db path)."""
    for path in args.path or ['.']:         # RQ appends, so a job module never shadows the stdlib
        sys.path.append(os.path.abspath(path))
    for dest, reason in _IGNORED_FLAGS.items():
        if getattr(args, dest, None) is not None:
            flag = '--' + dest.replace('_', '-')
            print(f'Warning: {flag} is accepted for RQ and ignored: {reason}', file=sys.stderr)
    args.settings = _read_config(args.config) if args.config else {}
    args.worker_class = _cli_class(args.worker_class, '-w/--worker-class', Worker)
    args.job_class = _cli_class(args.job_class, '-j/--job-class', None)
    args.queue_class = _cli_class(args.queue_class, '--queue-class', Queue)
    if args.serializer is not None:
        try:
            args.serializer = resolve_serializer(args.serializer)
        except (ValueError, NotImplementedError) as exc:
            raise ValueError(f'-S/--serializer: {exc}') from None
    args.db_path, args.db_source = _database_path(args)


def _read_config(module):
    """RQ's -c/--config: a module's UPPERCASE names."""
    try:
        settings = importlib.import_module(module)
    except ImportError as exc:
        hint = (f' (give a module name such as {module[:-3]!r}, found on -P/--path)'
                if module.endswith('.py') else ' (it must be importable from -P/--path)')
        raise ValueError(f'-c/--config {module!r}: cannot import it: {exc}{hint}') from None
    return {name: value for name, value in vars(settings).items() if name.isupper()}


def _cli_class(path, flag, default):
    """A class named on the command line; rq.* paths name the emulator's stand-ins."""
    if path is None:
        return default
    module, _, name = path.rpartition('.')
    if module == 'rq' or module.startswith('rq.'):
        stand_in = getattr(_rq_modules().get(module), name, None)
        if stand_in is not None:
            return stand_in
    try:
        return _import_attribute(path)
    except ValueError:
        raise ValueError(f'{flag} {path!r}: cannot import it; expected a dotted path such as '
                          'mypackage.workers.MyWorker, importable from -P/--path') from None


def _database_path(args):
    """The SQLite file and where it was named: --db, -u, -c's REDIS_URL, $RQ_EMULATOR_DB."""
    if args.db is not None and args.url is not None:
        raise _UsageError('give the database once: --db PATH or -u sqlite:///PATH, not both')
    if args.db is not None:
        return args.db, '--db'
    if args.url is not None:
        return _sqlite_url_path(args.url, '-u/--url'), '-u/--url'
    url = args.settings.get('REDIS_URL')
    if url is not None:
        where = f'REDIS_URL of -c {args.config}'
        return _sqlite_url_path(url, where), where
    redis_settings = [name for name in _REDIS_SETTINGS if name in args.settings]
    if redis_settings and not os.environ.get(_DB_ENV):
        raise _UsageError(f'-c {args.config} sets {", ".join(redis_settings)}: there is no Redis '
                          "here; set REDIS_URL = 'sqlite:///path/to/jobs.db' instead, or give --db")
    value = os.environ.get(_DB_ENV)
    if value:
        is_url = value.startswith('sqlite:')
        return (_sqlite_url_path(value, f'${_DB_ENV}') if is_url else value), f'${_DB_ENV}'
    return _DEFAULT_DB, 'the default'


def _sqlite_url_path(url, where):
    """SQLAlchemy's forms: 'sqlite:///jobs.db' is 'jobs.db', 'sqlite:////var/j.db' is '/var/j.db'."""
    scheme = url.split(':', 1)[0].lower() if ':' in url else ''
    if scheme in ('redis', 'rediss', 'unix'):
        raise _UsageError(f'{where} {url!r} is a Redis URL; rq-emulator keeps its jobs in a SQLite '
                          'file: give -u sqlite:///path/to/jobs.db (or --db path/to/jobs.db)')
    path = url[len('sqlite:///'):] if url.startswith('sqlite:///') else ''
    if not path or path == ':memory:' or '?' in path:
        raise _UsageError(f"{where} {url!r}: expected 'sqlite:///relative/path.db' or "
                          "'sqlite:////absolute/path.db' (a file that worker processes share)")
    return path


def _open_store(args):
    """The command's store; only commands that add jobs (worker, enqueue) may create the file."""
    path = args.db_path
    args.db_created = not os.path.exists(path)
    if args.db_created and not getattr(args, 'create_db', False):
        raise RQEmulatorError(
            f'no database at {os.path.abspath(path)!r} (named by {args.db_source}): the file does '
            'not exist, and nothing was created. Check the path; `rq-emulator worker` or '
            '`rq-emulator enqueue` create it')
    return SqliteStore(path)


def _sqlite_message(exc, args):
    path = getattr(args, 'db_path', None)
    if path is None or path in str(exc):
        return str(exc)
    return f'SQLite database {os.path.abspath(path)!r}: {exc}'


# -- worker ---------------------------------------------------------------------

def _cli_worker(store, args):
    settings = args.settings
    queues = args.queues or settings.get('QUEUES') or ['default']
    handlers = [_cli_class(path, '--exception-handler', None)
                for path in args.exception_handler or ()]
    with _cli_logging(args, settings.get('DICT_CONFIG')):
        if args.db_created:
            _log.info('Created the database %s', os.path.abspath(args.db_path))
        if args.pid:
            with open(os.path.expanduser(args.pid), 'w', encoding='ascii') as file:
                file.write(str(os.getpid()))
        if is_suspended(store):
            print(_SUSPENDED_MESSAGE, file=sys.stderr)
            return 1
        options = dict(name=args.name or settings.get('NAME'), connection=store,
                       job_class=args.job_class, queue_class=args.queue_class,
                       exception_handlers=handlers or None, serializer=args.serializer,
                       default_result_ttl=args.results_ttl,
                       disable_default_exception_handler=args.disable_default_exception_handler,
                       log_job_description=not args.disable_job_desc_logging,
                       job_monitoring_interval=args.job_monitoring_interval)
        workers = _run_workers(args, queues, options)
    crashed = [worker for worker in workers if getattr(worker, '_crash', None) is not None]
    for worker in crashed:
        print(f'Error: worker {worker.name} stopped by an unexpected error: '
              f'{_sqlite_message(worker._crash, args)}', file=sys.stderr)
    return 1 if crashed else 0


def _run_workers(args, queues, options):
    work = dict(max_jobs=args.max_jobs, max_idle_time=args.max_idle_time,
                dequeue_strategy=args.dequeue_strategy)
    if args.threads > 1:
        pool = WorkerPool(queues, num_workers=args.threads, worker_class=args.worker_class,
                          **options)
        with _SignalStop(pool.workers):
            pool.start(burst=args.burst, **work)
        return pool.workers
    worker = args.worker_class(queues, **options)
    with _SignalStop([worker]):
        worker.work(burst=args.burst, with_scheduler=args.with_scheduler, **work)
    return [worker]


@contextlib.contextmanager
def _cli_logging(args, dict_config=None):
    """Log as RQ's worker does while it runs: RQ's format, INFO to stdout, errors to stderr.

    As RQ does, no handler is added when logging is configured already (DICT_CONFIG
    of --config, or a handler of the application's own).
    """
    if dict_config:
        logging.config.dictConfig(_emulator_dict_config(dict_config))
    level = ('DEBUG' if args.verbose else 'WARNING' if args.quiet
             else args.logging_level or 'INFO')
    handlers = []
    for stream, wanted in ((sys.stdout, lambda r: r.levelno < logging.ERROR),
                           (sys.stderr, lambda r: r.levelno >= logging.ERROR)):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_RQFormatter(args.log_format, args.date_format, stream))
        handler.addFilter(wanted)
        handlers.append(handler)
    # The emulator's own classes log as 'rq_emulator', the rq.* ones (-w rq.worker.SimpleWorker)
    # as 'rq.worker', as RQ's do.
    loggers = [logger for logger in (_log, logging.getLogger('rq.worker'))
               if not _has_log_handler(logger)]
    old_levels = [(logger, logger.level) for logger in (_log, logging.getLogger('rq.worker'))]
    for logger in loggers:
        for handler in handlers:
            logger.addHandler(handler)
    for logger, _ in old_levels:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger in loggers:
            for handler in handlers:
                logger.removeHandler(handler)
        for logger, old_level in old_levels:
            logger.setLevel(old_level)


def _has_log_handler(logger):
    while logger is not None:
        if any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
            return True
        logger = logger.parent if logger.propagate else None
    return False


def _emulator_dict_config(config):
    """RQ users configure the 'rq.worker' (or 'rq') logger: the emulator's logs as 'rq_emulator'."""
    loggers = dict(config.get('loggers') or {})
    for name in ('rq.worker', 'rq'):
        if name in loggers and _log.name not in loggers:
            loggers[_log.name] = loggers[name]
    return dict(config, loggers=loggers)


class _RQFormatter(logging.Formatter):
    """RQ's colours, on a terminal only: queue names green, jobs blue, in RQ's messages.

    Levels and tracebacks are never coloured, as in RQ; ``NO_COLOR`` turns colours off.
    """

    colours = {     # RQ's message -> the colour of each of its arguments
        '*** Listening on %s...': ('32',),
        'Worker %s: %s: %s (%s)': (None, '32', '34', None),     # queue: description (id)
        'Worker %s: %s: %s': (None, '32', None),               # queue: id
        'Worker %s: dequeued job %s from %s': (None, '34', '32'),
    }

    def __init__(self, fmt, datefmt, stream):
        super().__init__(fmt, datefmt)
        isatty = getattr(stream, 'isatty', None)
        self.colour = bool(isatty and isatty()) and not os.environ.get('NO_COLOR')

    def formatMessage(self, record):
        colours = self.colours.get(record.msg) if self.colour else None
        if colours and isinstance(record.args, tuple) and len(record.args) == len(colours):
            record = logging.makeLogRecord(dict(record.__dict__))
            record.message = record.msg % tuple(
                arg if code is None else f'\x1b[{code}m{arg}\x1b[39;49;00m'
                for arg, code in zip(record.args, colours))
        return super().formatMessage(record)


class _SignalStop(_StopOnSignals):
    """The command-line worker's signals: the second one ends the process at once (its job
    stays started, to be found abandoned)."""

    replace_any = True

    def cold(self):
        logging.shutdown()
        os._exit(1)


# -- info -------------------------------------------------------------------------

def _cli_info(store, args):
    queue_class = args.queue_class
    if args.queues:
        queues = [queue_class(name, connection=store) for name in args.queues]
    else:
        queues = queue_class.all(connection=store)
    for queue in queues:
        clean_registries(queue)
    colour = _stdout_is_terminal()
    try:
        while True:
            if args.interval and colour:
                print('\x1b[2J\x1b[1;1H', end='')         # clear the screen, as click.clear()
            _show_info(store, queues, args, colour)
            if not args.interval:
                return 0
            sys.stdout.flush()
            _info_pause(args.interval)
    except KeyboardInterrupt:
        print()
        return 0


def _info_pause(seconds):
    threading.Event().wait(seconds)      # Ctrl-C interrupts it


def _stdout_is_terminal():
    isatty = getattr(sys.stdout, 'isatty', None)
    return bool(isatty and isatty()) and not os.environ.get('NO_COLOR')


def _show_info(store, queues, args, colour):
    if not args.only_workers:
        _show_queues(queues, args.raw, colour)
    if args.only_queues:
        return
    if not (args.only_workers or args.raw):
        print()
    _show_workers(store, queues, args, colour)
    _show_cron_schedulers(store, args.raw)
    if not (args.only_workers or args.raw):
        print(f'\nUpdated: {datetime.datetime.now()}')


def _show_queues(queues, raw, colour):
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
            chart = _paint('|' + bar * int(ratio * count), '32', colour)
            print(f'{queue.name:<12} {chart} {count}, {detail}')
    if not raw:
        print(f'{len(queues)} queues, {sum(counts)} jobs total')


def _bar_character():
    try:
        '\u2588'.encode(getattr(sys.stdout, 'encoding', None) or 'utf-8')
    except (UnicodeEncodeError, LookupError):
        return '#'
    return '\u2588'


def _paint(text, code, colour):
    return f'\x1b[{code}m{text}\x1b[0m' if colour else text


def _state_text(worker, colour):
    state = worker.get_state()
    state = getattr(state, 'value', state)
    code = {'busy': '31', 'idle': '32', 'suspended': '33'}.get(state)
    return _paint(state, code, colour) if code else state


def _show_workers(store, queues, args, colour):
    """RQ's worker lines: ``name (host pid): state q1, q2. jobs: N finished, M failed``."""
    workers = sorted(args.worker_class.all(connection=store), key=lambda w: w.name)
    if args.queues:
        workers = [w for w in workers if set(w.queue_names()) & set(args.queues)]
    if args.by_queue:
        width = max((len(queue.name) for queue in queues), default=0) + 1
        for queue in queues:
            names = sorted(f'{w.name} ({_state_text(w, colour)})' for w in workers
                           if queue.name in w.queue_names())
            print(f'{queue.name + ":":<{width}} {", ".join(names) or "–"}')
    else:
        for worker in workers:
            name = f'{worker.name} ({worker.hostname} {worker.pid})'
            jobs = (f'jobs: {worker.successful_job_count} finished, '
                    f'{worker.failed_job_count} failed')
            queue_names = ', '.join(worker.queue_names())
            if args.raw:
                print(f'worker {name} {_state_text(worker, False)} {queue_names}. {jobs}')
            else:
                print(f'{name}: {_state_text(worker, colour)} {queue_names}. {jobs}')
    if not args.raw:
        print(f'{len(workers)} workers, {len(queues)} queues')


def _show_cron_schedulers(store, raw):
    """The live cron schedulers and their jobs' next runs (nothing when there are none)."""
    for scheduler in _cron_overview(store):
        if raw:
            print(f'cron-scheduler {scheduler["name"]} {len(scheduler["jobs"])}')
            continue
        print(f'\ncron scheduler {scheduler["name"]}: {len(scheduler["jobs"])} jobs')
        for job in scheduler['jobs']:
            when = job['next_enqueue_time']
            when = when.isoformat(timespec='seconds') if when else 'at start'
            print(f'  {job["name"]} on {job["queue_name"]}: {job["schedule"]}, next {when}')


# -- cron -------------------------------------------------------------------------

def _add_cron_command(commands, common):
    cron_ = commands.add_parser(
        'cron', parents=[common], help='Run a cron scheduler from a configuration file.',
        description="CONFIG is a file or module that calls rq.cron.register(...) (or "
                    "rq_emulator.cron.register); 'import rq' means the emulator while it loads.")
    cron_.add_argument('config_path', metavar='CONFIG', help='file path or dotted module path')
    _add_logging_options(cron_)
    cron_.set_defaults(run=_cli_cron, create_db=True)


def _cli_cron(store, args):
    installed = _saved_modules is None
    install_as_rq()                     # configuration files written for RQ say `from rq import cron`
    try:
        with _cli_logging(args, args.settings.get('DICT_CONFIG')):
            scheduler = CronScheduler(connection=store)
            if args.queue_class is not Queue:
                scheduler.queue_class = args.queue_class
            try:
                scheduler.load_config_from_file(args.config_path)
            except ImportError as exc:
                print(f'Error: {exc}', file=sys.stderr)
                return 1
            scheduler.start()           # until SIGINT or SIGTERM
    finally:
        if installed:
            uninstall_as_rq()
    return 0


# -- enqueue ----------------------------------------------------------------------

def _cli_enqueue(store, args):
    func_args, func_kwargs = _parse_function_args(args.arguments)
    when = _schedule_time(args.schedule_in, args.schedule_at)
    retry = Retry(args.retry_max, args.retry_interval or 0) if args.retry_max > 0 else None
    if args.db_created and not args.quiet:
        print(f'Created the database {os.path.abspath(args.db_path)}', file=sys.stderr)
    queue = args.queue_class(args.queue, connection=store, serializer=args.serializer,
                             job_class=args.job_class)
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
        call = _paint(job.get_call_string(), '34', _stdout_is_terminal())
        print(f"Enqueued {call} with job-id '{job.id}'.")
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
    queue = args.queue_class(args.queue, connection=store)
    registry = queue.failed_job_registry
    job_ids = registry.get_job_ids() if args.all else args.job_ids
    if not job_ids:
        print('Nothing to do')
        return 0
    print(f'Requeueing {len(job_ids)} jobs from failed queue')
    failures = 0
    for job_id in job_ids:
        try:
            registry.requeue(job_id)
        except NoSuchJobError:
            failures += 1
            print(f'Unable to requeue {job_id!r}: there is no job with this id', file=sys.stderr)
        except (InvalidJobOperation, InvalidJobOperationError) as exc:
            failures += 1
            print(f'Unable to requeue {job_id!r}: {exc}', file=sys.stderr)
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
