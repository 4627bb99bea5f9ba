"""Unit tests for rq_emulator's core: stores and the clock, the seed API, argument capture and
bad input, plus the worker, scheduling, TTL and timeout behaviour they rely on.

Run with `python -m unittest` or `python test_rq_emulator.py`. No test sleeps to synchronise:
threads meet on Events and Barriers, and every wait has a timeout whose result is asserted.
(A job body may sleep to *simulate* a job blocked in C code; see the timeout tests.)
"""
from __future__ import annotations

import collections
import inspect
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest
import uuid
from datetime import datetime, timedelta, timezone

import rq_emulator
from rq_emulator import (
    CanceledJobRegistry, DeferredJobRegistry, Dependency, DuplicateJobError, FailedJobRegistry,
    FinishedJobRegistry, InvalidJobOperation, Job, JobFailedError, JobStatus, JSONSerializer,
    ManualClock, MemoryStore, NoSuchJobError, Queue, Retry, ScheduledJobRegistry, SqliteStore,
    StartedJobRegistry, TimeoutFormatError, Worker, get_current_job, send_stop_job_command,
)
from rq_emulator import _STATUS   # the status slot of a stored record: wait_status() only

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
WAIT = 5  # seconds: the longest any healthy wait in this file should take
JOB_TIMEOUT = 0.25  # seconds: the job_timeout of the timeout tests (real time)

# The slow tier (subprocesses, real-time waits of a second or more) runs only when asked for;
# .ci/run asks for it. The default run stays within a few seconds.
SLOW_TESTS = bool(os.environ.get('RQ_EMULATOR_SLOW_TESTS'))
slow_tier = unittest.skipUnless(SLOW_TESTS, 'slow tier: set RQ_EMULATOR_SLOW_TESTS=1')


# ---- job functions ---------------------------------------------------------------------
# All at module level, so that a SqliteStore can store them by import path and the suite runs
# unchanged on both stores (tests/test_sqlite_lifecycle.py). What a job wants to tell its test
# goes into NOTES, and what it waits for or signals is an Event in EVENTS, both by name; the
# base class empties them before every test.

NOTES = collections.defaultdict(list)       # name -> what jobs recorded, in order
EVENTS = collections.defaultdict(threading.Event)   # name -> an Event shared by tests and jobs


def add_numbers(a, b):
    return a + b


def echo(x=None):
    return x


def length(items):
    return len(items)


def fail(message='boom'):
    raise ValueError(message)


def exit_job():
    raise SystemExit(3)


def sleep_30():
    time.sleep(30)  # simulates a job blocked in C code; the timeout must not wait for it


def no_args():
    return 'ok'


def note(name, value):
    """Record `value` under `name` and return it (the order jobs ran in, what they saw)."""
    NOTES[name].append(value)
    return value


def gated(name):
    """Set EVENTS[name + '.started'], then block until EVENTS[name] is set (bounded)."""
    EVENTS[name + '.started'].set()
    return EVENTS[name].wait(WAIT)


def whoami():
    """The id of the thread the job runs in."""
    return threading.get_ident()


def late(name):
    """Block until EVENTS[name] (past the job's timeout), return 'late', then set name.ended."""
    try:
        EVENTS[name].wait(WAIT)   # a blocking C call: the timeout cannot interrupt it
        return 'late'
    finally:
        EVENTS[name + '.ended'].set()


def set_event(name):
    EVENTS[name].set()


def mark_time():
    """Note when it ran (real time), then set EVENTS['marked']."""
    note('time', time.time())
    EVENTS['marked'].set()


def note_own_status():
    """What a running job reads as its own status, through a fresh fetch."""
    me = get_current_job()
    return note('status', Job.fetch(me.id, connection=me.connection).get_status())


def note_is_started():
    me = get_current_job()
    return note('is_started', (bool(me.is_started), me.is_started()))


def note_where_it_is():
    """Whether the running job is in its started registry, and whether still in its queue."""
    me = get_current_job()
    q = Queue(me.origin, connection=me.connection)
    return note('inside', (me.id in q.started_job_registry, me.id in q.get_job_ids()))


def note_current_job_id():
    return note('current', get_current_job().id)


def advance_clock(seconds):
    """A job that takes `seconds` of the store's (manual) clock."""
    get_current_job().connection.clock.advance(seconds)


def enqueue_child_and_count():
    """Enqueues from inside a job: it would deadlock if the store lock were held while it runs."""
    me = get_current_job()
    q = Queue(me.origin, connection=me.connection)
    child = q.enqueue(add_numbers, 1, 1)
    me.meta['count'] = q.count()
    me.save_meta()
    return child.id


def enqueue_from_callback(job, connection, result):
    Queue(job.origin, connection=connection).enqueue(no_args)


def low_job(name):
    """Notes its name; 'low1' also enqueues 'high-late' on queue 'high'."""
    note('order', name)
    if name == 'low1':
        Queue('high', connection=get_current_job().connection).enqueue(note, 'order', 'high-late')


def count_run():
    return note('runs', get_current_job().id)


def flaky(name, failures):
    """Fails its first `failures` calls (counted under NOTES[name]), then returns 'ok'."""
    note(name, get_current_job().id)
    if len(NOTES[name]) <= failures:
        raise ValueError('flaky')
    return 'ok'


def keep_and_return_list():
    """Returns (and saves in meta) the list NOTES['kept'], which the test changes afterwards."""
    kept = NOTES['kept']
    kept.append(1)
    get_current_job().meta['seen'] = kept
    get_current_job().save_meta()
    return kept


def on_success_note(job, connection, result):
    note('calls', ('ok', job.id, result))


def on_failure_note(job, connection, typ, value, tb):
    note('calls', ('bad', job.id, typ))


def main_thread_waits_in_work():
    """Whether the main thread is blocked in a Condition's lock wait called from Worker.work().

    (Not in another wait, such as Thread.start()'s: a thread woken from one keeps showing
    that frame until it is scheduled again.)"""
    frame = sys._current_frames().get(threading.main_thread().ident)
    if frame is None or frame.f_code is not threading.Condition.wait.__code__ \
            or frame.f_lineno not in _CONDITION_WAIT_ACQUIRES:
        return False
    for _ in range(12):
        frame = frame.f_back
        if frame is None or frame.f_code is threading.Thread.start.__code__:
            return False
        if frame.f_code is Worker.work.__code__:
            return True
    return False


def _blocking_acquires(func):
    """Line numbers of func's blocking `waiter.acquire(...)` calls: those after the release."""
    lines, first = inspect.getsourcelines(func)
    start = next(i for i, line in enumerate(lines) if '_release_save()' in line)
    return {first + i for i, line in enumerate(lines)
            if i > start and 'waiter.acquire(' in line and 'acquire(False)' not in line}


_CONDITION_WAIT_ACQUIRES = _blocking_acquires(threading.Condition.wait)


# ---- base class ---------------------------------------------------------------------------

