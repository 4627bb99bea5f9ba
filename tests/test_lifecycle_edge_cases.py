"""Edge cases of the job lifecycle: a timeout or stop landing anywhere in a job, retries,
repeats and dependents, enqueueing the same id twice, WorkerPool, async jobs, install_as_rq().

Each test fails on a version of the emulator that had the bug it describes.

Nothing here sleeps to synchronise. Threads meet at Events with asserted
timeouts, and time-dependent behaviour runs on a ManualClock. The race-style
tests (an async exception arriving inside the emulator, a stop command right
after a job starts) run a bounded number of trials. Every wait is bounded and
asserted. After each trial the store lock must be free and every job must sit
in exactly the registry its status calls for.
"""

import asyncio
import datetime
import importlib
import importlib.util
import sys
import threading
import unittest

import rq_emulator
from tests.base import SLOW_TESTS, BaseTestCase
from rq_emulator import (
    InvalidJobOperation,
    Job,
    JobStatus,
    ManualClock,
    MemoryStore,
    Queue,
    Repeat,
    Retry,
    Worker,
    WorkerPool,
    get_current_job,
    send_stop_job_command,
)

WAIT = 5                # upper bound (seconds) for every hand-off between threads
RACE_TRIALS = 20 if SLOW_TESTS else 5    # trials for each race-style test

# Record slots, for the one test that looks for a torn write among all the store's records.
_STATUS = rq_emulator._STATUS
_ORIGIN = rq_emulator._ORIGIN

# -- job functions (module level, so they can be referenced by name) -----------

EVENTS = {}             # name -> threading.Event, shared by tests and job bodies
THREADS = {}            # job id -> the thread that ran the job's body
CALLS = {}              # name -> number of calls


def _event(name):
    return EVENTS.setdefault(name, threading.Event())


def add(a, b):
    CALLS['add'] = CALLS.get('add', 0) + 1
    return a + b


def noop():
    return 1


def boom():
    raise ValueError('boom')


def blocker(name):
    """Signal '<name>-inside', then block (in C) until the test sets '<name>-gate'."""
    _event(name + '-inside').set()
    _event(name + '-gate').wait(30)
    return name


def hold(seconds):
    """Keep running for ``seconds``, blocked in C (a job body, not a test synchronisation)."""
    threading.Event().wait(seconds)
    return seconds


def flaky(name):
    """Fail on the first call, succeed afterwards."""
    CALLS[name] = CALLS.get(name, 0) + 1
    if CALLS[name] == 1:
        raise ValueError('first call fails')
    return 'ok'


def progress():
    """A long job reporting progress: save_meta in a tight loop, until its timeout lands."""
    job = get_current_job()
    THREADS[job.id] = threading.current_thread()
    i = 0
    while True:
        i += 1
        job.meta['i'] = i
        job.save_meta()


def fanout():
    """A job enqueueing follow-up jobs in a tight loop, until its timeout lands."""
    job = get_current_job()
    THREADS[job.id] = threading.current_thread()
    side = Queue('side', connection=job.connection)
    while True:
        side.enqueue(int, 1, job_timeout=5)


def ask_again():
    return Retry(max=1)


async def who_am_i():
    job = get_current_job()
    return None if job is None else job.id


# -- helpers -------------------------------------------------------------------

_REGISTRY_FOR = {
    JobStatus.QUEUED: None, JobStatus.STARTED: 'started', JobStatus.FINISHED: 'finished',
    JobStatus.FAILED: 'failed', JobStatus.STOPPED: 'failed', JobStatus.DEFERRED: 'deferred',
    JobStatus.SCHEDULED: 'scheduled', JobStatus.CANCELED: 'canceled',
}


