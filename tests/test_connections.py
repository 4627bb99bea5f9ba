"""Stores chosen by connection, the clean slate for tests, run_jobs(), RQTestMixin and
EmulatorRedis (the Redis client stand-in that answers RQ's own keys from a store).

The mapping from connections to stores is checked on plain objects shaped like redis-py's and
fakeredis's clients (always), and on the real packages when they are installed. No test
touches the network: a redis-py client is only ever read, never asked to connect.
"""
from __future__ import annotations

import datetime
import gc
import io
import threading
import unittest
import weakref

import rq_emulator
from rq_emulator import (EmulatorRedis, Job, JobStatus, ManualClock, MemoryStore, Queue,
                         RQEmulatorError, RQTestMixin, Retry, SimpleWorker, Worker,
                         is_suspended, reset_stores, run_jobs, suspend)

try:
    import redis
except ImportError:
    redis = None
try:
    import fakeredis
except ImportError:
    fakeredis = None

WAIT = 5
store_of = rq_emulator._resolve_store


class Pool:
    """What the store lookup reads from a client: ``connection_pool.connection_kwargs``."""

    def __init__(self, **connection_kwargs):
        self.connection_kwargs = connection_kwargs


class Client:
    def __init__(self, **connection_kwargs):
        self.connection_pool = Pool(**connection_kwargs)


class FakeServer:
    pass


def add(a, b):
    return a + b


def fail():
    raise ValueError('job failed on purpose')


ATTEMPTS = []


def fail_once():
    ATTEMPTS.append(1)
    if len(ATTEMPTS) == 1:
        raise KeyError('first attempt')
    return 'second attempt'


def enqueue_elsewhere(connection):
    Queue('other', connection=connection).enqueue(add, 20, 22)
    return 'enqueued'


