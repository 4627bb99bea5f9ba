"""One owner per execution: sync queues decided per job, one definition of "kept until",
versioned SQLite records, and no path from the lifecycle back into the worker."""

import os
import sqlite3
import tempfile
import unittest

import rq_emulator
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

    def test_a_new_file_is_stamped(self):
        SqliteStore(self.path).close()
        db = sqlite3.connect(self.path)
        version = db.execute('PRAGMA user_version').fetchone()[0]
        db.close()
        self.assertEqual(version, rq_emulator._RECORD_VERSION)


if __name__ == '__main__':
    unittest.main()