class RegressionCase(BaseTestCase):

    def setUp(self):
        super().setUp()
        EVENTS.clear()
        THREADS.clear()
        CALLS.clear()
        self.addCleanup(self._release_everything)

    @staticmethod
    def _release_everything():
        for name, event in list(EVENTS.items()):
            if name.endswith('-gate'):
                event.set()

    def assert_lock_free(self, store):
        """A transaction from another thread gets through: nothing left the store lock held."""
        done = threading.Event()

        def probe():
            with store.transaction():
                pass
            done.set()
        threading.Thread(target=probe, daemon=True).start()
        self.assertTrue(done.wait(WAIT), 'the store lock is still held')

    def assert_one_registry(self, queue, job_id):
        """The job is in exactly the registry its status calls for (a queued job: in its queue)."""
        status = Job.fetch(job_id, connection=queue.connection).get_status()
        registries = {
            'started': queue.started_job_registry, 'finished': queue.finished_job_registry,
            'failed': queue.failed_job_registry, 'deferred': queue.deferred_job_registry,
            'scheduled': queue.scheduled_job_registry, 'canceled': queue.canceled_job_registry,
        }
        found = sorted(name for name, registry in registries.items() if job_id in registry)
        expected = _REGISTRY_FOR[status]
        self.assertEqual(found, [] if expected is None else [expected],
                         f'job {job_id} with status {status.value} is in registries {found}')
        self.assertEqual(job_id in queue.get_job_ids(), status is JobStatus.QUEUED)
        return status

    def join_job_thread(self, job_id):
        thread = THREADS.get(job_id)
        self.assertIsNotNone(thread, 'the job body never ran')
        thread.join(WAIT)
        self.assertFalse(thread.is_alive(), 'the abandoned job thread is still running')



