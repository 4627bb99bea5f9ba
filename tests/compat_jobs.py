"""Job functions, callbacks and exception handlers used by the RQ compatibility scenarios.

This module is imported by name (``compat_jobs``) on both back-ends, so descriptions such as
``compat_jobs.add(1, 2)`` are identical.  Everything a job or callback wants to report goes
into ``CALLS``, a plain module-level list: every worker in the scenarios is a burst
``SimpleWorker`` running in the scenario's own process, so the list is shared with the
scenario, which reads it back.  The runner clears it before each scenario.
"""

import asyncio
import time

from rq import Retry, get_current_job

CALLS = []
COUNTERS = {}


def add(x, y):
    return x + y


def noop():
    return None


def fail():
    raise ValueError('boom')


def say_hello(name='World'):
    return 'Hello %s!' % name


def echo(*args, **kwargs):
    """Returns what it was called with (JSON-friendly)."""
    return [list(args), dict(sorted(kwargs.items()))]


def record(label):
    """Appends label to CALLS; used to observe execution order."""
    CALLS.append(label)
    return label


def record_fail(label):
    CALLS.append(label)
    raise ValueError('boom %s' % label)


def flaky(key, failures):
    """Fails the first `failures` calls for `key`, then returns the number of calls."""
    COUNTERS[key] = COUNTERS.get(key, 0) + 1
    if COUNTERS[key] <= failures:
        raise ValueError('flaky %s' % COUNTERS[key])
    return COUNTERS[key]


def current_job_info():
    job = get_current_job()
    if job is None:
        return None
    return {
        'id': job.id,
        'status': str(job.get_status().value if hasattr(job.get_status(), 'value') else job.get_status()),
        'origin': job.origin,
        'worker_name': job.worker_name,
        'func_name': job.func_name,
        'started_at_set': job.started_at is not None,
    }


def current_job_is_none():
    return get_current_job() is None


def write_meta():
    job = get_current_job()
    job.meta['progress'] = 50
    job.save_meta()
    return 'ok'


def return_retry(max_retries=2, interval=0):
    CALLS.append('return_retry')
    return Retry(max=max_retries, interval=interval)


def slow(seconds):
    """Loops in short sleeps so both signal-based and thread-based timeouts can stop it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    return 'done'


async def async_add(x, y):
    await asyncio.sleep(0)
    return x + y


def decorated_target(x, y):
    return x * y


# ---- callbacks -------------------------------------------------------------------------

def _name(job):
    return job.func_name.rsplit('.', 1)[-1]


def success_cb(job, connection, result, *args, **kwargs):
    CALLS.append(['success', _name(job), result])


def failure_cb(job, connection, exc_type, exc_value, traceback, *args, **kwargs):
    CALLS.append(['failure', _name(job), exc_type.__name__, str(exc_value)])


def stopped_cb(job, connection, *args, **kwargs):
    CALLS.append(['stopped', _name(job)])


def raising_success_cb(job, connection, result, *args, **kwargs):
    CALLS.append(['raising_success', _name(job), result])
    raise RuntimeError('success callback boom')


def raising_failure_cb(job, connection, exc_type, exc_value, traceback, *args, **kwargs):
    CALLS.append(['raising_failure', _name(job), exc_type.__name__])
    raise RuntimeError('failure callback boom')


def meta_success_cb(job, connection, result, *args, **kwargs):
    job.meta['callback'] = 'success'
    job.meta['callback_result'] = result
    job.save_meta()


def status_in_success_cb(job, connection, result, *args, **kwargs):
    CALLS.append(['status_local', str(job.get_status(refresh=False).value)])


# ---- exception handlers ------------------------------------------------------------------

def handler_a(job, exc_type, exc_value, traceback):
    CALLS.append(['handler_a', exc_type.__name__])


def handler_b(job, exc_type, exc_value, traceback):
    CALLS.append(['handler_b', exc_type.__name__])
    return True


def handler_stop(job, exc_type, exc_value, traceback):
    CALLS.append(['handler_stop', exc_type.__name__])
    return False


def handler_never(job, exc_type, exc_value, traceback):
    CALLS.append(['handler_never', exc_type.__name__])
