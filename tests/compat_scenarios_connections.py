"""Dual-run scenarios: what RQ code sees when it talks to Redis itself about RQ's own keys
through ``queue.connection`` (django-rq's views and tests do: ``lindex(queue.key, 0)``,
``hget(job.key, ...)``, ``lrem``, ``zcard`` on a registry, ``pipeline()``, ``flushdb()``).

On real RQ the connection is a redis client; on the emulator, an EmulatorRedis on the store.
``base`` is the running tests/compat_scenarios.py module (set by its loader).
"""


def text(value):
    """A reply as str: real redis answers bytes."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (set, list, tuple)):
        return sorted(text(v) for v in value)
    return value


def labels(values, jobs):
    by_id = {job.id: label for label, job in jobs.items()}
    return [by_id.get(text(v), '?') for v in values]


def scenario_connection_flushdb_empties_rq_data(conn):
    q = base.Queue('flushed', connection=conn)
    done = q.enqueue(base.cj.add, 1, 2)
    q.enqueue(base.cj.fail)
    base.work(conn, q)
    waiting = q.enqueue(base.cj.add, 3, 4)
    before = {'count': q.count, 'queues': len(base.Queue.all(connection=conn))}
    q.connection.flushdb()
    return {
        'before': before,
        'count': q.count,
        'queues': len(base.Queue.all(connection=conn)),
        'finished': base.FinishedJobRegistry(queue=q).count,
        'failed': base.FailedJobRegistry(queue=q).count,
        'jobs_exist': [base.Job.exists(j.id, connection=conn) for j in (done, waiting)],
        'enqueue_after': base.Queue('flushed', connection=conn).enqueue(base.cj.add, 1, 1)
        .get_status().value,
    }


def scenario_connection_queue_list_commands(conn):
    q = base.Queue('listed', connection=conn)
    jobs = {'a': q.enqueue(base.cj.add, 1, 1), 'b': q.enqueue(base.cj.add, 2, 2)}
    jobs['c'] = q.enqueue(base.cj.add, 3, 3, at_front=True)
    c = q.connection
    out = {
        'oldest': labels([c.lindex(q.key, 0)], jobs),
        'newest': labels([c.lindex(q.key, -1)], jobs),
        'beyond': c.lindex(q.key, 10),
        'llen': c.llen(q.key),
        'lrange': labels(c.lrange(q.key, 0, -1), jobs),
        'lrange_middle': labels(c.lrange(q.key, 1, 1), jobs),
    }
    out['lrem'] = c.lrem(q.key, 0, jobs['a'].id)
    out['after_lrem'] = labels(q.get_job_ids(), jobs)
    out['count'] = q.count
    return out


def scenario_connection_job_hash_fields(conn):
    q = base.Queue('hashed', connection=conn)
    job = q.enqueue(base.cj.add, 1, 2, description='adding')
    c = q.connection
    out = {field: text(c.hget(job.key, field))
           for field in ('status', 'origin', 'description', 'timeout')}
    out['has_created_at'] = bool(c.hexists(job.key, 'created_at'))
    out['has_ended_at'] = bool(c.hexists(job.key, 'ended_at'))
    base.work(conn, q)
    out['status_after'] = text(c.hget(job.key, 'status'))
    out['legacy_result'] = c.hget(job.key, 'result')
    out['has_ended_at_after'] = bool(c.hexists(job.key, 'ended_at'))
    out['missing'] = c.hget('rq:job:no-such-job', 'status')
    return out


def scenario_connection_registry_sorted_sets(conn):
    q = base.Queue('registries', connection=conn)
    jobs = {'ok': q.enqueue(base.cj.add, 1, 1), 'bad': q.enqueue(base.cj.fail)}
    base.work(conn, q)
    c = q.connection
    finished, failed = base.FinishedJobRegistry(queue=q), base.FailedJobRegistry(queue=q)
    out = {
        'finished_zcard': c.zcard(finished.key),
        'failed_members': labels(c.zrange(failed.key, 0, -1), jobs),
        'score_is_number': isinstance(c.zscore(finished.key, jobs['ok'].id), float),
        'by_score': labels(c.zrangebyscore(finished.key, '-inf', '+inf'), jobs),
    }
    out['zrem'] = c.zrem(failed.key, jobs['bad'].id)
    out['failed_count'] = failed.count
    return out


def scenario_connection_sets_exists_delete(conn):
    q = base.Queue('keys', connection=conn)
    base.Queue('keys-other', connection=conn).enqueue(base.cj.add, 2, 2)
    job = q.enqueue(base.cj.add, 1, 1)
    c = q.connection
    out = {
        'queues': [name for name in text(c.smembers('rq:queues')) if name.startswith('rq:queue:keys')],
        'exists': c.exists(job.key, q.key, 'rq:queue:keys-none'),
        'delete_job_key': c.delete(job.key),
    }
    out['job_exists'] = base.Job.exists(job.id, connection=conn)
    out['id_still_queued'] = job.id in q.get_job_ids()
    out['fetch_job'] = q.fetch_job(job.id) is None
    out['delete_queue_key'] = c.delete(base.Queue('keys-other', connection=conn).key)
    out['other_count'] = base.Queue('keys-other', connection=conn).count
    out['scheduler_lock'] = c.get('rq:scheduler-lock:keys')
    return out


def scenario_connection_pipeline(conn):
    q = base.Queue('piped', connection=conn)
    job = q.enqueue(base.cj.add, 1, 1)
    with q.connection.pipeline() as pipe:
        pipe.llen(q.key)
        pipe.hget(job.key, 'status')
        pipe.lrem(q.key, 0, job.id)
        count_before_execute = q.count
        replies = pipe.execute()
    return {'replies': [text(r) for r in replies], 'before_execute': count_before_execute,
            'after': q.count}


def scenario_connection_suspension_key(conn):
    from rq.suspension import is_suspended, suspend
    q = base.Queue('suspended', connection=conn)
    suspend(conn)
    c = q.connection
    out = {'get': text(c.get('rq:suspended')), 'exists': c.exists('rq:suspended')}
    out['delete'] = c.delete('rq:suspended')
    out['suspended_after'] = bool(is_suspended(conn))
    return out