class StoreByConnectionTests(unittest.TestCase):

    def test_none_is_the_default_store_and_a_store_is_itself(self):
        store = MemoryStore()
        self.assertIs(store_of(store), store)
        self.assertIs(store_of(None), store_of(None))
        self.assertIs(store_of(object()), store_of(None))     # not a client: the default store

    def test_same_address_and_db_share_a_store(self):
        a = Client(host='cache.example', port=6379, db=3)
        b = Client(host='cache.example', port=6379, db=3)
        self.assertIs(store_of(a), store_of(b))
        self.assertIsNot(store_of(a), store_of(None))

    def test_other_db_port_or_host_is_another_store(self):
        base = store_of(Client(host='h1.example', port=6379, db=10))
        self.assertIsNot(store_of(Client(host='h1.example', port=6379, db=11)), base)
        self.assertIsNot(store_of(Client(host='h1.example', port=6380, db=10)), base)
        self.assertIsNot(store_of(Client(host='h2.example', port=6379, db=10)), base)

    def test_unix_socket_path(self):
        a = store_of(Client(path='/tmp/rq-emulator-test.sock', db=1))
        self.assertIs(store_of(Client(path='/tmp/rq-emulator-test.sock', db=1)), a)
        self.assertIsNot(store_of(Client(path='/tmp/rq-emulator-test.sock', db=2)), a)

    def test_queue_through_db_10_is_not_visible_through_db_11(self):
        q10 = Queue('shared-name', connection=Client(host='h3.example', port=1, db=10))
        q10.enqueue(add, 1, 2)
        self.assertEqual(q10.count, 1)
        self.assertEqual(Queue('shared-name', connection=Client(host='h3.example', port=1,
                                                                  db=11)).count, 0)
        self.assertEqual(Queue('shared-name', connection=Client(host='h3.example', port=1,
                                                                  db=10)).count, 1)

    def test_each_fakeredis_server_is_a_store(self):
        server = FakeServer()
        a = store_of(Client(server=server, db=0, server_type='redis'))
        self.assertIs(store_of(Client(server=server, db=0, server_type='redis')), a)
        self.assertIsNot(store_of(Client(server=server, db=1, server_type='redis')), a)
        self.assertIsNot(store_of(Client(server=FakeServer(), db=0, server_type='redis')), a)

    def test_store_of_a_forgotten_fakeredis_server_is_collected(self):
        server = FakeServer()
        client = Client(server=server, db=0, server_type='redis')
        store = weakref.ref(store_of(client))
        Queue('q', connection=client).enqueue(add, 1, 2)
        del client, server
        gc.collect()
        self.assertIsNone(store())

    def test_fakeredis_made_up_host_store_goes_with_its_clients(self):
        client = Client(host='0123456789abcdef0123456789abcdef', port=6379, db=0,
                        server=None, server_type='redis', version=(7,))
        store = weakref.ref(store_of(client))
        del client
        gc.collect()
        self.assertIsNone(store())

    def test_fakeredis_named_host_is_kept_as_fakeredis_keeps_it(self):
        def named():
            return Client(host='named.example', port=6379, db=0, server=None,
                          server_type='redis', version=(7,))
        first = store_of(named())
        gc.collect()
        self.assertIs(store_of(named()), first)

    def test_mock_like_pool_means_the_default_store(self):
        class Anything:
            connection_pool = object()
        self.assertIs(store_of(Anything()), store_of(None))

    @unittest.skipUnless(redis, 'redis-py is not installed')
    def test_redis_py_clients(self):
        a = redis.Redis(host='localhost', port=6379, db=10)
        self.assertIs(store_of(redis.Redis(host='localhost', port=6379, db=10)), store_of(a))
        self.assertIs(store_of(redis.StrictRedis.from_url('redis://localhost:6379/10')),
                      store_of(a))
        self.assertIsNot(store_of(redis.Redis(host='localhost', port=6379, db=11)), store_of(a))
        self.assertIs(store_of(redis.Redis.from_url('unix:///tmp/x.sock?db=2')),
                      store_of(redis.Redis(unix_socket_path='/tmp/x.sock', db=2)))

    @unittest.skipUnless(fakeredis, 'fakeredis is not installed')
    def test_fakeredis_clients(self):
        one, two = fakeredis.FakeStrictRedis(), fakeredis.FakeStrictRedis()
        self.assertIsNot(store_of(one), store_of(two))
        Queue(connection=one).enqueue(add, 1, 2)
        self.assertEqual(Queue(connection=one).count, 1)
        self.assertEqual(Queue(connection=two).count, 0)
        server = fakeredis.FakeServer()
        self.assertIs(store_of(fakeredis.FakeStrictRedis(server=server)),
                      store_of(fakeredis.FakeStrictRedis(server=server)))
        self.assertIsNot(store_of(fakeredis.FakeStrictRedis(server=server, db=1)),
                         store_of(fakeredis.FakeStrictRedis(server=server)))
        if redis is not None:       # a fake server is never the real one at that address
            self.assertIsNot(store_of(fakeredis.FakeStrictRedis(host='localhost', port=6379)),
                             store_of(redis.Redis(host='localhost', port=6379)))

    @unittest.skipUnless(fakeredis, 'fakeredis is not installed')
    def test_a_fresh_fakeredis_per_test_counts_from_zero(self):
        for _ in range(2):          # what two tests see, each with its own FakeStrictRedis()
            queue = Queue(connection=fakeredis.FakeStrictRedis())
            queue.enqueue(add, 1, 2)
            self.assertEqual(queue.count, 1)


