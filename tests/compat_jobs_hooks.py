"""Importable job functions and classes for tests/compat_scenarios_hooks.py (run by both
back-ends, so they import `rq` lazily: the emulator's front door or real RQ)."""

import threading

CALLS = []


def thread_id():
    return threading.get_ident()


def add(a, b):
    return a + b


def boom():
    raise ValueError('boom')


def block_past_timeout():
    """Pure Python that outlives a 1 s job timeout (the timeout interrupts it)."""
    done = threading.Event()
    for _ in range(400):
        done.wait(0.01)
    return 'not interrupted'


def hooked_worker_class():
    import rq

    class HookedWorker(rq.SimpleWorker):
        def execute_job(self, job, queue):
            CALLS.append('execute_job')
            return super().execute_job(job, queue)

        def perform_job(self, job, queue):
            CALLS.append('perform_job')
            return super().perform_job(job, queue)

        def handle_job_success(self, job, queue, started_job_registry):
            CALLS.append('handle_job_success:' + job.get_status(refresh=False).value)
            return super().handle_job_success(job, queue, started_job_registry)

        def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=''):
            CALLS.append('handle_job_failure:' + job.get_status(refresh=False).value)
            return super().handle_job_failure(job, queue, started_job_registry=started_job_registry,
                                              exc_string=exc_string)

        def handle_exception(self, job, *exc_info):
            CALLS.append('handle_exception:' + exc_info[0].__name__)
            return super().handle_exception(job, *exc_info)
    return HookedWorker


def wrapping_job_class():
    import rq.job

    class WrappingJob(rq.job.Job):
        @property
        def func(self):
            inner = super().func

            def wrapped(*args, **kwargs):
                return ['wrapped', inner(*args, **kwargs)]
            return wrapped
    return WrappingJob


def recording_queue_class():
    import rq

    class RecordingQueue(rq.Queue):
        def enqueue_call(self, *args, **kwargs):
            CALLS.append('enqueue_call:' + ','.join(sorted(kwargs)))
            return super().enqueue_call(*args, **kwargs)

        def _enqueue_job(self, job, pipeline=None, at_front=False, unique=False):
            CALLS.append('_enqueue_job')
            return super()._enqueue_job(job, pipeline=pipeline, at_front=at_front, unique=unique)
    return RecordingQueue
