#!/usr/bin/env python
"""Side-by-side benchmarks of rq_emulator against its peers (SPEC section 7).

    python benchmarks/run.py                 # full run, 5 repetitions
    python benchmarks/run.py --quick         # smaller N / depths, 3 repetitions
    python benchmarks/run.py --reps 7 --out /tmp/bench

Every (target, figure) pair is measured in a fresh subprocess
(``run.py --child TARGET FIGURE``) that prints one JSON line; targets are
interleaved (rotated) within each repetition; ratios are taken per repetition
and the median ratio is reported.  See benchmarks/README.md.
"""
import argparse
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

perf_counter = time.perf_counter

# The main table's columns (emulator on MemoryStore and its peers).
MAIN_TARGETS = ['emulator', 'floor', 'tpe', 'huey', 'rq_fakeredis', 'rq_redis']
# 'sqlite' (rq_emulator + SqliteStore) is compared with RQ on redis-server only,
# in a section of its own (enqueue, end-to-end with a worker process).
TARGETS = MAIN_TARGETS + ['sqlite']
LABELS = {
    'emulator': 'rq_emulator',
    'floor': 'deque+Condition floor',
    'tpe': 'ThreadPoolExecutor',
    'huey': 'huey MemoryHuey',
    'rq_fakeredis': 'RQ 2.12 + fakeredis',
    'rq_redis': 'RQ 2.12 + redis-server',
    'sqlite': 'rq_emulator + SqliteStore',
}
PEERS = ['floor', 'tpe', 'huey', 'rq_fakeredis', 'rq_redis']

# figure -> targets that measure it
FIGURES = {
    'enqueue': TARGETS,
    'burst': MAIN_TARGETS,
    'memory': MAIN_TARGETS,
    'latency': ['emulator', 'floor', 'tpe'],
    'enqueue_in': ['emulator'],
    'depth': ['emulator'],
    'fetch_job': ['emulator'],
    'timeout': ['emulator'],
    'e2e_proc': ['sqlite', 'rq_redis'],
}

RESULT_MARK = 'BENCH-RESULT:'


def params(quick):
    """Sizes per figure.  RQ peers are slow (fakeredis ~150 jobs/s), so they
    get small N; every figure is per job, so different N stay comparable."""
    if quick:
        return {
            'n_fast': 5000, 'n_rq_fakeredis': 100, 'n_rq_redis': 300,
            'mem_n_fast': 2000, 'mem_n_rq': 100,
            'lat_samples': 60, 'lat_warmup': 10,
            'sched_samples': 20, 'sched_delay': 0.05,
            'depths': [1000, 10000, 100000], 'depth_batch': 500, 'depth_batches': 11,
            'fetch_depth': 20000, 'fetch_n': 20000,
            'timeout_samples': 1,
            'n_sqlite': 300, 'n_e2e': 200,
        }
    return {
        'n_fast': 20000, 'n_rq_fakeredis': 300, 'n_rq_redis': 500,
        'mem_n_fast': 10000, 'mem_n_rq': 300,
        'lat_samples': 200, 'lat_warmup': 20,
        'sched_samples': 100, 'sched_delay': 0.05,
        'depths': [1000, 100000, 1000000], 'depth_batch': 2000, 'depth_batches': 11,
        'fetch_depth': 100000, 'fetch_n': 50000,
        'timeout_samples': 2,
        'n_sqlite': 1000, 'n_e2e': 500,
    }


def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return None
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


# ---------------------------------------------------------------------------
# The floor: collections.deque + threading.Condition, one consumer thread.
# ---------------------------------------------------------------------------

class FloorQueue:
    """The cheapest honest hand-off in Python: append+notify under a
    Condition, one consumer thread, results handed back through a slot."""

    def __init__(self):
        self.items = deque()
        self.cond = threading.Condition()
        self.done = threading.Condition()
        self.stopping = False

    def put(self, fn, *args):
        slot = [False, None]
        with self.cond:
            self.items.append((fn, args, slot))
            self.cond.notify()
        return slot

    def consume(self, burst=False):
        items, cond, done = self.items, self.cond, self.done
        while True:
            with cond:
                while not items:
                    if burst or self.stopping:
                        return
                    cond.wait()
                fn, args, slot = items.popleft()
            slot[1] = fn(*args)
            slot[0] = True
            with done:
                done.notify_all()

    def wait(self, slot):
        with self.done:
            while not slot[0]:
                self.done.wait()
        return slot[1]

    def start(self, burst=False):
        t = threading.Thread(target=self.consume, args=(burst,), daemon=True)
        t.start()
        return t

    def stop(self, thread):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        thread.join()


# ---------------------------------------------------------------------------
# Adapters: one per target.  Each gives the same small interface.
# ---------------------------------------------------------------------------

class Skip(Exception):
    pass


class FloorAdapter:
    name = 'floor'

    def setup(self):
        self.q = FloorQueue()

    def enqueue(self, fn, *args):
        return self.q.put(fn, *args)

    def prepare_unconsumed(self):   # nothing consumes until we say so
        pass

    def release_unconsumed(self):
        pass

    def burst(self, handles):
        t = self.q.start(burst=True)
        t.join()
        return [h[1] for h in handles]

    def start_live(self):
        self.thread = self.q.start(burst=False)

    def stop_live(self):
        self.q.stop(self.thread)

    def wait_result(self, h):
        return self.q.wait(h)