class BaseTestCase(unittest.TestCase):
    """The one fixture of the suite (tests/base.py re-exports it for the files under tests/).

    A fresh store on a ManualClock for every test (`self.store`, `self.clock`, `self.q` on
    it; `make_store` picks the back-end), the emulator's logger silenced, NOTES and EVENTS
    emptied, and helpers: workers stopped (bounded) when the test ends, temporary SQLite
    files, gated jobs, waiting for a status.
    """

    def setUp(self):
        NOTES.clear()
        EVENTS.clear()
        self.addCleanup(self.open_every_gate)
        self.clock = ManualClock(start=T0)
        self.store = self.make_store(self.clock)
        self.q = Queue('default', connection=self.store)
        logger = logging.getLogger('rq_emulator')
        saved = (logger.handlers[:], logger.propagate, logger.level)
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = False

        def restore():
            logger.handlers[:], logger.propagate, level = saved
            logger.setLevel(level)
        self.addCleanup(restore)

    def make_store(self, clock):
        """The store every test runs on; tests/test_sqlite_lifecycle.py overrides it."""
        return MemoryStore(clock=clock)

    # -- SQLite files ------------------------------------------------------------------

    def sqlite_path(self, name='rq.sqlite3'):
        """A path in a temporary folder that is removed when the test ends."""
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        return os.path.join(folder.name, name)

    def open_sqlite(self, path=None, clock=None, poll_interval=0.02):
        """A SqliteStore on `path` (a new temporary file by default), closed when the test ends.

        Several stores on one file behave as several processes would: their writes reach
        each other only through the file, and their waits poll it (every `poll_interval` s).
        """
        store = SqliteStore(path or self.sqlite_path(), clock=clock, poll_interval=poll_interval)
        self.addCleanup(store.close)
        return store

    # -- workers and jobs --------------------------------------------------------------

    def worker(self, queues=None, **kwargs):
        return Worker(queues if queues is not None else [self.q], **kwargs)

    def start_worker(self, queues=None, burst=False, **kwargs):
        """A started worker that is stopped (bounded) when the test ends."""
        w = self.worker(queues, **kwargs)
        w.start(burst=burst)
        self.addCleanup(w.stop, WAIT)
        return w

    def gate(self, name='gate'):
        """The events of a gated job: enqueue `gated, name`; `.started` is set once it runs,
        and it returns True once `.release` is set (every gate opens when the test ends)."""
        return types.SimpleNamespace(name=name, started=EVENTS[name + '.started'],
                                     release=EVENTS[name])

    @staticmethod
    def open_every_gate():
        for name, event in list(EVENTS.items()):
            if not name.endswith('.started'):
                event.set()

    def wait_status(self, job, status, timeout=WAIT, store=None):
        """Wait until `job`'s stored status is `status`; return whether it got there in time.

        A Condition wait: every transaction that writes notifies the waiters (a SqliteStore
        also polls its file, for writes made by other processes)."""
        with (store or self.store).transaction() as tx:
            return tx.wait(lambda: (tx.job_get(job.id) or {_STATUS: None})[_STATUS] == status,
                           timeout)

    def poll_until(self, predicate, timeout=WAIT, every=0.02):
        """Check `predicate` every `every` s until it is true; return whether it was in time.

        Only for what another process writes (or another store object on the same file, which
        behaves as one): it cannot notify this process, so a bounded poll is the way to wait.
        The pause is an Event that is never set, not a sleep."""
        pause = threading.Event()
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= end:
                return False
            pause.wait(every)
        return True

    def registries(self, q=None):
        q = q or self.q
        return {
            'started': q.started_job_registry, 'finished': q.finished_job_registry,
            'failed': q.failed_job_registry, 'deferred': q.deferred_job_registry,
            'scheduled': q.scheduled_job_registry, 'canceled': q.canceled_job_registry,
        }

    def snapshot(self, q=None):
        """Everything a rejected call must leave unchanged."""
        q = q or self.q
        regs = {name: sorted(r.get_job_ids()) for name, r in self.registries(q).items()}
        return q.count(), list(q.get_job_ids()), regs

    def assertRejected(self, exc_types, named, func, *args, **kwargs):
        """func(*args, **kwargs) raises exc_types naming `named`, and changes nothing."""
        before = self.snapshot()
        with self.assertRaises(exc_types) as cm:
            func(*args, **kwargs)
        self.assertIn(named, str(cm.exception))
        self.assertEqual(self.snapshot(), before)
        self.assertFalse(Job.exists('probe', connection=self.store))  # no half-made job either
        return cm.exception


# ---- stores, connections and the clock ----------------------------------------------------

class StoreAndConnectionTests(BaseTestCase):

    def unique_name(self):
        return 'q' + uuid.uuid4().hex

    def test_queue_without_connection_uses_default_store_and_same_name_is_same_queue(self):
        name = self.unique_name()
        a, b = Queue(name), Queue(name)
        job = a.enqueue(add_numbers, 1, 2)
        self.addCleanup(job.delete)
        self.assertEqual(b.count(), 1)
        self.assertEqual(b.get_job_ids(), [job.id])
        self.assertEqual(b.fetch_job(job.id).id, job.id)

    def test_non_store_connection_means_default_store(self):
        name = self.unique_name()
        job = Queue(name, connection=object()).enqueue(add_numbers, 1, 2)
        self.addCleanup(job.delete)
        self.assertEqual(Queue(name).get_job_ids(), [job.id])
        self.assertEqual(Queue(name, connection='redis://localhost:6379').count(), 1)

    def test_stores_are_separate(self):
        name = self.unique_name()
        job = Queue(name).enqueue(add_numbers, 1, 2)
        self.addCleanup(job.delete)
        self.assertEqual(Queue(name, connection=MemoryStore()).count(), 0)
        self.assertEqual(Queue(name, connection=self.store).count(), 0)
        with self.assertRaises(NoSuchJobError):
            Job.fetch(job.id, connection=self.store)

    def test_two_queue_objects_on_one_store_are_one_queue(self):
        job = Queue('shared', connection=self.store).enqueue(add_numbers, 1, 2)
        other = Queue('shared', connection=self.store)
        self.assertEqual(other.get_job_ids(), [job.id])
        self.assertTrue(self.worker([other]).work(burst=True))
        self.assertEqual(job.get_status(), JobStatus.FINISHED)

    def test_store_clock(self):
        self.assertIs(self.store.clock, self.clock)
        real = MemoryStore()
        self.assertLess(abs(real.clock() - time.time()), 5)

    def test_job_fetch_with_connection(self):
        job = self.q.enqueue(add_numbers, 1, 2)
        fetched = Job.fetch(job.id, connection=self.store)
        self.assertIsNot(fetched, job)
        self.assertEqual(fetched.id, job.id)
        self.assertEqual(fetched.get_status(), JobStatus.QUEUED)


class ManualClockTests(unittest.TestCase):

    def test_start_from_datetime(self):
        clock = ManualClock(start=T0)
        self.assertEqual(clock(), T0.timestamp())
        self.assertEqual(clock.time(), T0.timestamp())
        self.assertEqual(clock.now(), T0)
        self.assertIsNotNone(clock.now().tzinfo)

    def test_start_from_epoch_seconds(self):
        clock = ManualClock(start=1_700_000_000.5)
        self.assertEqual(clock(), 1_700_000_000.5)
        self.assertEqual(clock.now(), datetime.fromtimestamp(1_700_000_000.5, timezone.utc))

    def test_default_start_is_now_and_time_stands_still(self):
        clock = ManualClock()
        self.assertLess(abs(clock() - time.time()), 5)
        first = clock()
        self.assertEqual(clock(), first)
        self.assertEqual(clock.time(), first)

    def test_advance_seconds_and_timedelta(self):
        clock = ManualClock(start=100)
        clock.advance(2.5)
        self.assertEqual(clock(), 102.5)
        clock.advance(timedelta(minutes=1))
        self.assertEqual(clock(), 162.5)


# ---- the seed API ---------------------------------------------------------------------

class SeedExampleTests(BaseTestCase):

    def test_seed_example_verbatim(self):
        queue = Queue('default')
        job = queue.enqueue(add_numbers, 5, 10)
        worker = Worker([queue])
        worker.start(burst=True)
        self.assertEqual(job.get_result(timeout=5), 15)
        self.assertTrue(worker.stop())
        self.assertEqual(job.get_status(), 'finished')

    def test_seed_example_on_a_private_store(self):
        job = self.q.enqueue(add_numbers, 5, 10)
        w = self.worker()
        w.start(burst=True)
        self.assertEqual(job.get_result(timeout=WAIT), 15)
        self.assertTrue(w.stop(timeout=WAIT))

    def test_job_constructor_seed_signature(self):
        job = Job(add_numbers, args=(1, 2), kwargs=None, result_ttl=60, timeout=30,
                  job_id='made_by_hand', description='by hand')
        self.assertEqual(job.id, 'made_by_hand')
        self.assertEqual(job.description, 'by hand')
        self.assertEqual(job.timeout, 30)
        self.assertEqual(job.result_ttl, 60)
        self.assertIsInstance(job.created_at, datetime)
        self.assertEqual(job.meta, {})
        self.assertIsNone(job.result)
        self.assertIsNone(job.exc_info)
        self.assertIs(self.q.enqueue_job(job), job)
        self.worker().work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 3)
        self.assertEqual(self.q.finished_job_registry.get_job_ids(), ['made_by_hand'])


