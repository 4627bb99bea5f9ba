"""RQ compatibility scenarios: each one is written once against the ``rq`` API.

Every ``scenario_*`` function takes a connection and returns JSON-serialisable
observations of what an RQ user sees (statuses, registry membership, queue order,
results, callback calls, exception type names...).  Observations never contain ids,
timestamps or uuids, only relative facts about them (``a.id == b.id``, ``len(id)``,
``started_at is not None``) and intervals rounded to tens of seconds.

Run as a script, once per back-end, and compare the JSON it prints::

    python tests/compat_scenarios.py --backend real --port 6379   # real RQ on redis-server
    python tests/compat_scenarios.py --backend emulator            # rq_emulator.install_as_rq()

``--shard K/N --db K`` runs every N-th scenario on redis database K, so that several processes
can share one redis-server (real RQ's burst workers each wait up to 1 s for their pubsub thread
on exit, so the real side is mostly waiting and runs faster in parallel).

Output: one JSON object ``{scenario_name: observations}``; a scenario that raised an
unexpected exception maps to ``{"error": "Type: message"}``.  ``--only NAME`` (repeatable)
runs a subset.  All logging output goes to stderr; stdout carries only the JSON.
"""

import argparse
import datetime
import json
import os
import sys
import time
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SCENARIOS = {}


def scenario(fn):
    """Registers fn under its name without the ``scenario_`` prefix, in definition order."""
    SCENARIOS[fn.__name__[len('scenario_'):]] = fn
    return fn


# `rq` and `compat_jobs` are imported lazily by main(), after the back-end is chosen, so that
# `install_as_rq()` can run first.  The scenario functions use these module globals.
rq = None
cj = None
Queue = SimpleWorker = Worker = Retry = Callback = Repeat = None
Job = JobStatus = Dependency = get_current_job = cancel_job = requeue_job = None
Result = Group = job_decorator = None
StartedJobRegistry = FinishedJobRegistry = FailedJobRegistry = None
DeferredJobRegistry = ScheduledJobRegistry = CanceledJobRegistry = None
exceptions = None
JSONSerializer = None
send_stop_job_command = None


def _import_rq():
    global rq, cj, Queue, SimpleWorker, Worker, Retry, Callback, Repeat
    global Job, JobStatus, Dependency, get_current_job, cancel_job, requeue_job
    global Result, Group, job_decorator
    global StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry
    global DeferredJobRegistry, ScheduledJobRegistry, CanceledJobRegistry
    global exceptions, JSONSerializer, send_stop_job_command
    import rq as _rq
    import rq.exceptions
    from rq import Callback as _Callback, Queue as _Queue, Repeat as _Repeat
    from rq import Retry as _Retry, SimpleWorker as _SimpleWorker, Worker as _Worker
    from rq import cancel_job as _cancel_job, get_current_job as _gcj, requeue_job as _requeue_job
    from rq.command import send_stop_job_command as _sscmd
    from rq.decorators import job as _job_decorator
    from rq.group import Group as _Group
    from rq.job import Dependency as _Dependency, Job as _Job, JobStatus as _JobStatus
    from rq.registry import (
        CanceledJobRegistry as _Can,
        DeferredJobRegistry as _Def,
        FailedJobRegistry as _Fai,
        FinishedJobRegistry as _Fin,
        ScheduledJobRegistry as _Sch,
        StartedJobRegistry as _Sta,
    )
    from rq.results import Result as _Result
    from rq.serializers import JSONSerializer as _JSONSerializer

    sys.path.insert(0, HERE)
    import compat_jobs

    rq, cj = _rq, compat_jobs
    Queue, SimpleWorker, Worker, Retry, Callback, Repeat = (
        _Queue, _SimpleWorker, _Worker, _Retry, _Callback, _Repeat)
    Job, JobStatus, Dependency = _Job, _JobStatus, _Dependency
    get_current_job, cancel_job, requeue_job = _gcj, _cancel_job, _requeue_job
    Result, Group, job_decorator = _Result, _Group, _job_decorator
    StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry = _Sta, _Fin, _Fai
    DeferredJobRegistry, ScheduledJobRegistry, CanceledJobRegistry = _Def, _Sch, _Can
    exceptions = rq.exceptions
    JSONSerializer = _JSONSerializer
    send_stop_job_command = _sscmd


# ==== helpers =================================================================================

def sv(status):
    """A status as a plain string (JobStatus is a str enum on both sides)."""
    if status is None:
        return None
    return getattr(status, 'value', status)


def exc_name(fn, *args, **kwargs):
    """Calls fn; returns the name of the exception it raised, or 'no error'."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the type name is the observation
        return type(e).__name__
    return 'no error'


def last_line(text):
    """The last line of a traceback, with a module-qualified exception name shortened:
    'rq.timeouts.JobTimeoutException: ...' -> 'JobTimeoutException: ...' (the emulator's
    classes necessarily live in another module)."""
    if not text:
        return None
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1].strip()
    head, sep, tail = line.partition(':')
    if '.' in head and ' ' not in head:
        line = head.rsplit('.', 1)[-1] + sep + tail
    return line


def exc_type_of(text):
    """'ValueError' from a traceback whose last line is 'ValueError: boom'."""
    line = last_line(text)
    if line is None:
        return None
    return line.split(':', 1)[0].rsplit('.', 1)[-1]


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def delta10(dt):
    """Seconds from now until dt, rounded to tens (intervals in scenarios are multiples of 100)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        return 'naive datetime'
    return int(round((dt - utcnow()).total_seconds(), -1))


def work(conn, *queues, **kwargs):
    """Runs a burst SimpleWorker over queues and returns work()'s return value."""
    worker = SimpleWorker(list(queues), connection=conn)
    return worker.work(burst=True, **kwargs)


def ids_to_labels(ids, jobs):
    """Maps job ids to labels; jobs is {label: job}."""
    by_id = {job.id: label for label, job in jobs.items()}
    return [by_id.get(i, '?') for i in ids]


def result_types(job):
    return [r.type.name for r in job.results()]


def job_state(job):
    """Status plus the registries of the job's queue that contain it."""
    q = Queue(job.origin, connection=job.connection)
    regs = {
        'started': q.started_job_registry,
        'finished': q.finished_job_registry,
        'failed': q.failed_job_registry,
        'deferred': q.deferred_job_registry,
        'scheduled': q.scheduled_job_registry,
        'canceled': q.canceled_job_registry,
    }
    return {
        'status': sv(job.get_status()),
        'in_queue': job.id in q.get_job_ids(),
        'registries': sorted(name for name, reg in regs.items() if job.id in reg),
    }


# ==== enqueue ===================================================================================

@scenario
def scenario_enqueue_basic(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2)
    return {
        'status': sv(job.get_status()),
        'is_queued': bool(job.is_queued),
        'origin': job.origin,
        'description': job.description,
        'func_name': job.func_name,
        'args': list(job.args),
        'kwargs': job.kwargs,
        'id_len': len(job.id),
        'id_dashes': job.id.count('-'),
        'created_at_set': job.created_at is not None,
        'enqueued_at_set': job.enqueued_at is not None,
        'started_at': job.started_at,
        'ended_at': job.ended_at,
        'enqueued_at_aware': job.enqueued_at.tzinfo is not None,
        'timeout': job.timeout,
        'result_ttl': job.result_ttl,
        'ttl': job.ttl,
        'failure_ttl': job.failure_ttl,
        'meta': job.meta,
        'worker_name': job.worker_name,
        'count': q.count,
        'len': len(q),
        'ids_match': q.get_job_ids() == [job.id],
        'position': job.get_position(),
        'registries': job_state(job),
    }


@scenario
def scenario_enqueue_options(conn):
    q = Queue('opts', connection=conn)
    job = q.enqueue(cj.add, 1, 2, job_timeout=30, description='custom desc', result_ttl=100,
                    ttl=200, failure_ttl=300, meta={'a': 1})
    fetched = Job.fetch(job.id, connection=conn)
    job2 = q.enqueue(cj.add, 3, 4, job_timeout='1m')
    job3 = q.enqueue(cj.add, 3, 4, job_timeout='2h')
    job4 = q.enqueue(cj.add, 3, 4, job_timeout=-1)
    return {
        'local': [job.timeout, job.description, job.result_ttl, job.ttl, job.failure_ttl, job.meta],
        'fetched': [fetched.timeout, fetched.description, fetched.result_ttl, fetched.ttl,
                    fetched.failure_ttl, fetched.meta],
        'string_timeouts': [job2.timeout, job3.timeout, job4.timeout],
    }


@scenario
def scenario_enqueue_timeout_goes_to_function(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.echo, 1, timeout=5)
    before = {'kwargs': job.kwargs, 'job_timeout': job.timeout}
    work(conn, q)
    return {'before': before, 'result': job.return_value(), 'status': sv(job.get_status())}


@scenario
def scenario_enqueue_explicit_args_kwargs(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.echo, args=(1, 2), kwargs={'k': 3, 'job_timeout': 9})
    obs = {'args': list(job.args), 'kwargs': job.kwargs, 'timeout': job.timeout,
           'description': job.description}
    obs['extra_positional'] = exc_name(q.enqueue, cj.echo, 5, args=(1,))
    work(conn, q)
    obs['result'] = job.return_value()
    obs['count_after'] = q.count
    return obs


@scenario
def scenario_enqueue_custom_job_id(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, job_id='my-job_1')
    return {
        'id': job.id,
        'fetched_id': Job.fetch('my-job_1', connection=conn).id,
        'exists': Job.exists('my-job_1', connection=conn),
        'ids': q.get_job_ids(),
        'key': Job.key_for('my-job_1').decode() if isinstance(Job.key_for('my-job_1'), bytes)
        else Job.key_for('my-job_1'),
    }