class TPEAdapter:
    """ThreadPoolExecutor(max_workers=1): one consumer, like the others.
    For 'enqueue without a worker running' the single worker thread is parked
    on a gate (an Event) so that submit() is measured alone."""
    name = 'tpe'

    def setup(self):
        from concurrent.futures import ThreadPoolExecutor
        self.ex = ThreadPoolExecutor(max_workers=1)
        self.gate = None

    def enqueue(self, fn, *args):
        return self.ex.submit(fn, *args)

    def prepare_unconsumed(self):
        self.gate = threading.Event()
        self.ex.submit(self.gate.wait)

    def release_unconsumed(self):
        self.gate.set()
        self.ex.shutdown(wait=True)

    def burst(self, handles):
        return [f.result() for f in handles]

    def start_live(self):
        self.ex.submit(int).result()   # make sure the worker thread exists

    def stop_live(self):
        self.ex.shutdown(wait=True)

    def wait_result(self, f):
        return f.result()


class HueyAdapter:
    """huey 3.x MemoryHuey(immediate=False); consumer created in-process with
    huey.create_consumer(workers=1, worker_type='thread') and .start()."""
    name = 'huey'

    def setup(self):
        try:
            from huey import MemoryHuey
        except ImportError as e:
            raise Skip('huey not installed (%s)' % e)
        import jobs
        self.huey = MemoryHuey('bench', immediate=False)
        self.tasks = {
            jobs.noop: self.huey.task()(jobs.noop),
            jobs.add: self.huey.task()(jobs.add),
        }
        self.t_done = self.huey.task()(jobs.set_done)
        self.consumer = None

    def enqueue(self, fn, *args):
        return self.tasks[fn](*args)

    def prepare_unconsumed(self):
        pass

    def release_unconsumed(self):
        pass

    def burst(self, handles):
        import jobs
        jobs.DONE.clear()
        self.t_done()     # FIFO sentinel: when it runs, all before it ran
        self.consumer = self.huey.create_consumer(
            workers=1, worker_type='thread', periodic=False,
            check_worker_health=False)
        self.consumer.start()
        if not jobs.DONE.wait(120):
            raise RuntimeError('huey consumer did not finish')
        return [r.get() for r in handles]

    def after_burst(self):
        if self.consumer is not None:
            self.consumer.stop(graceful=True)

    def storage_size(self):
        return self.huey.storage.queue_size()


class RQAdapter:
    """RQ 2.12 with SimpleWorker (no fork) in burst mode."""

    def __init__(self, name, redis_port=None):
        self.name = name
        self.redis_port = redis_port

    def setup(self):
        try:
            import rq
            from rq import Queue, SimpleWorker
        except ImportError as e:
            raise Skip('rq not installed (%s)' % e)
        if not rq.__version__.startswith('2.'):
            raise Skip('rq %s is not 2.x' % rq.__version__)
        if self.name == 'rq_fakeredis':
            try:
                import fakeredis
            except ImportError as e:
                raise Skip('fakeredis not installed (%s)' % e)
            self.conn = fakeredis.FakeRedis()
        else:
            try:
                import redis
            except ImportError as e:
                raise Skip('redis-py not installed (%s)' % e)
            if not self.redis_port:
                raise Skip('no redis-server available')
            self.conn = redis.Redis(host='127.0.0.1', port=self.redis_port)
            self.conn.flushall()
        self.q = Queue('bench', connection=self.conn)
        self.Worker = SimpleWorker

    def enqueue(self, fn, *args):
        return self.q.enqueue(fn, *args)

    def prepare_unconsumed(self):
        pass

    def release_unconsumed(self):
        pass

    def burst(self, handles):
        from rq.job import JobStatus
        w = self.Worker([self.q], connection=self.conn)
        w.work(burst=True, logging_level='WARNING')
        return self.read_results(handles)

    def read_results(self, handles):
        from rq.job import JobStatus
        out = []
        for j in handles:
            if j.get_status(refresh=True) != JobStatus.FINISHED:
                out.append('not finished')
            else:
                out.append(j.return_value())
        return out

    def worker_cmd(self):
        """A burst SimpleWorker in a fresh interpreter (no fork per job, like
        rq_emulator's worker; cheaper than the `rq worker` CLI's imports)."""
        if self.name != 'rq_redis':
            raise Skip('worker-process figure is for RQ on redis-server only')
        script = (
            'import sys; sys.path[:0] = %r\n'
            'from redis import Redis\n'
            'from rq import Queue, SimpleWorker\n'
            'c = Redis(host="127.0.0.1", port=%d)\n'
            'SimpleWorker([Queue("bench", connection=c)], connection=c)'
            '.work(burst=True, logging_level="WARNING")\n' % ([HERE], self.redis_port))
        return [sys.executable, '-c', script]

    def cleanup(self):
        pass


class EmulatorAdapter:
    name = 'emulator'

    def setup(self):
        path = os.path.join(ROOT, 'rq_emulator.py')
        if not os.path.exists(path):
            raise Skip('rq_emulator.py not found in %s' % ROOT)
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        import rq_emulator
        self.m = rq_emulator
        self.store = rq_emulator.MemoryStore()
        self.q = rq_emulator.Queue('bench', connection=self.store)

    def enqueue(self, fn, *args):
        return self.q.enqueue(fn, *args)

    def prepare_unconsumed(self):
        pass

    def release_unconsumed(self):
        pass

    def make_worker(self):
        return self.m.Worker([self.q], connection=self.store)

    def burst(self, handles):
        w = self.make_worker()
        w.work(burst=True)
        return [j.get_result(timeout=5) for j in handles]

    def start_live(self):
        self.worker = self.make_worker()
        self.worker.start()

    def stop_live(self):
        self.worker.stop(timeout=5)

    def wait_result(self, job):
        return job.get_result(timeout=5)