class ResetTests(unittest.TestCase):

    def tearDown(self):
        reset_stores()

    def test_flush_empties_everything(self):
        store = MemoryStore()
        queue = Queue('a', connection=store)
        queue.enqueue(add, 1, 2)
        queue.enqueue(fail)
        queue.enqueue_in(datetime.timedelta(hours=1), add, 3, 4)
        SimpleWorker([queue], connection=store).work(burst=True)
        queue.enqueue(add, 5, 6)
        suspend(store)
        store.flush()
        self.assertEqual(queue.count, 0)
        self.assertEqual(Queue.all(connection=store), [])
        for registry in (queue.finished_job_registry, queue.failed_job_registry,
                         queue.scheduled_job_registry):
            self.assertEqual(registry.count, 0)
        self.assertFalse(is_suspended(store))

    def test_reset_stores_empties_default_and_connection_stores_in_place(self):
        default_queue = Queue('r')
        client_queue = Queue('r', connection=Client(host='reset.example', port=1, db=0))
        default_queue.enqueue(add, 1, 2)
        client_queue.enqueue(add, 1, 2)
        reset_stores()
        self.assertEqual(default_queue.count, 0)        # made before the reset: same store
        self.assertEqual(client_queue.count, 0)
        client_queue.enqueue(add, 1, 2)
        self.assertEqual(Queue('r', connection=Client(host='reset.example', port=1, db=0)).count, 1)

    def test_reset_stores_leaves_stores_it_did_not_make(self):
        store = MemoryStore()
        Queue(connection=store).enqueue(add, 1, 2)
        reset_stores()
        self.assertEqual(Queue(connection=store).count, 1)

    def test_reset_stores_with_a_clock(self):
        clock = ManualClock(start=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc))
        old = Queue('c')
        reset_stores(clock=clock)
        job = old.enqueue(add, 1, 2)
        self.assertEqual(job.created_at.year, 2030)
        later = Queue('c', connection=Client(host='clock.example', port=1, db=0))
        self.assertEqual(later.enqueue(add, 1, 2).enqueued_at.year, 2030)
        reset_stores()
        self.assertLess(Queue('c').enqueue(add, 1, 2).created_at.year, 2030)
        with self.assertRaises(TypeError):
            reset_stores(clock='tomorrow')

    def test_live_worker_survives_a_flush(self):
        store = MemoryStore()
        queue = Queue('live', connection=store)
        worker = Worker([queue], connection=store)
        worker.start()
        self.addCleanup(worker.stop, WAIT)
        first = queue.enqueue(add, 1, 1)
        self.assertEqual(first.get_result(timeout=WAIT), 2)
        store.flush()
        self.assertEqual(Worker.all(connection=store), [])     # as after FLUSHDB
        second = queue.enqueue(add, 2, 2)                # the idle worker goes on, on the empty store
        self.assertEqual(second.get_result(timeout=WAIT), 4)

    def test_get_result_of_a_flushed_job_ends(self):
        store = MemoryStore()
        job = Queue('g', connection=store).enqueue(add, 1, 1)
        raised = []
        waiter = threading.Thread(target=lambda: raised.append(
            self.assertRaises(rq_emulator.NoSuchJobError, job.get_result, timeout=WAIT)))
        waiter.start()
        store.flush()                   # before or during the wait: either way it ends at once
        waiter.join(WAIT)
        self.assertFalse(waiter.is_alive())
        self.assertEqual(len(raised), 1)

    def test_flush_wakes_suspended_workers(self):
        store = MemoryStore()
        queue = Queue('s', connection=store)
        suspend(store)
        worker = Worker([queue], connection=store)
        worker.start()
        self.addCleanup(worker.stop, WAIT)
        store.flush()
        self.assertEqual(queue.enqueue(add, 3, 3).get_result(timeout=WAIT), 6)


class RunJobsTests(unittest.TestCase):

    def setUp(self):
        reset_stores()
        self.addCleanup(reset_stores)
        del ATTEMPTS[:]

    def test_runs_every_queue_of_every_store_and_counts(self):
        a = Queue('a').enqueue(add, 1, 2)
        b = Queue('b', connection=Client(host='run.example', port=1, db=0)).enqueue(add, 3, 4)
        self.assertEqual(run_jobs(), 2)
        self.assertEqual((a.return_value(), b.return_value()), (3, 7))
        self.assertEqual(run_jobs(), 0)

    def test_jobs_enqueued_by_jobs_and_dependents_run_too(self):
        other = Client(host='run2.example', port=1, db=0)
        parent = Queue('p').enqueue(enqueue_elsewhere, other)
        child = Queue('p').enqueue(add, 1, 1, depends_on=parent)
        self.assertEqual(run_jobs(), 3)
        self.assertEqual(child.get_status(), JobStatus.FINISHED)
        self.assertEqual(Queue('other', connection=other).finished_job_registry.count, 1)

    def test_reraises_the_first_failure_itself(self):
        queue = Queue('f')
        queue.enqueue(add, 1, 1)
        failed = queue.enqueue(fail)
        queue.enqueue(add, 2, 2)
        with self.assertRaisesRegex(ValueError, 'job failed on purpose') as caught:
            run_jobs()
        self.assertEqual(failed.get_status(), JobStatus.FAILED)
        self.assertEqual(queue.finished_job_registry.count, 2)     # the others ran anyway
        if hasattr(caught.exception, '__notes__'):
            self.assertIn(failed.id, caught.exception.__notes__[0])

    def test_a_retried_job_that_succeeds_is_no_failure(self):
        job = Queue('r').enqueue(fail_once, retry=Retry(max=1))
        self.assertEqual(run_jobs(), 2)
        self.assertEqual(job.return_value(), 'second attempt')

    def test_connection_and_queues_limit_it(self):
        mine = Client(host='run3.example', port=1, db=0)
        kept = Queue('k').enqueue(add, 1, 1)
        ran = Queue('m', connection=mine).enqueue(add, 2, 2)
        self.assertEqual(run_jobs(connection=mine), 1)
        self.assertEqual((kept.get_status(), ran.get_status()), ('queued', 'finished'))
        other = Queue('k2').enqueue(add, 3, 3)
        self.assertEqual(run_jobs(queues=[Queue('k2')]), 1)
        self.assertEqual((kept.get_status(), other.get_status()), ('queued', 'finished'))

    def test_scheduled_jobs_run_once_the_clock_says_so(self):
        clock = ManualClock()
        reset_stores(clock=clock)
        job = Queue('later').enqueue_in(datetime.timedelta(minutes=5), add, 2, 3)
        self.assertEqual(run_jobs(), 0)
        clock.advance(300)
        self.assertEqual(run_jobs(), 1)
        self.assertEqual(job.return_value(), 5)