@scenario
def scenario_enqueue_bad_job_ids(conn):
    q = Queue('default', connection=conn)
    return {
        'colon': exc_name(q.enqueue, cj.add, 1, 2, job_id='a:b'),
        'space': exc_name(q.enqueue, cj.add, 1, 2, job_id='a b'),
        'slash': exc_name(q.enqueue, cj.add, 1, 2, job_id='a/b'),
        'dot': exc_name(q.enqueue, cj.add, 1, 2, job_id='a.b'),
        'count_after': q.count,
    }


@scenario
def scenario_at_front_lifo(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.record, 'x1', job_id='x1')
    q.enqueue(cj.record, 'x2', job_id='x2')
    q.enqueue(cj.record, 'x3', job_id='x3', at_front=True)
    q.enqueue(cj.record, 'x4', job_id='x4', at_front=True)
    order = q.get_job_ids()
    positions = [Job.fetch(i, connection=conn).get_position() for i in ['x1', 'x2', 'x3', 'x4']]
    work(conn, q)
    return {'queue_order': order, 'positions': positions, 'run_order': list(cj.CALLS)}


@scenario
def scenario_enqueue_call(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue_call(cj.add, args=(1, 2), timeout=30, job_id='c1', description='call desc',
                         result_ttl=60, meta={'m': 1})
    job2 = q.enqueue_call(cj.echo, kwargs={'timeout': 4})
    job3 = q.enqueue_call(cj.record, args=('front',), at_front=True)
    obs = {'id': job.id, 'timeout': job.timeout, 'description': job.description,
           'result_ttl': job.result_ttl, 'meta': job.meta, 'job2_kwargs': job2.kwargs,
           'job2_timeout': job2.timeout, 'first_is_job3': q.get_job_ids()[0] == job3.id}
    work(conn, q)
    obs['results'] = [job.return_value(), job2.return_value(), job3.return_value()]
    return obs


@scenario
def scenario_enqueue_many_prepare_data(conn):
    q = Queue('default', connection=conn)
    datas = [
        Queue.prepare_data(cj.add, (1, 2), job_id='m1'),
        Queue.prepare_data(cj.add, (3, 4), job_id='m2', timeout=30, result_ttl=77),
        Queue.prepare_data(cj.echo, kwargs={'a': 1}, job_id='m3', description='third',
                           meta={'k': 'v'}),
    ]
    d = datas[1]
    jobs = q.enqueue_many(datas)
    obs = {
        'prepared_fields': [d.func is cj.add, list(d.args), d.timeout, d.result_ttl, d.job_id],
        'ids': [j.id for j in jobs],
        'statuses': [sv(j.get_status()) for j in jobs],
        'queue': q.get_job_ids(),
        'timeouts': [j.timeout for j in jobs],
        'descriptions': [j.description for j in jobs],
        'meta': jobs[2].meta,
        'result_ttl': jobs[1].result_ttl,
    }
    work(conn, q)
    obs['results'] = [j.return_value() for j in jobs]
    return obs


@scenario
def scenario_enqueue_many_with_dependency(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.record, 'parent', job_id='p')
    jobs = q.enqueue_many([
        Queue.prepare_data(cj.record, ('child',), job_id='c', depends_on=parent),
        Queue.prepare_data(cj.record, ('free',), job_id='f'),
    ])
    obs = {'returned_ids': [j.id for j in jobs],
           'statuses': [sv(j.get_status()) for j in jobs], 'queue': q.get_job_ids(),
           'deferred': q.deferred_job_registry.get_job_ids()}
    work(conn, q)
    obs['run_order'] = list(cj.CALLS)
    obs['final'] = [sv(j.get_status()) for j in jobs]
    return obs


@scenario
def scenario_enqueue_job_and_job_create(conn):
    q = Queue('default', connection=conn)
    job = Job.create(cj.add, args=(2, 3), connection=conn, id='ej')
    before = {
        'status': sv(job.get_status(refresh=False)),
        'timeout': job.timeout,
        'origin': job.origin,
        'exists': Job.exists('ej', connection=conn),
        'description': job.description,
        'get_status_refresh': exc_name(job.get_status),
        'enqueued_at': job.enqueued_at,
    }
    returned = q.enqueue_job(job)
    after = {
        'same_object': returned is job,
        'status': sv(job.get_status()),
        'timeout': job.timeout,
        'origin': job.origin,
        'enqueued_at_set': job.enqueued_at is not None,
        'queue': q.get_job_ids(),
    }
    work(conn, q)
    after['result'] = Job.fetch('ej', connection=conn).return_value()
    return {'before': before, 'after': after}


@scenario
def scenario_enqueue_job_at_front(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.noop, job_id='a')
    job = Job.create(cj.noop, connection=conn, id='b')
    q.enqueue_job(job, at_front=True)
    return {'queue': q.get_job_ids()}


@scenario
def scenario_job_create_options(conn):
    job = Job.create(cj.echo, args=[1], kwargs={'x': 2}, connection=conn, result_ttl=10, ttl=20,
                     failure_ttl=30, description='d', timeout=40, meta={'m': 1},
                     retry=Retry(max=2, interval=[100]))
    return {
        'status': sv(job.get_status(refresh=False)),
        'fields': [job.result_ttl, job.ttl, job.failure_ttl, job.description, job.timeout, job.meta],
        'retries_left': job.retries_left,
        'retry_intervals': job.retry_intervals,
        'args': list(job.args), 'kwargs': job.kwargs,
        'bad_id': exc_name(Job.create, cj.add, args=(1, 2), connection=conn, id='bad id'),
    }


@scenario
def scenario_unique_jobs(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.add, 1, 2, job_id='u', unique=True)
    obs = {
        'duplicate': exc_name(q.enqueue, cj.add, 1, 2, job_id='u', unique=True),
        'no_id': exc_name(q.enqueue, cj.add, 1, 2, unique=True),
        'duplicate_enqueue_call': exc_name(q.enqueue_call, cj.add, args=(1, 2), job_id='u',
                                           unique=True),
        'queue_after_dupes': q.get_job_ids(),
        'is_rq_exception': issubclass(exceptions.DuplicateJobError, Exception),
    }
    Job.fetch('u', connection=conn).delete()
    obs['after_delete'] = sv(q.enqueue(cj.add, 1, 2, job_id='u', unique=True).get_status())
    obs['queue_final'] = q.get_job_ids()
    return obs


@scenario
def scenario_reuse_id_without_unique(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.add, 1, 2, job_id='same')
    q.enqueue(cj.add, 10, 20, job_id='same')
    obs = {'queue': q.get_job_ids(), 'args': list(Job.fetch('same', connection=conn).args)}
    work(conn, q)
    obs['result'] = Job.fetch('same', connection=conn).return_value()
    obs['count_after'] = q.count
    return obs


@scenario
def scenario_meta_roundtrip(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.write_meta, meta={'a': 1})
    other = Job.fetch(job.id, connection=conn)
    other.meta['b'] = 2
    other.save_meta()
    obs = {'get_meta': job.get_meta(), 'stale_local': job.meta}
    work(conn, q)
    job.refresh()
    obs['after_run'] = job.meta
    obs['get_meta_no_refresh'] = job.get_meta(refresh=False)
    obs['result'] = job.return_value()
    return obs


@scenario
def scenario_bad_inputs_rq_errors(conn):
    q = Queue('default', connection=conn)
    obs = {
        'job_timeout_zero': exc_name(q.enqueue, cj.add, 1, 2, job_timeout=0),
        'job_timeout_abc': exc_name(q.enqueue, cj.add, 1, 2, job_timeout='abc'),
        'ttl_zero': exc_name(q.enqueue, cj.add, 1, 2, ttl=0),
        'ttl_negative': exc_name(q.enqueue, cj.add, 1, 2, ttl=-5),
        'retry_max_zero': exc_name(Retry, max=0),
        'retry_negative_interval': exc_name(Retry, max=2, interval=-1),
        'retry_negative_in_list': exc_name(Retry, max=2, interval=[1, -1]),
        'unique_with_depends_on': exc_name(q.enqueue, cj.add, 1, 2, job_id='uu', unique=True,
                                           depends_on='zz'),
        'dependency_empty': exc_name(Dependency, []),
        'timeout_format_is_exception': issubclass(exceptions.TimeoutFormatError, Exception),
    }
    obs['count_after'] = q.count
    obs['all_queues'] = sorted(x.name for x in Queue.all(connection=conn))
    return obs


def _bad_calls(conn, q):
    return {
        'non_callable_int': lambda: q.enqueue(42),
        'depends_on_float': lambda: q.enqueue(cj.add, 1, 2, depends_on=3.5),
        'enqueue_at_string': lambda: q.enqueue_at('tomorrow', cj.add, 1, 2),
        'enqueue_in_string': lambda: q.enqueue_in('soon', cj.add, 1, 2),
        'callback_not_function': lambda: Callback(42),
    }


@scenario
def scenario_bad_inputs_raise(conn):
    """RQ raises for each of these; the emulator gives a clear error (the type may differ)."""
    q = Queue('default', connection=conn)
    obs = {name: exc_name(call) != 'no error' for name, call in _bad_calls(conn, q).items()}
    obs['count_after'] = q.count
    obs['scheduled_after'] = q.scheduled_job_registry.count
    return obs


@scenario
def scenario_bad_inputs_exception_types(conn):
    """The exception type names RQ raises for the calls of bad_inputs_raise."""
    q = Queue('default', connection=conn)
    return {name: exc_name(call) for name, call in _bad_calls(conn, q).items()}


@scenario
def scenario_bad_inputs_rq_accepts(conn):
    """Inputs real RQ 2.12 accepts (or rejects only later) but the emulator rejects at the call."""
    q = Queue('default', connection=conn)
    obs = {
        'worker_no_queues': exc_name(SimpleWorker, [], connection=conn),
        'job_create_ttl_zero': exc_name(Job.create, cj.add, args=(1, 2), connection=conn, ttl=0),
        'dequeue_strategy_unknown_empty': exc_name(SimpleWorker([q], connection=conn).work,
                                                   burst=True, dequeue_strategy='bogus'),
    }
    # RQ 2.12 ignores unique= in enqueue_in/enqueue_at (and overwrites the job); the emulator raises
    # DuplicateJobError when the id exists.
    q.enqueue(cj.noop, job_id='taken')
    obs['unique_enqueue_in_existing_id'] = exc_name(
        q.enqueue_in, datetime.timedelta(seconds=100), cj.noop, job_id='taken', unique=True)
    # With a job queued, RQ's work() logs the bad strategy and returns; the job stays queued.
    job = q.enqueue(cj.noop)
    obs['dequeue_strategy_unknown_with_job'] = exc_name(
        SimpleWorker([q], connection=conn).work, burst=True, dequeue_strategy='bogus')
    obs['job_after_bad_strategy'] = job_state(job)
    return obs


# ==== running jobs ==============================================================================

@scenario
def scenario_run_success(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2)
    w = SimpleWorker([q], connection=conn)
    ran = w.work(burst=True)
    job.refresh()
    latest = job.latest_result()
    return {
        'work_returned': ran,
        'status': sv(job.get_status()),
        'is_finished': bool(job.is_finished),
        'is_queued': bool(job.is_queued),
        'return_value': job.return_value(),
        'latest_type': latest.type.name,
        'latest_return_value': latest.return_value,
        'latest_exc_string': latest.exc_string,
        'latest_job_id_matches': latest.job_id == job.id,
        'results_types': result_types(job),
        'started_at_set': job.started_at is not None,
        'ended_at_set': job.ended_at is not None,
        'ended_after_started': job.ended_at >= job.started_at,
        'worker_name_matches': job.worker_name == w.name,
        'state': job_state(job),
        'count': q.count,
        'position': job.get_position(),
        'finished_ids_match': q.finished_job_registry.get_job_ids() == [job.id],
    }


@scenario
def scenario_run_failure(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail)
    ran = work(conn, q)
    job.refresh()
    latest = job.latest_result()
    return {
        'work_returned': ran,
        'status': sv(job.get_status()),
        'is_failed': bool(job.is_failed),
        'exc_info_last_line': last_line(job.exc_info),
        'latest_type': latest.type.name,
        'latest_exc_last_line': last_line(latest.exc_string),
        'traceback_mentions_func': 'fail' in latest.exc_string,
        'return_value': job.return_value(),
        'results_types': result_types(job),
        'started_at_set': job.started_at is not None,
        'ended_at_set': job.ended_at is not None,
        'state': job_state(job),
    }


@scenario
def scenario_work_empty_queue(conn):
    q = Queue('default', connection=conn)
    return {'work_returned': work(conn, q), 'count': q.count}


@scenario
def scenario_work_failed_only_returns_true(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.fail)
    return {'work_returned': work(conn, q)}


@scenario
def scenario_worker_strict_priority(conn):
    high = Queue('high', connection=conn)
    low = Queue('low', connection=conn)
    for i in range(2):
        low.enqueue(cj.record, 'low%d' % i)
    for i in range(2):
        high.enqueue(cj.record, 'high%d' % i)
    work(conn, high, low)
    return {'run_order': list(cj.CALLS)}


@scenario
def scenario_worker_round_robin(conn):
    high = Queue('high', connection=conn)
    low = Queue('low', connection=conn)
    for i in range(3):
        high.enqueue(cj.record, 'high%d' % i)
        low.enqueue(cj.record, 'low%d' % i)
    w = SimpleWorker([high, low], connection=conn)
    w.work(burst=True, dequeue_strategy='round_robin')
    return {'run_order': list(cj.CALLS)}


@scenario
def scenario_worker_random_runs_all(conn):
    a = Queue('a', connection=conn)
    b = Queue('b', connection=conn)
    for i in range(3):
        a.enqueue(cj.record, 'a%d' % i)
        b.enqueue(cj.record, 'b%d' % i)
    w = SimpleWorker([a, b], connection=conn)
    ran = w.work(burst=True, dequeue_strategy='random')
    return {'work_returned': ran, 'ran': sorted(cj.CALLS), 'left': a.count + b.count}


@scenario
def scenario_worker_queue_names(conn):
    Queue('named', connection=conn).enqueue(cj.record, 'n')
    w = SimpleWorker(['named'], connection=conn)
    obs = {'queue_names': w.queue_names(), 'work': w.work(burst=True), 'calls': list(cj.CALLS)}
    w2 = SimpleWorker(Queue('single', connection=conn), connection=conn)
    obs['single_queue_names'] = w2.queue_names()
    return obs


@scenario
def scenario_worker_max_jobs(conn):
    q = Queue('default', connection=conn)
    for i in range(3):
        q.enqueue(cj.record, 'j%d' % i)
    ran = work(conn, q, max_jobs=2)
    return {'work_returned': ran, 'calls': list(cj.CALLS), 'count_left': q.count}


@scenario
def scenario_worker_counters(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.add, 1, 2)
    q.enqueue(cj.noop)
    q.enqueue(cj.fail)
    w = SimpleWorker([q], connection=conn)
    w.work(burst=True)
    w.refresh()
    return {
        'successful': w.successful_job_count,
        'failed': w.failed_job_count,
        'total_working_time_nonneg': w.total_working_time >= 0,
        'total_working_time_float': isinstance(w.total_working_time, float),
        'current_job_after': w.get_current_job(),
        'birth_date_set': w.birth_date is not None,
        'last_heartbeat_set': w.last_heartbeat is not None,
    }


@scenario
def scenario_worker_counters_with_retries(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.fail, retry=Retry(max=2))
    w = SimpleWorker([q], connection=conn)
    w.work(burst=True)
    w.refresh()
    return {'successful': w.successful_job_count, 'failed': w.failed_job_count}


@scenario
def scenario_worker_registration(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.noop)
    w = SimpleWorker([q], connection=conn)
    named = SimpleWorker([q], connection=conn, name='w1')
    obs = {
        'count_before': Worker.count(connection=conn),
        'all_before': len(Worker.all(connection=conn)),
        'name_len': len(w.name),
        'name_is_hex': all(c in '0123456789abcdef' for c in w.name),
        'custom_name': named.name,
        'fresh_state': sv(w.get_state()),
    }
    w.work(burst=True)
    obs['count_after'] = Worker.count(connection=conn)
    obs['all_after'] = len(Worker.all(connection=conn))
    obs['count_for_queue'] = Worker.count(connection=conn, queue=q)
    return obs


@scenario
def scenario_exception_handlers_chain(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail)
    w = SimpleWorker([q], connection=conn,
                     exception_handlers=[cj.handler_a, cj.handler_b, cj.handler_stop, cj.handler_never])
    w.work(burst=True)
    return {'calls': list(cj.CALLS), 'state': job_state(job),
            'latest': job.latest_result().type.name}


@scenario
def scenario_exception_handlers_with_failure_callback(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.fail, on_failure=Callback(cj.failure_cb))
    w = SimpleWorker([q], connection=conn, exception_handlers=[cj.handler_a])
    w.work(burst=True)
    return {'calls': list(cj.CALLS)}


@scenario
def scenario_push_exc_handler(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.fail)
    w = SimpleWorker([q], connection=conn)
    w.push_exc_handler(cj.handler_a)
    w.push_exc_handler(cj.handler_b)
    w.work(burst=True)
    return {'calls': list(cj.CALLS)}


@scenario
def scenario_disable_default_exception_handler(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail)
    w = SimpleWorker([q], connection=conn, exception_handlers=[cj.handler_a],
                     disable_default_exception_handler=True)
    w.work(burst=True)
    return {'calls': list(cj.CALLS), 'state': job_state(job),
            'latest_result': job.latest_result(), 'results': result_types(job)}


@scenario
def scenario_get_current_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.current_job_info)
    job2 = q.enqueue(cj.current_job_is_none)
    w = SimpleWorker([q], connection=conn)
    outside = get_current_job()
    w.work(burst=True)
    info = job.return_value()
    return {
        'outside': outside,
        'same_id': info['id'] == job.id,
        'status_inside': info['status'],
        'origin_inside': info['origin'],
        'worker_name_inside_matches': info['worker_name'] == w.name,
        'func_name': info['func_name'],
        'started_at_set': info['started_at_set'],
        'is_none_inside': job2.return_value(),
        'outside_after': get_current_job(),
    }