class GetResultTests(BaseTestCase):

    def test_returns_value(self):
        job = self.q.enqueue(add_numbers, 2, 3)
        self.worker().work(burst=True)
        self.assertEqual(job.get_result(), 5)
        self.assertEqual(job.get_result(timeout=0), 5)
        self.assertEqual(job.result, 5)
        self.assertEqual(job.return_value(), 5)

    def test_failed_job_raises_job_failed_error(self):
        job = self.q.enqueue(fail, 'boom 42')
        self.worker().work(burst=True)
        with self.assertRaises(JobFailedError) as cm:
            job.get_result(timeout=1)
        message = str(cm.exception)
        self.assertIn(job.id, message)
        self.assertIn('failed', message)
        self.assertIn('ValueError: boom 42', message)
        self.assertEqual(cm.exception.job.id, job.id)
        self.assertTrue(job.exc_info.strip().endswith('ValueError: boom 42'))

    def test_canceled_job_raises_job_failed_error(self):
        job = self.q.enqueue(add_numbers, 1, 2)
        job.cancel()
        with self.assertRaises(JobFailedError) as cm:
            job.get_result(timeout=1)
        self.assertIn(job.id, str(cm.exception))
        self.assertIn('canceled', str(cm.exception))

    def test_stopped_job_raises_job_failed_error(self):
        gate = self.gate()
        job = self.q.enqueue(gated, gate.name)
        nxt = self.q.enqueue(no_args)
        self.start_worker()
        self.assertTrue(gate.started.wait(WAIT))
        send_stop_job_command(self.store, job.id)
        self.assertEqual(nxt.get_result(timeout=WAIT), 'ok')  # the worker goes on
        self.assertTrue(job.is_stopped)
        self.assertIs(job.is_stopped(), True)
        gate.release.set()
        with self.assertRaises(JobFailedError) as cm:
            job.get_result(timeout=1)
        self.assertIn(job.id, str(cm.exception))
        self.assertIn('stopped', str(cm.exception))
        self.assertEqual(job.get_status(), JobStatus.STOPPED)

    def test_timeout_raises_builtin_timeout_error(self):
        job = self.q.enqueue(add_numbers, 1, 2)
        began = time.monotonic()
        with self.assertRaises(TimeoutError):
            job.get_result(timeout=0.05)
        self.assertLess(time.monotonic() - began, 2)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)

    def test_waits_for_a_running_job(self):
        gate = self.gate()
        job = self.q.enqueue(gated, gate.name)
        self.start_worker()
        self.assertTrue(gate.started.wait(WAIT))
        with self.assertRaises(TimeoutError):
            job.get_result(timeout=0.05)
        gate.release.set()
        self.assertIs(job.get_result(timeout=WAIT), True)

    def test_timeout_none_waits_as_long_as_it_takes(self):
        gate = self.gate()
        job = self.q.enqueue(gated, gate.name)
        self.start_worker()
        releaser = threading.Thread(target=lambda: gate.started.wait(WAIT) and gate.release.set())
        releaser.start()
        self.assertIs(job.get_result(), True)
        releaser.join(WAIT)


class PredicateAndCountTests(BaseTestCase):
    PREDICATES = ('is_queued', 'is_started', 'is_finished', 'is_failed', 'is_deferred',
                  'is_scheduled', 'is_canceled', 'is_stopped')

    def assertOnly(self, job, true_name):
        for name in self.PREDICATES:
            with self.subTest(predicate=name):
                value = getattr(job, name)
                if name == true_name:
                    self.assertTrue(value)
                    self.assertIs(value(), True)
                else:
                    self.assertFalse(value)
                    self.assertIs(value(), False)

    def test_predicates_through_the_lifecycle(self):
        job = self.q.enqueue(add_numbers, 1, 2)
        self.assertOnly(job, 'is_queued')
        self.worker().work(burst=True)
        self.assertOnly(job, 'is_finished')
        failed = self.q.enqueue(fail)
        self.worker().work(burst=True)
        self.assertOnly(failed, 'is_failed')
        self.assertOnly(self.q.enqueue_in(timedelta(seconds=10), no_args), 'is_scheduled')
        parent = self.q.enqueue(no_args)
        self.assertOnly(self.q.enqueue(no_args, depends_on=parent), 'is_deferred')
        canceled = self.q.enqueue(no_args)
        canceled.cancel()
        self.assertOnly(canceled, 'is_canceled')

    def test_is_started_inside_the_job(self):
        self.q.enqueue(note_is_started)
        self.worker().work(burst=True)
        self.assertEqual(NOTES['is_started'], [(True, True)])

    def test_get_status_is_a_str_enum(self):
        job = self.q.enqueue(add_numbers, 1, 2)
        self.assertIsInstance(job.get_status(), JobStatus)
        self.assertEqual(job.get_status(), 'queued')
        self.worker().work(burst=True)
        self.assertEqual(job.get_status(), 'finished')
        self.assertEqual(job.get_status(), JobStatus.FINISHED)

    def test_count_is_callable_and_an_int(self):
        for i in range(3):
            self.q.enqueue(add_numbers, i, i)
        self.assertTrue(self.q.count == 3)
        self.assertEqual(self.q.count, 3)
        self.assertEqual(self.q.count(), 3)
        self.assertTrue(self.q.count + 1 == 4)
        self.assertEqual(len(self.q), 3)
        self.assertFalse(Queue('nothing', connection=self.store).count)

    def test_seed_empty_is_a_check_and_changes_nothing(self):
        self.assertIs(self.q.empty(), True)
        job = self.q.enqueue(add_numbers, 1, 2)
        self.assertIs(self.q.empty(), False)
        self.assertIs(self.q.empty(), False)
        self.assertEqual(self.q.count(), 1)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertIs(self.q.is_empty(), False)

    def test_get_jobs_and_ids(self):
        jobs = [self.q.enqueue(add_numbers, i, i) for i in range(3)]
        self.assertEqual(self.q.get_job_ids(), [j.id for j in jobs])
        self.assertEqual([j.id for j in self.q.get_jobs()], [j.id for j in jobs])
        self.assertEqual(self.q.fetch_job(jobs[1].id).args, jobs[1].args)
        self.assertIsNone(self.q.fetch_job('no-such-job'))


class EnqueueOptionTests(BaseTestCase):

    def test_timeout_is_the_job_timeout_on_the_seed_front_door(self):
        job = self.q.enqueue(no_args, timeout=300)  # no_args would fail if it got `timeout`
        self.assertEqual(job.timeout, 300)
        self.worker().work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 'ok')

    def test_job_timeout_and_default_timeout(self):
        self.assertEqual(self.q.enqueue(no_args).timeout, 180)
        self.assertEqual(self.q.enqueue(no_args, job_timeout=7).timeout, 7)
        q = Queue('slowish', connection=self.store, default_timeout=60)
        self.assertEqual(q.enqueue(no_args).timeout, 60)

    def test_timeout_strings(self):
        for text, seconds in (('1h', 3600), ('3m', 180), ('5s', 5), ('2d', 172800), ('10', 10)):
            with self.subTest(text=text):
                self.assertEqual(self.q.enqueue(no_args, job_timeout=text).timeout, seconds)

    def test_default_description_and_id(self):
        job = self.q.enqueue(add_numbers, 5, 10)
        self.assertEqual(job.description, f'{add_numbers.__module__}.add_numbers(5, 10)')
        kw = self.q.enqueue(add_numbers, 1, b='x')
        self.assertEqual(kw.description, f"{add_numbers.__module__}.add_numbers(1, b='x')")
        self.assertEqual(len(job.id), 36)
        self.assertEqual(uuid.UUID(job.id).version, 4)
        self.assertNotEqual(job.id, kw.id)

    def test_custom_id_and_description(self):
        job = self.q.enqueue(no_args, job_id='my_job-1', description='mine')
        self.assertEqual(job.id, 'my_job-1')
        self.assertEqual(self.q.fetch_job('my_job-1').description, 'mine')

    def test_origin(self):
        self.assertEqual(self.q.enqueue(no_args).origin, 'default')
        other = Queue('other', connection=self.store)
        self.assertEqual(other.enqueue(no_args).origin, 'other')