class TimeoutAndInterruptTests(RegressionCase):
    """A job timeout or a stop command landing anywhere in a job: the store stays usable, no thread dies, and the job ends in one registry."""

    def test_timeout_inside_save_meta_keeps_store_usable(self):
        """A timeout landing in save_meta() must not leak the store lock."""
        for trial in range(RACE_TRIALS):
            with self.subTest(trial=trial):
                s = MemoryStore()
                q = Queue('q', connection=s)
                j = q.enqueue(progress, job_timeout=0.05)
                w = Worker([q], connection=s)
                w.start(burst=True)
                self.assertTrue(w.stop(timeout=WAIT), 'worker did not end')
                self.assert_lock_free(s)
                self.assertEqual(j.get_status(), JobStatus.FAILED)
                self.assertIn('JobTimeoutException', j.exc_info)
                self.assert_one_registry(q, j.id)
                self.assertEqual(Queue('other', connection=s).count, 0)   # store still usable
                self.join_job_thread(j.id)

    def test_timeout_inside_enqueue_leaves_no_torn_write(self):
        """A timeout landing in enqueue() must not leak the lock or tear a write."""
        for trial in range(RACE_TRIALS):
            with self.subTest(trial=trial):
                s = MemoryStore()
                q = Queue('q', connection=s)
                j = q.enqueue(fanout, job_timeout=0.05)
                w = Worker([q], connection=s)
                w.start(burst=True)
                self.assertTrue(w.stop(timeout=WAIT), 'worker did not end')
                self.assert_lock_free(s)
                self.join_job_thread(j.id)
                self.assertEqual(j.get_status(), JobStatus.FAILED)
                self.assert_one_registry(q, j.id)
                with s:
                    in_queue = set(s.queue_ids('side'))
                    orphans = [jid for jid, rec in s._jobs.items()
                               if rec[_ORIGIN] == 'side' and rec[_STATUS] is JobStatus.QUEUED
                               and jid not in in_queue]
                    strays = [jid for jid in in_queue
                              if s.job_get(jid) is None or s.job_get(jid)[_STATUS] is not JobStatus.QUEUED]
                self.assertEqual(orphans, [], 'a queued job is in no queue (torn enqueue)')
                self.assertEqual(strays, [], 'a queue holds an id with no queued job')

    def test_stop_right_after_start_kills_no_thread(self):
        """send_stop_job_command just after a job starts stops it; no thread dies, no hang."""
        killed = []
        saved_hooks = threading.excepthook, sys.unraisablehook
        threading.excepthook = lambda args: killed.append(
            f'{args.thread.name if args.thread else "?"}: {args.exc_type.__name__}')
        sys.unraisablehook = lambda u: killed.append(f'unraisable: {u.exc_type.__name__} in {u.object!r}')
        self.addCleanup(lambda: (setattr(threading, 'excepthook', saved_hooks[0]),
                                 setattr(sys, 'unraisablehook', saved_hooks[1])))
        refused = 0
        for trial in range(RACE_TRIALS):
            with self.subTest(trial=trial):
                name = f'stop{trial}'
                s = MemoryStore()
                q = Queue('q', connection=s)
                j = q.enqueue(blocker, name)
                w = Worker([q], connection=s)
                w.start(burst=True)
                self.assertTrue(self.wait_status(j, JobStatus.STARTED, store=s))
                try:
                    send_stop_job_command(s, j.id)          # as soon as the status says started
                except InvalidJobOperation:                 # (the _take -> _run window: retry once
                    refused += 1                            #  the job body is surely running)
                    self.assertTrue(_event(name + '-inside').wait(WAIT))
                    send_stop_job_command(s, j.id)
                _event(name + '-gate').set()
                self.assertTrue(w.stop(WAIT), 'worker did not end')
                self.assert_lock_free(s)
                self.assertEqual(j.get_status(), JobStatus.STOPPED)
                self.assert_one_registry(q, j.id)
        self.assertEqual(killed, [], 'a thread died of an uncaught exception')

    def test_second_run_of_a_worker_enforces_job_timeout(self):
        """A worker started again still fails a job at its job_timeout."""
        s = MemoryStore()
        q = Queue('q', connection=s)
        w = Worker([q], connection=s)
        first = q.enqueue(hold, 0.1, job_timeout=0.3)     # running while the watchdog first looks
        w.work(burst=True)
        self.assertEqual(first.get_status(), JobStatus.FINISHED)
        dog = w._watchdog                   # let the first run's watchdog exit, as a pause
        if dog is not None:                 # between two bursts would
            dog.join(WAIT)
            self.assertFalse(dog.is_alive(), 'the watchdog of the ended run is still alive')
        # Its deadline lies after the first job's (stale) one.
        j = q.enqueue(blocker, 'late', job_timeout=0.3)
        w.start(burst=True)
        self.assertTrue(w.stop(WAIT), 'the job ran past its job_timeout (no watchdog)')
        self.assertEqual(j.get_status(), JobStatus.FAILED)
        self.assertIn('JobTimeoutException', j.exc_info)
        self.assert_one_registry(q, j.id)

    def test_stopped_job_expires_with_its_failure_ttl(self):
        """A stopped job's record expires with failure_ttl, like a failed one."""
        c = ManualClock(start=1000)
        s = MemoryStore(clock=c)
        q = Queue('q', connection=s)
        stopped = q.enqueue(blocker, 'ttl', failure_ttl=60)
        failed = q.enqueue(boom, failure_ttl=60)
        w = Worker([q], connection=s)
        w.start(burst=True)
        self.assertTrue(_event('ttl-inside').wait(WAIT))
        send_stop_job_command(s, stopped.id)
        _event('ttl-gate').set()
        self.assertTrue(w.stop(WAIT))
        self.assertEqual(stopped.get_status(), JobStatus.STOPPED)
        self.assertEqual(failed.get_status(), JobStatus.FAILED)
        self.assert_one_registry(q, stopped.id)
        c.advance(59)
        self.assertTrue(Job.exists(stopped.id, s))
        c.advance(2)
        self.assertFalse(Job.exists(failed.id, s))
        self.assertFalse(Job.exists(stopped.id, s), 'the stopped job never expires')
        self.assertNotIn(stopped.id, q.failed_job_registry)

    def test_rerun_under_same_id_ignores_first_runs_outcome(self):
        """A deleted run's outcome never lands on the rerun."""
        s = MemoryStore()
        q = Queue('q', connection=s)
        q.enqueue(blocker, 'run1', job_id='same')
        wa = Worker([q], connection=s, name='wa')
        wa.start(burst=True)
        self.assertTrue(_event('run1-inside').wait(WAIT))
        Job.fetch('same', connection=s).delete()             # delete the running job ...
        q.enqueue(blocker, 'run2', job_id='same')            # ... and enqueue the same id again
        wb = Worker([q], connection=s, name='wb')
        wb.start(burst=True)
        self.assertTrue(_event('run2-inside').wait(WAIT))
        _event('run1-gate').set()                            # the first run ends first
        self.assertTrue(wa.stop(WAIT))
        job = Job.fetch('same', connection=s)
        self.assertEqual(job.get_status(), JobStatus.STARTED, "the first run's outcome was applied")
        self.assertEqual(job.worker_name, 'wb')
        self.assertEqual(job.results(), [])
        self.assert_one_registry(q, 'same')
        _event('run2-gate').set()
        self.assertTrue(wb.stop(WAIT))
        self.assertEqual(job.get_result(timeout=WAIT), 'run2')
        self.assertEqual([r.return_value for r in job.results()], ['run2'])
        self.assertEqual(wa.successful_job_count, 0)
        self.assertEqual(wb.successful_job_count, 1)
        self.assert_one_registry(q, 'same')
        self.assert_lock_free(s)