class SqliteAdapter:
    """rq_emulator on SqliteStore(path): a fresh temporary file per setup()."""
    name = 'sqlite'

    def setup(self):
        path = os.path.join(ROOT, 'rq_emulator.py')
        if not os.path.exists(path):
            raise Skip('rq_emulator.py not found in %s' % ROOT)
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        import rq_emulator
        if not hasattr(rq_emulator, 'SqliteStore'):
            raise Skip('rq_emulator has no SqliteStore')
        self.m = rq_emulator
        self.dir = tempfile.mkdtemp(prefix='rqe-bench-')
        self.path = os.path.join(self.dir, 'jobs.sqlite3')
        self.store = rq_emulator.SqliteStore(self.path)
        self.q = rq_emulator.Queue('bench', connection=self.store)

    def enqueue(self, fn, *args):
        return self.q.enqueue(fn, *args)

    def prepare_unconsumed(self):
        pass

    def release_unconsumed(self):
        self.cleanup()

    def worker_cmd(self):
        """A burst Worker on the same file, in a fresh interpreter."""
        script = (
            'import sys; sys.path[:0] = %r\n'
            'import rq_emulator as m\n'
            's = m.SqliteStore(%r)\n'
            'm.Worker([m.Queue("bench", connection=s)], connection=s).work(burst=True)\n'
            % ([HERE, ROOT], self.path))
        return [sys.executable, '-c', script]

    def read_results(self, handles):
        return [j.get_result(timeout=5) for j in handles]

    def cleanup(self):
        try:
            self.store.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def make_adapter(target, opts):
    if target == 'floor':
        return FloorAdapter()
    if target == 'tpe':
        return TPEAdapter()
    if target == 'huey':
        return HueyAdapter()
    if target in ('rq_fakeredis', 'rq_redis'):
        return RQAdapter(target, opts.redis_port)
    if target == 'emulator':
        return EmulatorAdapter()
    if target == 'sqlite':
        return SqliteAdapter()
    raise ValueError(target)


def n_for(target, p, key='n'):
    if key == 'e2e':
        return p['n_e2e']
    if target == 'sqlite':
        return p['n_sqlite']
    if target in ('rq_fakeredis', 'rq_redis'):
        if key == 'mem':
            return p['mem_n_rq']
        return p['n_' + target]
    return p['mem_n_fast'] if key == 'mem' else p['n_fast']


# ---------------------------------------------------------------------------
# Figures (run inside the child process)
# ---------------------------------------------------------------------------

def fig_enqueue(target, opts, p):
    """Enqueue N jobs with nothing consuming them; µs per job."""
    import jobs
    out = {}
    n = n_for(target, p)
    for label, fn, args in (('noop', jobs.noop, ()), ('add', jobs.add, (1, 2))):
        a = make_adapter(target, opts)
        a.setup()
        a.prepare_unconsumed()
        enqueue = a.enqueue
        for _ in range(min(200, n)):      # warm-up
            enqueue(fn, *args)
        gc.collect()
        t0 = perf_counter()
        for _ in range(n):
            enqueue(fn, *args)
        dt = perf_counter() - t0
        a.release_unconsumed()
        out['enqueue_%s_us' % label] = dt / n * 1e6
    out['n'] = n
    return out


def fig_burst(target, opts, p):
    """Enqueue N, then one worker works them all (burst) and every result is
    collected and checked; µs per job for the whole thing."""
    import jobs
    out = {}
    n = n_for(target, p)
    for label, fn, args, expect in (('noop', jobs.noop, (), None),
                                    ('add', jobs.add, (1, 2), 3)):
        a = make_adapter(target, opts)
        a.setup()
        gc.collect()
        t0 = perf_counter()
        handles = [a.enqueue(fn, *args) for _ in range(n)]
        results = a.burst(handles)
        dt = perf_counter() - t0
        if hasattr(a, 'after_burst'):
            a.after_burst()
        ok = len(results) == n and all(r == expect for r in results)
        if not ok:
            bad = [r for r in results if r != expect][:3]
            raise RuntimeError('%s burst %s: %d results, wrong ones e.g. %r'
                               % (target, label, len(results), bad))
        out['burst_%s_us' % label] = dt / n * 1e6
    out['n'] = n
    return out


def fig_memory(target, opts, p):
    """Bytes retained per queued job: tracemalloc after gc.collect(), our own
    references to the returned job objects dropped.  For RQ on a real
    redis-server the jobs live in the server: INFO used_memory delta."""
    import tracemalloc
    import jobs
    out = {}
    n = n_for(target, p, 'mem')
    for label, fn, args in (('noop', jobs.noop, ()), ('add', jobs.add, (1, 2))):
        a = make_adapter(target, opts)
        a.setup()
        a.prepare_unconsumed()
        a.enqueue(fn, *args)               # lazily-built per-queue structures
        if target == 'rq_redis':
            gc.collect()
            before = a.conn.info('memory')['used_memory']
            for _ in range(n):
                a.enqueue(fn, *args)
            after = a.conn.info('memory')['used_memory']
            out['mem_%s_bytes' % label] = (after - before) / n
            out['mem_method'] = 'redis INFO used_memory delta'
        else:
            tracemalloc.start()
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(n):
                a.enqueue(fn, *args)
            gc.collect()
            cur = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            out['mem_%s_bytes' % label] = (cur - base) / n
        a.release_unconsumed()
        del a
        gc.collect()
    out['n'] = n
    return out


def fig_latency(target, opts, p):
    """Idle live worker; one job at a time: enqueue -> job body starts, and
    enqueue -> result returned to the caller.  µs, p50/p99."""
    import jobs
    a = make_adapter(target, opts)
    a.setup()
    a.start_live()
    starts = jobs.STARTS
    s_lat, r_lat = [], []
    try:
        for i in range(p['lat_warmup'] + p['lat_samples']):
            del starts[:]
            t0 = perf_counter()
            h = a.enqueue(jobs.record_start)
            a.wait_result(h)
            t2 = perf_counter()
            if len(starts) != 1:
                raise RuntimeError('job did not record its start')
            if i >= p['lat_warmup']:
                s_lat.append((starts[0] - t0) * 1e6)
                r_lat.append((t2 - t0) * 1e6)
    finally:
        a.stop_live()
    return {
        'lat_start_p50_us': pct(s_lat, 50), 'lat_start_p99_us': pct(s_lat, 99),
        'lat_result_p50_us': pct(r_lat, 50), 'lat_result_p99_us': pct(r_lat, 99),
        'n': len(s_lat),
    }