class ToDictTests(BaseTestCase):
    KEYS = {'id', 'status', 'func_name', 'args', 'kwargs', 'description', 'origin', 'meta',
            'timeout', 'result_ttl', 'ttl', 'failure_ttl', 'created_at', 'enqueued_at',
            'started_at', 'ended_at', 'result', 'exc_info', 'retries_left', 'dependency_ids',
            'worker_name'}

    @staticmethod
    def parse(text):
        return datetime.fromisoformat(text.replace('Z', '+00:00'))

    def test_queued_job(self):
        job = self.q.enqueue(add_numbers, 5, 10, meta={'k': 'v'})
        data = json.loads(json.dumps(job.to_dict()))
        self.assertLessEqual(self.KEYS, set(data))
        self.assertEqual(data['id'], job.id)
        self.assertEqual(data['status'], 'queued')
        self.assertTrue(data['func_name'].endswith('add_numbers'))
        self.assertEqual(data['args'], [5, 10])
        self.assertEqual(data['kwargs'], {})
        self.assertEqual(data['origin'], 'default')
        self.assertEqual(data['meta'], {'k': 'v'})
        self.assertEqual(data['timeout'], 180)
        self.assertEqual(self.parse(data['enqueued_at']), T0)
        self.assertEqual(self.parse(data['created_at']), T0)
        for key in ('started_at', 'ended_at', 'result', 'exc_info', 'worker_name'):
            self.assertIsNone(data[key], key)
        self.assertEqual(data['dependency_ids'], [])

    def test_finished_and_failed_jobs(self):
        ok, bad = self.q.enqueue(add_numbers, 5, 10), self.q.enqueue(fail, 'nope')
        w = self.worker(name='w1')
        w.work(burst=True)
        ok.refresh()
        bad.refresh()
        data = json.loads(json.dumps(ok.to_dict()))
        self.assertEqual((data['status'], data['result'], data['worker_name']),
                         ('finished', 15, 'w1'))
        self.assertEqual(self.parse(data['started_at']), T0)
        self.assertEqual(self.parse(data['ended_at']), T0)
        data = json.loads(json.dumps(bad.to_dict()))
        self.assertEqual(data['status'], 'failed')
        self.assertTrue(data['exc_info'].strip().endswith('ValueError: nope'))


# ---- lifecycle: statuses, timestamps, registries -------------------------------------------

class LifecycleTests(BaseTestCase):

    def test_statuses_queued_started_finished(self):
        job = self.q.enqueue(note_own_status)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.worker().work(burst=True)
        self.assertEqual(NOTES['status'], [JobStatus.STARTED])
        self.assertEqual(job.get_status(), JobStatus.FINISHED)

    def test_statuses_failed_scheduled_deferred_canceled(self):
        bad = self.q.enqueue(fail)
        self.worker().work(burst=True)
        self.assertEqual(bad.get_status(), JobStatus.FAILED)
        self.assertEqual(self.q.enqueue_in(timedelta(seconds=5), no_args).get_status(), 'scheduled')
        parent = self.q.enqueue(no_args)
        child = self.q.enqueue(no_args, depends_on=parent)
        self.assertEqual(child.get_status(), JobStatus.DEFERRED)
        self.assertIsNone(child.enqueued_at)
        self.assertEqual(self.q.get_job_ids(), [parent.id])
        child.cancel()
        self.assertEqual(child.get_status(), JobStatus.CANCELED)

    def test_timestamps_follow_the_store_clock(self):
        job = self.q.enqueue(advance_clock, 2)
        self.assertEqual(job.created_at, T0)
        self.assertEqual(job.enqueued_at, T0)
        self.assertIsNone(job.started_at)
        self.assertIsNone(job.ended_at)
        self.clock.advance(1)
        self.worker().work(burst=True)
        job.refresh()
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.started_at, T0 + timedelta(seconds=1))
        self.assertEqual(job.ended_at, T0 + timedelta(seconds=3))

    def test_failed_job_has_ended_at(self):
        job = self.q.enqueue(fail)
        self.worker().work(burst=True)
        job.refresh()
        self.assertEqual(job.ended_at, T0)

    def test_worker_name(self):
        job = self.q.enqueue(no_args)
        w = self.worker(name='alice')
        self.assertEqual(w.name, 'alice')
        w.work(burst=True)
        job.refresh()
        self.assertEqual(job.worker_name, 'alice')
        self.assertRegex(self.worker().name, r'^[0-9a-f]{32}$')

    def test_registries_membership(self):
        regs = self.registries()
        ok = self.q.enqueue(note_where_it_is)
        bad = self.q.enqueue(fail)
        self.worker().work(burst=True)
        self.assertEqual(NOTES['inside'], [(True, False)])
        self.assertIn(ok.id, regs['finished'])
        self.assertIn(ok, regs['finished'])
        self.assertNotIn(ok.id, regs['started'])
        self.assertIn(bad.id, regs['failed'])
        self.assertNotIn(bad.id, regs['finished'])
        scheduled = self.q.enqueue_in(timedelta(seconds=10), no_args)
        self.assertIn(scheduled.id, regs['scheduled'])
        parent = self.q.enqueue(no_args)
        child = self.q.enqueue(no_args, depends_on=parent)
        self.assertIn(child.id, regs['deferred'])
        victim = self.q.enqueue(no_args)
        victim.cancel()
        self.assertIn(victim.id, regs['canceled'])
        self.assertNotIn(victim.id, self.q.get_job_ids())
        self.assertEqual(self.q.get_job_ids(), [parent.id])

    def test_registry_constructors(self):
        job = self.q.enqueue(no_args)
        self.worker().work(burst=True)
        self.assertIn(job.id, FinishedJobRegistry('default', connection=self.store))
        self.assertIn(job.id, FinishedJobRegistry(queue=self.q))
        self.assertNotIn(job.id, FinishedJobRegistry('other', connection=self.store))
        self.assertEqual(FinishedJobRegistry(queue=self.q).get_job_ids(), [job.id])
        for cls in (StartedJobRegistry, FailedJobRegistry, DeferredJobRegistry,
                    ScheduledJobRegistry, CanceledJobRegistry):
            self.assertEqual(cls(queue=self.q).get_job_ids(), [])


# ---- workers --------------------------------------------------------------------------