class MixinTests(unittest.TestCase):

    def run_case(self, case):
        was_installed = rq_emulator._saved_modules is not None
        self.addCleanup(lambda: was_installed or rq_emulator.uninstall_as_rq())
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
        result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        return result

    def test_front_door_fresh_stores_run_jobs(self):
        class Case(RQTestMixin, unittest.TestCase):
            def test_a(self):
                import rq
                self.assertIs(rq.Queue, rq_emulator._RQQueue)
                self.assertIsNone(self.rq_clock)
                Queue('m').enqueue(add, 1, 2)

            def test_b(self):
                self.assertEqual(Queue('m').count, 0)
                Queue('m').enqueue(fail)
                with self.assertRaises(ValueError):
                    self.run_jobs()
        self.assertEqual(self.run_case(Case).testsRun, 2)

    def test_manual_clock(self):
        seen = {}

        class Case(RQTestMixin, unittest.TestCase):
            rq_manual_clock = True

            def test_clock(self):
                job = Queue('t').enqueue_in(datetime.timedelta(seconds=60), add, 1, 1)
                self.assertEqual(self.run_jobs(), 0)
                self.rq_clock.advance(60)
                self.assertEqual(self.run_jobs(), 1)
                seen['result'] = job.return_value()
        self.run_case(Case)
        self.assertEqual(seen, {'result': 2})
        self.assertIs(store_of(None).clock, rq_emulator.time.time)   # real time again