@scenario
def scenario_worker_name_on_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.noop)
    before = job.worker_name
    w = SimpleWorker([q], connection=conn, name='named-worker')
    w.work(burst=True)
    job.refresh()
    return {'before': before, 'after': job.worker_name,
            'result_worker_name': job.latest_result().worker_name}


@scenario
def scenario_job_timeout_exceeded(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.slow, 3, job_timeout=1)
    after = q.enqueue(cj.add, 1, 1)
    work(conn, q)
    job.refresh()
    return {'status': sv(job.get_status()), 'exc_last_line': last_line(job.exc_info),
            'next_job': sv(after.get_status()), 'result': after.return_value()}


@scenario
def scenario_async_function(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.async_add, 2, 5)
    work(conn, q)
    return {'status': sv(job.get_status()), 'result': job.return_value()}


@scenario
def scenario_dotted_string_function(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue('compat_jobs.add', 2, 3)
    bad = q.enqueue('nosuchmodule_xyz.func', 1)
    obs = {'description': job.description, 'func_name': job.func_name,
           'bad_description': bad.description, 'bad_status_before': sv(bad.get_status())}
    work(conn, q)
    bad.refresh()
    obs.update({'result': job.return_value(), 'status': sv(job.get_status()),
                'bad_status': sv(bad.get_status()), 'bad_exc_type': exc_type_of(bad.exc_info)})
    return obs


@scenario
def scenario_default_descriptions(conn):
    q = Queue('default', connection=conn)
    return {
        'positional': q.enqueue(cj.add, 1, 2).description,
        'kwargs_sorted': q.enqueue(cj.echo, z=1, a='x').description,
        'mixed': q.enqueue(cj.echo, [1, 2], {'k': None}, b=2.5).description,
        'no_args': q.enqueue(cj.noop).description,
        'long_arg': q.enqueue(cj.echo, 'x' * 200).description,
        'builtin': q.enqueue(len, 'abc').description,
    }


# ==== is_async=False ============================================================================

@scenario
def scenario_sync_queue_success(conn):
    q = Queue('sync', connection=conn, is_async=False)
    job = q.enqueue(cj.add, 4, 5)
    return {
        'is_async': q.is_async,
        'status': sv(job.get_status()),
        'return_value': job.return_value(),
        'result': job.result,
        'state': job_state(job),
        'queue_ids': q.get_job_ids(),
        'started_at_set': job.started_at is not None,
        'ended_at_set': job.ended_at is not None,
        'latest_type': job.latest_result().type.name,
        'worker_name': job.worker_name,
        'result_worker_name': job.latest_result().worker_name,
    }


@scenario
def scenario_sync_queue_failure(conn):
    q = Queue('sync', connection=conn, is_async=False)
    job = q.enqueue(cj.fail, on_failure=Callback(cj.failure_cb))
    return {
        'status': sv(job.get_status()),
        'ended_at_set': job.ended_at is not None,
        'started_at_set': job.started_at is not None,
        'state': job_state(job),
        'exc_last_line': last_line(job.latest_result().exc_string),
        'latest_type': job.latest_result().type.name,
        'calls': list(cj.CALLS),
    }


@scenario
def scenario_sync_queue_callbacks_and_meta(conn):
    q = Queue('sync', connection=conn, is_async=False)
    job = q.enqueue(cj.write_meta, on_success=Callback(cj.success_cb), meta={'a': 1})
    job.refresh()
    return {'calls': list(cj.CALLS), 'meta': job.meta, 'result': job.return_value()}


@scenario
def scenario_sync_queue_result_ttl_zero(conn):
    q = Queue('sync', connection=conn, is_async=False)
    job = q.enqueue(cj.add, 1, 1, result_ttl=0)
    return {'exists': Job.exists(job.id, connection=conn)}


@scenario
def scenario_sync_queue_dependencies(conn):
    q = Queue('sync', connection=conn, is_async=False)
    parent = q.enqueue(cj.record, 'parent')
    child = q.enqueue(cj.record, 'child', depends_on=parent)
    return {'parent': sv(parent.get_status()), 'child': sv(child.get_status()),
            'calls': list(cj.CALLS)}


@scenario
def scenario_sync_queue_retry(conn):
    # A deliberate difference (the emulator retries inline; RQ ignores retry here).
    q = Queue('sync', connection=conn, is_async=False)
    job = q.enqueue(cj.record_fail, 'r', retry=Retry(max=2))
    return {'status': sv(job.get_status()), 'calls': list(cj.CALLS),
            'retries_left': job.retries_left}


@scenario
def scenario_sync_queue_enqueue_in_only_schedules(conn):
    q = Queue('sync', connection=conn, is_async=False)
    job = q.enqueue_in(datetime.timedelta(seconds=100), cj.record, 'later')
    return {'status': sv(job.get_status()), 'calls': list(cj.CALLS)}


# ==== results and TTLs ==========================================================================

@scenario
def scenario_results_before_run(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2)
    return {'latest': job.latest_result(), 'latest_timeout0': job.latest_result(timeout=0),
            'results': job.results(), 'return_value': job.return_value(), 'result': job.result}


@scenario
def scenario_result_type_enum(conn):
    return {name: getattr(Result.Type, name).value
            for name in ['SUCCESSFUL', 'FAILED', 'STOPPED', 'RETRIED', 'MAX_RETRIES_EXCEEDED']}


@scenario
def scenario_results_after_requeue(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail)
    work(conn, q)
    job.requeue()
    mid = job_state(job)
    work(conn, q)
    return {'mid': mid, 'final': job_state(job), 'results': result_types(job),
            'all_count': len(Result.all(job)), 'count': Result.count(job)}


@scenario
def scenario_result_ttl_zero_deletes(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, result_ttl=0)
    work(conn, q)
    return {
        'exists': Job.exists(job.id, connection=conn),
        'fetch': exc_name(Job.fetch, job.id, connection=conn),
        'get_status': exc_name(job.get_status),
        'refresh': exc_name(job.refresh),
        'fetch_job': q.fetch_job(job.id),
        'in_finished': job.id in q.finished_job_registry,
    }


@scenario
def scenario_result_ttl_keep_forever(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, result_ttl=-1)
    work(conn, q)
    job.refresh()
    return {'result_ttl': job.result_ttl, 'state': job_state(job), 'value': job.return_value()}


@scenario
def scenario_result_ttl_default(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2)
    work(conn, q)
    expiry = q.finished_job_registry.get_expiration_time(job)
    return {'expires_in': delta10(expiry), 'result_ttl_attr': job.result_ttl}


@scenario
def scenario_result_ttl_custom_and_failure_ttl(conn):
    q = Queue('default', connection=conn)
    ok = q.enqueue(cj.add, 1, 2, result_ttl=300)
    bad = q.enqueue(cj.fail, failure_ttl=700)
    bad_default = q.enqueue(cj.fail)
    work(conn, q)
    return {
        'finished_expires_in': delta10(q.finished_job_registry.get_expiration_time(ok)),
        'failed_expires_in': delta10(q.failed_job_registry.get_expiration_time(bad)),
        'failed_default_expires_in_days': round(
            (q.failed_job_registry.get_expiration_time(bad_default) - utcnow()).total_seconds()
            / 86400),
    }


@scenario
def scenario_deprecated_result_and_exc_info(conn):
    q = Queue('default', connection=conn)
    ok = q.enqueue(cj.say_hello, 'Bob')
    bad = q.enqueue(cj.fail)
    work(conn, q)
    ok = Job.fetch(ok.id, connection=conn)
    bad = Job.fetch(bad.id, connection=conn)
    return {'ok_result': ok.result, 'ok_exc_info': ok.exc_info, 'bad_result': bad.result,
            'bad_exc_info': last_line(bad.exc_info)}


# ==== retries ===================================================================================

@scenario
def scenario_retry_object(conn):
    r = Retry(max=3, interval=5)
    r2 = Retry(max=2, interval=[1, 2], enqueue_at_front=True)
    return {'max': r.max, 'intervals': r.intervals, 'repr': repr(r), 'r2_intervals': r2.intervals,
            'r2_front': r2.enqueue_at_front, 'default_intervals': Retry(max=1).intervals}


@scenario
def scenario_retry_no_interval(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.record_fail, 'r', retry=Retry(max=2), on_failure=Callback(cj.failure_cb))
    after_enqueue = {'retries_left': job.retries_left, 'intervals': job.retry_intervals}
    work(conn, q)
    job.refresh()
    return {
        'after_enqueue': after_enqueue,
        'calls': list(cj.CALLS),
        'state': job_state(job),
        'retries_left': job.retries_left,
        'results': result_types(job),
    }


@scenario
def scenario_retry_then_success(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.flaky, 'k', 2, retry=Retry(max=3))
    work(conn, q)
    job.refresh()
    return {'state': job_state(job), 'value': job.return_value(), 'retries_left': job.retries_left,
            'results': result_types(job)}


@scenario
def scenario_retry_intervals_indexing(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail, retry=Retry(max=3, interval=[100, 200, 300]))
    reg = q.scheduled_job_registry
    seen = []
    for _ in range(4):
        work(conn, q)
        state = job_state(job)
        if job.id in reg:
            seen.append([state['status'], delta10(reg.get_scheduled_time(job))])
            reg.requeue(job.id)
        else:
            seen.append([state['status'], state['registries']])
    job.refresh()
    return {'seen': seen, 'retries_left': job.retries_left}


@scenario
def scenario_retry_short_interval_list(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail, retry=Retry(max=5, interval=[100, 200]))
    reg = q.scheduled_job_registry
    deltas = []
    for _ in range(6):
        work(conn, q)
        if job.id in reg:
            deltas.append(delta10(reg.get_scheduled_time(job)))
            reg.requeue(job.id)
        else:
            deltas.append(sv(job.get_status()))
    return {'deltas': deltas}


@scenario
def scenario_retry_scheduled_state(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail, retry=Retry(max=1, interval=100))
    ran = work(conn, q)
    job.refresh()
    return {'work': ran, 'state': job_state(job), 'is_scheduled': bool(job.is_scheduled),
            'retries_left': job.retries_left, 'results': result_types(job),
            'count': q.count, 'scheduled_count': q.scheduled_job_registry.count}


@scenario
def scenario_retry_enqueue_at_front(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.record_fail, 'flaky', retry=Retry(max=1, enqueue_at_front=True))
    q.enqueue(cj.record, 'filler1')
    q.enqueue(cj.record, 'filler2')
    q2 = Queue('back', connection=conn)
    q2.enqueue(cj.record_fail, 'flaky_back', retry=Retry(max=1))
    q2.enqueue(cj.record, 'filler_back')
    work(conn, q)
    work(conn, q2)
    return {'calls': list(cj.CALLS)}


@scenario
def scenario_return_retry(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.return_retry, 2)
    work(conn, q)
    job.refresh()
    return {'calls': list(cj.CALLS), 'state': job_state(job), 'results': result_types(job),
            'number_of_retries': job.number_of_retries, 'return_value': job.return_value()}


@scenario
def scenario_return_retry_intervals(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.return_retry, 3, [100, 200])
    reg = q.scheduled_job_registry
    seen = []
    for _ in range(4):
        work(conn, q)
        if job.id in reg:
            seen.append(delta10(reg.get_scheduled_time(job)))
            reg.requeue(job.id)
        else:
            seen.append(sv(job.get_status()))
    return {'seen': seen, 'results': result_types(job)}


# ==== repeat ====================================================================================

@scenario
def scenario_repeat_object(conn):
    r = Repeat(times=3, interval=[5, 10])
    return {
        'times': r.times, 'intervals': r.intervals, 'scalar': Repeat(times=2, interval=7).intervals,
        'zero_times': exc_name(Repeat, times=0),
        'negative_interval': exc_name(Repeat, times=1, interval=-1),
        'bad_interval_type': exc_name(Repeat, times=1, interval='x'),
    }


@scenario
def scenario_repeat_no_interval(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.record, 'rep', repeat=Repeat(times=2))
    before = job.repeats_left
    work(conn, q)
    job.refresh()
    return {'before': before, 'calls': list(cj.CALLS), 'state': job_state(job),
            'repeats_left': job.repeats_left, 'results': result_types(job)}


@scenario
def scenario_repeat_failure_not_repeated(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.record_fail, 'rf', repeat=Repeat(times=2))
    work(conn, q)
    job.refresh()
    return {'calls': list(cj.CALLS), 'state': job_state(job), 'repeats_left': job.repeats_left}


@scenario
def scenario_repeat_interval_order(conn):
    # RQ 2.12 consumes the list back to front; the emulator may follow the docs.
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.record, 'ri', repeat=Repeat(times=3, interval=[100, 200, 300]))
    reg = q.scheduled_job_registry
    seen = []
    for _ in range(4):
        work(conn, q)
        if job.id in reg:
            seen.append(delta10(reg.get_scheduled_time(job)))
            reg.requeue(job.id)
        else:
            seen.append(sv(job.get_status()))
    return {'seen': seen, 'calls': len(cj.CALLS)}