class WorkerTests(BaseTestCase):
    CONCURRENT_JOBS = 1000      # jobs of the concurrent-enqueuers test (4 enqueuers, 3 workers)

    def test_work_burst_return_value(self):
        self.assertIs(self.worker().work(burst=True), False)
        self.q.enqueue(fail)
        self.assertIs(self.worker().work(burst=True), True)  # a failed job counts
        self.q.enqueue(no_args)
        self.assertIs(self.worker().work(burst=True), True)
        self.assertIs(self.worker().work(burst=True), False)

    def test_max_jobs_and_max_idle_time(self):
        jobs = [self.q.enqueue(no_args) for _ in range(3)]
        self.assertIs(self.worker().work(burst=True, max_jobs=2), True)
        self.assertEqual([j.get_status() for j in jobs], ['finished', 'finished', 'queued'])
        self.worker().work(burst=True)
        began = time.monotonic()
        self.assertIs(self.worker().work(max_idle_time=0.1), False)  # not burst: idles, then quits
        self.assertLess(time.monotonic() - began, 2)

    def test_burst_start_then_stop_processes_everything(self):
        jobs = [self.q.enqueue(add_numbers, i, 1) for i in range(20)]
        w = self.worker()
        w.start(burst=True)
        self.assertIs(w.stop(), True)
        self.assertEqual([j.get_status() for j in jobs], [JobStatus.FINISHED] * 20)
        self.assertEqual(self.q.count(), 0)

    def test_stop_finishes_job_in_hand_and_takes_no_new_one(self):
        gate = self.gate()
        first = self.q.enqueue(gated, gate.name)
        second = self.q.enqueue(no_args)
        w = self.start_worker()
        self.assertTrue(gate.started.wait(WAIT))
        self.assertIs(w.stop(timeout=0.05), False)  # the job in hand is still blocked
        gate.release.set()
        self.assertIs(w.stop(timeout=WAIT), True)
        self.assertEqual(first.get_status(), JobStatus.FINISHED)
        self.assertIs(first.get_result(timeout=0), True)
        self.assertEqual(second.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.q.get_job_ids(), [second.id])

    def test_idle_worker_stops_promptly(self):
        w = self.start_worker()
        began = time.monotonic()
        self.assertIs(w.stop(timeout=WAIT), True)
        self.assertLess(time.monotonic() - began, 2)

    def test_live_worker_picks_up_new_jobs(self):
        self.start_worker()
        jobs = [self.q.enqueue(add_numbers, i, i) for i in range(5)]
        self.assertEqual([j.get_result(timeout=WAIT) for j in jobs], [0, 2, 4, 6, 8])

    def test_strict_priority(self):
        high = Queue('high', connection=self.store)
        low = Queue('low', connection=self.store)
        for name in ('low1', 'low2'):
            low.enqueue(note, 'order', name)
        for name in ('high1', 'high2'):
            high.enqueue(note, 'order', name)
        self.worker([high, low]).work(burst=True)
        self.assertEqual(NOTES['order'], ['high1', 'high2', 'low1', 'low2'])

    def test_priority_is_rechecked_on_every_dequeue(self):
        high = Queue('high', connection=self.store)
        low = Queue('low', connection=self.store)
        low.enqueue(low_job, 'low1')
        low.enqueue(low_job, 'low2')
        self.worker([high, low]).work(burst=True)
        self.assertEqual(NOTES['order'], ['low1', 'high-late', 'low2'])

    def test_exception_and_system_exit_fail_the_job_not_the_worker(self):
        bad = self.q.enqueue(fail)
        bye = self.q.enqueue(exit_job)
        good = self.q.enqueue(add_numbers, 1, 1)
        self.assertTrue(self.worker().work(burst=True))
        self.assertEqual(bad.get_status(), JobStatus.FAILED)
        self.assertEqual(bye.get_status(), JobStatus.FAILED)
        self.assertIn('SystemExit', bye.exc_info)
        self.assertEqual(good.get_result(timeout=0), 2)

    def test_system_exit_does_not_kill_a_started_worker(self):
        self.start_worker()
        bye = self.q.enqueue(exit_job)
        good = self.q.enqueue(add_numbers, 2, 2)
        self.assertEqual(good.get_result(timeout=WAIT), 4)
        self.assertEqual(bye.get_status(), JobStatus.FAILED)

    def test_job_functions_run_outside_the_lock(self):
        job = self.q.enqueue(enqueue_child_and_count, on_success=enqueue_from_callback)
        w = self.worker()
        w.start(burst=True)
        self.assertIs(w.stop(timeout=WAIT), True)
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.get_meta()['count'], 1)
        self.assertEqual(self.q.count(), 0)  # the child and the callback's job ran in the burst

    def test_get_current_job(self):
        self.assertIsNone(get_current_job())
        job = self.q.enqueue(note_current_job_id)
        self.worker().work(burst=True)
        self.assertEqual(NOTES['current'], [job.id])
        self.assertIsNone(get_current_job())

    @unittest.skipUnless(hasattr(signal, 'pthread_kill'), 'needs signal.pthread_kill (POSIX)')
    def test_a_signal_reaches_its_handler_while_work_waits_for_jobs(self):
        # CPython runs a Python signal handler in the main thread, between bytecodes. A signal
        # that the kernel delivers to another thread (any thread may get a process's SIGTERM)
        # does not interrupt the main thread's lock wait, so work() must wait in bounded slices
        # or the handler (a warm shut-down) runs only once the worker has ended.
        if threading.current_thread() is not threading.main_thread():
            self.skipTest('signal handlers run in the main thread only')
        handled = threading.Event()
        worker = self.worker()

        def handler(signum, frame):
            handled.set()
            worker.request_stop()
        old = signal.signal(signal.SIGUSR1, handler)
        self.addCleanup(signal.signal, signal.SIGUSR1, old)
        seen = []

        def deliver_to_this_thread():
            # Polls (bounded) until the main thread blocks in work()'s idle wait: a signal that
            # arrives while it still runs bytecode would be handled at once either way.
            if not self.poll_until(main_thread_waits_in_work, every=0.005):
                seen.append('the main thread never blocked in work()')
                worker.request_stop()
                return
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
            seen.append(handled.wait(1))
            worker.request_stop()
        helper = threading.Thread(target=deliver_to_this_thread)
        helper.start()
        self.assertIs(worker.work(burst=False, max_idle_time=WAIT), False)
        helper.join(WAIT)
        self.assertEqual(seen, [True], 'the handler did not run while work() waited')

    def test_concurrent_enqueuers_and_workers_run_each_job_once(self):
        workers = [self.start_worker() for _ in range(3)]
        barrier = threading.Barrier(4)
        ids, ids_lock = [], threading.Lock()

        def enqueuer():
            barrier.wait(WAIT)
            mine = [self.q.enqueue(count_run) for _ in range(self.CONCURRENT_JOBS // 4)]
            with ids_lock:
                ids.extend(mine)
        threads = [threading.Thread(target=enqueuer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 2)
            self.assertFalse(t.is_alive())
        self.assertEqual(len(ids), self.CONCURRENT_JOBS)
        for job in ids:
            job.get_result(timeout=WAIT)
        for w in workers:
            self.assertIs(w.stop(timeout=WAIT), True)
        counts = collections.Counter(NOTES['runs'])
        self.assertEqual(len(counts), self.CONCURRENT_JOBS)
        self.assertEqual(set(counts.values()), {1})
        self.assertEqual(sum(w.successful_job_count for w in workers), self.CONCURRENT_JOBS)


# ---- scheduling -----------------------------------------------------------------------

class SchedulingTests(BaseTestCase):

    def test_live_worker_runs_a_scheduled_job_at_its_due_time(self):
        q = Queue('real', connection=self.make_store(None))     # this back-end, on real time
        self.start_worker([q])
        began = time.time()
        job = q.enqueue_in(timedelta(seconds=0.2), mark_time)
        self.assertEqual(job.get_status(), JobStatus.SCHEDULED)
        self.assertTrue(EVENTS['marked'].wait(WAIT))
        self.assertGreaterEqual(NOTES['time'][0], began + 0.2 - 1e-3)
        self.assertLess(NOTES['time'][0], began + 0.2 + 1.0)
        self.assertEqual(job.get_result(timeout=WAIT), None)

    def test_advance_wakes_a_live_worker(self):
        self.start_worker()
        self.q.enqueue_in(timedelta(minutes=5), set_event, 'ran')
        self.clock.advance(timedelta(minutes=5))
        self.assertTrue(EVENTS['ran'].wait(WAIT))

    def test_advance_releases_jobs_in_every_store_on_the_clock(self):
        other = Queue('default', connection=MemoryStore(clock=self.clock))
        jobs = [self.q.enqueue_in(timedelta(seconds=5), no_args),
                other.enqueue_in(timedelta(seconds=5), no_args)]
        self.clock.advance(5)
        self.assertEqual([j.get_status() for j in jobs], ['queued', 'queued'])
        self.assertEqual((self.q.count(), other.count()), (1, 1))

    def test_advance_releases_scheduled_jobs_without_a_worker(self):
        job = self.q.enqueue_in(timedelta(seconds=60), no_args)
        self.assertEqual(self.q.count(), 0)
        self.assertIsNone(job.enqueued_at)
        self.clock.advance(59)
        self.assertEqual(job.get_status(), JobStatus.SCHEDULED)
        self.clock.advance(1)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.q.get_job_ids(), [job.id])
        self.assertNotIn(job.id, self.q.scheduled_job_registry)

    def test_burst_worker_runs_only_what_is_due(self):
        due = self.q.enqueue_at(T0 - timedelta(seconds=1), no_args)
        later = self.q.enqueue_in(timedelta(seconds=100), no_args)
        self.assertTrue(self.worker().work(burst=True))
        self.assertEqual(due.get_status(), JobStatus.FINISHED)
        self.assertEqual(later.get_status(), JobStatus.SCHEDULED)
        self.assertIs(self.worker().work(burst=True), False)

    def test_enqueue_at_aware_naive_and_enqueue_in_seconds(self):
        aware = self.q.enqueue_at(T0 + timedelta(seconds=30), no_args)
        naive = self.q.enqueue_at(datetime.fromtimestamp(self.clock() + 30), no_args)  # local time
        seconds = self.q.enqueue_in(30, no_args)
        self.clock.advance(29)
        self.assertEqual([j.get_status() for j in (aware, naive, seconds)], ['scheduled'] * 3)
        self.clock.advance(1)
        self.assertEqual([j.get_status() for j in (aware, naive, seconds)], ['queued'] * 3)

    def test_retry_interval_waits_as_scheduled(self):
        job = self.q.enqueue(flaky, 'attempts', 2, retry=Retry(max=3, interval=10))
        self.worker().work(burst=True)
        job.refresh()  # in RQ, plain attributes such as retries_left are read on refresh()
        self.assertEqual((job.get_status(), job.retries_left), (JobStatus.SCHEDULED, 2))
        self.clock.advance(9)
        self.assertIs(self.worker().work(burst=True), False)  # not due yet
        self.clock.advance(1)
        self.worker().work(burst=True)
        job.refresh()
        self.assertEqual((job.get_status(), job.retries_left), (JobStatus.SCHEDULED, 1))
        self.clock.advance(10)
        self.worker().work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 'ok')
        self.assertEqual(len(NOTES['attempts']), 3)


# ---- TTLs -----------------------------------------------------------------------------

class TTLTests(BaseTestCase):

    def test_result_ttl_default_500(self):
        job = self.q.enqueue(no_args)
        self.worker().work(burst=True)
        self.assertEqual(job.result_ttl if job.result_ttl is not None else 500, 500)
        self.clock.advance(499)
        self.assertIsNotNone(self.q.fetch_job(job.id))
        self.clock.advance(2)
        self.assertIsNone(self.q.fetch_job(job.id))
        self.assertNotIn(job.id, self.q.finished_job_registry)
        with self.assertRaises(NoSuchJobError):
            Job.fetch(job.id, connection=self.store)

    def test_result_ttl_zero_deletes_on_success(self):
        job = self.q.enqueue(no_args, result_ttl=0)
        self.worker().work(burst=True)
        self.assertIsNone(self.q.fetch_job(job.id))
        self.assertNotIn(job.id, self.q.finished_job_registry)
        with self.assertRaises(InvalidJobOperation):
            job.get_status()

    def test_result_ttl_minus_one_keeps(self):
        job = self.q.enqueue(no_args, result_ttl=-1)
        self.worker().work(burst=True)
        self.clock.advance(10 * 365 * 86400)
        self.assertEqual(self.q.fetch_job(job.id).get_status(), JobStatus.FINISHED)
        self.assertIn(job.id, self.q.finished_job_registry)

    def test_worker_default_result_ttl(self):
        job = self.q.enqueue(no_args)
        self.worker(default_result_ttl=10).work(burst=True)
        self.clock.advance(11)
        self.assertIsNone(self.q.fetch_job(job.id))

    def test_failure_ttl(self):
        job = self.q.enqueue(fail, failure_ttl=10)
        self.worker().work(burst=True)
        self.clock.advance(9)
        self.assertIsNotNone(self.q.fetch_job(job.id))
        self.clock.advance(2)
        self.assertIsNone(self.q.fetch_job(job.id))
        self.assertNotIn(job.id, self.q.failed_job_registry)

    def test_default_failure_ttl_is_a_year(self):
        job = self.q.enqueue(fail)
        self.worker().work(burst=True)
        self.clock.advance(364 * 86400)
        self.assertEqual(self.q.fetch_job(job.id).get_status(), JobStatus.FAILED)
        self.clock.advance(2 * 86400)
        self.assertIsNone(self.q.fetch_job(job.id))

    def test_ttl_for_a_waiting_job(self):
        job = self.q.enqueue(no_args, ttl=10)
        self.clock.advance(9)
        self.assertIsNotNone(self.q.fetch_job(job.id))
        self.clock.advance(2)
        self.assertIsNone(self.q.fetch_job(job.id))
        self.assertIs(self.worker().work(burst=True), False)

    def test_ttl_stops_counting_once_the_job_runs(self):
        job = self.q.enqueue(no_args, ttl=10)
        self.worker().work(burst=True)
        self.clock.advance(11)
        self.assertEqual(self.q.fetch_job(job.id).get_status(), JobStatus.FINISHED)


# ---- honest timeouts ------------------------------------------------------------------

class TimeoutTests(BaseTestCase):
    # Job timeouts use real time. A quarter of a second keeps these tests quick; the examples
    # (slow tier) check RQ's message for a whole number of seconds.

    def test_job_blocked_in_sleep_fails_on_time_and_next_job_runs(self):
        stuck = self.q.enqueue(sleep_30, job_timeout=JOB_TIMEOUT)
        after = self.q.enqueue(add_numbers, 20, 22)
        w = self.worker()
        began = time.monotonic()
        w.start(burst=True)
        with self.assertRaises(JobFailedError):
            stuck.get_result(timeout=WAIT)
        elapsed = time.monotonic() - began
        self.assertGreaterEqual(elapsed, JOB_TIMEOUT - 0.05)
        self.assertLess(elapsed, JOB_TIMEOUT + 1)
        self.assertEqual(stuck.get_status(), JobStatus.FAILED)
        self.assertTrue(stuck.exc_info.rstrip().endswith(
            f'JobTimeoutException: Task exceeded maximum timeout value ({JOB_TIMEOUT} seconds)'),
            stuck.exc_info)
        self.assertEqual(after.get_result(timeout=WAIT), 42)
        self.assertIs(w.stop(timeout=WAIT), True)
        self.assertIn(stuck.id, self.q.failed_job_registry)

    def test_what_a_timed_out_job_returns_later_is_discarded(self):
        job = self.q.enqueue(late, 'late', job_timeout=JOB_TIMEOUT)
        self.start_worker()
        with self.assertRaises(JobFailedError):
            job.get_result(timeout=WAIT)
        EVENTS['late'].set()
        self.assertTrue(EVENTS['late.ended'].wait(WAIT))
        nxt = self.q.enqueue(no_args)  # the worker's next job ends after the late code finished
        self.assertEqual(nxt.get_result(timeout=WAIT), 'ok')
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        self.assertIsNone(job.return_value())
        self.assertIn(job.id, self.q.failed_job_registry)
        self.assertNotIn(job.id, self.q.finished_job_registry)

    def test_work_fails_a_timed_out_job_on_time_and_goes_on_when_its_code_returns(self):
        # work() runs jobs in the calling thread: a job blocked in C past its timeout is failed
        # at its deadline, and the next job starts once the blocked call returns.
        gate = self.gate('late')
        stuck = self.q.enqueue(gated, gate.name, job_timeout=JOB_TIMEOUT)
        after = self.q.enqueue(whoami)
        w = self.worker()
        returned = []
        caller = threading.Thread(target=lambda: returned.append(w.work(burst=True)), daemon=True)
        began = time.monotonic()
        caller.start()
        self.assertTrue(self.wait_status(stuck, JobStatus.FAILED))
        self.assertLess(time.monotonic() - began, JOB_TIMEOUT + 1)
        self.assertIn('JobTimeoutException', stuck.exc_info)
        self.assertEqual(after.get_status(), JobStatus.QUEUED)    # the caller is still blocked
        gate.release.set()
        self.assertEqual(after.get_result(timeout=WAIT), caller.ident)
        caller.join(WAIT)
        self.assertEqual(returned, [True])
        self.assertEqual(stuck.get_status(), JobStatus.FAILED)    # what it returned is discarded

    def test_default_job_timeout_is_180(self):
        self.assertEqual(self.q.enqueue(no_args).timeout, 180)


# ---- capturing arguments -------------------------------------------------------------

class ArgumentCaptureTests(BaseTestCase):

    def test_mutating_an_argument_after_enqueue_does_not_change_the_job(self):
        items, options = [1, 2], {'x': [1]}
        job = self.q.enqueue(length, items)
        kw = self.q.enqueue(echo, x=options)
        items.append(3)
        options['x'].append(2)
        self.assertEqual(list(job.args), [[1, 2]])
        self.worker().work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 2)
        self.assertEqual(kw.get_result(timeout=0), {'x': [1]})

    def test_results_and_meta_are_captured_when_stored(self):
        job = self.q.enqueue(keep_and_return_list)
        self.worker().work(burst=True)
        NOTES['kept'].append(2)
        self.assertEqual(job.get_result(timeout=0), [1])
        self.assertEqual(Job.fetch(job.id, connection=self.store).meta, {'seen': [1]})
        job.meta['local'] = True          # not saved: the stored meta does not change
        self.assertNotIn('local', job.get_meta())

    def test_unserializable_result_is_stored_as_rq_does(self):
        job = self.q.enqueue(threading.Lock)
        self.worker().work(burst=True)
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.return_value(), 'Unserializable return value')

    def test_unpicklable_argument_fails_at_enqueue(self):
        before = self.snapshot()
        with self.assertRaises(TypeError) as cm:
            self.q.enqueue(echo, threading.Lock(), job_id='probe')
        self.assertIn('echo', str(cm.exception))
        self.assertIn('lock', str(cm.exception).lower())
        with self.assertRaises(TypeError) as cm:
            self.q.enqueue(echo, x=threading.Lock(), job_id='probe')
        self.assertIn('echo', str(cm.exception))
        self.assertEqual(self.snapshot(), before)
        self.assertFalse(Job.exists('probe', connection=self.store))

    def test_functions_from_main_nested_and_lambdas_work(self):
        def nested(a):
            return a * 2
        jobs = [self.q.enqueue(nested, 4), self.q.enqueue(lambda: 'lam')]
        self.worker().work(burst=True)
        self.assertEqual([j.get_result(timeout=0) for j in jobs], [8, 'lam'])

    def test_json_serializer(self):
        for serializer in ('json', JSONSerializer):
            with self.subTest(serializer=serializer):
                q = Queue('json', connection=self.store, serializer=serializer)
                job = q.enqueue(echo, {'a': [1, 2], 'b': None})
                self.worker([q]).work(burst=True)
                self.assertEqual(job.get_result(timeout=0), {'a': [1, 2], 'b': None})
        q = Queue('json', connection=self.store, serializer='json')
        with self.assertRaises(TypeError) as cm:
            q.enqueue(echo, {1, 2})
        self.assertIn('echo', str(cm.exception))
        self.assertEqual(q.count(), 0)

    def test_reference_serializer_keeps_objects(self):
        q = Queue('ref', connection=self.store, serializer='reference')
        lock, items = threading.Lock(), [1]
        same = q.enqueue(echo, lock)
        grown = q.enqueue(length, items)
        items.append(2)
        self.worker([q]).work(burst=True)
        self.assertIs(same.get_result(timeout=0), lock)
        self.assertEqual(grown.get_result(timeout=0), 2)

    def test_dotted_path_function(self):
        job = self.q.enqueue('operator.add', 2, 3)
        self.assertEqual(job.description, 'operator.add(2, 3)')
        self.worker().work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 5)

    def test_unimportable_dotted_path_fails_the_job_not_the_worker(self):
        missing_module = self.q.enqueue('no_such_module_xyz.func', 1)
        missing_attr = self.q.enqueue('os.path.no_such_function_xyz', 1)
        good = self.q.enqueue(add_numbers, 1, 2)
        self.assertTrue(self.worker().work(burst=True))
        self.assertEqual(missing_module.get_status(), JobStatus.FAILED)
        self.assertIn('no_such_module_xyz', missing_module.exc_info)
        self.assertEqual(missing_attr.get_status(), JobStatus.FAILED)
        self.assertIn('no_such_function_xyz', missing_attr.exc_info)
        self.assertEqual(good.get_result(timeout=0), 3)