class RetryRepeatAndDependencyTests(RegressionCase):
    """Retries, repeats and dependents: when they run, what they call, what they keep."""

    def test_sync_queue_retry_with_interval_runs_when_due(self):
        """With is_async=False a retry with an interval runs when it is due."""
        c = ManualClock(start=1000)
        s = MemoryStore(clock=c)
        q = Queue('sync', connection=s, is_async=False)
        j = q.enqueue(flaky, 'sync', retry=Retry(1, interval=10))
        self.assertEqual(j.get_status(), JobStatus.SCHEDULED)
        self.assertEqual(CALLS['sync'], 1)
        c.advance(9)
        self.assertEqual(CALLS['sync'], 1)
        c.advance(2)
        self.assertEqual(CALLS['sync'], 2)
        self.assertEqual(j.get_status(), JobStatus.FINISHED)
        self.assertEqual(j.return_value(), 'ok')
        self.assertEqual(q.get_job_ids(), [])
        self.assert_one_registry(q, j.id)

    def test_returned_retry_does_not_call_on_success(self):
        """A job returning Retry never gets on_success called."""
        seen = []
        s = MemoryStore()
        q = Queue('q', connection=s)
        j = q.enqueue(ask_again,
                      on_success=lambda job, connection, result: seen.append(type(result).__name__),
                      on_failure=lambda job, connection, *exc: None)
        Worker([q], connection=s).work(burst=True)
        self.assertEqual(seen, [], 'on_success was called with the returned Retry')
        self.assertEqual(j.get_status(), JobStatus.FAILED)      # 1 retry, then max exceeded
        self.assertEqual(Job.fetch(j.id, connection=s).number_of_retries, 1)
        self.assert_one_registry(q, j.id)

    def test_repeat_intervals_in_documented_order(self):
        """Repeat(5, [5, 10, 15]) waits 5, 10, 15, then 15 again."""
        c = ManualClock(start=1000)
        s = MemoryStore(clock=c)
        q = Queue('q', connection=s)
        j = q.enqueue(noop, repeat=Repeat(5, [5, 10, 15]))
        w = Worker([q], connection=s)
        w.work(burst=True)
        waits = []
        for _ in range(5):
            at = q.scheduled_job_registry.get_scheduled_time(j.id).timestamp()
            waits.append(at - c())
            c.advance(at - c())
            w.work(burst=True)
        self.assertEqual(waits, [5, 10, 15, 15, 15])
        self.assertEqual(len(j.results()), 6)
        self.assertEqual(j.get_status(), JobStatus.FINISHED)
        self.assert_one_registry(q, j.id)

    def test_retry_and_repeat_intervals_are_not_shared(self):
        """Changing a fetched job's interval lists does not change the store."""
        s = MemoryStore()
        q = Queue('q', connection=s)
        j = q.enqueue(noop, retry=Retry(3, [1, 2, 3]), repeat=Repeat(2, [7]))
        other = Job.fetch(j.id, connection=s)
        other.retry_intervals.append(99)            # local changes, never saved
        other.repeat_intervals[0] = 0
        j.retry_intervals.append(98)
        fresh = Job.fetch(j.id, connection=s)
        self.assertEqual(fresh.retry_intervals, [1, 2, 3])
        self.assertEqual(fresh.repeat_intervals, [7])
        self.assertIsNot(j.retry_intervals, fresh.retry_intervals)

    def test_result_ttl_zero_parent_releases_its_dependents(self):
        """A parent with result_ttl=0 releases its dependents before it is deleted."""
        s = MemoryStore(clock=ManualClock(start=1000))
        q = Queue('q', connection=s)
        p = q.enqueue(noop, result_ttl=0)
        child = q.enqueue(add, 1, 2, depends_on=p)
        self.assertEqual(child.get_status(), JobStatus.DEFERRED)
        Worker([q], connection=s).work(burst=True)
        self.assertFalse(Job.exists(p.id, s))
        self.assertEqual(child.get_status(), JobStatus.FINISHED)
        self.assertEqual(child.return_value(), 3)
        self.assert_one_registry(q, child.id)

    def test_failed_parent_requeued_and_finished_releases_child(self):
        """A child deferred on a failed parent is released once the requeued parent finishes."""
        s = MemoryStore(clock=ManualClock(start=1000))
        q = Queue('q', connection=s)
        p = q.enqueue(flaky, 'parent')
        child = q.enqueue(add, 1, 2, depends_on=p)
        w = Worker([q], connection=s)
        w.work(burst=True)
        self.assertEqual(p.get_status(), JobStatus.FAILED)
        self.assertEqual(child.get_status(), JobStatus.DEFERRED)
        p.requeue()
        w.work(burst=True)
        self.assertEqual(p.get_status(), JobStatus.FINISHED)
        self.assertEqual(child.get_status(), JobStatus.FINISHED)
        self.assertEqual(child.return_value(), 3)
        self.assert_one_registry(q, p.id)
        self.assert_one_registry(q, child.id)