# ==== dependencies ==============================================================================

@scenario
def scenario_depends_on_basic(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.record, 'parent')
    child = q.enqueue(cj.record, 'child', depends_on=parent)
    before = {
        'child': job_state(child),
        'child_enqueued_at': child.enqueued_at,
        'is_deferred': bool(child.is_deferred),
        'count': q.count,
        'dependency_ids_match': child.dependency_ids == [parent.id],
        'dependency_matches': child.dependency.id == parent.id,
        'dependents_match': parent.dependent_ids == [child.id],
    }
    work(conn, q)
    return {'before': before, 'calls': list(cj.CALLS), 'child_after': job_state(child),
            'child_enqueued_at_set': Job.fetch(child.id, connection=conn).enqueued_at is not None}


@scenario
def scenario_depends_on_id_and_list(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.record, 'p1', job_id='p1')
    q.enqueue(cj.record, 'p2', job_id='p2')
    c1 = q.enqueue(cj.record, 'by_id', depends_on='p1')
    c2 = q.enqueue(cj.record, 'by_list', depends_on=['p1', Job.fetch('p2', connection=conn)])
    before = [sv(c1.get_status()), sv(c2.get_status()), sorted(c2.dependency_ids)]
    work(conn, q)
    return {'before': before, 'calls': list(cj.CALLS),
            'after': [sv(c1.get_status()), sv(c2.get_status())]}


