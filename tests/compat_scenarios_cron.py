"""Dual-run scenarios for RQ's cron (rq.cron, its registries) and rq.scheduler.RQScheduler.

``base`` is the running tests/compat_scenarios.py module (set before this file runs).
Observations hold no ids or absolute times: only relative facts (intervals rounded to tens of
seconds, datetimes computed from fixed starting points).
"""

import datetime
import os
import tempfile

UTC = datetime.timezone.utc


def _cron():
    import rq.cron
    return rq.cron


def _jobs():
    import compat_jobs_cron as jobs
    return jobs


def _job_dict(cron_job):
    data = cron_job.to_dict()
    data['latest_enqueue_time'] = data['latest_enqueue_time'] is not None
    data['next_enqueue_time'] = data['next_enqueue_time'] is not None
    return data


def scenario_cron_register_and_to_dict(conn):
    cron = _cron()
    scheduler = cron.CronScheduler(connection=conn, name='cron-a')
    every = scheduler.register(_jobs().tick, 'maintenance', args=('a',), kwargs={'x': 1},
                               interval=300, job_timeout=30, result_ttl=60, ttl=90,
                               failure_ttl=120, meta={'k': 'v'})
    tuesday = scheduler.register(_jobs().tock, 'email', cron='30 10 * * 2', name='newsletter')
    back = cron.CronJob.from_dict(every.to_dict())
    return {
        'jobs': [_job_dict(job) for job in scheduler.get_jobs()],
        'same_objects': scheduler.get_jobs() == [every, tuesday],
        'cron_next_is_utc_tuesday_1030': [tuesday.next_enqueue_time.tzinfo is not None,
                                          tuesday.next_enqueue_time.astimezone(UTC).weekday(),
                                          tuesday.next_enqueue_time.astimezone(UTC).hour,
                                          tuesday.next_enqueue_time.astimezone(UTC).minute],
        'interval_should_run': every.should_run(),
        'cron_should_run': tuesday.should_run(),
        'from_dict': [back.func_name, back.name, back.args, back.kwargs, back.interval,
                      back.func is None, sorted(back.job_options)],
        'name': scheduler.name,
        'key': scheduler.key,
    }


def scenario_cron_register_validation(conn):
    cron = _cron()
    scheduler = cron.CronScheduler(connection=conn)
    out = {}
    cases = {'both': dict(interval=10, cron='* * * * *'), 'neither': {},
             'four_fields': dict(cron='* * * *'), 'out_of_range': dict(cron='60 * * * *'),
             'bad_name': dict(cron='0 0 * * funday'), 'never': dict(cron='0 0 30 2 *')}
    for label, kwargs in cases.items():
        try:
            scheduler.register(_jobs().tick, 'default', **kwargs)
            out[label] = 'registered'
        except ValueError as exc:
            out[label] = 'ValueError' if label not in ('both', 'neither') else str(exc)
    out['registered'] = len(scheduler.get_jobs())
    return out


def scenario_cron_enqueue_jobs_interval(conn):
    cron = _cron()
    scheduler = cron.CronScheduler(connection=conn, name='cron-b')
    cron_job = scheduler.register(_jobs().tick, 'cronq', args=('x',), interval=100,
                                  job_timeout=30, result_ttl=60, ttl=900, failure_ttl=120,
                                  meta={'m': 1})
    first = scheduler.enqueue_jobs()
    second = scheduler.enqueue_jobs()
    queue = base.Queue('cronq', connection=conn)
    job = queue.jobs[0]
    out = {
        'first': [j is cron_job for j in first], 'second': len(second), 'count': queue.count,
        'job': [job.func_name, list(job.args), job.timeout, job.result_ttl, job.ttl,
                job.failure_ttl, job.meta],
        'should_run_after': cron_job.should_run(),
        'next_minus_latest': (cron_job.next_enqueue_time
                              - cron_job.latest_enqueue_time).total_seconds(),
        'history': cron_job.get_job_ids(conn) == [job.id],
        'history_key': cron_job.job_history_key,
        'sleep': int(round(scheduler.calculate_sleep_interval(), -1)),
    }
    import rq.cron_job_registry as registry
    out['registry_names'] = registry.get_names(conn)
    out['registry_key'] = registry.get_registry_key()
    base.work(conn, queue)
    out['result'] = job.return_value()
    return out


