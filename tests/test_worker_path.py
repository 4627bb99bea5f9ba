"""The worker's path for one job: what it keeps, and what it hands to RQ's hooks."""
import logging
import os
import unittest

from rq_emulator import (FinishedJobRegistry, FailedJobRegistry, Job, JobStatus, ManualClock,
                         MemoryStore, NoSuchJobError, Queue, SqliteStore, StartedJobRegistry,
                         Worker)


def add(a, b):
    return a + b


def fail():
    raise ValueError('no')


class _HookWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def perform_job(self, job, queue):
        self.seen.append(('perform_job', job.get_status(refresh=True)))
        return super().perform_job(job, queue)

    def handle_job_success(self, job, queue, started_job_registry=None):
        self.seen.append(('registry', type(started_job_registry), started_job_registry.name))
        super().handle_job_success(job, queue, started_job_registry)
        self.seen.append(('after success', job.get_status(refresh=True)))


class _DoublingJob(Job):
    @property
    def func(self):
        original = super().func
        return lambda *args: 2 * original(*args)


class WorkerPathTests(unittest.TestCase):
    def setUp(self):
        logging.getLogger('rq.worker').setLevel(logging.CRITICAL)
        self.addCleanup(logging.getLogger('rq.worker').setLevel, logging.NOTSET)
        self.clock = ManualClock()
        self.store = MemoryStore(clock=self.clock)
        self.q = Queue('q', connection=self.store)

    def test_a_finished_job_and_its_registry_entry_go_together_when_kept_long_enough(self):
        job = self.q.enqueue(add, 1, 2, result_ttl=10)
        Worker([self.q]).work(burst=True)
        self.assertIn(job.id, FinishedJobRegistry(queue=self.q).get_job_ids())
        self.clock.advance(9)
        self.assertEqual(Job.fetch(job.id, connection=self.store).return_value(), 3)
        self.clock.advance(2)
        self.assertNotIn(job.id, FinishedJobRegistry(queue=self.q).get_job_ids())
        with self.assertRaises(NoSuchJobError):
            Job.fetch(job.id, connection=self.store)
        with self.store.transaction() as tx:
            self.assertIsNone(tx.get(('results', job.id)))

    def test_a_failed_job_is_kept_for_its_failure_ttl(self):
        job = self.q.enqueue(fail, failure_ttl=5)
        Worker([self.q]).work(burst=True)
        self.assertIn(job.id, FailedJobRegistry(queue=self.q).get_job_ids())
        self.clock.advance(6)
        self.assertNotIn(job.id, FailedJobRegistry(queue=self.q).get_job_ids())
        with self.assertRaises(NoSuchJobError):
            Job.fetch(job.id, connection=self.store)

    def test_a_requeued_job_outlives_the_timer_of_its_first_end(self):
        job = self.q.enqueue(fail, failure_ttl=5)
        Worker([self.q]).work(burst=True)
        FailedJobRegistry(queue=self.q).requeue(job)
        self.clock.advance(6)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)

    def test_result_ttl_minus_one_keeps_the_job_for_good(self):
        job = self.q.enqueue(add, 1, 2, result_ttl=-1)
        Worker([self.q]).work(burst=True)
        self.clock.advance(10 ** 6)
        self.assertEqual(job.get_result(timeout=0), 3)
        self.assertIn(job.id, FinishedJobRegistry(queue=self.q).get_job_ids())

    def test_hooks_see_the_started_job_and_one_started_registry_per_queue(self):
        jobs = [self.q.enqueue(add, i, 1) for i in range(3)]
        worker = _HookWorker([self.q])
        worker.work(burst=True)
        self.assertEqual([job.get_result(timeout=0) for job in jobs], [1, 2, 3])
        self.assertEqual(worker.seen.count(('perform_job', JobStatus.STARTED)), 3)
        self.assertEqual(worker.seen.count(('registry', StartedJobRegistry, 'q')), 3)
        self.assertEqual(worker.seen.count(('after success', JobStatus.FINISHED)), 3)

    def test_a_job_class_func_is_honoured(self):
        q = Queue('q2', connection=self.store, job_class=_DoublingJob)
        job = q.enqueue(add, 2, 3)
        Worker([q], job_class=_DoublingJob).work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 10)

    def test_each_run_gets_its_own_execution_id_ending_with_the_process_id(self):
        jobs = [self.q.enqueue(add, 1, 1), self.q.enqueue(fail)]
        Worker([self.q]).work(burst=True)
        run_ids = [job.latest_result().execution_id for job in jobs]
        self.assertEqual(len(set(run_ids)), 2)
        for run_id in run_ids:
            self.assertTrue(run_id.endswith(f'{os.getpid():x}'), run_id)


class SqlitePathTests(unittest.TestCase):
    def test_a_job_runs_and_is_kept_on_sqlite(self):
        import tempfile
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        clock = ManualClock()
        store = SqliteStore(os.path.join(directory.name, 'jobs.db'), clock=clock)
        q = Queue('q', connection=store)
        job = q.enqueue(add, 2, 2, result_ttl=10)
        Worker([q], connection=store).work(burst=True)
        self.assertEqual(job.get_result(timeout=0), 4)
        clock.advance(11)
        with self.assertRaises(NoSuchJobError):
            Job.fetch(job.id, connection=store)


if __name__ == '__main__':
    unittest.main()