def fig_enqueue_in(target, opts, p):
    """enqueue_in(50 ms) with a live worker; lateness = start - (t_enqueue + 0.05)."""
    import jobs
    a = make_adapter(target, opts)
    a.setup()
    a.start_live()
    delay = p['sched_delay']
    starts = jobs.STARTS
    late = []
    try:
        for i in range(p['sched_samples'] + 3):
            del starts[:]
            t0 = perf_counter()
            job = a.q.enqueue_in(timedelta(seconds=delay), jobs.record_start)
            job.get_result(timeout=5)
            if len(starts) != 1:
                raise RuntimeError('job did not record its start')
            if i >= 3:
                late.append((starts[0] - (t0 + delay)) * 1e3)
    finally:
        a.stop_live()
    return {'sched_late_p50_ms': pct(late, 50), 'sched_late_p99_ms': pct(late, 99),
            'sched_late_min_ms': min(late), 'n': len(late)}


def fig_depth(target, opts, p):
    """Enqueue cost (µs/job) at several queue depths: pre-fill to the depth,
    then time batches of enqueues there (median batch)."""
    import jobs
    w = make_adapter(target, opts)     # warm the code paths on a throwaway store, kept
    w.setup()                          # alive: the depth-1,000 batches must not run on the
    for _ in range(5000):              # memory it would free (fewer page faults than the
        w.enqueue(jobs.noop)           # deeper batches get)
    a = make_adapter(target, opts)
    a.setup()
    enqueue, noop = a.enqueue, jobs.noop
    depth = 0
    out = {}
    for d in p['depths']:
        while depth < d:
            enqueue(noop)
            depth += 1
        gc.collect()
        per = []
        for _ in range(p['depth_batches']):
            t0 = perf_counter()
            for _ in range(p['depth_batch']):
                enqueue(noop)
            per.append((perf_counter() - t0) / p['depth_batch'] * 1e6)
            depth += p['depth_batch']
        out['depth_%d_us' % d] = statistics.median(per)
    out['depth_ratio'] = out['depth_%d_us' % p['depths'][-1]] / out['depth_%d_us' % p['depths'][0]]
    out['count'] = a.q.count() if callable(a.q.count) else int(a.q.count)
    if out['count'] != depth:
        raise RuntimeError('queue count %r != %d enqueued' % (out['count'], depth))
    return out


def fig_fetch_job(target, opts, p):
    """fetch_job(id) at queue depth D (random existing ids); µs per fetch."""
    import random
    import jobs
    a = make_adapter(target, opts)
    a.setup()
    ids = [a.enqueue(jobs.noop).id for _ in range(p['fetch_depth'])]
    rnd = random.Random(7)
    sample = [ids[rnd.randrange(len(ids))] for _ in range(p['fetch_n'])]
    fetch = a.q.fetch_job
    for i in sample[:1000]:
        if fetch(i) is None:
            raise RuntimeError('fetch_job(%r) returned None' % i)
    gc.collect()
    t0 = perf_counter()
    for i in sample:
        fetch(i)
    dt = perf_counter() - t0
    return {'fetch_us': dt / len(sample) * 1e6, 'depth': len(ids)}


def fig_timeout(target, opts, p):
    """job_timeout=1 on a job blocked in time.sleep(5): seconds from the
    deadline (job start + 1 s) until get_result raises (status failed)."""
    import jobs
    a = make_adapter(target, opts)
    a.setup()
    delays = []
    for _ in range(p['timeout_samples']):
        del jobs.STARTS[:]
        job = a.q.enqueue(jobs.sleep5_record, job_timeout=1)
        w = a.make_worker()
        w.start()
        try:
            job.get_result(timeout=10)
        except a.m.JobFailedError:
            t = perf_counter()
        else:
            raise RuntimeError('job with job_timeout=1 returned normally')
        status = job.get_status()
        if status != 'failed':
            raise RuntimeError('status %r, expected failed' % (status,))
        if 'JobTimeoutException' not in (job.exc_info or ''):
            raise RuntimeError('exc_info lacks JobTimeoutException: %r' % (job.exc_info,))
        delays.append(t - (jobs.STARTS[0] + 1.0))
        # The abandoned sleeping thread is left behind; the child exits via os._exit.
    return {'timeout_late_s': max(delays), 'n': len(delays)}


def fig_e2e_proc(target, opts, p):
    """End to end with the worker in another process: from the first enqueue
    until every result is read back and checked here, with one burst worker
    subprocess (interpreter start + imports included) draining the queue in
    between; µs per job."""
    import jobs
    out = {}
    n = n_for(target, p, 'e2e')
    for label, fn, args, expect in (('noop', jobs.noop, (), None),
                                    ('add', jobs.add, (1, 2), 3)):
        a = make_adapter(target, opts)
        a.setup()
        try:
            cmd = a.worker_cmd()
            gc.collect()
            t0 = perf_counter()
            handles = [a.enqueue(fn, *args) for _ in range(n)]
            t1 = perf_counter()
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
            t2 = perf_counter()
            if cp.returncode != 0:
                raise RuntimeError('%s worker process exited %s; stderr tail: %s'
                                   % (target, cp.returncode, cp.stderr[-1500:]))
            results = a.read_results(handles)
            dt = perf_counter() - t0
        finally:
            a.cleanup()
        ok = len(results) == n and all(r == expect for r in results)
        if not ok:
            bad = [r for r in results if r != expect][:3]
            raise RuntimeError('%s e2e %s: %d results, wrong ones e.g. %r'
                               % (target, label, len(results), bad))
        out['e2e_%s_us' % label] = dt / n * 1e6
        out['e2e_%s_enqueue_ms' % label] = (t1 - t0) * 1e3
        out['e2e_%s_worker_proc_ms' % label] = (t2 - t1) * 1e3
    out['n'] = n
    return out