def scenario_cron_missed_runs_enqueue_once(conn):
    """A scheduler that comes back after several due runs enqueues each job once."""
    cron = _cron()
    scheduler = cron.CronScheduler(connection=conn)
    every = scheduler.register(_jobs().tick, 'missed', interval=100)
    minutely = scheduler.register(_jobs().tock, 'missed', cron='* * * * *')
    scheduler.enqueue_jobs()
    queue = base.Queue('missed', connection=conn)
    before = queue.count
    ago = base.utcnow() - datetime.timedelta(seconds=1000)
    every.set_enqueue_time(ago)
    minutely.set_enqueue_time(ago)
    due = [every.should_run(), minutely.should_run()]
    enqueued = scheduler.enqueue_jobs()
    return {
        'before': before, 'due': due, 'enqueued': len(enqueued),
        'after': queue.count - before,
        'interval_next_in': base.delta10(every.next_enqueue_time),
        'cron_next_within_a_minute': 0 < (minutely.next_enqueue_time
                                          - base.utcnow()).total_seconds() <= 60,
        'again': len(scheduler.enqueue_jobs()),
    }


def scenario_cron_next_time_arithmetic(conn):
    cron = _cron()
    cases = [('30 10 * * 2', datetime.datetime(2024, 2, 27, 10, 30, tzinfo=UTC)),
             ('0 0 29 2 *', datetime.datetime(2025, 3, 1, tzinfo=UTC)),
             ('0 0 31 * *', datetime.datetime(2024, 4, 1, tzinfo=UTC)),
             ('0 0 1,15 * 1', datetime.datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
             ('*/15 9-17 * * mon-fri', datetime.datetime(2024, 3, 1, 17, 50, tzinfo=UTC)),
             ('59 23 31 12 *', datetime.datetime(2024, 12, 31, 23, 59, tzinfo=UTC)),
             ('0 12 * * 7', datetime.datetime(2024, 3, 1, tzinfo=UTC)),
             ('@monthly', datetime.datetime(2024, 1, 31, 12, tzinfo=UTC))]
    out = {}
    for expression, start in cases:
        job = cron.CronJob('q', func=_jobs().tick, cron=expression)
        times = []
        for _ in range(3):
            job.set_enqueue_time(start)
            start = job.next_enqueue_time
            times.append(start.astimezone(UTC).isoformat())
        out[expression] = times
    interval = cron.CronJob('q', func=_jobs().tick, interval=90)
    out['interval_never_ran'] = interval.get_next_enqueue_time() == datetime.datetime.max
    interval.set_enqueue_time(datetime.datetime(2024, 2, 28, 23, 59, tzinfo=UTC))
    out['interval'] = interval.next_enqueue_time.isoformat()
    return out


def scenario_cron_scheduler_registry(conn):
    cron = _cron()
    import rq.cron_scheduler_registry as registry
    from rq.exceptions import DuplicateSchedulerError, SchedulerNotFound
    scheduler = cron.CronScheduler(connection=conn, name='cron-c')
    scheduler.register(_jobs().tick, 'q', interval=60)
    out = {'before': [s.name for s in cron.CronScheduler.all(conn)]}
    scheduler.register_birth()
    out['after_birth'] = [s.name for s in cron.CronScheduler.all(conn)]
    out['keys'] = registry.get_keys(conn)
    out['registry_key'] = registry.get_registry_key()
    try:
        scheduler.register_birth()
        out['twice'] = 'no error'
    except DuplicateSchedulerError as exc:
        out['twice'] = str(exc)
    scheduler.heartbeat()
    fetched = cron.CronScheduler.fetch('cron-c', conn)
    out['fetched'] = [fetched.name, fetched.hostname == scheduler.hostname,
                      fetched.pid == scheduler.pid, fetched.config_file,
                      [j.func_name for j in fetched.get_jobs()],
                      fetched.get_jobs()[0].func is None, fetched.last_heartbeat is not None,
                      base.delta10(fetched.created_at)]
    out['equal'] = fetched == scheduler
    scheduler.register_death()
    out['after_death'] = [s.name for s in cron.CronScheduler.all(conn)]
    try:
        scheduler.register_death()
    except SchedulerNotFound as exc:
        out['death_twice'] = str(exc)
    try:
        cron.CronScheduler.fetch('nobody', conn)
    except SchedulerNotFound as exc:
        out['fetch_missing'] = str(exc)
    return out


def scenario_cron_load_config_from_file(conn):
    cron = _cron()
    text = ("from rq import cron\n"
            "from compat_jobs_cron import tick, tock\n"
            "cron.register(tick, queue_name='maintenance', interval=1800)\n"
            "cron.register(tock, queue_name='email', args=('weekly',),\n"
            "              kwargs={'template': 'n.html'}, cron='30 10 * * 2')\n")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'cron_config.py')
        with open(path, 'w') as f:
            f.write(text)
        scheduler = cron.CronScheduler(connection=conn)
        scheduler.load_config_from_file(path)
        jobs = [[j.func_name, j.queue_name, j.interval, j.cron, list(j.args), j.kwargs]
                for j in scheduler.get_jobs()]
        again = cron.CronScheduler(connection=conn)
        again.load_config_from_file(path)
        created = cron.create_cron(conn)
    try:
        cron.CronScheduler(connection=conn).load_config_from_file('/no/such/cron_config.py')
        missing = 'loaded'
    except Exception as exc:    # noqa: BLE001 - the type is the observation
        missing = type(exc).__name__
    return {'jobs': jobs, 'config_file': scheduler.config_file == path,
            'again': len(again.get_jobs()), 'create_cron_after_load': len(created.get_jobs()),
            'missing': missing}