class QueueAndJobEdgeTests(RegressionCase):
    """Enqueueing edge cases: the same id twice, at_front when due, seed jobs, deleted jobs, ttl=-1."""

    def test_same_id_enqueued_twice_runs_once(self):
        """An id queued twice runs once, queue ends empty."""
        s = MemoryStore()
        q = Queue('d', connection=s)
        q.enqueue(add, 1, 2, job_id='same')
        q.enqueue(add, 10, 20, job_id='same')
        w = Worker([q], connection=s)
        w.work(burst=True)
        self.assertEqual(CALLS.get('add'), 1)
        self.assertEqual(q.count, 0)
        self.assertEqual(q.get_job_ids(), [])
        job = q.fetch_job('same')
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual([r.return_value for r in job.results()], [30])
        self.assertEqual(w.successful_job_count, 1)
        self.assert_one_registry(q, 'same')

    def test_enqueue_at_with_at_front_goes_to_head_when_due(self):
        """A due job enqueued with at_front=True goes first."""
        c = ManualClock(start=1000)
        s = MemoryStore(clock=c)
        q = Queue('q', connection=s)
        a = q.enqueue(noop)
        b = q.enqueue(noop)
        when = c.now() + datetime.timedelta(seconds=10)
        front = q.enqueue_at(when, noop, at_front=True)
        back = q.enqueue_at(when, noop)
        self.assertEqual(front.get_status(), JobStatus.SCHEDULED)
        self.assertEqual(q.get_job_ids(), [a.id, b.id])
        c.advance(10)
        self.assertEqual(q.get_job_ids(), [front.id, a.id, b.id, back.id])

    def test_enqueue_job_of_seed_job_adopts_the_queue_store(self):
        """Queue.enqueue_job(Job(...)) returns the same job, bound to the queue's store."""
        s = MemoryStore()
        q = Queue('d', connection=s)
        job = Job(add, args=(1, 2), job_id='hand')
        self.assertIs(q.enqueue_job(job), job)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        Worker([q], connection=s).work(burst=True)
        self.assertEqual(job.get_result(0), 3)
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assert_one_registry(q, 'hand')

    def test_predicates_of_a_deleted_job_raise(self):
        """Every is_* predicate of a deleted job raises InvalidJobOperation."""
        s = MemoryStore()
        q = Queue('q', connection=s)
        job = q.enqueue(noop)
        job.delete()
        for name in ('is_queued', 'is_started', 'is_finished', 'is_failed', 'is_deferred',
                     'is_scheduled', 'is_canceled', 'is_stopped'):
            with self.subTest(predicate=name):
                with self.assertRaises(InvalidJobOperation):
                    bool(getattr(job, name))
                with self.assertRaises(InvalidJobOperation):
                    getattr(job, name)()

    def test_ttl_minus_one_is_rejected(self):
        """Ttl=-1 raises ValueError like every ttl <= 0, and enqueues nothing."""
        s = MemoryStore()
        q = Queue('q', connection=s)
        for ttl in (0, -5, -1):
            with self.subTest(ttl=ttl):
                with self.assertRaises(ValueError):
                    q.enqueue(noop, ttl=ttl)
        self.assertEqual(q.count, 0)


