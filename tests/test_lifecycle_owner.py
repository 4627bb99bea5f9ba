"""One owner per execution: sync queues decided per job, one definition of "kept until",
versioned SQLite records, and no path from the lifecycle back into the worker."""

import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import threading
import unittest

import rq_emulator
from tests.base import slow_tier
from rq_emulator import (FinishedJobRegistry, JobStatus, ManualClock, MemoryStore, Queue, Retry,
                         SqliteStore, Worker)

_ATTEMPTS = {}


def flaky_once(key):
    _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
    if _ATTEMPTS[key] == 1:
        raise RuntimeError('first attempt fails')
    return 'parent ok'


def child():
    return 'child ok'


def add(a, b):
    return a + b


class TouchesTheStoreWhenPickled:
    """A value whose pickling reads the store the job ran on (as a __reduce__ may)."""

    store = None

    def __reduce__(self):
        Queue('q', connection=self.store).count     # a transaction of its own
        return (str, ('pickled',))


def returns_a_store_toucher():
    return TouchesTheStoreWhenPickled()


JOB_THREADS = {}


def swallows_the_first_interrupt():
    """Pure Python that outlives its timeout, and swallows the first JobTimeoutException."""
    JOB_THREADS['swallow'] = threading.current_thread()
    try:
        while True:
            pass
    except rq_emulator.JobTimeoutException:
        pass
    while True:
        pass


class SyncModeIsDecidedPerJob(unittest.TestCase):

    def setUp(self):
        self.clock = ManualClock()
        self.store = MemoryStore(clock=self.clock)

    def test_an_async_job_promoted_by_the_clock_waits_for_a_worker(self):
        Queue('q', connection=self.store, is_async=False).enqueue(add, 1, 2)
        job = Queue('q', connection=self.store).enqueue_in(10, add, 2, 3)
        self.clock.advance(10)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertEqual(Queue('q', connection=self.store).count, 1)

    def test_a_dependent_released_by_a_retried_parent_runs_inline_on_a_sync_queue(self):
        q = Queue('q', connection=self.store, is_async=False)
        parent = q.enqueue(flaky_once, 'dep', retry=Retry(1, interval=10))
        kid = q.enqueue(child, depends_on=parent)
        self.assertEqual(parent.get_status(), JobStatus.SCHEDULED)
        self.assertEqual(kid.get_status(), JobStatus.DEFERRED)
        self.clock.advance(10)
        self.assertEqual(parent.get_status(), JobStatus.FINISHED)
        self.assertEqual(kid.get_status(), JobStatus.FINISHED)
        self.assertEqual(kid.return_value(), 'child ok')


class KeptUntil(unittest.TestCase):

    def test_an_entry_added_with_a_ttl_expires_from_the_registry(self):
        clock = ManualClock()
        store = MemoryStore(clock=clock)
        q = Queue('q', connection=store)
        job = q.enqueue(add, 1, 2)
        registry = FinishedJobRegistry(queue=q)
        registry.add(job, ttl=5)
        self.assertIn(job.id, registry.get_job_ids())
        clock.advance(10)
        self.assertEqual(registry.get_expired_job_ids(), [])
        self.assertEqual(registry.get_job_ids(), [])


class VersionedSqliteFiles(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, 'jobs.db')

    def tearDown(self):
        self.dir.cleanup()

    def test_a_file_of_another_layout_is_refused_with_both_versions(self):
        SqliteStore(self.path).close()
        db = sqlite3.connect(self.path)
        db.execute('PRAGMA user_version = 12345')
        db.commit()
        db.close()
        with self.assertRaises(rq_emulator.RQEmulatorError) as caught:
            SqliteStore(self.path)
        message = str(caught.exception)
        self.assertIn(self.path, message)
        self.assertIn('12345', message)
        self.assertIn(str(rq_emulator._RECORD_VERSION), message)

    def test_a_file_of_the_previous_unversioned_layout_is_refused(self):
        db = sqlite3.connect(self.path)
        db.execute('CREATE TABLE jobs (id TEXT PRIMARY KEY, record BLOB NOT NULL, expires REAL)')
        db.commit()
        db.close()
        with self.assertRaises(rq_emulator.RQEmulatorError) as caught:
            SqliteStore(self.path)
        self.assertIn(self.path, str(caught.exception))
        self.assertIn('layout 0', str(caught.exception))

    def test_a_new_file_is_stamped(self):
        SqliteStore(self.path).close()
        db = sqlite3.connect(self.path)
        version = db.execute('PRAGMA user_version').fetchone()[0]
        db.close()
        self.assertEqual(version, rq_emulator._RECORD_VERSION)


