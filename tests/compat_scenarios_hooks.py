"""Dual-run scenarios for RQ's extension points and the thread a job runs in: a SimpleWorker's
hooks in order, a Job subclass's func, the enqueue chain, TTL strings, a timed-out job's
traceback, and operations on a deleted job.

``base`` (the running compat_scenarios module) is set by the loader before any scenario runs.
"""

import threading

import compat_jobs_hooks as hj

base = globals().get('base')    # the running compat_scenarios module, set by its loader


def scenario_hooks_work_runs_jobs_in_the_calling_thread(conn):
    q = base.Queue('hooks-thread', connection=conn)
    job = q.enqueue(hj.thread_id)
    base.work(conn, q)
    return {'same_thread': job.return_value() == threading.get_ident()}


def scenario_hooks_worker_hooks_in_order(conn):
    hj.CALLS.clear()
    q = base.Queue('hooks-order', connection=conn)
    ok = q.enqueue(hj.add, 1, 2)
    bad = q.enqueue(hj.boom)
    hj.hooked_worker_class()([q], connection=conn).work(burst=True)
    return {'calls': list(hj.CALLS), 'ok': base.sv(ok.get_status()),
            'bad': base.sv(bad.get_status())}


def scenario_hooks_job_subclass_func(conn):
    job_class = hj.wrapping_job_class()
    q = base.Queue('hooks-func', connection=conn, job_class=job_class)
    job = q.enqueue(hj.add, 2, 3)
    base.SimpleWorker([q], connection=conn, job_class=job_class).work(burst=True)
    sync = base.Queue('hooks-func-sync', connection=conn, job_class=job_class, is_async=False)
    return {'worker': job.return_value(), 'perform': q.enqueue(hj.add, 1, 1).perform(),
            'sync': sync.enqueue(hj.add, 4, 4).return_value()}


def scenario_hooks_enqueue_goes_through_enqueue_call(conn):
    hj.CALLS.clear()
    q = hj.recording_queue_class()('hooks-chain', connection=conn)
    q.enqueue(hj.add, 1, 2)
    q.enqueue(hj.add, 1, 2, job_timeout=30)
    return {'calls': list(hj.CALLS)}


def scenario_hooks_ttl_strings(conn):
    q = base.Queue('hooks-ttl', connection=conn)
    job = q.enqueue(hj.add, 1, 2, result_ttl='1d', failure_ttl='2h', ttl='10m')
    return {'ttls': [job.result_ttl, job.failure_ttl, job.ttl]}


def scenario_hooks_timed_out_job_names_rq_timeouts(conn):
    q = base.Queue('hooks-timeout', connection=conn)
    job = q.enqueue(hj.block_past_timeout, job_timeout=1)
    base.work(conn, q)
    lines = [line for line in (job.exc_info or '').strip().splitlines() if line.strip()]
    return {'status': base.sv(job.get_status()), 'last_line': lines[-1] if lines else None}


def scenario_hooks_cancel_and_requeue_a_deleted_job(conn):
    q = base.Queue('hooks-deleted', connection=conn)
    job = q.enqueue(hj.add, 1, 2)
    job.delete()
    return {'cancel': base.exc_name(job.cancel), 'requeue': base.exc_name(job.requeue)}