@scenario
def scenario_depends_on_finished_parent(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.add, 1, 2)
    work(conn, q)
    child = q.enqueue(cj.add, 3, 4, depends_on=parent)
    return {'child': job_state(child), 'enqueued_at_set': child.enqueued_at is not None}


@scenario
def scenario_depends_on_missing_parent(conn):
    q = Queue('default', connection=conn)
    child = q.enqueue(cj.add, 3, 4, depends_on='ghost-parent')
    return {'child': job_state(child)}


@scenario
def scenario_depends_on_failed_parent(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.fail)
    strict = q.enqueue(cj.record, 'strict', depends_on=parent)
    lenient = q.enqueue(cj.record, 'lenient', depends_on=Dependency(jobs=[parent], allow_failure=True))
    work(conn, q)
    return {'calls': list(cj.CALLS), 'strict': job_state(strict), 'lenient': job_state(lenient),
            'lenient_flag': Job.fetch(lenient.id, connection=conn).allow_dependency_failures}


@scenario
def scenario_allow_failure_parent_already_failed(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.fail)
    work(conn, q)
    child = q.enqueue(cj.record, 'late', depends_on=Dependency(jobs=parent, allow_failure=True))
    work(conn, q)
    return {'child': job_state(child), 'calls': list(cj.CALLS)}


@scenario
def scenario_dependency_enqueue_at_front(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.record, 'parent', job_id='parent')
    q.enqueue(cj.record, 'filler1', job_id='filler1')
    q.enqueue(cj.record, 'child_back', job_id='child_back', depends_on=parent)
    q.enqueue(cj.record, 'child_front', job_id='child_front',
              depends_on=Dependency(jobs=[parent], enqueue_at_front=True))
    work(conn, q, max_jobs=1)
    return {'queue': q.get_job_ids()}


@scenario
def scenario_several_parents(conn):
    q = Queue('default', connection=conn)
    a = q.enqueue(cj.record, 'a', job_id='a')
    b = q.enqueue(cj.record, 'b', job_id='b')
    child = q.enqueue(cj.record, 'child', job_id='child', depends_on=[a, b])
    work(conn, q, max_jobs=1)
    mid = job_state(child)
    work(conn, q)
    return {'mid': mid, 'final': job_state(child), 'calls': list(cj.CALLS)}


@scenario
def scenario_dependency_chain(conn):
    q = Queue('default', connection=conn)
    a = q.enqueue(cj.record, 'a')
    b = q.enqueue(cj.record, 'b', depends_on=a)
    c = q.enqueue(cj.record, 'c', depends_on=b)
    states = [sv(j.get_status()) for j in (a, b, c)]
    work(conn, q)
    return {'before': states, 'calls': list(cj.CALLS),
            'after': [sv(j.get_status()) for j in (a, b, c)]}


@scenario
def scenario_dependents_on_other_queue(conn):
    q1 = Queue('first', connection=conn)
    q2 = Queue('second', connection=conn)
    parent = q1.enqueue(cj.record, 'parent')
    child = q2.enqueue(cj.record, 'child', depends_on=parent)
    work(conn, q1)
    mid = {'child': job_state(child), 'q2_count': q2.count}
    work(conn, q2)
    return {'mid': mid, 'final': job_state(child), 'calls': list(cj.CALLS)}


@scenario
def scenario_canceled_parent(conn):
    q = Queue('default', connection=conn)
    p1 = q.enqueue(cj.record, 'p1')
    c1 = q.enqueue(cj.record, 'c1', depends_on=p1)
    p2 = q.enqueue(cj.record, 'p2')
    c2 = q.enqueue(cj.record, 'c2', depends_on=p2)
    p1.cancel()
    p2.cancel(enqueue_dependents=True)
    mid = {'c1': job_state(c1), 'c2': job_state(c2)}
    work(conn, q)
    return {'mid': mid, 'calls': list(cj.CALLS), 'c1': job_state(c1), 'c2': job_state(c2)}


@scenario
def scenario_dependency_object(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.noop)
    d = Dependency(jobs=parent, allow_failure=True, enqueue_at_front=True)
    d2 = Dependency(jobs=['x', 'y'])
    return {
        'jobs_len': len(d.dependencies),
        'allow_failure': d.allow_failure,
        'enqueue_at_front': d.enqueue_at_front,
        'd2_len': len(d2.dependencies),
        'd2_flags': [d2.allow_failure, d2.enqueue_at_front],
        'bad_type': exc_name(Dependency, jobs=3.5),
    }


# ==== callbacks =================================================================================

@scenario
def scenario_callbacks_success_failure(conn):
    q = Queue('default', connection=conn)
    ok = q.enqueue(cj.add, 1, 2, on_success=Callback(cj.success_cb), on_failure=Callback(cj.failure_cb))
    bad = q.enqueue(cj.fail, on_success=Callback(cj.success_cb), on_failure=Callback(cj.failure_cb))
    work(conn, q)
    return {'calls': list(cj.CALLS), 'ok': job_state(ok), 'bad': job_state(bad)}


@scenario
def scenario_callbacks_bare_functions(conn):
    q = Queue('default', connection=conn)
    ok = q.enqueue(cj.add, 1, 2, on_success=cj.success_cb)
    bad = q.enqueue(cj.fail, on_failure=cj.failure_cb)
    work(conn, q)
    return {'calls': list(cj.CALLS), 'ok': sv(ok.get_status()), 'bad': sv(bad.get_status())}


@scenario
def scenario_callback_object(conn):
    c = Callback(cj.success_cb)
    c2 = Callback(cj.success_cb, timeout=5)
    c3 = Callback('compat_jobs.success_cb', timeout='1m')
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, on_success=c2, on_failure=Callback(cj.failure_cb),
                    on_stopped=Callback(cj.stopped_cb, timeout=7))
    fetched = Job.fetch(job.id, connection=conn)
    return {
        'name': c.name,
        'timeouts': [c.timeout, c2.timeout, c3.timeout],
        'c3_name': c3.name,
        'job_timeouts': [fetched.success_callback_timeout, fetched.failure_callback_timeout,
                         fetched.stopped_callback_timeout],
        'callbacks_set': [fetched.success_callback is not None, fetched.failure_callback is not None,
                          fetched.stopped_callback is not None],
        'lambda': exc_name(Callback, 42),
    }


