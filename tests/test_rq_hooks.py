"""RQ's extension points and the thread a job runs in: Job and Worker subclasses, the
enqueue chain, TTL strings, coroutine jobs, and operations on deleted jobs."""

import asyncio
import threading
import unittest

from rq_emulator import (InvalidJobOperation, Job, JobStatus, ManualClock, MemoryStore, Queue,
                         SimpleWorker, Worker)

CALLS = []


def whoami():
    return threading.get_ident()


def add(a, b):
    return a + b


def boom():
    raise ValueError('boom')


async def coro_job(x):
    await asyncio.sleep(0)
    return x * 2


class WrappingJob(Job):
    """Wraps the call, as Flask-RQ does to push an application context."""

    @property
    def func(self):
        inner = super().func

        def wrapped(*args, **kwargs):
            CALLS.append('wrapped')
            return ('wrapped', inner(*args, **kwargs))
        return wrapped


class HookedWorker(Worker):

    def execute_job(self, job, queue):
        CALLS.append('execute_job')
        return super().execute_job(job, queue)

    def perform_job(self, job, queue):
        CALLS.append('perform_job')
        return super().perform_job(job, queue)

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        CALLS.append('prepare_job_execution')
        return super().prepare_job_execution(job)

    def handle_job_success(self, job, queue, started_job_registry):
        CALLS.append(('handle_job_success', job.get_status(refresh=False).value))
        return super().handle_job_success(job, queue, started_job_registry)

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=''):
        CALLS.append(('handle_job_failure', 'ValueError' in exc_string))
        return super().handle_job_failure(job, queue, started_job_registry, exc_string)


class RecordingQueue(Queue):

    def enqueue_call(self, *args, **kwargs):
        CALLS.append('enqueue_call')
        return super().enqueue_call(*args, **kwargs)

    def _enqueue_job(self, job, pipeline=None, at_front=False):
        CALLS.append('_enqueue_job')
        return super()._enqueue_job(job, pipeline=pipeline, at_front=at_front)


class HookTest(unittest.TestCase):

    def setUp(self):
        CALLS.clear()
        self.store = MemoryStore(clock=ManualClock())
        self.q = Queue('q', connection=self.store)


class WorkRunsInTheCallingThread(HookTest):

    def test_work_runs_jobs_in_the_calling_thread(self):
        for worker_class in (Worker, SimpleWorker):
            job = self.q.enqueue(whoami)
            worker_class([self.q], connection=self.store).work(burst=True)
            self.assertEqual(job.return_value(), threading.get_ident(), worker_class)

    def test_start_runs_jobs_in_a_thread_of_its_own(self):
        job = self.q.enqueue(whoami)
        worker = Worker([self.q], connection=self.store)
        worker.start(burst=True)
        self.assertTrue(worker.stop(timeout=5))
        self.assertNotEqual(job.return_value(), threading.get_ident())


class JobSubclassFunc(HookTest):

    def test_a_worker_runs_the_subclass_func(self):
        q = Queue('q', connection=self.store, job_class=WrappingJob)
        job = q.enqueue(add, 1, 2)
        Worker([q], connection=self.store, job_class=WrappingJob).work(burst=True)
        self.assertEqual(job.return_value(), ('wrapped', 3))

    def test_perform_runs_the_subclass_func(self):
        q = Queue('q', connection=self.store, job_class=WrappingJob)
        self.assertEqual(q.enqueue(add, 2, 2).perform(), ('wrapped', 4))

    def test_a_sync_queue_runs_the_subclass_func(self):
        q = Queue('q', connection=self.store, job_class=WrappingJob, is_async=False)
        self.assertEqual(q.enqueue(add, 3, 3).return_value(), ('wrapped', 6))

    def test_job_class_as_a_dotted_path(self):
        q = Queue('q', connection=self.store, job_class='tests.test_rq_hooks.WrappingJob')
        job = q.enqueue(add, 1, 1)
        Worker([q], connection=self.store, job_class='tests.test_rq_hooks.WrappingJob').work(burst=True)
        self.assertIsInstance(job, WrappingJob)
        self.assertEqual(job.return_value(), ('wrapped', 2))


class WorkerHooks(HookTest):

    def test_success_goes_through_rqs_hooks_in_order(self):
        self.q.enqueue(add, 1, 2)
        HookedWorker([self.q], connection=self.store).work(burst=True)
        self.assertEqual(CALLS, ['execute_job', 'perform_job', 'prepare_job_execution',
                                 ('handle_job_success', 'finished')])

    def test_failure_goes_through_rqs_hooks_in_order(self):
        seen = []
        job = self.q.enqueue(boom)
        HookedWorker([self.q], connection=self.store,
                     exception_handlers=lambda *a: seen.append(a[0].id)).work(burst=True)
        self.assertEqual(CALLS, ['execute_job', 'perform_job', 'prepare_job_execution',
                                 ('handle_job_failure', True)])
        self.assertEqual(seen, [job.id])
        self.assertEqual(job.get_status(), JobStatus.FAILED)


class EnqueueChain(HookTest):

    def test_enqueue_goes_through_enqueue_call_and_enqueue_job(self):
        q = RecordingQueue('q', connection=self.store)
        job = q.enqueue(add, 1, 2)
        self.assertEqual(CALLS, ['enqueue_call', '_enqueue_job'])
        self.assertEqual(job.get_status(), JobStatus.QUEUED)

    def test_ttl_strings_are_parsed(self):
        job = self.q.enqueue(add, 1, 2, result_ttl='1d', failure_ttl='2h', ttl='10m')
        self.assertEqual((job.result_ttl, job.failure_ttl, job.ttl), (86400, 7200, 600))

    def test_a_bad_ttl_string_names_it(self):
        with self.assertRaises(ValueError) as caught:
            self.q.enqueue(add, 1, 2, result_ttl='soon')
        self.assertIn("'soon'", str(caught.exception))
        self.assertEqual(self.q.count, 0)


class CoroutineJobs(HookTest):

    def test_a_coroutine_job_leaves_the_threads_event_loop_alone(self):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            q = Queue('q', connection=self.store, is_async=False)
            self.assertEqual(q.enqueue(coro_job, 21).return_value(), 42)
            self.assertIs(asyncio.get_event_loop(), loop)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


class WorkerScheduler(HookTest):

    def test_a_burst_with_scheduler_takes_and_releases_the_queue_locks(self):
        from rq_emulator import RQScheduler
        worker = Worker([self.q], connection=self.store)
        self.assertIsNone(worker.scheduler)
        worker.work(burst=True, with_scheduler=True)
        self.assertIsInstance(worker.scheduler, RQScheduler)
        self.assertEqual(worker.scheduler.acquired_locks, set())
        self.assertIsNone(self.q.scheduler_pid)

    def test_a_live_worker_with_scheduler_holds_the_lock_until_it_stops(self):
        worker = Worker([self.q], connection=self.store)
        worker.start(with_scheduler=True)
        self.assertEqual(worker.scheduler.acquired_locks, {'q'})
        self.assertTrue(worker.stop(timeout=5))
        self.assertEqual(worker.scheduler.status, 'stopped')
        self.assertIsNone(self.q.scheduler_pid)


class DeletedJobs(HookTest):

    def test_cancel_and_requeue_of_a_deleted_job_raise_invalid_job_operation(self):
        job = self.q.enqueue(add, 1, 2)
        job.delete()
        self.assertRaises(InvalidJobOperation, job.cancel)
        self.assertRaises(InvalidJobOperation, job.requeue)


if __name__ == '__main__':
    unittest.main()