def scenario_cron_module_register_and_create_cron(conn):
    cron = _cron()
    data = cron.register(_jobs().tick, 'q', interval=5, name='five')
    scheduler = cron.create_cron(conn)
    second = cron.create_cron(conn)
    return {'data': sorted(data), 'jobs': [j.name for j in scheduler.get_jobs()],
            'second': len(second.get_jobs())}


def scenario_cron_job_history(conn):
    cron = _cron()
    scheduler = cron.CronScheduler(connection=conn)
    cron_job = scheduler.register(_jobs().tick, 'hist', interval=10, name='hist-job')
    jobs = [cron_job.enqueue(conn) for _ in range(3)]
    labels = {'j%d' % i: job for i, job in enumerate(jobs)}
    ids = cron_job.get_job_ids(conn)
    return {'all': sorted(base.ids_to_labels(ids, labels)), 'count': len(ids),
            'slice': len(cron.get_cron_job_ids('hist-job', conn, 0, 1)),
            'key': cron.get_cron_job_history_key('hist-job')}


def scenario_rq_scheduler_locks(conn):
    from rq.scheduler import RQScheduler
    one = RQScheduler(['a', 'b'], connection=conn, name='one')
    two = RQScheduler(['b', 'c'], connection=conn, name='two')
    out = {'key': RQScheduler.get_locking_key('a'), 'status': str(one.status.value),
           'one': sorted(one.acquire_locks()), 'two': sorted(two.acquire_locks())}
    out['one_again'] = sorted(one.acquire_locks())
    one.release_locks()
    out['two_after_release'] = sorted(two.acquire_locks())
    out['acquired'] = [sorted(one.acquired_locks), sorted(two.acquired_locks)]
    out['should_reacquire'] = [one.should_reacquire_locks, two.should_reacquire_locks]
    two.heartbeat()
    two.stop()
    out['stopped'] = str(two.status.value)
    return out


def scenario_rq_scheduler_enqueue_scheduled_jobs(conn):
    from rq.scheduler import RQScheduler
    queue = base.Queue('sched', connection=conn)
    past = base.utcnow() - datetime.timedelta(seconds=30)
    job = queue.enqueue_at(past, _jobs().tick, 'due')
    later = queue.enqueue_in(datetime.timedelta(seconds=600), _jobs().tick, 'later')
    scheduler = RQScheduler([queue], connection=conn)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    out = {'due': base.sv(job.get_status()), 'later': base.sv(later.get_status()),
           'queued': queue.count, 'status': str(scheduler.status.value)}
    scheduler.register_birth()
    fetched = RQScheduler.fetch(scheduler.name, conn)
    out['fetched'] = [fetched.name == scheduler.name, sorted(fetched._queue_names)]
    out['death'] = scheduler.register_death()
    return out


KNOWN_DIFFERENCES = {}
