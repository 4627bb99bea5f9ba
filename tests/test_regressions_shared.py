"""Regression tests for the second review (/work/notes/REVIEW2.md): shared (SQLite) stores,
commands to workers of other processes, heartbeats, suspension, unreadable records.

"Another process" is simulated by a second SqliteStore object on the same file: a worker's
commands and heartbeats then travel through the database, as between processes.
"""
import importlib
import os
import sys
import tempfile
import threading
import unittest

from rq_emulator import (Callback, Job, JobStatus, MemoryStore, Queue, SqliteStore, Worker,
                         resume, send_kill_horse_command, send_shutdown_command,
                         send_stop_job_command, suspend)
from rq_emulator import _STATUS, _send_command


WAIT = 10
GATE = threading.Event()
STARTED = threading.Event()
CALLBACK_GATE = threading.Event()


def blocked():
    STARTED.set()
    GATE.wait(WAIT)
    return 'done'


def quick():
    return 'quick'


def slow_success_callback(job, connection, result):
    CALLBACK_GATE.wait(WAIT)


class SharedStoreTestCase(unittest.TestCase):

    def setUp(self):
        GATE.clear()
        STARTED.clear()
        CALLBACK_GATE.clear()
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.path = os.path.join(tmp.name, 'jobs.db')
        self.here = self.store(self.path)       # the worker's process
        self.there = self.store(self.path)      # another process

    def store(self, path):
        store = SqliteStore(path)
        self.addCleanup(store.close)
        return store

    def start_worker(self, store, **kwargs):
        worker = Worker([Queue('default', connection=store)], connection=store,
                        job_monitoring_interval=0.05)
        worker.start(**kwargs)
        self.addCleanup(lambda: (GATE.set(), CALLBACK_GATE.set(), worker.stop(WAIT)))
        return worker

    def wait_status(self, job, status):
        with self.there.transaction() as tx:
            return tx.wait(lambda: (tx.job_get(job.id) or {_STATUS: None})[_STATUS] == status, WAIT)


class CommandTests(SharedStoreTestCase):

    def test_stop_command_stops_the_job_it_names_only(self):
        """REVIEW2: a stop-job command for A, arriving after A ended, stopped B instead."""
        q = Queue('default', connection=self.there)
        a = q.enqueue(quick)
        b = q.enqueue(blocked)
        self.start_worker(self.here)
        self.assertTrue(STARTED.wait(WAIT))
        worker, = Worker.all(connection=self.there)
        _send_command(worker, f'stop-job {a.id}')     # A has ended already
        with self.there.transaction() as tx:         # the command is taken at a heartbeat
            self.assertTrue(tx.wait(lambda: not tx.get(('worker-commands', worker.name)), WAIT))
        GATE.set()
        self.assertEqual(b.get_result(timeout=WAIT), 'done')
        self.assertEqual(a.get_status(), JobStatus.FINISHED)

    def test_shutdown_then_stop_job_are_both_honoured(self):
        """REVIEW2: a second command overwrote a pending one."""
        q = Queue('default', connection=self.there)
        a = q.enqueue(blocked)
        b = q.enqueue(quick)
        worker = self.start_worker(self.here)
        self.assertTrue(STARTED.wait(WAIT))
        self.assertTrue(self.wait_status(a, JobStatus.STARTED))
        with self.there.transaction() as tx:         # the worker record names the running job
            self.assertTrue(tx.wait(lambda: (tx.get(('worker', worker.name)) or {}).get('job_id')
                                    == a.id, WAIT))
        send_shutdown_command(self.there, worker.name)
        send_stop_job_command(self.there, a.id)
        self.assertTrue(self.wait_status(a, JobStatus.STOPPED))
        self.assertIs(worker.stop(WAIT), True)
        self.assertEqual(b.get_status(), JobStatus.QUEUED)   # shut down: took no new job

    def test_kill_horse_reaches_a_worker_of_another_process(self):
        """REVIEW2: send_kill_horse_command did nothing for a worker of another process."""
        a = Queue('default', connection=self.there).enqueue(blocked)
        worker = self.start_worker(self.here)
        self.assertTrue(STARTED.wait(WAIT))
        with self.there.transaction() as tx:
            self.assertTrue(tx.wait(lambda: (tx.get(('worker', worker.name)) or {}).get('job_id')
                                    == a.id, WAIT))
        send_kill_horse_command(self.there, worker.name)
        self.assertTrue(self.wait_status(a, JobStatus.STOPPED))


