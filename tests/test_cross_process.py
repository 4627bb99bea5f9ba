"""Workers seen from another process: commands (stop-job, shutdown, kill-horse), heartbeats
during callbacks, suspension, and records that another process cannot read.

"Another process" is simulated by a second SqliteStore object on the same file: a worker's
commands and heartbeats then travel through the database, as between processes, and every
wait on them polls the file (SqliteStore.wait re-checks every poll_interval), because another
process cannot notify this one.
"""
import importlib
import os
import sys
import tempfile
import threading
import unittest

from rq_emulator import (Callback, Job, JobStatus, MemoryStore, Queue, Worker,
                         resume, send_kill_horse_command, send_shutdown_command,
                         send_stop_job_command, suspend)
from tests.base import BaseTestCase


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


class SharedStoreTestCase(BaseTestCase):

    def setUp(self):
        super().setUp()
        GATE.clear()
        STARTED.clear()
        CALLBACK_GATE.clear()
        self.path = self.sqlite_path('jobs.db')
        self.here = self.open_sqlite(self.path)     # the worker's process
        self.there = self.open_sqlite(self.path)    # another process

    def start_worker(self, store, **kwargs):
        worker = Worker([Queue('default', connection=store)], connection=store,
                        job_monitoring_interval=0.05)
        worker.start(**kwargs)
        self.addCleanup(lambda: (GATE.set(), CALLBACK_GATE.set(), worker.stop(WAIT)))
        return worker

    def reports_job(self, worker, job):
        """Whether the worker's record, seen from the other process, names `job` (in time)."""
        return self.poll_until(lambda: [w.get_current_job_id() for w in Worker.all(
            connection=self.there) if w.name == worker.name] == [job.id], WAIT)

    def wait_status(self, job, status):
        return super().wait_status(job, status, WAIT, store=self.there)


class CommandTests(SharedStoreTestCase):

    def test_stop_command_stops_the_job_it_names_only(self):
        """A stop-job command for A, arriving after A ended, does not stop B."""
        q = Queue('default', connection=self.there)
        a = q.enqueue(quick)
        b = q.enqueue(blocked)
        self.start_worker(self.here)
        self.assertTrue(STARTED.wait(WAIT))
        worker, = Worker.all(connection=self.there)
        worker._command(f'stop-job {a.id}')     # A has ended already (no public call sends this)
        with self.there.transaction() as tx:         # the command is taken at a heartbeat
            self.assertTrue(tx.wait(lambda: not tx.get(('worker-commands', worker.name)), WAIT))
        GATE.set()
        self.assertEqual(b.get_result(timeout=WAIT), 'done')
        self.assertEqual(a.get_status(), JobStatus.FINISHED)

    def test_shutdown_then_stop_job_are_both_honoured(self):
        """A second command does not overwrite a pending one."""
        q = Queue('default', connection=self.there)
        a = q.enqueue(blocked)
        b = q.enqueue(quick)
        worker = self.start_worker(self.here)
        self.assertTrue(STARTED.wait(WAIT))
        self.assertTrue(self.wait_status(a, JobStatus.STARTED))
        self.assertTrue(self.reports_job(worker, a))
        send_shutdown_command(self.there, worker.name)
        send_stop_job_command(self.there, a.id)
        self.assertTrue(self.wait_status(a, JobStatus.STOPPED))
        self.assertIs(worker.stop(WAIT), True)
        self.assertEqual(b.get_status(), JobStatus.QUEUED)   # shut down: took no new job

    def test_kill_horse_reaches_a_worker_of_another_process(self):
        """send_kill_horse_command stops the job of a worker of another process."""
        a = Queue('default', connection=self.there).enqueue(blocked)
        worker = self.start_worker(self.here)
        self.assertTrue(STARTED.wait(WAIT))
        self.assertTrue(self.reports_job(worker, a))
        send_kill_horse_command(self.there, worker.name)
        self.assertTrue(self.wait_status(a, JobStatus.STOPPED))


class HeartbeatTests(SharedStoreTestCase):

    def test_a_job_in_its_callback_is_not_abandoned_and_leaves_no_ghost(self):
        """Heartbeats go on during callbacks (the job is not abandoned and run again), and no
        late heartbeat puts a finished job back in the started registry."""
        q = Queue('default', connection=self.there)
        job = q.enqueue(quick, on_success=Callback(slow_success_callback))
        self.start_worker(self.here, burst=True)
        other = self.start_worker(self.there)            # would recover an abandoned job
        with self.there.transaction() as tx:             # let real time pass: three
            tx.wait(lambda: False, 0.5)                  # heartbeats (0.15 s) and more
        self.assertEqual(job.get_status(), JobStatus.STARTED)
        CALLBACK_GATE.set()
        self.assertEqual(job.get_result(timeout=WAIT), 'quick')
        self.assertEqual(len(job.results()), 1)
        self.assertIs(other.stop(WAIT), True)
        self.assertEqual(q.started_job_registry.get_job_ids(cleanup=False), [])


class SuspensionTests(BaseTestCase):

    def test_a_suspended_worker_leaves_when_its_idle_time_runs_out(self):
        """It waits, without spinning (on SQLite: outside any write transaction)."""
        for store in (MemoryStore(), self.open_sqlite()):
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
        """The idle worker is woken when the suspension runs out."""
        store = MemoryStore()
        q = Queue('default', connection=store)
        suspend(store, ttl=0.2)
        worker = Worker([q], connection=store).start()
        self.addCleanup(worker.stop, WAIT)
        job = q.enqueue(quick)
        self.assertEqual(job.get_result(timeout=WAIT), 'quick')


class UnreadableRecordTests(SharedStoreTestCase):

    def test_a_class_from_main_is_refused_at_enqueue(self):
        """A callable object from __main__ is refused: no worker could read it."""
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
        """A serializer class from __main__ is refused: pickled into the record, it would
        break every worker that touched the job (even through its parent's dependents)."""
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
        """An unopenable --db gives a one-line error, not a traceback."""
        import contextlib
        import io
        from rq_emulator import main
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(['info', '--db', os.path.join(self.path, 'no', 'such', 'dir.db')])
        self.assertEqual(code, 1)
        self.assertTrue(err.getvalue().startswith('Error: '), err.getvalue())

    def test_a_record_no_one_can_read_fails_its_job_and_spares_the_worker(self):
        """An unreadable record fails its job; the worker goes on (and it does not stay queued)."""
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