class PoolAsyncAndInstallTests(RegressionCase):
    """WorkerPool.start(), async jobs run from an event loop, install_as_rq()."""

    def test_worker_pool_start_serves_until_stopped(self):
        """WorkerPool.start() (non-burst) keeps serving jobs until stop()."""
        s = MemoryStore()
        q = Queue('q', connection=s)
        busy = [q.enqueue(blocker, 'pool0'), q.enqueue(blocker, 'pool1')]
        pool = WorkerPool([q], connection=s, num_workers=2)
        t = threading.Thread(target=pool.start, daemon=True)
        t.start()
        self.assertTrue(_event('pool0-inside').wait(WAIT))
        self.assertTrue(_event('pool1-inside').wait(WAIT))      # both workers busy
        later = q.enqueue(add, 1, 2)
        # Free the first worker only: it must go on and take the later job.
        first = next(job for job in busy
                     if Job.fetch(job.id, connection=s).worker_name == pool.workers[0].name)
        _event(first.args[0] + '-gate').set()
        self.assertEqual(later.get_result(timeout=WAIT), 3)
        for job in busy:
            _event(job.args[0] + '-gate').set()
            self.assertEqual(job.get_result(timeout=WAIT), job.args[0])
        self.assertTrue(t.is_alive(), 'pool.start() returned although nobody stopped the pool')
        self.assertTrue(pool.stop(WAIT))
        t.join(WAIT)
        self.assertFalse(t.is_alive(), 'pool.start() did not return after pool.stop()')
        self.assert_lock_free(s)

    def test_current_job_inside_async_job_run_from_a_loop(self):
        """Get_current_job() works in an async job run with is_async=False inside a loop."""
        async def main():
            q = Queue('s', connection=MemoryStore(), is_async=False)
            return q.enqueue(who_am_i)

        job = asyncio.run(main())
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.return_value(), job.id)

    def test_install_as_rq_specs_and_registry_classes(self):
        """Install_as_rq() gives module specs, equal/isinstance registries, rq Queues."""
        if rq_emulator._saved_modules is None:
            rq_emulator.install_as_rq()
            self.addCleanup(rq_emulator.uninstall_as_rq)
        rq = importlib.import_module('rq')
        rq_registry = importlib.import_module('rq.registry')
        for name in ('rq', 'rq.job', 'rq.registry'):
            spec = importlib.util.find_spec(name)           # raised ValueError before the fix
            self.assertIsNotNone(spec, name)
            self.assertEqual(spec.name, name)
        s = MemoryStore()
        q = rq.Queue('x', connection=s)
        self.assertEqual(rq_registry.FinishedJobRegistry(queue=q), q.finished_job_registry)
        self.assertEqual(q.finished_job_registry, rq_registry.FinishedJobRegistry(queue=q))
        self.assertIsInstance(q.finished_job_registry, rq_registry.FinishedJobRegistry)
        self.assertIsInstance(q.failed_job_registry, rq_registry.FailedJobRegistry)
        self.assertIs(type(q.failed_job_registry.get_queue()), rq.Queue)
        self.assertIs(type(rq_registry.FailedJobRegistry('x', connection=s).get_queue()), rq.Queue)
        # rq's empty() deletes the queued jobs, so get_queue() must give an rq Queue.
        j = q.enqueue(noop)
        self.assertEqual(q.failed_job_registry.get_queue().empty(), 1)
        self.assertFalse(Job.exists(j.id, s))


if __name__ == '__main__':
    unittest.main()