# ---- bad input ----------------------------------------------------------------------

class BadInputTests(BaseTestCase):

    def setUp(self):
        super().setUp()
        self.existing = self.q.enqueue(add_numbers, 1, 2, job_id='existing')

    def test_non_callable(self):
        self.assertRejected((TypeError, ValueError), '42', self.q.enqueue, 42, job_id='probe')
        self.assertRejected((TypeError, ValueError), 'not a path', self.q.enqueue, 'not a path',
                            job_id='probe')

    def test_bad_job_id(self):
        for bad in ('bad id', 'a:b', 'x/y'):
            with self.subTest(job_id=bad):
                self.assertRejected(ValueError, bad, self.q.enqueue, no_args, job_id=bad)

    def test_bad_job_timeout(self):
        self.assertRejected(ValueError, '0', self.q.enqueue, no_args, job_timeout=0, job_id='probe')
        self.assertRejected(TimeoutFormatError, 'abc', self.q.enqueue, no_args, job_timeout='abc',
                            job_id='probe')
        self.assertRejected(ValueError, '0', self.q.enqueue, no_args, timeout=0)

    def test_bad_ttl(self):
        self.assertRejected(ValueError, '0', self.q.enqueue, no_args, ttl=0, job_id='probe')
        self.assertRejected(ValueError, '-5', self.q.enqueue, no_args, ttl=-5)

    def test_bad_retry(self):
        self.assertRejected(ValueError, '0', Retry, max=0)
        self.assertRejected(ValueError, '-1', Retry, max=2, interval=-1)
        self.assertRejected(ValueError, '-5', Retry, max=2, interval=[1, -5])

    def test_bad_enqueue_at_and_enqueue_in(self):
        self.assertRejected((TypeError, ValueError), 'tomorrow',
                            self.q.enqueue_at, 'tomorrow', no_args, job_id='probe')
        self.assertRejected((TypeError, ValueError), '10s', self.q.enqueue_in, '10s', no_args,
                            job_id='probe')
        self.assertRejected((TypeError, ValueError), '1700000000',
                            self.q.enqueue_at, 1700000000, no_args)

    def test_bad_depends_on(self):
        self.assertRejected((TypeError, ValueError), '3.5', self.q.enqueue, no_args, depends_on=3.5,
                            job_id='probe')
        self.assertRejected((TypeError, ValueError), '3.5',
                            self.q.enqueue, no_args, depends_on=[self.existing, 3.5])

    def test_unique(self):
        exc = self.assertRejected(ValueError, '', self.q.enqueue, no_args, unique=True)
        self.assertRegex(str(exc), 'job_id|unique')
        self.assertRejected(DuplicateJobError, 'existing',
                            self.q.enqueue, no_args, job_id='existing', unique=True)
        self.assertEqual(self.existing.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.q.fetch_job('existing').description, self.existing.description)

    def test_unknown_dequeue_strategy(self):
        w = self.worker()
        self.assertRejected(ValueError, 'bogus', w.work, burst=True, dequeue_strategy='bogus')
        self.assertRejected(ValueError, 'bogus', w.start, burst=True, dequeue_strategy='bogus')
        self.assertEqual(self.existing.get_status(), JobStatus.QUEUED)

    def test_worker_without_queues(self):
        self.assertRejected((TypeError, ValueError), '[]', Worker, [])

    def test_operations_on_a_deleted_job(self):
        job = self.q.enqueue(no_args)
        job.delete()
        self.assertIsNone(self.q.fetch_job(job.id))
        self.assertRejected(NoSuchJobError, job.id, Job.fetch, job.id, connection=self.store)
        self.assertRejected(NoSuchJobError, job.id, job.refresh)
        self.assertRejected((NoSuchJobError, InvalidJobOperation), job.id, job.get_status)
        self.assertRejected((NoSuchJobError, InvalidJobOperation), job.id, job.requeue)
        self.assertRejected((NoSuchJobError, InvalidJobOperation), job.id, job.cancel)

    def test_predicates_of_a_deleted_job_raise(self):
        # RQ: each is_* re-reads the status, and get_status() raises InvalidJobOperation
        job = self.q.enqueue(no_args)
        job.delete()
        for name in PredicateAndCountTests.PREDICATES:
            with self.subTest(predicate=name):
                with self.assertRaises((NoSuchJobError, InvalidJobOperation)):
                    bool(getattr(job, name))
                with self.assertRaises((NoSuchJobError, InvalidJobOperation)):
                    getattr(job, name)()

    def test_second_cancel(self):
        job = self.q.enqueue(no_args)
        job.cancel()
        self.assertRejected(InvalidJobOperation, job.id, job.cancel)

    def test_requeue_of_a_job_that_did_not_fail(self):
        self.assertRejected(InvalidJobOperation, 'existing', self.existing.requeue)