@scenario
def scenario_callback_string_path(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.add, 5, 5, on_success=Callback('compat_jobs.success_cb'))
    work(conn, q)
    return {'calls': list(cj.CALLS)}


@scenario
def scenario_raising_success_callback_fails_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, on_success=Callback(cj.raising_success_cb),
                    on_failure=Callback(cj.failure_cb))
    child = q.enqueue(cj.record, 'child', depends_on=job)
    nxt = q.enqueue(cj.record, 'next')
    work(conn, q)
    job.refresh()
    return {
        'calls': list(cj.CALLS),
        'state': job_state(job),
        'exc_last_line': last_line(job.latest_result().exc_string),
        'return_value': job.return_value(),
        'results': result_types(job),
        'child': job_state(child),
        'next': sv(nxt.get_status()),
    }


@scenario
def scenario_raising_failure_callback(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail, on_failure=Callback(cj.raising_failure_cb))
    nxt = q.enqueue(cj.record, 'next')
    work(conn, q)
    job.refresh()
    return {'calls': list(cj.CALLS), 'state': job_state(job), 'next': sv(nxt.get_status()),
            'exc_type': exc_type_of(job.latest_result().exc_string)}


@scenario
def scenario_failure_callback_each_retry(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.fail, retry=Retry(max=2), on_failure=Callback(cj.failure_cb))
    work(conn, q)
    return {'calls': list(cj.CALLS)}


@scenario
def scenario_callback_saves_meta(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 2, 2, on_success=Callback(cj.meta_success_cb), meta={'x': 1})
    work(conn, q)
    return {'meta': Job.fetch(job.id, connection=conn).get_meta()}


@scenario
def scenario_callback_sees_local_status(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.add, 2, 2, on_success=Callback(cj.status_in_success_cb))
    work(conn, q)
    return {'calls': list(cj.CALLS)}


@scenario
def scenario_stop_job_not_executing(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.noop)
    return {'stop': exc_name(send_stop_job_command, conn, job.id), 'status': sv(job.get_status())}


# ==== cancel / requeue / delete =================================================================

@scenario
def scenario_cancel_queued_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.record, 'c')
    other = q.enqueue(cj.record, 'o')
    job.cancel()
    obs = {
        'state': job_state(job),
        'is_canceled': bool(job.is_canceled),
        'exists': Job.exists(job.id, connection=conn),
        'queue_is_other': q.get_job_ids() == [other.id],
        'cancel_again': exc_name(job.cancel),
        'canceled_ids_match': q.canceled_job_registry.get_job_ids() == [job.id],
    }
    work(conn, q)
    obs['calls'] = list(cj.CALLS)
    obs['after_work'] = sv(job.get_status())
    return obs


@scenario
def scenario_cancel_job_function(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.noop)
    cancel_job(job.id, connection=conn)
    return {'state': job_state(job)}


@scenario
def scenario_cancel_deferred_and_scheduled(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.noop)
    child = q.enqueue(cj.noop, depends_on=parent)
    sched = q.enqueue_in(datetime.timedelta(seconds=100), cj.noop)
    child.cancel()
    sched.cancel()
    work(conn, q)
    return {'child': job_state(child), 'sched': job_state(sched)}


@scenario
def scenario_requeue_failed_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.flaky, 'rq1', 1)
    work(conn, q)
    failed = job_state(job)
    returned = requeue_job(job.id, connection=conn)
    job.refresh()
    mid = {'state': job_state(job), 'started_at': job.started_at, 'ended_at': job.ended_at,
           'returned_same_id': returned.id == job.id}
    work(conn, q)
    return {'failed': failed, 'mid': mid, 'final': job_state(job), 'value': job.return_value(),
            'results': result_types(job)}


@scenario
def scenario_requeue_not_failed(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.noop)
    obs = {'requeue_job_queued': exc_name(requeue_job, job.id, connection=conn),
           'job_requeue_queued': exc_name(job.requeue)}
    work(conn, q)
    obs['requeue_finished'] = exc_name(job.requeue)
    obs['requeue_missing'] = exc_name(requeue_job, 'nope', connection=conn)
    obs['queue_count'] = q.count
    return obs


@scenario
def scenario_requeue_at_front(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail, job_id='f')
    work(conn, q)
    q.enqueue(cj.noop, job_id='n')
    job.requeue(at_front=True)
    return {'queue': q.get_job_ids()}


@scenario
def scenario_delete_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.noop)
    keep = q.enqueue(cj.noop)
    job.delete()
    return {
        'exists': Job.exists(job.id, connection=conn),
        'fetch': exc_name(Job.fetch, job.id, connection=conn),
        'get_status': exc_name(job.get_status),
        'queue_is_keep': q.get_job_ids() == [keep.id],
        'fetch_job': q.fetch_job(job.id),
        'count': q.count,
    }


@scenario
def scenario_delete_failed_job(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.fail)
    work(conn, q)
    job.delete()
    return {'in_failed': job.id in q.failed_job_registry, 'failed_count': q.failed_job_registry.count,
            'results': Result.count(job)}


@scenario
def scenario_delete_with_dependents(conn):
    q = Queue('default', connection=conn)
    parent = q.enqueue(cj.noop)
    child = q.enqueue(cj.noop, depends_on=parent)
    parent.delete(delete_dependents=True)
    return {'parent_exists': Job.exists(parent.id, connection=conn),
            'child_exists': Job.exists(child.id, connection=conn),
            'deferred_count': q.deferred_job_registry.count}


# ==== Job class =================================================================================

@scenario
def scenario_job_fetch_many_exists(conn):
    q = Queue('default', connection=conn)
    a = q.enqueue(cj.add, 1, 2, job_id='fa')
    q.enqueue(cj.add, 3, 4, job_id='fb')
    many = Job.fetch_many(['fa', 'missing', 'fb'], connection=conn)
    return {
        'many': [None if j is None else j.id for j in many],
        'exists': [Job.exists('fa', connection=conn), Job.exists('missing', connection=conn)],
        'fetch_missing': exc_name(Job.fetch, 'missing', connection=conn),
        'fresh_object': Job.fetch('fa', connection=conn) is not a,
        'equal_by_id': Job.fetch('fa', connection=conn) == a,
        'hash_by_id': hash(Job.fetch('fa', connection=conn)) == hash(a),
        'args': list(Job.fetch('fb', connection=conn).args),
    }


@scenario
def scenario_job_constructor_names_existing(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.add, 1, 2, job_id='existing')
    j = Job('existing', connection=conn)
    obs = {'id': j.id, 'status': sv(j.get_status())}
    j.refresh()
    obs['func_name'] = j.func_name
    obs['missing_refresh'] = exc_name(Job('nope', connection=conn).refresh)
    return obs


@scenario
def scenario_job_str_repr(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, job_id='sj')
    return {'str': str(job), 'repr_prefix': repr(job).startswith("Job('sj'"),
            'get_call_string': job.get_call_string()}


@scenario
def scenario_job_predicates(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2)
    names = ['is_queued', 'is_started', 'is_finished', 'is_failed', 'is_deferred',
             'is_canceled', 'is_scheduled', 'is_stopped']
    before = {n: bool(getattr(job, n)) for n in names}
    work(conn, q)
    after = {n: bool(getattr(job, n)) for n in names}
    return {'before': before, 'after': after}


@scenario
def scenario_job_position(conn):
    q = Queue('default', connection=conn)
    jobs = [q.enqueue(cj.noop) for _ in range(3)]
    other = Queue('other', connection=conn).enqueue(cj.noop)
    return {
        'positions': [j.get_position() for j in jobs],
        'queue_positions': [q.get_job_position(j) for j in jobs],
        'by_id': q.get_job_position(jobs[2].id),
        'other_in_q': q.get_job_position(other),
    }


@scenario
def scenario_job_origin_and_timestamps(conn):
    q = Queue('somewhere', connection=conn)
    job = q.enqueue(cj.add, 1, 2)
    before = [job.started_at is None, job.ended_at is None, job.enqueued_at is not None]
    work(conn, q)
    job.refresh()
    return {'origin': job.origin, 'before': before,
            'after': [job.started_at is not None, job.ended_at is not None,
                      job.enqueued_at <= job.started_at <= job.ended_at,
                      job.created_at <= job.enqueued_at]}


# ==== Queue ======================================================================================

@scenario
def scenario_queue_str_repr_eq(conn):
    q = Queue('q1', connection=conn)
    q_same = Queue('q1', connection=conn)
    q2 = Queue('q2', connection=conn)
    return {
        'repr': repr(q), 'str': str(q), 'name': q.name,
        'eq': q == q_same, 'ne': q == q2, 'lt': q < q2,
        'eq_string': exc_name(lambda: q == 'q1'),
        'bool_empty': bool(q),
        'default_name': Queue(connection=conn).name,
        'default_timeout': Queue.DEFAULT_TIMEOUT,
        'unknown_kwarg': Queue('k', connection=conn, surprise=1).name,
    }