class EmulatorRedisTests(unittest.TestCase):

    def setUp(self):
        self.store = MemoryStore()
        self.conn = EmulatorRedis(store=self.store)
        self.queue = Queue('q', connection=self.conn)

    def ids(self, *jobs):
        return [job.id.encode() for job in jobs]

    def test_store_choice(self):
        self.assertIs(store_of(self.conn), self.store)
        a = EmulatorRedis(host='er.example', port=7000, db=2)
        self.assertIs(store_of(a), store_of(Client(host='er.example', port=7000, db=2)))
        self.assertIs(EmulatorRedis.from_url('redis://er.example:7000/2').store, a.store)
        self.assertIsNot(EmulatorRedis.from_url('redis://er.example:7000/3').store, a.store)
        self.assertEqual(a.connection_pool.connection_kwargs['db'], 2)
        with self.assertRaises(ValueError):
            EmulatorRedis.from_url('http://er.example')
        with self.assertRaises(TypeError):
            EmulatorRedis(store='not a store')

    def test_queue_lists(self):
        a, b = self.queue.enqueue(add, 1, 1), self.queue.enqueue(add, 2, 2)
        c = self.queue.enqueue(add, 3, 3, at_front=True)
        key = self.queue.key
        self.assertEqual(self.conn.lindex(key, 0), c.id.encode())
        self.assertEqual(self.conn.lindex(key, -1), b.id.encode())
        self.assertIsNone(self.conn.lindex(key, 5))
        self.assertEqual(self.conn.llen(key), 3)
        self.assertEqual(self.conn.lrange(key, 0, -1), self.ids(c, a, b))
        self.assertEqual(self.conn.lrange(key, 1, 1), self.ids(a))
        self.assertEqual(self.conn.lrem(key, 0, a.id), 1)
        self.assertEqual(self.queue.get_job_ids(), [c.id, b.id])
        self.assertEqual(self.conn.llen('rq:queue:nothing'), 0)

    def test_job_hash(self):
        job = self.queue.enqueue(add, 1, 1, description='adding')
        self.assertEqual(self.conn.hget(job.key, 'status'), b'queued')
        self.assertEqual(self.conn.hget(job.key, b'origin'), b'q')
        self.assertIsNone(self.conn.hget(job.key, 'result'))   # RQ 2 keeps results apart
        self.assertEqual(self.conn.hmget(job.key, ['status', 'description']), [b'queued', b'adding'])
        fields = self.conn.hgetall(job.key)
        self.assertEqual(fields[b'timeout'], b'180')
        self.assertTrue(fields[b'created_at'].endswith(b'Z'))
        self.assertTrue(self.conn.hexists(job.key, 'status'))
        self.assertEqual(self.conn.hget(job.key, 'ended_at'), b'')   # as RQ writes it
        self.assertFalse(self.conn.hexists(job.key, 'result_ttl'))
        self.assertIsNone(self.conn.hget('rq:job:missing', 'status'))
        self.assertEqual(self.conn.hgetall('rq:job:missing'), {})

    def test_registries_as_sorted_sets(self):
        done = self.queue.enqueue(add, 1, 1)
        broken = self.queue.enqueue(fail)
        SimpleWorker([self.queue], connection=self.conn).work(burst=True)
        finished, failed = 'rq:finished:q', 'rq:failed:q'
        self.assertEqual(self.conn.zcard(finished), 1)
        self.assertEqual(self.conn.zrange(failed, 0, -1), self.ids(broken))
        [(member, score)] = self.conn.zrange(finished, 0, -1, withscores=True)
        self.assertEqual((member, score), (done.id.encode(), self.conn.zscore(finished, done.id)))
        self.assertEqual(self.conn.zrangebyscore(finished, '-inf', '+inf'), self.ids(done))
        self.assertEqual(self.conn.zrangebyscore(finished, score + 1, '+inf'), [])
        self.assertEqual(self.conn.zrem(failed, broken.id), 1)
        self.assertEqual(self.queue.failed_job_registry.count, 0)
        self.assertEqual(self.conn.zadd(failed, {broken.id: 1e12}), 1)
        self.assertEqual(self.queue.failed_job_registry.get_job_ids(), [broken.id])

    def test_sets_exists_delete_get(self):
        job = self.queue.enqueue(add, 1, 1)
        Queue('other', connection=self.conn).enqueue(add, 2, 2)
        self.assertEqual(self.conn.smembers('rq:queues'), {b'rq:queue:q', b'rq:queue:other'})
        self.assertEqual(self.conn.scard('rq:queues'), 2)
        self.assertTrue(self.conn.sismember('rq:queues', 'rq:queue:q'))
        self.assertEqual(self.conn.smembers('rq:workers'), set())
        worker = Worker([self.queue], connection=self.conn)
        worker.register_birth()
        self.assertEqual(self.conn.smembers('rq:workers'), {worker.key.encode()})
        self.assertEqual(self.conn.smembers('rq:workers:q'), {worker.key.encode()})
        self.assertEqual(self.conn.exists(worker.key), 1)
        worker.register_death()
        self.assertEqual(self.conn.exists(job.key, self.queue.key, 'rq:queue:none'), 2)
        self.assertEqual(self.conn.delete(job.key), 1)         # the hash only, as DEL does
        self.assertFalse(Job.exists(job.id, connection=self.conn))
        self.assertEqual(self.queue.get_job_ids(), [job.id])
        self.assertEqual(self.conn.delete(self.queue.key), 1)
        self.assertEqual(self.queue.count, 0)
        self.assertIsNone(self.conn.get('rq:scheduler-lock:q'))
        suspend(self.conn)
        self.assertEqual(self.conn.get('rq:suspended'), b'1')
        self.assertEqual(self.conn.delete('rq:suspended'), 1)
        self.assertFalse(is_suspended(self.conn))

    def test_flushdb_flushall_ping(self):
        self.queue.enqueue(add, 1, 1)
        self.assertTrue(self.conn.ping())
        self.assertTrue(self.conn.flushdb())
        self.assertEqual(self.queue.count, 0)
        db0 = EmulatorRedis(host='flush.example', port=1, db=0)
        db1 = EmulatorRedis(host='flush.example', port=1, db=1)
        elsewhere = EmulatorRedis(host='flush2.example', port=1, db=0)
        for conn in (db0, db1, elsewhere):
            Queue('x', connection=conn).enqueue(add, 1, 1)
        db0.flushall()
        self.assertEqual([Queue('x', connection=c).count for c in (db0, db1, elsewhere)], [0, 0, 1])

    def test_pipeline(self):
        job = self.queue.enqueue(add, 1, 1)
        with self.conn.pipeline() as pipe:
            self.assertIs(pipe.llen(self.queue.key), pipe)
            pipe.hget(job.key, 'status').lrem(self.queue.key, 0, job.id)
            self.assertEqual(self.queue.count, 1)           # nothing runs before execute()
            self.assertEqual(pipe.execute(), [1, b'queued', 1])
        self.assertEqual(self.queue.count, 0)
        self.assertIs(store_of(self.conn.pipeline()), self.store)

    def test_decode_responses(self):
        conn = EmulatorRedis(store=self.store, decode_responses=True)
        job = self.queue.enqueue(add, 1, 1)
        self.assertEqual(conn.lindex(self.queue.key, 0), job.id)
        self.assertEqual(conn.hget(job.key, 'status'), 'queued')

    def test_other_keys(self):
        with self.assertRaisesRegex(RQEmulatorError, "only RQ's own keys"):
            self.conn.get('myapp:counter')
        with self.assertRaisesRegex(AttributeError, 'incr'):
            self.conn.incr('myapp:counter')

    @unittest.skipUnless(fakeredis, 'fakeredis is not installed')
    def test_wrapping_a_client(self):
        client = fakeredis.FakeStrictRedis()
        conn = EmulatorRedis(client=client)
        self.assertIs(conn.store, store_of(client))
        self.assertEqual(conn, client)
        self.assertEqual(hash(conn), hash(client))
        conn.set('myapp:counter', 5)                        # not RQ's: the client's business
        self.assertEqual(conn.incr('myapp:counter'), 6)
        self.assertEqual(client.get('myapp:counter'), b'6')
        job = Queue('w', connection=client).enqueue(add, 1, 1)
        self.assertEqual(conn.lindex('rq:queue:w', 0), job.id.encode())
        self.assertIs(conn.connection_pool, client.connection_pool)
        with self.assertRaisesRegex(RQEmulatorError, 'hdel'):   # never sent to the client
            conn.hdel(job.key, 'status')

    def test_rq_front_door_presents_it_as_the_connection(self):
        client = Client(host='door.example', port=1, db=0)
        queue = rq_emulator._RQQueue('d', connection=client)
        self.assertIsInstance(queue.connection, EmulatorRedis)
        self.assertEqual(queue.connection, client)
        job = queue.enqueue(add, 1, 1)
        self.assertEqual(queue.connection.lindex(queue.key, 0), job.id.encode())
        worker = rq_emulator._RQWorker([queue])
        self.assertIs(worker.connection.store, store_of(client))
        self.assertEqual(rq_emulator._RQQueue('n', connection=self.store).connection.store,
                         self.store)
        queue.connection.flushdb()
        self.assertEqual(queue.count, 0)


class ConcurrencyTests(unittest.TestCase):

    def test_lookups_from_many_threads_agree(self):
        barrier = threading.Barrier(8)
        found = []

        def look():
            barrier.wait(WAIT)
            found.append(store_of(Client(host='threads.example', port=1, db=0)))
        threads = [threading.Thread(target=look) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        self.assertEqual(len(found), 8)
        self.assertEqual(len({id(store) for store in found}), 1)


if __name__ == '__main__':
    unittest.main()
