"""The core lifecycle tests of test_rq_emulator.py, run again on a SqliteStore, plus what only
a store in a file can do: survive a restart, serve a worker through another store object (as
another process would), show that worker in ``Worker.all()``, and fail or retry the job of a
worker that stopped beating (AbandonedJobError).

Run this file under unittest discovery or as ``python -m unittest tests.test_sqlite_lifecycle``
(not as a script): a SqliteStore stores job functions by import path, and the functions of
test_rq_emulator.py are importable as ``test_rq_emulator.<name>`` only when that file is
imported as a module, not run as ``__main__``.

The core suite's job functions and callbacks live at module level in test_rq_emulator.py, so
every inherited test runs here too, except one that is inherent to a store that keeps pickled
records rather than live objects: the 'reference' serializer keeps argument objects by identity,
which only memory can (ArgumentCaptureTests.test_reference_serializer_keeps_objects). And one
test checks the opposite of its MemoryStore version: a lambda or nested job function, which a
worker process could not import, is refused at enqueue.
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
import unittest
from datetime import timedelta

import test_rq_emulator as core
from rq_emulator import (
    FailedJobRegistry, FinishedJobRegistry, Job, JobFailedError, JobStatus, ManualClock, Queue,
    Retry, ScheduledJobRegistry, SqliteStore, Worker, get_current_job,
)

WAIT = core.WAIT
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTED = threading.Event()     # set by block_on_gate once it runs
GATE = threading.Event()        # block_on_gate returns once this is set


# ---- job functions (module level, so a SqliteStore can store them by import path) -----------

def add(a, b):
    return a + b


def boom(message):
    raise ValueError(message)


def block_on_gate():
    STARTED.set()
    return GATE.wait(WAIT)


RUNS = collections.Counter()    # job id -> times count_run ran it
RUNS_LOCK = threading.Lock()


def count_run():
    job = get_current_job()
    with RUNS_LOCK:
        RUNS[job.id] += 1
    return job.id


def die_in_child():
    """Kills the worker process that runs it, when told to by the environment."""
    if os.environ.get('RQE_TEST_DIE') == '1':
        os._exit(17)
    return 'survived'


# ---- the core suite on a SqliteStore -------------------------------------------------------

class SqliteBase:
    """Mixed in before a test_rq_emulator test class: the same tests, on a SqliteStore."""

    def make_store(self, clock):
        return self.open_sqlite(clock=clock)


def _skip(reason):
    return unittest.skip(reason)(lambda self: None)


_REFERENCE = "the 'reference' serializer keeps objects by identity, which only memory can"


class SqliteStoreAndConnectionTests(SqliteBase, core.StoreAndConnectionTests):
    pass


class SqliteSeedExampleTests(SqliteBase, core.SeedExampleTests):
    pass


class SqliteGetResultTests(SqliteBase, core.GetResultTests):
    pass


class SqlitePredicateAndCountTests(SqliteBase, core.PredicateAndCountTests):
    pass


class SqliteEnqueueOptionTests(SqliteBase, core.EnqueueOptionTests):
    pass


class SqliteToDictTests(SqliteBase, core.ToDictTests):
    pass


class SqliteLifecycleTests(SqliteBase, core.LifecycleTests):
    pass


class SqliteWorkerTests(SqliteBase, core.WorkerTests):
    CONCURRENT_JOBS = 1000 if core.SLOW_TESTS else 200     # a SQLite commit per enqueue


class SqliteSchedulingTests(SqliteBase, core.SchedulingTests):
    pass


class SqliteTTLTests(SqliteBase, core.TTLTests):
    pass


class SqliteTimeoutTests(SqliteBase, core.TimeoutTests):
    pass


class SqliteArgumentCaptureTests(SqliteBase, core.ArgumentCaptureTests):
    test_reference_serializer_keeps_objects = _skip(_REFERENCE)

    def test_functions_from_main_nested_and_lambdas_work(self):
        # A worker process could not import them, so a SqliteStore refuses them at enqueue,
        # with an error that names the function and says to define it in a module.
        def nested(a):
            return a * 2
        in_main = type(nested)(nested.__code__, {'__name__': '__main__'}, 'in_main')
        in_main.__qualname__ = 'in_main'
        for func in (nested, lambda a: 'lam', in_main):
            with self.subTest(func=func.__qualname__):
                before = self.snapshot()
                with self.assertRaises(ValueError) as cm:
                    self.q.enqueue(func, 4, job_id='probe')
                self.assertIn(func.__qualname__, str(cm.exception))
                self.assertIn('module', str(cm.exception))
                self.assertEqual(self.snapshot(), before)
                self.assertFalse(Job.exists('probe', connection=self.store))


class SqliteBadInputTests(SqliteBase, core.BadInputTests):
    pass


class SqliteDependencyAndCallbackTests(SqliteBase, core.DependencyAndCallbackTests):
    pass


class SqliteSyncQueueTests(SqliteBase, core.SyncQueueTests):
    pass


# ---- what only a shared, persistent store does ---------------------------------------------

class SqliteTestCase(core.BaseTestCase):
    """A SqliteStore file per test (self.path; the base's self.store is unused), GATE/STARTED reset."""

    def setUp(self):
        super().setUp()
        self.path = self.sqlite_path()
        STARTED.clear()
        GATE.clear()
        self.addCleanup(GATE.set)           # never leave a job (or a worker) blocked

    def start_worker(self, queue, **kwargs):
        worker = Worker([queue], **kwargs)
        worker.start()
        self.addCleanup(worker.stop, WAIT)
        return worker


class RestartTests(SqliteTestCase):

    def make_jobs(self, store):
        """A finished, a failed, a scheduled and a queued job, the first two run by a worker."""
        q = Queue('default', connection=store)
        finished = q.enqueue(add, 2, 3, result_ttl=-1)
        failed = q.enqueue(boom, 'kaput')
        self.assertTrue(Worker([q]).work(burst=True))
        scheduled = q.enqueue_in(timedelta(hours=1), add, 1, 1)
        queued = q.enqueue(add, 20, 22)
        return finished, failed, scheduled, queued

    def test_jobs_survive_opening_a_new_store_on_the_file(self):
        store = SqliteStore(self.path)
        finished, failed, scheduled, queued = self.make_jobs(store)
        store.close()

        store = self.open_sqlite(self.path)
        q = Queue('default', connection=store)
        self.assertEqual(Queue.all(connection=store), [q])
        self.assertEqual(q.get_job_ids(), [queued.id])
        fetched = Job.fetch(finished.id, connection=store)
        self.assertEqual(fetched.get_status(), JobStatus.FINISHED)
        self.assertEqual(fetched.return_value(), 5)
        self.assertEqual(fetched.get_result(timeout=0), 5)
        self.assertEqual(fetched.args, (2, 3))
        self.assertIn(finished.id, FinishedJobRegistry(queue=q))
        fetched = Job.fetch(failed.id, connection=store)
        self.assertEqual(fetched.get_status(), JobStatus.FAILED)
        self.assertIn('ValueError: kaput', fetched.exc_info)
        self.assertIn(failed.id, FailedJobRegistry(queue=q))
        with self.assertRaises(JobFailedError):
            fetched.get_result(timeout=0)
        self.assertEqual(Job.fetch(scheduled.id, connection=store).get_status(),
                         JobStatus.SCHEDULED)
        self.assertIn(scheduled.id, ScheduledJobRegistry(queue=q))
        self.assertTrue(Worker([q]).work(burst=True))       # the new store runs the queued job
        self.assertEqual(Job.fetch(queued.id, connection=store).return_value(), 42)

    @core.slow_tier
    def test_a_fresh_process_reads_the_jobs_and_runs_the_queued_one(self):
        store = self.open_sqlite(self.path)
        jobs = self.make_jobs(store)
        script = (
            'import json, sys\n'
            'from rq_emulator import Job, Queue, SqliteStore, Worker\n'
            'store = SqliteStore(sys.argv[1])\n'
            'out = []\n'
            'for job in Job.fetch_many(sys.argv[2:], connection=store):\n'
            '    out.append([job.get_status().value, job.return_value(), job.exc_info])\n'
            "q = Queue('default', connection=store)\n"
            'out.append(q.get_job_ids())\n'
            'out.append(Worker([q]).work(burst=True))\n'
            'print(json.dumps(out))\n'
        )
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE='1')
        proc = subprocess.run([sys.executable, '-c', script, self.path] + [j.id for j in jobs],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (finished, failed, scheduled, queued, ids, did_work) = json.loads(proc.stdout)
        self.assertEqual(finished, ['finished', 5, None])
        self.assertEqual(failed[:2], ['failed', None])
        self.assertIn('ValueError: kaput', failed[2])
        self.assertEqual(scheduled, ['scheduled', None, None])
        self.assertEqual(queued, ['queued', None, None])
        self.assertEqual((ids, did_work), ([jobs[3].id], True))
        self.assertEqual(jobs[3].get_result(timeout=WAIT), 42)   # seen through this process's store
        self.assertEqual(jobs[3].get_status(), JobStatus.FINISHED)


class SharedStoreTests(SqliteTestCase):

    def test_a_worker_on_another_store_object_runs_jobs_and_shows_in_worker_all(self):
        web, back = self.open_sqlite(self.path), self.open_sqlite(self.path)
        worker = self.start_worker(Queue('default', connection=back), name='backend-1')
        q = Queue('default', connection=web)
        jobs = [q.enqueue(add, i, i) for i in range(3)]
        self.assertEqual([job.get_result(timeout=WAIT) for job in jobs], [0, 2, 4])
        seen = Worker.all(connection=web)
        self.assertEqual([w.name for w in seen], ['backend-1'])
        self.assertIsNot(seen[0], worker)   # a view built from the record in the file
        self.assertEqual(seen[0].queue_names(), ['default'])
        self.assertEqual(seen[0].pid, os.getpid())
        self.assertEqual(Worker.count(connection=web, queue=q), 1)
        self.assertIs(worker.stop(timeout=WAIT), True)
        self.assertEqual(Worker.all(connection=web), [])

    def test_workers_on_separate_store_objects_run_each_job_once(self):
        RUNS.clear()
        workers = [self.start_worker(Queue('default', connection=self.open_sqlite(self.path)))
                   for _ in range(3)]
        q = Queue('default', connection=self.open_sqlite(self.path))
        jobs = [q.enqueue(count_run) for _ in range(60)]
        self.assertEqual([job.get_result(timeout=WAIT) for job in jobs], [job.id for job in jobs])
        for worker in workers:
            self.assertIs(worker.stop(timeout=WAIT), True)
        self.assertEqual(set(RUNS), {job.id for job in jobs})
        self.assertEqual(set(RUNS.values()), {1})
        self.assertEqual(sum(w.successful_job_count for w in workers), 60)

    def test_worker_all_shows_what_a_busy_worker_is_doing(self):
        web, back = self.open_sqlite(self.path), self.open_sqlite(self.path)
        job = Queue('default', connection=web).enqueue(block_on_gate)
        worker = self.start_worker(Queue('default', connection=back), name='busy-1',
                                   job_monitoring_interval=0.05)
        self.assertTrue(STARTED.wait(WAIT))
        self.assertEqual(job.get_status(), JobStatus.STARTED)
        # The heartbeat (every 0.05 s) publishes the job in the worker's record.
        self.assertTrue(self.poll_until(lambda: [w.get_current_job_id() for w in
                                                 Worker.all(connection=web)] == [job.id]))
        view, = Worker.all(connection=web)
        self.assertEqual(view.get_current_job_id(), job.id)
        GATE.set()
        self.assertIs(job.get_result(timeout=WAIT), True)
        self.assertIs(worker.stop(timeout=WAIT), True)


class AbandonedJobTests(SqliteTestCase):
    """A started job whose worker misses three heartbeats is retried, or failed."""

    def start_stuck_job(self, **options):
        """A job started by a worker that, as far as this store can tell, never beats.

        The worker uses its own store object on the same file, with a clock of its own
        that stands still: like a worker in another process whose heartbeats stopped.
        (Workers of this store object beat whenever its clock moves: they are alive.)
        """
        self.clock = ManualClock(start=core.T0)
        self.store = self.open_sqlite(self.path, clock=self.clock)
        self.q = Queue('default', connection=self.store)
        job = self.q.enqueue(block_on_gate, **options)
        worker_store = self.open_sqlite(self.path, clock=ManualClock(start=core.T0))
        # beats every 10 s of real time: none happens while the test runs
        worker = self.start_worker(Queue('default', connection=worker_store),
                                   job_monitoring_interval=10)
        self.assertTrue(STARTED.wait(WAIT))
        self.assertEqual(job.get_status(), JobStatus.STARTED)
        self.clock.advance(29)                  # two missed beats: still trusted
        self.assertEqual(job.get_status(), JobStatus.STARTED)
        return job, worker

    def test_abandoned_job_without_retries_fails(self):
        job, worker = self.start_stuck_job()
        self.clock.advance(2)                   # past 3 * job_monitoring_interval
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        self.assertIn('AbandonedJobError', job.exc_info)
        self.assertIn(job.id, self.q.failed_job_registry)
        self.assertNotIn(job.id, self.q.started_job_registry)
        GATE.set()                              # what the lost job returns later is discarded
        self.assertIs(worker.stop(timeout=WAIT), True)
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        self.assertIsNone(job.return_value())
        self.assertNotIn(job.id, self.q.finished_job_registry)

    def test_abandoned_job_with_retries_left_is_retried(self):
        job, worker = self.start_stuck_job(retry=Retry(max=1))
        self.clock.advance(2)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        job.refresh()
        self.assertEqual(job.retries_left, 0)
        self.assertIn('AbandonedJobError', job.exc_info)
        self.assertEqual(self.q.get_job_ids(), [job.id])
        STARTED.clear()
        GATE.set()                              # the worker is free again and runs the retry
        self.assertIs(job.get_result(timeout=WAIT), True)
        self.assertTrue(STARTED.is_set())
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertIs(worker.stop(timeout=WAIT), True)

    def test_advancing_the_clock_does_not_abandon_a_live_worker_of_this_process(self):
        clock = ManualClock(start=core.T0)
        store = self.open_sqlite(self.path, clock=clock)
        q = Queue('default', connection=store)
        job = q.enqueue(block_on_gate)
        worker = self.start_worker(q, job_monitoring_interval=10)
        self.assertTrue(STARTED.wait(WAIT))
        clock.advance(3600)                     # an hour: far past three heartbeats
        self.assertEqual(job.get_status(), JobStatus.STARTED)
        GATE.set()
        self.assertIs(job.get_result(timeout=WAIT), True)
        self.assertIs(worker.stop(timeout=WAIT), True)

    @core.slow_tier
    def test_a_worker_process_that_died_mid_job_is_noticed_by_a_live_worker(self):
        store = self.open_sqlite(self.path)
        q = Queue('default', connection=store)
        job = q.enqueue(die_in_child, retry=Retry(max=1))
        script = ('import sys\n'
                  'from rq_emulator import Queue, SqliteStore, Worker\n'
                  "q = Queue('default', connection=SqliteStore(sys.argv[1]))\n"
                  'Worker([q], job_monitoring_interval=0.05).work(burst=True)\n')
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE='1', RQE_TEST_DIE='1')
        proc = subprocess.run([sys.executable, '-c', script, self.path], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 17, proc.stderr)
        self.assertEqual(job.get_status(), JobStatus.STARTED)   # its worker is gone
        # A worker here waits (no sleep) until the dead worker's heartbeat deadline, 0.15 s
        # after the job started, retries the job, and runs it.
        self.assertTrue(Worker([q], job_monitoring_interval=0.05).work(max_jobs=1,
                                                                          max_idle_time=WAIT))
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.return_value(), 'survived')
        job.refresh()
        self.assertEqual(job.retries_left, 0)
        self.assertEqual(Worker.all(connection=store), [])     # the dead worker's record expired


if __name__ == '__main__':
    unittest.main()