@scenario
def scenario_queue_empty_deletes(conn):
    q = Queue('default', connection=conn)
    jobs = [q.enqueue(cj.noop) for _ in range(3)]
    parent = q.enqueue(cj.noop, job_id='ep')
    child = q.enqueue(cj.noop, depends_on=parent)
    sched = q.enqueue_in(datetime.timedelta(seconds=100), cj.noop)
    obs = {'is_empty_before': q.is_empty(), 'count_before': q.count}
    removed = q.empty()
    obs.update({
        'removed': removed,
        'is_empty_after': q.is_empty(),
        'count_after': q.count,
        'jobs_exist': [Job.exists(j.id, connection=conn) for j in jobs],
        'child_exists': Job.exists(child.id, connection=conn),
        'child_deferred': child.id in q.deferred_job_registry,
        'sched_scheduled': sched.id in q.scheduled_job_registry,
        'empty_again': q.empty(),
    })
    return obs


@scenario
def scenario_queue_count_property(conn):
    q = Queue('default', connection=conn)
    q.enqueue(cj.noop)
    q.enqueue(cj.noop)
    return {'count': q.count, 'eq': q.count == 2, 'plus_one': q.count + 1, 'len': len(q),
            'int': int(q.count), 'is_empty': q.is_empty()}


@scenario
def scenario_queue_jobs_and_ids(conn):
    q = Queue('default', connection=conn)
    for i in range(4):
        q.enqueue(cj.noop, job_id='j%d' % i)
    return {
        'get_job_ids': q.get_job_ids(),
        'job_ids': q.job_ids,
        'offset_length': q.get_job_ids(1, 2),
        'get_jobs': [j.id for j in q.get_jobs()],
        'jobs': [j.id for j in q.jobs],
        'jobs_offset': [j.id for j in q.get_jobs(offset=2)],
    }


@scenario
def scenario_queue_fetch_job(conn):
    q1 = Queue('one', connection=conn)
    q2 = Queue('two', connection=conn)
    j1 = q1.enqueue(cj.noop)
    j2 = q2.enqueue(cj.noop)
    f = q1.fetch_job(j1.id)
    return {
        'own': f is not None and f.id == j1.id,
        'own_origin': f.origin,
        'other_queue': q1.fetch_job(j2.id),
        'missing': q1.fetch_job('missing'),
    }


@scenario
def scenario_queue_remove_and_delete(conn):
    q = Queue('default', connection=conn)
    a = q.enqueue(cj.noop, job_id='ra')
    q.enqueue(cj.noop, job_id='rb')
    q.remove(a)
    obs = {'after_remove': q.get_job_ids(), 'a_exists': Job.exists('ra', connection=conn)}
    q.remove('rb')
    obs['after_remove_id'] = q.get_job_ids()
    q2 = Queue('gone', connection=conn)
    q2.enqueue(cj.noop, job_id='g1')
    q2.delete(delete_jobs=True)
    obs['deleted_job_exists'] = Job.exists('g1', connection=conn)
    obs['all_names'] = sorted(x.name for x in Queue.all(connection=conn))
    return obs


@scenario
def scenario_queue_all(conn):
    Queue('qa', connection=conn).enqueue(cj.noop)
    Queue('qb', connection=conn).enqueue(cj.noop)
    Queue('unused', connection=conn)
    pa = Queue('qa', connection=conn).enqueue(cj.noop)
    Queue('qc', connection=conn).enqueue(cj.noop, depends_on=pa)
    return {'names': sorted(q.name for q in Queue.all(connection=conn))}


@scenario
def scenario_queue_json_serializer(conn):
    q = Queue('json', connection=conn, serializer=JSONSerializer)
    job = q.enqueue(cj.echo, 1, 'a', k=[1, 2], meta={'m': [1]})
    q2 = Queue('json2', connection=conn, serializer='json')
    job2 = q2.enqueue(cj.add, 1, 2)
    # RQ stores results with the worker's serializer, so the worker needs it too.
    SimpleWorker([q, q2], connection=conn, serializer=JSONSerializer).work(burst=True)
    fetched = Job.fetch(job.id, connection=conn, serializer=JSONSerializer)
    return {'result': fetched.return_value(), 'meta': fetched.meta,
            'result2': Job.fetch(job2.id, connection=conn, serializer='json').return_value()}


# ==== registries ================================================================================

@scenario
def scenario_registries_overview(conn):
    q = Queue('default', connection=conn)
    ok = q.enqueue(cj.add, 1, 2, job_id='ok')
    bad = q.enqueue(cj.fail, job_id='bad')
    parent = q.enqueue(cj.noop, job_id='later_parent', at_front=False)
    q.remove(parent)  # keep the parent pending forever
    deferred = q.enqueue(cj.noop, job_id='deferred', depends_on=parent)
    scheduled = q.enqueue_in(datetime.timedelta(seconds=100), cj.noop, job_id='scheduled')
    canceled = q.enqueue(cj.noop, job_id='canceled')
    canceled.cancel()
    work(conn, q)
    regs = {
        'started': StartedJobRegistry('default', connection=conn),
        'finished': FinishedJobRegistry('default', connection=conn),
        'failed': FailedJobRegistry(queue=q),
        'deferred': DeferredJobRegistry('default', connection=conn),
        'scheduled': ScheduledJobRegistry(queue=q),
        'canceled': q.canceled_job_registry,
    }
    obs = {}
    for name, reg in regs.items():
        obs[name] = {
            'count': reg.count,
            'len': len(reg),
            'ids': reg.get_job_ids(),
            'name': reg.name,
            'contains_job_objects': sorted(
                label for label, j in [('ok', ok), ('bad', bad), ('deferred', deferred),
                                       ('scheduled', scheduled), ('canceled', canceled)]
                if j in reg),
        }
    obs['ok_in_finished_by_id'] = 'ok' in regs['finished']
    obs['same_as_queue_property'] = (q.finished_job_registry.get_job_ids()
                                     == regs['finished'].get_job_ids())
    return obs


@scenario
def scenario_registry_requeue(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.flaky, 'reg', 1, job_id='rr')
    work(conn, q)
    reg = q.failed_job_registry
    obs = {'not_in_finished': exc_name(q.finished_job_registry.requeue, job)}
    reg.requeue('rr')
    obs['after_requeue'] = job_state(job)
    obs['requeue_again'] = exc_name(reg.requeue, 'rr')
    work(conn, q)
    obs['final'] = job_state(job)
    return obs


@scenario
def scenario_registry_remove(conn):
    q = Queue('default', connection=conn)
    a = q.enqueue(cj.fail, job_id='fa')
    b = q.enqueue(cj.fail, job_id='fb')
    work(conn, q)
    reg = q.failed_job_registry
    reg.remove(a)
    reg.remove('fb', delete_job=True)
    return {
        'ids': reg.get_job_ids(),
        'a_exists': Job.exists('fa', connection=conn),
        'b_exists': Job.exists('fb', connection=conn),
        'a_status': sv(a.get_status()),
        'b_status': exc_name(b.get_status),
    }


@scenario
def scenario_registry_order_and_cleanup(conn):
    q = Queue('default', connection=conn)
    for i in range(3):
        q.enqueue(cj.noop, job_id='o%d' % i)
    work(conn, q)
    reg = q.finished_job_registry
    ids = reg.get_job_ids()
    for r in (q.started_job_registry, reg, q.failed_job_registry, q.deferred_job_registry,
              q.scheduled_job_registry):
        r.cleanup()
    return {'ids': ids, 'desc': reg.get_job_ids(desc=True), 'after_cleanup': reg.get_job_ids(),
            'get_job_count': reg.get_job_count(), 'slice': reg.get_job_ids(0, 0)}