# ---- dependencies and callbacks (used by the examples) ---------------------------------

class DependencyAndCallbackTests(BaseTestCase):

    def test_chain_runs_in_order(self):
        a = self.q.enqueue(note, 'order', 'a')
        b = self.q.enqueue(note, 'order', 'b', depends_on=a)
        c = self.q.enqueue(note, 'order', 'c', depends_on=[b.id])
        self.assertEqual(self.q.count(), 1)
        self.worker().work(burst=True)
        self.assertEqual(NOTES['order'], ['a', 'b', 'c'])
        self.assertEqual(c.get_status(), JobStatus.FINISHED)

    def test_allow_failure(self):
        parent = self.q.enqueue(fail)
        strict = self.q.enqueue(no_args, depends_on=parent)
        lenient = self.q.enqueue(no_args, depends_on=Dependency(jobs=[parent], allow_failure=True))
        self.worker().work(burst=True)
        self.assertEqual(strict.get_status(), JobStatus.DEFERRED)
        self.assertEqual(lenient.get_status(), JobStatus.FINISHED)

    def test_callbacks(self):
        ok = self.q.enqueue(add_numbers, 1, 2, on_success=on_success_note)
        bad = self.q.enqueue(fail, 'x', on_failure=on_failure_note)
        self.worker().work(burst=True)
        self.assertEqual(NOTES['calls'], [('ok', ok.id, 3), ('bad', bad.id, ValueError)])