CALLBACK_STARTED = threading.Event()
CALLBACK_RELEASE = threading.Event()


def loops_in_short_sleeps():
    """Pure Python around short sleeps: a timeout's interrupt stops it at once."""
    for _ in range(500):
        threading.Event().wait(0.01)


def failure_callback_that_waits(job, connection, exc_type, exc_value, tb):
    CALLBACK_STARTED.set()
    CALLBACK_RELEASE.wait(5)


class TimedOutCodeIsInterrupted(unittest.TestCase):

    def test_work_goes_on_only_once_the_timed_out_job_is_recorded(self):
        store = MemoryStore()
        q = Queue('q', connection=store)
        job = q.enqueue(loops_in_short_sleeps, job_timeout=0.1,
                        on_failure=failure_callback_that_waits)
        after = q.enqueue(add, 1, 1)
        caller = threading.Thread(target=Worker([q], connection=store).work,
                                  kwargs={'burst': True}, daemon=True)
        caller.start()
        self.assertTrue(CALLBACK_STARTED.wait(5))
        caller.join(0.3)        # the interrupted job returned long ago: work() must wait
        self.assertTrue(caller.is_alive(), 'work() went on before the timeout was recorded')
        self.assertEqual(after.get_status(), JobStatus.QUEUED)
        CALLBACK_RELEASE.set()
        caller.join(5)
        self.assertFalse(caller.is_alive())
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        self.assertEqual(after.get_status(), JobStatus.FINISHED)

    def test_code_that_swallows_an_interrupt_is_interrupted_again(self):
        store = MemoryStore()
        q = Queue('q', connection=store)
        job = q.enqueue(swallows_the_first_interrupt, job_timeout=0.1)
        worker = Worker([q], connection=store)
        worker.start(burst=True)
        self.assertTrue(worker.stop(timeout=5))
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        JOB_THREADS['swallow'].join(5)
        self.assertFalse(JOB_THREADS['swallow'].is_alive(), 'the timed-out code still runs')


class NoUserCodeUnderTheLock(unittest.TestCase):

    def test_a_result_whose_pickling_uses_the_store_does_not_deadlock(self):
        store = MemoryStore(clock=ManualClock())
        TouchesTheStoreWhenPickled.store = store
        job = Queue('q', connection=store).enqueue(returns_a_store_toucher)
        done = threading.Event()

        def work():
            Worker([Queue('q', connection=store)], connection=store).work(burst=True)
            done.set()
        threading.Thread(target=work, daemon=True).start()
        self.assertTrue(done.wait(5), 'the worker deadlocked pickling the result')
        self.assertEqual(job.get_status(), JobStatus.FINISHED)
        self.assertEqual(job.return_value(), 'pickled')


FORK_CHILD = """
import os, sys
sys.path.insert(0, sys.argv[1])
import rq_emulator
store = rq_emulator.MemoryStore()
rq_emulator.Queue('q', connection=store).enqueue(divmod, 7, 2)
pid = os.fork()
if pid == 0:
    try:
        rq_emulator.Queue('q', connection=store).count
    except RuntimeError as exc:
        os._exit(0 if 'SqliteStore' in str(exc) else 3)
    os._exit(4)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
"""


@unittest.skipUnless(hasattr(os, 'fork'), 'needs fork()')
@slow_tier
class MemoryStoreAfterFork(unittest.TestCase):

    def test_a_child_process_is_told_to_use_sqlite(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run([sys.executable, '-c', FORK_CHILD, root], timeout=60)
        self.assertEqual(result.returncode, 0)


if __name__ == '__main__':
    unittest.main()