@scenario
def scenario_scheduled_registry_times(conn):
    q = Queue('default', connection=conn)
    at = datetime.datetime(2100, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    job = q.enqueue_at(at, cj.noop, job_id='s1')
    other = q.enqueue(cj.noop, job_id='s2')
    reg = q.scheduled_job_registry
    t = reg.get_scheduled_time(job)
    return {
        'scheduled_time': t.isoformat(),
        'by_id': reg.get_scheduled_time('s1').isoformat(),
        'not_scheduled': exc_name(reg.get_scheduled_time, other),
        'aware': t.tzinfo is not None,
    }


@scenario
def scenario_registry_get_queue(conn):
    q = Queue('rq_name', connection=conn)
    reg = FinishedJobRegistry(queue=q)
    return {'queue_name': reg.get_queue().name, 'reg_name': reg.name}


# ==== scheduling ================================================================================

@scenario
def scenario_enqueue_at_future(conn):
    q = Queue('default', connection=conn)
    at = utcnow() + datetime.timedelta(seconds=200)
    job = q.enqueue_at(at, cj.record, 'future')
    obs = {'state': job_state(job), 'is_scheduled': bool(job.is_scheduled),
           'enqueued_at': job.enqueued_at, 'count': q.count,
           'delta': delta10(q.scheduled_job_registry.get_scheduled_time(job))}
    obs['work'] = work(conn, q)
    obs['work_with_scheduler'] = work(conn, q, with_scheduler=True)
    obs['after'] = job_state(job)
    obs['calls'] = list(cj.CALLS)
    return obs


@scenario
def scenario_enqueue_in(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue_in(datetime.timedelta(seconds=300), cj.noop, job_id='in1', meta={'a': 1})
    return {'state': job_state(job), 'id': job.id, 'meta': job.meta,
            'delta': delta10(q.scheduled_job_registry.get_scheduled_time(job))}


@scenario
def scenario_enqueue_at_naive_is_local(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue_at(datetime.datetime.now() + datetime.timedelta(seconds=400), cj.noop)
    return {'delta': delta10(q.scheduled_job_registry.get_scheduled_time(job))}


@scenario
def scenario_enqueue_at_past_with_scheduler(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue_at(utcnow() - datetime.timedelta(seconds=100), cj.record, 'past')
    before = job_state(job)
    ran = work(conn, q, with_scheduler=True)
    return {'before': before, 'with_scheduler': ran, 'after': job_state(job),
            'calls': list(cj.CALLS)}


@scenario
def scenario_enqueue_at_past_without_scheduler(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue_at(utcnow() - datetime.timedelta(seconds=100), cj.record, 'past')
    ran = work(conn, q)  # RQ's default is with_scheduler=False
    return {'work': ran, 'after': job_state(job), 'calls': list(cj.CALLS)}


@scenario
def scenario_scheduled_requeue_runs(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue_in(datetime.timedelta(seconds=100), cj.add, 2, 2)
    q.scheduled_job_registry.requeue(job)
    mid = job_state(job)
    work(conn, q)
    return {'mid': mid, 'after': job_state(job), 'value': job.return_value()}


# ==== decorator and group =======================================================================

@scenario
def scenario_job_decorator(conn):
    q = Queue('deco', connection=conn)
    decorated = job_decorator(q, connection=conn, timeout=45)(cj.decorated_target)
    job = decorated.delay(3, 4)
    job2 = decorated.enqueue(5, 6, job_id='deco2')
    named = job_decorator('deco_named', connection=conn)(cj.add)
    job3 = named.delay(1, 1)
    obs = {
        'same_function': decorated is cj.decorated_target,
        'direct_call': decorated(2, 3),
        'origin': job.origin,
        'timeout': job.timeout,
        'result_ttl': job.result_ttl,
        'description': job.description,
        'job2_id': job2.id,
        'job3_origin': job3.origin,
        'count': q.count,
    }
    work(conn, q)
    obs['results'] = [job.return_value(), job2.return_value()]
    return obs


@scenario
def scenario_group(conn):
    q = Queue('default', connection=conn)
    g = Group.create(connection=conn, name='g1')
    jobs = g.enqueue_many(q, [Queue.prepare_data(cj.add, (1, 2), job_id='g_a'),
                              Queue.prepare_data(cj.add, (3, 4), job_id='g_b')])
    fetched = Group.fetch('g1', connection=conn)
    obs = {
        'repr': repr(g),
        'name': g.name,
        'group_ids': [j.group_id for j in jobs],
        'fetched_ids': sorted(j.id for j in Group.fetch('g1', connection=conn).get_jobs()),
        'fetched_name': fetched.name,
        'missing': exc_name(Group.fetch, 'nope', connection=conn),
        'all': sorted(x.name for x in Group.all(connection=conn)),
        'queue': q.get_job_ids(),
    }
    work(conn, q)
    obs['results'] = [j.return_value() for j in jobs]
    obs['fetched_group_id'] = Job.fetch('g_a', connection=conn).group_id
    return obs


# ==== misc ======================================================================================

@scenario
def scenario_job_status_enum(conn):
    return {
        'values': sorted(s.value for s in JobStatus),
        'eq_string': JobStatus.FINISHED == 'finished',
        'is_str': isinstance(JobStatus.QUEUED, str),
        'lookup': JobStatus('failed').name,
    }


@scenario
def scenario_import_surface(conn):
    import importlib
    wanted = {
        'rq': ['Callback', 'Queue', 'Repeat', 'Retry', 'SimpleWorker', 'Worker', 'cancel_job',
               'get_current_job', 'requeue_job'],
        'rq.job': ['Callback', 'Dependency', 'Job', 'JobStatus', 'Retry', 'cancel_job',
                   'get_current_job', 'requeue_job'],
        'rq.queue': ['Queue'],
        'rq.worker': ['SimpleWorker', 'Worker'],
        'rq.registry': ['CanceledJobRegistry', 'DeferredJobRegistry', 'FailedJobRegistry',
                        'FinishedJobRegistry', 'ScheduledJobRegistry', 'StartedJobRegistry'],
        'rq.exceptions': ['DeserializationError', 'DequeueTimeout', 'DuplicateJobError',
                          'InvalidJobOperation', 'NoSuchGroupError', 'NoSuchJobError',
                          'AbandonedJobError', 'ShutDownImminentException', 'TimeoutFormatError'],
        'rq.timeouts': ['JobTimeoutException'],
        'rq.decorators': ['job'],
        'rq.results': ['Result'],
        'rq.serializers': ['DefaultSerializer', 'JSONSerializer'],
        'rq.command': ['send_shutdown_command', 'send_stop_job_command'],
        'rq.group': ['Group'],
        'rq.repeat': ['Repeat'],
        'rq.worker_pool': ['WorkerPool'],
    }
    missing = []
    for mod, names in wanted.items():
        try:
            m = importlib.import_module(mod)
        except ImportError:
            missing.append(mod)
            continue
        missing.extend('%s.%s' % (mod, n) for n in names if not hasattr(m, n))
    return {'missing': missing,
            'shutdown_is_base_exception': not issubclass(exceptions.ShutDownImminentException,
                                                         Exception)}


@scenario
def scenario_job_kwarg_named_like_option(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.echo, name='n', queue='q', connection='c')
    work(conn, q)
    return {'result': job.return_value()}


@scenario
def scenario_job_ttl_on_queued(conn):
    q = Queue('default', connection=conn)
    job = q.enqueue(cj.add, 1, 2, ttl=100)
    obs = {'ttl': job.ttl, 'state': job_state(job)}
    work(conn, q)
    obs['after'] = job_state(job)
    obs['value'] = job.return_value()
    return obs


# ==== runner ====================================================================================

def _load_extra_scenarios():
    """Registers the ``scenario_*`` functions of every ``compat_scenarios_<area>.py`` beside
    this file, after the built-in ones, in file and definition order.  Each such module gets
    this running module as its global ``base`` (its ``Queue``, ``work``, ``cj``... are set by
    then) and may define ``KNOWN_DIFFERENCES`` (see test_rq_compat.py)."""
    import glob
    import importlib.util
    here = sys.modules[__name__]
    for path in sorted(glob.glob(os.path.join(HERE, 'compat_scenarios_*.py'))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        module.base = here
        spec.loader.exec_module(module)
        for attr, fn in vars(module).items():
            if attr.startswith('scenario_') and callable(fn):
                SCENARIOS[attr[len('scenario_'):]] = fn


def run_all(backend, port=None, only=None, timing=False, shard=(0, 1), db=0):
    if backend == 'emulator':
        sys.path.insert(0, ROOT)
        import rq_emulator
        rq_emulator.install_as_rq()
    _import_rq()
    _load_extra_scenarios()
    if backend == 'real':
        import redis
        client = redis.Redis(host='127.0.0.1', port=port, db=db)
    out = {}
    for index, (name, fn) in enumerate(SCENARIOS.items()):
        if only and name not in only:
            continue
        if index % shard[1] != shard[0]:
            continue
        cj.CALLS.clear()
        cj.COUNTERS.clear()
        started = time.monotonic()
        try:
            if backend == 'real':
                client.flushdb()
                conn = client
            else:
                conn = rq_emulator.MemoryStore()
            obs = fn(conn)
            json.dumps(obs)  # must be serialisable: fail this scenario, not the run
            out[name] = obs
        except Exception as e:  # noqa: BLE001 - reported as data
            traceback.print_exc(file=sys.stderr)
            out[name] = {'error': '%s: %s' % (type(e).__name__, e)}
        if timing:
            sys.stderr.write('[compat] %-45s %.3fs\n' % (name, time.monotonic() - started))
    return out


def _leaf_diffs(real, emu, path=''):
    """Yields (path, real value, emulator value) for each differing leaf."""
    if isinstance(real, dict) and isinstance(emu, dict):
        for key in sorted(set(real) | set(emu)):
            sub = '%s.%s' % (path, key) if path else str(key)
            if key not in real:
                yield sub, '(absent)', emu[key]
            elif key not in emu:
                yield sub, real[key], '(absent)'
            else:
                yield from _leaf_diffs(real[key], emu[key], sub)
    elif real != emu:
        yield path or '(whole)', real, emu


def diff_report(real, emu, skip=()):
    """A Markdown list of the scenarios whose observations differ."""
    lines = []
    for name in sorted(set(real) | set(emu)):
        if name in skip:
            continue
        r, e = real.get(name, '(absent)'), emu.get(name, '(absent)')
        if r == e:
            continue
        lines.append('### `%s`' % name)
        for path, rv, ev in _leaf_diffs(r, e):
            lines.append('- `%s`: real `%s` / emulator `%s`'
                         % (path, json.dumps(rv, sort_keys=True), json.dumps(ev, sort_keys=True)))
        lines.append('')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backend', choices=['real', 'emulator'])
    parser.add_argument('--port', type=int, default=6379)
    parser.add_argument('--only', action='append')
    parser.add_argument('--shard', default='0/1', metavar='K/N',
                        help='run only the scenarios whose index %% N == K (for parallel runs)')
    parser.add_argument('--db', type=int, default=0,
                        help='redis database number (give each parallel shard its own)')
    parser.add_argument('--timing', action='store_true', help='print each scenario\'s duration to stderr')
    parser.add_argument('--diff', nargs=2, metavar=('REAL_JSON', 'EMULATOR_JSON'),
                        help='print a Markdown list of the differences between two outputs')
    args = parser.parse_args(argv)
    if args.diff:
        with open(args.diff[0]) as f_real, open(args.diff[1]) as f_emu:
            print(diff_report(json.load(f_real), json.load(f_emu)))
        return 0
    # Workers and libraries may log to stdout: keep fd 1 for the JSON alone.
    json_out = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    warnings.simplefilter('ignore')
    k, n = (int(x) for x in args.shard.split('/'))
    out = run_all(args.backend, args.port, args.only, args.timing, (k, n), args.db)
    json_out.write(json.dumps(out, sort_keys=True, default=str))
    json_out.write('\n')
    json_out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