class SyncQueueTests(BaseTestCase):

    def test_is_async_false_runs_inside_enqueue(self):
        q = Queue('sync', connection=self.store, is_async=False)
        job = q.enqueue(add_numbers, 2, 3, on_success=on_success_note)
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.get_result(timeout=0), 5)
        self.assertEqual(NOTES['calls'], [('ok', job.id, 5)])
        self.assertIn(job.id, q.finished_job_registry)
        self.assertEqual(q.count(), 0)

    def test_is_async_false_failure(self):
        q = Queue('sync', connection=self.store, is_async=False)
        job = q.enqueue(fail, 'sync boom', on_failure=on_failure_note)
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        self.assertEqual(NOTES['calls'], [('bad', job.id, ValueError)])
        self.assertIn(job.id, q.failed_job_registry)
        with self.assertRaises(JobFailedError):
            job.get_result(timeout=0)

    def test_is_async_false_dependents(self):
        q = Queue('sync', connection=self.store, is_async=False)
        parent = q.enqueue(note, 'order', 'parent')
        child = q.enqueue(note, 'order', 'child', depends_on=parent)
        self.assertEqual(NOTES['order'], ['parent', 'child'])
        self.assertEqual(child.get_status(), JobStatus.FINISHED)

    def test_is_async_false_current_job_and_retry(self):
        q = Queue('sync', connection=self.store, is_async=False)
        job = q.enqueue(flaky, 'attempts', 2, retry=Retry(max=2))
        self.assertEqual(job.get_result(timeout=0), 'ok')
        self.assertEqual(NOTES['attempts'], [job.id] * 3)


# ---- the module surface and the examples -------------------------------------------------

class ModuleTests(unittest.TestCase):
    PUBLIC_NAMES = (
        'Job', 'JobStatus', 'Queue', 'Worker', 'SimpleWorker', 'WorkerPool', 'Retry', 'Repeat',
        'Callback', 'Dependency', 'Result', 'Group', 'StartedJobRegistry', 'FinishedJobRegistry',
        'FailedJobRegistry', 'DeferredJobRegistry', 'ScheduledJobRegistry', 'CanceledJobRegistry',
        'get_current_job', 'cancel_job', 'requeue_job', 'job', 'send_stop_job_command',
        'send_shutdown_command', 'DefaultSerializer', 'JSONSerializer', 'NoSuchJobError',
        'InvalidJobOperation', 'DequeueTimeout', 'JobTimeoutException', 'AbandonedJobError',
        'DuplicateJobError', 'DeserializationError', 'TimeoutFormatError', 'NoSuchGroupError',
        'ShutDownImminentException', 'MemoryStore', 'ManualClock', 'JobFailedError',
        'install_as_rq', 'uninstall_as_rq')

    def test_all_is_sorted_and_resolves(self):
        self.assertEqual(sorted(rq_emulator.__all__), rq_emulator.__all__)
        for name in rq_emulator.__all__:
            self.assertTrue(hasattr(rq_emulator, name), name)

    def test_rq_names_are_public(self):
        for name in self.PUBLIC_NAMES:
            with self.subTest(name=name):
                self.assertIn(name, rq_emulator.__all__)
                self.assertTrue(hasattr(rq_emulator, name))


@slow_tier
class ExamplesTests(unittest.TestCase):
    """Runs every example as a user would, from the repository root and from its own folder."""
    EXPECTED = {
        'quickstart.py': ['15'],
        '01_basic.py': ['after: finished failed', 'result: 42', 'ZeroDivisionError'],
        '02_retry_and_callbacks.py': ['on_failure: ConnectionError',
                                      'on_success: hello world after 3 attempts',
                                      'result: hello world after 3 attempts'],
        '03_dependencies.py': ['parse is deferred', "step('store'): finished",
                               "step('cleanup'): finished", 'broken(): failed'],
        '04_scheduling.py': ['status: scheduled', 'after 7 h: scheduled', 'after 8 h: queued',
                             'finished: True'],
        '05_timeouts.py': ['slow job: failed', 'both jobs done after 1.',
                           'JobTimeoutException: Task exceeded maximum timeout value (1 seconds)',
                           'next job: quick job done'],
        os.path.join('06_rq_unchanged', 'main.py'): [
            'words: 9', 'shout: HELLO! (timeout=30)', "'shouted': True", 'job timeout: 10',
            'fetched: finished 9', 'emptied: 2 - left: 0'],
    }

    def test_examples(self):
        examples = os.path.join(HERE, 'examples')
        names = sorted(set(self.EXPECTED) | {n for n in os.listdir(examples) if n.endswith('.py')})
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
        env.pop('PYTHONPATH', None)
        runs = []
        for name in names:  # all at once: each one mostly waits on interpreter start-up
            path = os.path.join(examples, name)
            for cwd in (HERE, os.path.dirname(path)):
                proc = subprocess.Popen([sys.executable, os.path.relpath(path, cwd)], cwd=cwd,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                runs.append((name, cwd, proc))
        for name, cwd, proc in runs:
            with self.subTest(example=name, cwd=cwd):
                try:
                    out, err = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    self.fail(f'{name} did not exit within 30 s')
                self.assertEqual(proc.returncode, 0, err)
                for text in self.EXPECTED.get(name, ()):
                    self.assertIn(text, out)
                if name == 'quickstart.py':
                    self.assertEqual(out.strip(), '15')


if __name__ == '__main__':
    unittest.main()
