"""How processes sharing a SQLite file wake each other: loopback datagrams, with polling behind.

Two SqliteStore objects on one file are two connections, as two processes would have; each
hears hints on a port of its own, so a commit through one wakes a waiter on the other. The
slow fallback poll is made very slow here (a long ``poll_interval``, a long full re-check),
so a waiter that wakes at once was woken by a hint.
"""
import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rq_emulator                                          # noqa: E402
from rq_emulator import Job, Queue, SqliteStore, Worker     # noqa: E402


class SqliteWakeupTests(unittest.TestCase):

    def setUp(self):
        directory = tempfile.mkdtemp(prefix='rqe-wakeups-')
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        self.path = os.path.join(directory, 'jobs.db')
        patcher = mock.patch.object(rq_emulator, '_RECHECK', 600)
        patcher.start()
        self.addCleanup(patcher.stop)

    def store(self, **kwargs):
        store = SqliteStore(self.path, **kwargs)
        self.addCleanup(store.close)
        return store

    def registered(self):
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return db.execute('SELECT kinds FROM wakeups ORDER BY port').fetchall()

    def wait_in_thread(self, func):
        done, box = threading.Event(), []

        def run():
            try:
                box.append(func())
            finally:
                done.set()
        threading.Thread(target=run, daemon=True).start()
        return done, box

    def test_a_job_ending_elsewhere_wakes_get_result_at_once(self):
        here, there = self.store(), self.store(poll_interval=600)
        job = Queue('q', connection=here).enqueue(os.getpid)
        done, box = self.wait_in_thread(
            lambda: Job.fetch(job.id, connection=there).get_result(timeout=60))
        Worker([Queue('q', connection=here)], connection=here).work(burst=True)
        self.assertTrue(done.wait(30))
        self.assertEqual(box, [os.getpid()])

    def test_a_job_queued_elsewhere_wakes_an_idle_worker_at_once(self):
        here, there = self.store(), self.store(poll_interval=600)
        worker = Worker([Queue('q', connection=there)], connection=there).start()
        self.addCleanup(worker.stop, 10)
        job = Queue('q', connection=here).enqueue(os.getpid)
        self.assertEqual(job.get_result(timeout=30), os.getpid())
        self.assertTrue(worker.stop(10))

    def test_a_waiter_is_registered_only_while_it_waits(self):
        here, there = self.store(), self.store(poll_interval=600)
        self.assertEqual(self.registered(), [])
        job = Queue('q', connection=here).enqueue(os.getpid)
        done, _ = self.wait_in_thread(
            lambda: Job.fetch(job.id, connection=there).get_result(timeout=60))
        worker = Worker([Queue('other', connection=here)], connection=here).start()
        self.addCleanup(worker.stop, 10)
        # One row per waiting store: 1 for a worker waiting for work, 2 for other waits.
        self.assertTrue(self._poll_rows([(1,), (2,)]))
        self.assertTrue(worker.stop(10))
        Worker([Queue('q', connection=here)], connection=here).work(burst=True)
        self.assertTrue(done.wait(30))
        self.assertEqual(self.registered(), [])

    def _poll_rows(self, expected):
        # Another thread's registration is committed when it starts waiting: wait for it on
        # an Event with a timeout, re-reading the table between short waits.
        pause = threading.Event()
        for _ in range(500):
            if sorted(self.registered()) == expected:
                return True
            pause.wait(0.01)
        return False

    def test_without_sockets_waiters_still_poll(self):
        here, there = self.store(), self.store(poll_interval=0.01)
        with mock.patch.object(rq_emulator.socket, 'socket', side_effect=OSError('no sockets')):
            job = Queue('q', connection=here).enqueue(os.getpid)
            done, box = self.wait_in_thread(
                lambda: Job.fetch(job.id, connection=there).get_result(timeout=60))
            Worker([Queue('q', connection=here)], connection=here).work(burst=True)
            self.assertTrue(done.wait(30))
        self.assertEqual(box, [os.getpid()])

    def test_close_ends_the_listening_thread_and_drops_the_row(self):
        here, there = self.store(), self.store(poll_interval=600)
        job = Queue('q', connection=here).enqueue(os.getpid)
        done, _ = self.wait_in_thread(
            lambda: Job.fetch(job.id, connection=there).get_result(timeout=60))
        self.assertTrue(self._poll_rows([(2,)]))
        port = there._waker.port
        listener = [t for t in threading.enumerate() if t.name == f'rq-emulator hints {port}']
        self.assertEqual(len(listener), 1)
        Worker([Queue('q', connection=here)], connection=here).work(burst=True)
        self.assertTrue(done.wait(30))
        there.close()
        listener[0].join(10)
        self.assertFalse(listener[0].is_alive())
        self.assertEqual(self.registered(), [])


if __name__ == '__main__':
    unittest.main()