FIGURE_FUNCS = {
    'enqueue': fig_enqueue, 'burst': fig_burst, 'memory': fig_memory,
    'latency': fig_latency, 'enqueue_in': fig_enqueue_in, 'depth': fig_depth,
    'fetch_job': fig_fetch_job, 'timeout': fig_timeout, 'e2e_proc': fig_e2e_proc,
}


def child_main(opts):
    target, figure = opts.child
    p = params(opts.quick)
    try:
        if figure == 'probe':
            a = make_adapter(target, opts)
            a.setup()
            if target == 'sqlite':
                a.cleanup()
            res = {'ok': True, 'version': probe_version(target)}
        else:
            res = FIGURE_FUNCS[figure](target, opts, p)
    except Skip as e:
        res = {'skipped': str(e)}
    except BaseException as e:   # report, never hang
        import traceback
        res = {'error': '%s: %s' % (type(e).__name__, e),
               'traceback': traceback.format_exc()}
    sys.stdout.write(RESULT_MARK + json.dumps(res) + '\n')
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)   # do not wait for abandoned threads or free 1M objects


def probe_version(target):
    try:
        if target in ('emulator', 'sqlite'):
            import rq_emulator
            v = getattr(rq_emulator, '__version__', 'unknown')
            if target == 'sqlite':
                import sqlite3
                v += ', SQLite ' + sqlite3.sqlite_version
            return v
        if target in ('rq_fakeredis', 'rq_redis'):
            import rq
            v = 'rq ' + rq.__version__
            if target == 'rq_fakeredis':
                from importlib.metadata import version
                v += ', fakeredis ' + version('fakeredis')
            else:
                import redis
                v += ', redis-py ' + redis.__version__
            return v
        if target == 'huey':
            import huey
            return 'huey ' + huey.__version__
        return 'python ' + platform.python_version()
    except Exception as e:   # pragma: no cover
        return 'unknown (%s)' % e


# ---------------------------------------------------------------------------
# Parent: redis-server, orchestration, reporting
# ---------------------------------------------------------------------------