class HeartbeatTests(SharedStoreTestCase):

    def test_a_job_in_its_callback_is_not_abandoned_and_leaves_no_ghost(self):
        """REVIEW2: heartbeats stopped during callbacks (the job was abandoned and run again),
        and a late heartbeat put a finished job back in the started registry."""
        q = Queue('default', connection=self.there)
        job = q.enqueue(quick, on_success=Callback(slow_success_callback))
        self.start_worker(self.here, burst=True)
        other = self.start_worker(self.there)            # would recover an abandoned job
        with self.there.transaction() as tx:             # wait past three heartbeats (0.15 s)
            tx.wait(lambda: False, 0.5)
        self.assertEqual(job.get_status(), JobStatus.STARTED)
        CALLBACK_GATE.set()
        self.assertEqual(job.get_result(timeout=WAIT), 'quick')
        self.assertEqual(len(job.results()), 1)
        self.assertIs(other.stop(WAIT), True)
        self.assertEqual(q.started_job_registry.get_job_ids(cleanup=False), [])


class SuspensionTests(unittest.TestCase):

    def test_a_suspended_worker_leaves_when_its_idle_time_runs_out(self):
        """REVIEW2: it spun (100% CPU, and on SQLite inside one write transaction)."""
        for store in (MemoryStore(), SqliteStore(os.path.join(self.tmp(), 'jobs.db'))):
            suspend(store)
            worker = Worker(['default'], connection=store)
            calls = []
            wait_for_work = store.wait_for_work
            store.wait_for_work = lambda *args: calls.append(1) or wait_for_work(*args)
            worker.start(max_idle_time=0.1)
            self.assertIs(worker.stop(WAIT), True)
            self.assertLess(len(calls), 5)
            resume(store)

    def test_a_suspension_with_a_ttl_wakes_idle_workers_when_it_ends(self):
        """REVIEW2: nobody woke the idle worker when the suspension ran out."""
        store = MemoryStore()
        q = Queue('default', connection=store)
        suspend(store, ttl=0.2)
        worker = Worker([q], connection=store).start()
        self.addCleanup(worker.stop, WAIT)
        job = q.enqueue(quick)
        self.assertEqual(job.get_result(timeout=WAIT), 'quick')

    def tmp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        return tmp.name


class UnreadableRecordTests(SharedStoreTestCase):

    def test_a_class_from_main_is_refused_at_enqueue(self):
        """REVIEW2: a callable object from __main__ was stored; no worker could read it."""
        class Task:
            def __call__(self):
                return 42
        Task.__module__ = '__main__'
        q = Queue('default', connection=self.there)
        with self.assertRaises(ValueError) as caught:
            q.enqueue(Task())
        self.assertIn('Task', str(caught.exception))
        self.assertEqual(q.count, 0)

    def test_anything_from_main_in_the_record_is_refused_at_enqueue(self):
        """REVIEW2: a serializer class from __main__ was pickled into the record; every worker
        that touched the job (even through its parent's dependents) died."""
        class Serializer:
            dumps = staticmethod(lambda obj: repr(obj).encode())
            loads = staticmethod(lambda data: data)
        Serializer.__module__ = '__main__'
        Serializer.__qualname__ = 'Serializer'
        q = Queue('default', connection=self.there, serializer=Serializer)
        with self.assertRaises(ValueError) as caught:
            q.enqueue(quick)
        self.assertIn('__main__', str(caught.exception))
        self.assertEqual(q.count, 0)

    def test_the_command_line_reports_a_database_it_cannot_open(self):
        """REVIEW2: an unopenable --db printed a traceback."""
        import contextlib
        import io
        from rq_emulator import main
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(['info', '--db', os.path.join(self.path, 'no', 'such', 'dir.db')])
        self.assertEqual(code, 1)
        self.assertTrue(err.getvalue().startswith('Error: '), err.getvalue())

    def test_a_record_no_one_can_read_fails_its_job_and_spares_the_worker(self):
        """REVIEW2: an unreadable record killed the worker thread (scheduled) or stayed queued."""
        module_dir = tempfile.TemporaryDirectory()
        self.addCleanup(module_dir.cleanup)
        with open(os.path.join(module_dir.name, 'vanishing_tasks.py'), 'w') as f:
            f.write('class Task:\n    def __call__(self):\n        return 42\n')
        sys.path.insert(0, module_dir.name)
        self.addCleanup(sys.path.remove, module_dir.name)
        module = importlib.import_module('vanishing_tasks')
        q = Queue('default', connection=self.there)
        bad = q.enqueue(module.Task())
        good = q.enqueue(quick)
        del sys.modules['vanishing_tasks']              # as in a worker that cannot import it
        os.remove(os.path.join(module_dir.name, 'vanishing_tasks.py'))
        importlib.invalidate_caches()
        Worker([Queue('default', connection=self.here)], connection=self.here).work(burst=True)
        self.assertEqual(good.get_result(timeout=0), 'quick')
        self.assertEqual(Job.fetch(bad.id, connection=self.there).get_status(), JobStatus.FAILED)
        self.assertIn(bad.id, q.failed_job_registry)
        self.assertNotIn(bad.id, q.get_job_ids())


if __name__ == '__main__':
    unittest.main()