class RedisServer:
    def __init__(self):
        self.proc = None
        self.port = None
        self.version = None
        self.skip_reason = None

    def start(self):
        exe = shutil.which('redis-server')
        if not exe:
            self.skip_reason = 'redis-server not found on PATH'
            return False
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        self.port = s.getsockname()[1]
        s.close()
        self.version = subprocess.run([exe, '--version'], capture_output=True,
                                      text=True).stdout.strip()
        self.proc = subprocess.Popen(
            [exe, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
             '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:   # waiting for an external process
            if self.proc.poll() is not None:
                self.skip_reason = 'redis-server exited with %s' % self.proc.returncode
                return False
            try:
                with socket.create_connection(('127.0.0.1', self.port), 0.2) as c:
                    c.sendall(b'PING\r\n')
                    if c.recv(16).startswith(b'+PONG'):
                        return True
            except OSError:
                time.sleep(0.05)
        self.skip_reason = 'redis-server did not answer PING within 10 s'
        self.stop()
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def run_child(target, figure, opts, redis_port, timeout=600):
    cmd = [sys.executable, os.path.abspath(__file__), '--child', target, figure]
    if opts.quick:
        cmd.append('--quick')
    if redis_port:
        cmd += ['--redis-port', str(redis_port)]
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {'error': 'child timed out after %ss' % timeout}
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    return {'error': 'child exited %s without a result; stderr tail: %s'
            % (cp.returncode, cp.stderr[-800:])}


# Rows of the report: (metric key, label, unit, targets)
ROWS = [
    ('enqueue_noop_us', 'enqueue noop', 'µs/job'),
    ('enqueue_add_us', 'enqueue add(1,2)', 'µs/job'),
    ('burst_noop_us', 'enqueue+burst-work noop', 'µs/job'),
    ('burst_add_us', 'enqueue+burst-work add(1,2)', 'µs/job'),
    ('mem_noop_bytes', 'memory per queued noop', 'bytes/job'),
    ('mem_add_bytes', 'memory per queued add(1,2)', 'bytes/job'),
    ('lat_start_p50_us', 'enqueue→start p50', 'µs'),
    ('lat_start_p99_us', 'enqueue→start p99', 'µs'),
    ('lat_result_p50_us', 'enqueue→result p50', 'µs'),
    ('lat_result_p99_us', 'enqueue→result p99', 'µs'),
    ('sched_late_p50_ms', 'enqueue_in(50ms) lateness p50', 'ms'),
    ('sched_late_p99_ms', 'enqueue_in(50ms) lateness p99', 'ms'),
    ('depth_ratio', 'enqueue at max depth / at 1k', 'ratio'),
    ('fetch_us', 'fetch_job at depth', 'µs'),
    ('timeout_late_s', 'job_timeout: deadline→failed', 's'),
]


# Rows of the SqliteStore section: sqlite vs RQ on redis-server.
SQLITE_ROWS = [
    ('enqueue_noop_us', 'enqueue noop', 'µs/job'),
    ('enqueue_add_us', 'enqueue add(1,2)', 'µs/job'),
    ('e2e_noop_us', 'end-to-end noop, worker in another process', 'µs/job'),
    ('e2e_add_us', 'end-to-end add(1,2), worker in another process', 'µs/job'),
    ('e2e_noop_worker_proc_ms', '… of which the worker process ran (noop)', 'ms total'),
    ('e2e_add_worker_proc_ms', '… of which the worker process ran (add)', 'ms total'),
]

# (description, metrics, limit): sqlite ÷ RQ-on-redis-server for every metric
# (median of per-repetition ratios) must be < limit; the worst one is shown.
SQLITE_TARGETS = [
    ('SqliteStore enqueue < RQ on redis-server', ('enqueue_noop_us', 'enqueue_add_us'), 1.0),
    ('SqliteStore end-to-end (worker process) < RQ on redis-server',
     ('e2e_noop_us', 'e2e_add_us'), 1.0),
]


def depth_rows(p):
    return [('depth_%d_us' % d, 'enqueue at depth %s' % f'{d:,}', 'µs/job')
            for d in p['depths']]


def targets_spec(p):
    """(description, metric, kind, peer, limit) — kind 'ratio' compares
    median(emulator/peer per rep) with limit, 'abs' the emulator's median."""
    maxd = p['depths'][-1]
    depth_note = '' if maxd == 1000000 else ' (quick: depth %s, not 1M)' % f'{maxd:,}'
    out = []
    for job in ('noop', 'add'):
        jl = 'noop' if job == 'noop' else 'add(1,2)'
        out += [
            ('enqueue %s ≤ 0.7 × TPE submit' % jl, 'enqueue_%s_us' % job, 'ratio', 'tpe', 0.7),
            ('enqueue %s ≤ 3 × deque floor' % jl, 'enqueue_%s_us' % job, 'ratio', 'floor', 3.0),
            ('enqueue %s ≥ 100k jobs/s (≤ 10 µs/job)' % jl, 'enqueue_%s_us' % job, 'abs', None, 10.0),
        ]
    for job in ('noop', 'add'):
        jl = 'noop' if job == 'noop' else 'add(1,2)'
        out += [
            ('enqueue+burst %s ≤ 1.0 × TPE submit+result' % jl, 'burst_%s_us' % job, 'ratio', 'tpe', 1.0),
            ('enqueue+burst %s ≤ 0.5 × huey' % jl, 'burst_%s_us' % job, 'ratio', 'huey', 0.5),
            ('enqueue+burst %s ≤ 1/250 × RQ on fakeredis' % jl, 'burst_%s_us' % job, 'ratio', 'rq_fakeredis', 1 / 250),
        ]
    out += [
        ('memory per queued noop ≤ 700 B', 'mem_noop_bytes', 'abs', None, 700),
        ('memory per queued add(1,2) ≤ 700 B', 'mem_add_bytes', 'abs', None, 700),
        ('enqueue→start p50 ≤ 1.2 × TPE', 'lat_start_p50_us', 'ratio', 'tpe', 1.2),
        ('enqueue→get_result p50 ≤ 1.5 × TPE', 'lat_result_p50_us', 'ratio', 'tpe', 1.5),
        ('enqueue_in(50 ms) lateness p99 ≤ 2 ms', 'sched_late_p99_ms', 'abs', None, 2.0),
        ('enqueue at depth 1M ≤ 1.3 × at depth 1k' + depth_note, 'depth_ratio', 'abs', None, 1.3),
        ('fetch_job at depth %s ≤ 2 µs' % f"{p['fetch_depth']:,}", 'fetch_us', 'abs', None, 2.0),
        ('job_timeout: failed ≤ 0.1 s after deadline', 'timeout_late_s', 'abs', None, 0.1),
    ]
    return out


def fmt(v, unit=''):
    if v is None:
        return '—'
    if isinstance(v, str):
        return v
    if unit == 'ratio' or abs(v) < 10:
        if abs(v) < 0.01 and v != 0:
            return '%.2g' % v
        return '%.3g' % v if abs(v) < 1 else '%.2f' % v
    if abs(v) < 1000:
        return '%.1f' % v
    return '{:,.0f}'.format(v)


def summarise(raw, status, p):
    """raw[rep][target][metric] -> medians and median per-rep ratios."""
    medians, ratios = {}, {}
    reps = len(raw)
    for t in TARGETS:
        for rep in raw:
            for k, v in rep.get(t, {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    medians.setdefault(t, {}).setdefault(k, []).append(v)
    for t in medians:
        for k in medians[t]:
            medians[t][k] = statistics.median(medians[t][k])
    for peer in PEERS:
        for rep in raw:
            e, o = rep.get('emulator', {}), rep.get(peer, {})
            for k, v in e.items():
                ov = o.get(k)
                if isinstance(v, (int, float)) and isinstance(ov, (int, float)) and ov:
                    ratios.setdefault(peer, {}).setdefault(k, []).append(v / ov)
    for peer in ratios:
        for k in ratios[peer]:
            ratios[peer][k] = statistics.median(ratios[peer][k])
    sq_ratios = {}      # sqlite ÷ rq_redis, per repetition, then the median
    for rep in raw:
        sq, o = rep.get('sqlite', {}), rep.get('rq_redis', {})
        for k, v in sq.items():
            ov = o.get(k)
            if isinstance(v, (int, float)) and isinstance(ov, (int, float)) and ov:
                sq_ratios.setdefault(k, []).append(v / ov)
    for k in sq_ratios:
        sq_ratios[k] = statistics.median(sq_ratios[k])
    verdicts = []
    for desc, metric, kind, peer, limit in targets_spec(p):
        if kind == 'ratio':
            val = ratios.get(peer, {}).get(metric)
            why = None if val is not None else (
                ('%s skipped' % LABELS[peer]) if peer in status else
                'rq_emulator skipped' if 'emulator' in status else 'not measured / failed')
        else:
            val = medians.get('emulator', {}).get(metric)
            why = None if val is not None else (
                'rq_emulator skipped' if 'emulator' in status else 'not measured / failed')
        if val is None:
            verdict = 'n/a (%s)' % why
        else:
            verdict = 'met' if val <= limit else 'NOT met'
        verdicts.append({'target': desc, 'metric': metric, 'kind': kind, 'peer': peer,
                         'limit': limit, 'measured': val, 'verdict': verdict})
    for desc, metrics, limit in SQLITE_TARGETS:
        vals = [sq_ratios.get(m) for m in metrics]
        detail = ', '.join('%s %s×' % (m.split('_')[1], fmt(v, 'ratio')) for m, v in zip(metrics, vals)
                           if v is not None)
        if any(v is None for v in vals):
            why = next(('%s skipped' % LABELS[t] for t in ('sqlite', 'rq_redis') if t in status),
                       'not measured / failed')
            val, verdict = None, 'n/a (%s)' % why
        else:
            val = max(vals)
            verdict = 'met' if val < limit else 'NOT met'
        verdicts.append({'target': desc, 'metric': list(metrics), 'kind': 'sqlite_ratio',
                         'subject': 'sqlite', 'peer': 'rq_redis', 'limit': limit,
                         'measured': val, 'detail': detail, 'verdict': verdict})
    return medians, ratios, sq_ratios, verdicts


def render_md(info, medians, ratios, sq_ratios, verdicts, status, errors, p):
    L = []
    L.append('# rq_emulator benchmarks')
    L.append('')
    L.append('%s — Python %s (%s), %s, %d CPUs, %d repetition(s)%s, wall time %.0f s.' % (
        info['date'], info['python'], info['implementation'], info['platform'],
        info['cpu_count'], info['reps'], ' (--quick)' if info['quick'] else '',
        info['wall_s']))
    L.append('Medians over repetitions; each (target, figure) ran in a fresh subprocess; '
             'ratios are emulator ÷ peer per repetition, then the median (< 1 means the emulator is cheaper/faster).')
    L.append('')
    L.append('## Targets (SPEC §7)')
    L.append('')
    L.append('| target | measured | verdict |')
    L.append('|---|---|---|')
    for v in verdicts:
        if v['kind'] == 'sqlite_ratio':
            measured = '%s (%s)' % (v['detail'], 'sqlite ÷ RQ-redis') if v['detail'] else '—'
            L.append('| %s | %s | %s |' % (v['target'], measured, v['verdict']))
            continue
        unit = '×' if v['kind'] == 'ratio' else ''
        L.append('| %s | %s%s | %s |' % (v['target'], fmt(v['measured'], 'ratio' if v['kind'] == 'ratio' else ''),
                                        unit if v['measured'] is not None else '', v['verdict']))
    L.append('')
    L.append('## Absolute figures (median)')
    L.append('')
    L.append('| figure | unit | ' + ' | '.join(LABELS[t] for t in MAIN_TARGETS) + ' |')
    L.append('|---|---|' + '---|' * len(MAIN_TARGETS))
    rows = ROWS[:12] + depth_rows(p) + ROWS[12:]
    for key, label, unit in rows:
        cells = []
        for t in MAIN_TARGETS:
            if t in status:
                cells.append('skipped' if key in _metrics_of(t) else '—')
            else:
                cells.append(fmt(medians.get(t, {}).get(key), unit))
        L.append('| %s | %s | %s |' % (label, unit, ' | '.join(cells)))
    L.append('')
    L.append('## Ratios: rq_emulator ÷ peer (median of per-repetition ratios)')
    L.append('')
    L.append('| figure | ' + ' | '.join('÷ ' + LABELS[t] for t in PEERS) + ' |')
    L.append('|---|' + '---|' * len(PEERS))
    for key, label, unit in ROWS[:10]:
        cells = []
        for t in PEERS:
            v = ratios.get(t, {}).get(key)
            cells.append(fmt(v, 'ratio') if v is not None else ('skipped' if t in status and key in _metrics_of(t) else '—'))
        L.append('| %s | %s |' % (label, ' | '.join(cells)))
    L.append('')
    L.append('## rq_emulator + SqliteStore vs RQ on redis-server (median)')
    L.append('')
    L.append('Jobs in a SQLite file (a fresh temporary file per measurement) against jobs in a local '
             'redis-server. End-to-end: enqueue N, run one burst worker in a new Python process '
             '(`sys.executable -c`: rq_emulator `Worker` on `SqliteStore(path)` / RQ `SimpleWorker` on '
             'redis), wait for it to exit, then read back and check every result here.')
    L.append('')
    L.append('| figure | unit | %s | %s | ratio sqlite ÷ RQ-redis |' % (LABELS['sqlite'], LABELS['rq_redis']))
    L.append('|---|---|---|---|---|')
    for key, label, unit in SQLITE_ROWS:
        cells = []
        for t in ('sqlite', 'rq_redis'):
            if t in status:
                cells.append('skipped')
            else:
                cells.append(fmt(medians.get(t, {}).get(key), unit))
        r = sq_ratios.get(key)
        cells.append(fmt(r, 'ratio') if r is not None else '—')
        L.append('| %s | %s | %s |' % (label, unit, ' | '.join(cells)))
    L.append('')
    L.append('Sizes: fast targets N=%d jobs (memory N=%d); RQ+fakeredis N=%d, RQ+redis N=%d (memory N=%d); '
             'latency %d samples; enqueue_in %d samples; depths %s (batches of %d); fetch_job %d fetches at depth %s.' % (
                 p['n_fast'], p['mem_n_fast'], p['n_rq_fakeredis'], p['n_rq_redis'], p['mem_n_rq'],
                 p['lat_samples'], p['sched_samples'], ', '.join(f'{d:,}' for d in p['depths']),
                 p['depth_batch'], p['fetch_n'], f"{p['fetch_depth']:,}"))
    L.append('SqliteStore enqueue N=%d; end-to-end with a worker process N=%d jobs for both SqliteStore '
             'and RQ + redis-server.' % (p['n_sqlite'], p['n_e2e']))
    L.append('Memory for RQ + redis-server is the server\'s INFO used_memory delta, not tracemalloc.')
    if status:
        L.append('')
        L.append('Skipped: ' + '; '.join('%s — %s' % (LABELS[t], r) for t, r in status.items()))
    if errors:
        L.append('')
        L.append('Errors:')
        for e in errors:
            L.append('- rep %s %s/%s: %s' % (e['rep'], e['target'], e['figure'], e['error']))
    L.append('')
    L.append('Versions: ' + '; '.join('%s: %s' % (LABELS[t], v) for t, v in info['versions'].items()))
    L.append('')
    return '\n'.join(L)


def _metrics_of(target):
    keys = set()
    pre = {'enqueue': ['enqueue_'], 'burst': ['burst_'], 'memory': ['mem_'],
           'latency': ['lat_'], 'enqueue_in': ['sched_'], 'depth': ['depth_'],
           'fetch_job': ['fetch_'], 'timeout': ['timeout_'], 'e2e_proc': ['e2e_']}
    for fig, ts in FIGURES.items():
        if target in ts:
            keys.update(pre[fig])

    class _M:
        def __contains__(self, key):
            return any(key.startswith(k) for k in keys)
    return _M()


def parent_main(opts):
    t_start = time.monotonic()
    p = params(opts.quick)
    reps = opts.reps or (3 if opts.quick else 5)
    figures = opts.figures.split(',') if opts.figures else list(FIGURES)
    only = opts.targets.split(',') if opts.targets else TARGETS
    out_dir = opts.out or os.path.join(HERE, 'results')
    os.makedirs(out_dir, exist_ok=True)

    server = RedisServer()
    status = {}      # target -> skip reason
    versions = {}
    try:
        if 'rq_redis' in only:
            if not server.start():
                status['rq_redis'] = server.skip_reason
        for t in TARGETS:
            if t not in only:
                status[t] = 'not selected (--targets)'
                continue
            if t in status:
                continue
            r = run_child(t, 'probe', opts, server.port, timeout=60)
            if 'skipped' in r:
                status[t] = r['skipped']
            elif 'error' in r:
                status[t] = 'import/setup failed: ' + r['error']
            else:
                versions[t] = r['version']
        if server.version and 'rq_redis' in versions:
            versions['rq_redis'] += ', ' + server.version.split(' sha=')[0]
        log('targets: ' + ', '.join('%s=%s' % (t, 'ok' if t not in status else 'skipped (%s)' % status[t])
                                    for t in TARGETS))
        raw, errors = [], []
        for rep in range(reps):
            order = TARGETS[rep % len(TARGETS):] + TARGETS[:rep % len(TARGETS)]
            rep_res = {}
            for fig in figures:
                for t in order:
                    if t not in FIGURES[fig] or t in status:
                        continue
                    t0 = time.monotonic()
                    r = run_child(t, fig, opts, server.port)
                    dt = time.monotonic() - t0
                    if 'error' in r or 'skipped' in r:
                        msg = r.get('error') or ('skipped: ' + r['skipped'])
                        errors.append({'rep': rep + 1, 'target': t, 'figure': fig, 'error': msg,
                                       'traceback': r.get('traceback')})
                        log('rep %d %-12s %-10s ERROR %s (%.1fs)' % (rep + 1, t, fig, msg, dt))
                        continue
                    rep_res.setdefault(t, {}).update(
                        {k: v for k, v in r.items() if k not in ('n', 'depth', 'count')})
                    log('rep %d %-12s %-10s %.1fs %s' % (rep + 1, t, fig, dt, brief(r)))
            raw.append(rep_res)
    finally:
        server.stop()

    medians, ratios, sq_ratios, verdicts = summarise(raw, status, p)
    info = {
        'date': datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'python': platform.python_version(),
        'implementation': platform.python_implementation(),
        'platform': platform.platform(),
        'machine': platform.machine(),
        'cpu_count': os.cpu_count(),
        'reps': reps, 'quick': bool(opts.quick),
        'wall_s': time.monotonic() - t_start,
        'versions': versions,
    }
    md = render_md(info, medians, ratios, sq_ratios, verdicts, status, errors, p)
    doc = {'info': info, 'params': p, 'skipped': status, 'errors': errors,
           'medians': medians, 'ratios_emulator_over_peer': ratios,
           'ratios_sqlite_over_rq_redis': sq_ratios,
           'targets': verdicts, 'raw': raw}
    with open(os.path.join(out_dir, 'latest.json'), 'w', encoding='utf-8') as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
    with open(os.path.join(out_dir, 'latest.md'), 'w', encoding='utf-8') as f:
        f.write(md)
    sys.stdout.write(md)
    sys.stdout.flush()
    return 0


def brief(r):
    return ' '.join('%s=%s' % (k, fmt(v)) for k, v in r.items()
                    if isinstance(v, (int, float)) and k not in ('n',))[:160]


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='smaller N and depths (3 reps by default)')
    ap.add_argument('--reps', type=int, default=None, help='repetitions (default 5, --quick 3)')
    ap.add_argument('--out', default=None, help='output directory (default benchmarks/results)')
    ap.add_argument('--targets', default=None, help='comma list, e.g. emulator,tpe (default all)')
    ap.add_argument('--figures', default=None, help='comma list of ' + ','.join(FIGURES))
    ap.add_argument('--child', nargs=2, metavar=('TARGET', 'FIGURE'), help=argparse.SUPPRESS)
    ap.add_argument('--redis-port', type=int, default=None, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child:
        child_main(opts)
        return 0
    return parent_main(opts)


if __name__ == '__main__':
    sys.exit(main())
