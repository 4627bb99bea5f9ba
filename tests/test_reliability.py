"""Reliability: nothing lost, nothing run twice, under load, faults and bad input.

Four parts:

1. ``LoadTest``: producer threads and started workers over a few thousand jobs
   (succeed, fail, retry, time out, depend on each other, get canceled), then
   invariants on attempts, statuses, registries, ordering and worker counters.
2. ``ModelTest``: seeded random operation sequences on a ``ManualClock``,
   checked after every step against a small reference model.  Seeds come from
   ``RQE_MODEL_SEEDS`` (``'0-199'``, ``'3,7,11'`` or ``'5'``); default 0-4.
3. ``FaultTest``: raising jobs, callbacks and handlers, a job blocked in C past
   its timeout, stopping a worker mid-job or mid-enqueue, many ``get_result``
   waiters, expiry while waiting, an unpicklable result.
4. ``BadInputTest``: every kind of bad input raises at the call, names the
   bad value and changes nothing.

Nothing here sleeps to synchronise: threads meet at Events/Barriers with
asserted timeouts, and time-dependent behaviour runs on a ManualClock.
"""

import logging
import os
import random
import threading
import time
import traceback
import unittest
import warnings
from datetime import timedelta

from rq_emulator import (
    Callback,
    CanceledJobRegistry,
    DeferredJobRegistry,
    Dependency,
    DuplicateJobError,
    FailedJobRegistry,
    FinishedJobRegistry,
    InvalidJobOperation,
    Job,
    JobFailedError,
    ManualClock,
    MemoryStore,
    NoSuchJobError,
    Queue,
    Retry,
    ScheduledJobRegistry,
    StartedJobRegistry,
    TimeoutFormatError,
    Worker,
    cancel_job,
    requeue_job,
    send_stop_job_command,
)

from tests.base import JOB_TIMEOUT, SLOW_TESTS, BaseTestCase
from tests import reliability_jobs as J

START = 1_700_000_000          # an integer epoch, so every model time is an integer
ONE_YEAR = 31536000
WAIT = 10                      # generous bound (seconds) for every thread hand-off

REGISTRY_ATTRS = (
    'started_job_registry',
    'finished_job_registry',
    'failed_job_registry',
    'deferred_job_registry',
    'scheduled_job_registry',
    'canceled_job_registry',
)
REGISTRY_FOR_STATUS = {
    'started': 'started_job_registry',
    'finished': 'finished_job_registry',
    'failed': 'failed_job_registry',
    'stopped': 'failed_job_registry',
    'deferred': 'deferred_job_registry',
    'scheduled': 'scheduled_job_registry',
    'canceled': 'canceled_job_registry',
}
TIMEOUT_LINE = f'JobTimeoutException: Task exceeded maximum timeout value ({JOB_TIMEOUT} seconds)'

_saved_logging = {}


def setUpModule():
    # Workers log tracebacks of the failures these tests cause on purpose.
    for name in ('rq_emulator', 'rq'):
        logger = logging.getLogger(name)
        _saved_logging[name] = (logger.level, logger.propagate)
        logger.setLevel(logging.CRITICAL + 10)
        logger.propagate = False


def tearDownModule():
    for name, (level, propagate) in _saved_logging.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate


def status_value(status):
    return getattr(status, 'value', status)


def fetch_status(job_id, store):
    return status_value(Job.fetch(job_id, connection=store).get_status())


def exc_text(job_id, store):
    return Job.fetch(job_id, connection=store).exc_info or ''


def registry_membership(queues):
    """job id -> list of (queue name, registry attr) it appears in."""
    where = {}
    for q in queues:
        for attr in REGISTRY_ATTRS:
            for jid in getattr(q, attr).get_job_ids():
                where.setdefault(jid, []).append((q.name, attr))
    return where


def parse_seeds(text):
    seeds = []
    for part in text.split(','):
        part = part.strip()
        if not part:
            continue
        if '-' in part:
            lo, hi = part.split('-', 1)
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def stop_quietly(worker, timeout=5):
    try:
        worker.stop(timeout=timeout)
    except Exception:
        pass


# =============================================================================
# 1. Load test
# =============================================================================

class LoadTest(unittest.TestCase):
    PRODUCERS = 4
    PER_PRODUCER = 900 if SLOW_TESTS else 200
    WORKERS = 5

    def test_load_nothing_lost_nothing_run_twice(self):
        key = 'load-%x' % id(self)
        rec = J.new_recorder(key)
        store = MemoryStore(clock=ManualClock(start=START))
        high = Queue('high', connection=store)
        low = Queue('low', connection=store)
        parked = Queue('parked', connection=store)   # no live worker serves it until the end
        queues = (high, low, parked)
        plans = {}
        plans_lock = threading.Lock()
        errors = []

        # Two jobs that run past their job_timeout while blocked in C.
        for n in range(2):
            blocker = 'load-block-%x-%d' % (id(self), n)
            self.addCleanup(J.lock(blocker).release)
            j = low.enqueue(J.block_in_c, key, blocker, job_timeout=JOB_TIMEOUT)
            plans[j.id] = {'kind': 'timeout'}

        workers = [Worker([high, low], connection=store) for _ in range(self.WORKERS)]
        for w in workers:
            w.start()
            self.addCleanup(stop_quietly, w)

        barrier = threading.Barrier(self.PRODUCERS)

        def producer(pi):
            try:
                rnd = random.Random(1000 + pi)
                parents = []
                barrier.wait(WAIT)
                for i in range(self.PER_PRODUCER):
                    q = high if rnd.random() < 0.3 else low
                    r = rnd.random()
                    extra = []
                    if r < 0.45:
                        j = q.enqueue(J.ok, key, i)
                        plan = {'kind': 'ok'}
                        parents.append(j)
                    elif r < 0.55:
                        j = q.enqueue(J.fail, key, 'p%d-%d' % (pi, i))
                        plan = {'kind': 'fail'}
                    elif r < 0.67:
                        fails = rnd.choice((1, 2, 3))
                        j = q.enqueue(J.flaky, key, fails, retry=Retry(max=2))
                        plan = {'kind': 'flaky', 'fails': fails}
                    elif r < 0.82 and parents:
                        recent = parents[-30:]
                        ps = rnd.sample(recent, min(len(recent), rnd.choice((1, 1, 2))))
                        if len(ps) == 1:
                            dep = rnd.choice((ps[0], ps[0].id, [ps[0]]))
                        else:
                            dep = [ps[0], ps[1].id]
                        j = q.enqueue(J.ok, key, i, depends_on=dep)
                        plan = {'kind': 'child', 'parents': [p.id for p in ps]}
                        parents.append(j)
                    elif r < 0.92:
                        # Cancel while the workers are running: a race we allow
                        # either way, but a job must never START after cancel()
                        # returned.
                        j = q.enqueue(J.ok, key, i)
                        plan = {'kind': 'cancel-race'}
                        try:
                            j.cancel()
                            plan['cancel_seq'] = J.tick()
                        except Exception as exc:          # noqa: BLE001 - reported below
                            plan['cancel_error'] = repr(exc)
                    else:
                        # A deferred child of a parked parent: canceled or released later.
                        p = parked.enqueue(J.ok, key, i)
                        extra.append((p.id, {'kind': 'ok'}))
                        j = q.enqueue(J.ok, key, i, depends_on=p)
                        if rnd.random() < 0.5:
                            j.cancel()
                            plan = {'kind': 'canceled'}
                        else:
                            plan = {'kind': 'child', 'parents': [p.id]}
                    with plans_lock:
                        plans[j.id] = plan
                        plans.update(extra)
            except BaseException:                          # noqa: BLE001
                errors.append(traceback.format_exc())

        started = time.monotonic()
        threads = [threading.Thread(target=producer, args=(pi,), name='producer-%d' % pi)
                   for pi in range(self.PRODUCERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
            self.assertFalse(t.is_alive(), 'producer did not finish')
        self.assertEqual(errors, [])

        # Drain the parked parents (releases their deferred children).
        parked_worker = Worker([parked], connection=store)
        parked_worker.work(burst=True)

        # Wait for every job to end (Condition waits inside get_result).
        deadline = time.monotonic() + 30
        stuck = []
        for jid, plan in list(plans.items()):
            if plan['kind'] == 'canceled':
                continue
            job = Job.fetch(jid, connection=store)
            try:
                job.get_result(timeout=max(0.01, deadline - time.monotonic()))
            except JobFailedError:
                pass
            except TimeoutError:
                stuck.append((jid, plan, fetch_status(jid, store)))
        self.assertEqual(stuck, [], 'jobs that never ended (lost?)')

        for w in workers:
            self.assertTrue(w.stop(timeout=5), 'worker %s did not stop' % w.name)
        elapsed = time.monotonic() - started

        # ---- invariants ---------------------------------------------------
        problems = []
        where = registry_membership(queues)
        ok_strict = raised = race_ok = 0
        for jid, plan in plans.items():
            kind = plan['kind']
            try:
                job = Job.fetch(jid, connection=store)
            except NoSuchJobError:
                problems.append('%s %s: LOST (no such job)' % (jid, kind))
                continue
            status = status_value(job.get_status())
            attempts = rec.get(jid)
            n = len(attempts)
            for a in attempts:
                if a.end is None and kind != 'timeout':
                    problems.append('%s %s: attempt never ended %r' % (jid, kind, a))
            for a, b in zip(attempts, attempts[1:]):
                if a.end is None or b.start < a.end:
                    problems.append('%s %s: attempts overlap %r %r' % (jid, kind, a, b))
            for a in attempts:
                if kind in ('cancel-race',):
                    race_ok += a.outcome == 'ok'
                else:
                    ok_strict += a.outcome == 'ok'
                raised += a.outcome == 'raised'

            if kind in ('ok', 'child'):
                expect_status, expect_n = {'finished'}, {1}
            elif kind == 'fail':
                expect_status, expect_n = {'failed'}, {1}
            elif kind == 'flaky':
                f = plan['fails']
                expect_status, expect_n = ({'finished'}, {f + 1}) if f <= 2 else ({'failed'}, {3})
            elif kind == 'timeout':
                expect_status, expect_n = {'failed'}, {1}
                if TIMEOUT_LINE not in (job.exc_info or ''):
                    problems.append('%s timeout: exc_info lacks %r: %r' % (jid, TIMEOUT_LINE, job.exc_info))
            elif kind == 'canceled':
                expect_status, expect_n = {'canceled'}, {0}
            else:  # cancel-race
                if 'cancel_error' in plan:
                    problems.append('%s: cancel() raised %s' % (jid, plan['cancel_error']))
                    continue
                if n == 0:
                    expect_status, expect_n = {'canceled'}, {0}
                else:
                    expect_status, expect_n = {'canceled', 'finished'}, {1}
                    if attempts[0].start > plan['cancel_seq']:
                        problems.append('%s: started (seq %d) after cancel() returned (seq %d)'
                                        % (jid, attempts[0].start, plan['cancel_seq']))
            if status not in expect_status:
                problems.append('%s %s: status %s, expected %s (attempts %d)'
                                % (jid, kind, status, sorted(expect_status), n))
            if n not in expect_n:
                problems.append('%s %s: ran %d times, expected %s' % (jid, kind, n, sorted(expect_n)))
            expected_where = [(job.origin, REGISTRY_FOR_STATUS[status])] if status in REGISTRY_FOR_STATUS else []
            if sorted(where.get(jid, [])) != expected_where:
                problems.append('%s %s: status %s but in registries %s'
                                % (jid, kind, status, where.get(jid, [])))
            if kind == 'child' and attempts:
                for pid in plan['parents']:
                    p_attempts = rec.get(pid)
                    if not p_attempts or p_attempts[-1].end is None \
                            or attempts[0].start < p_attempts[-1].end:
                        problems.append('%s: child started at %d before parent %s ended (%r)'
                                        % (jid, attempts[0].start, pid, p_attempts))
        for q in queues:
            if q.get_job_ids():
                problems.append('queue %s not empty: %d ids' % (q.name, len(q.get_job_ids())))
            for attr in ('started_job_registry', 'deferred_job_registry', 'scheduled_job_registry'):
                ids = getattr(q, attr).get_job_ids()
                if ids:
                    problems.append('%s.%s not empty: %s' % (q.name, attr, ids[:5]))
        self.assertEqual(problems[:20], [], '%d problems' % len(problems))

        # Worker counters (failed attempts that are retried count as failed, as in RQ).
        all_workers = workers + [parked_worker]
        successes = sum(w.successful_job_count for w in all_workers)
        failures = sum(w.failed_job_count for w in all_workers)
        self.assertGreaterEqual(successes, ok_strict)
        self.assertLessEqual(successes, ok_strict + race_ok)
        self.assertEqual(failures, raised + 2)          # + the two timeouts
        self.assertGreater(len(plans), self.PRODUCERS * self.PER_PRODUCER * 0.8)
        self.assertLess(elapsed, 60)


# =============================================================================
# 2. Model-based random test
# =============================================================================

class _MJob:
    __slots__ = ('id', 'origin', 'kind', 'status', 'retries_left', 'interval', 'result_ttl',
                 'expires_at', 'due', 'parents', 'allow_failure', 'dependents', 'alive',
                 'fails', 'attempts')

    def __init__(self, jid, origin, kind):
        self.id = jid
        self.origin = origin
        self.kind = kind                  # 'ok', 'fail' or 'flaky' (fails `fails` times)
        self.fails = 0
        self.attempts = 0
        self.status = None
        self.retries_left = 0
        self.interval = 0
        self.result_ttl = None
        self.expires_at = None
        self.due = None
        self.parents = []
        self.allow_failure = False
        self.dependents = []
        self.alive = True


class _Model:
    """Where every job must be, per RQ's rules (statuses and registries, dependencies)."""

    def __init__(self, now, queue_names):
        self.now = now
        self.jobs = {}
        self.queues = {name: [] for name in queue_names}

    def alive(self):
        return [j for j in self.jobs.values() if j.alive]

    def push(self, job, at_front=False):
        job.status = 'queued'
        q = self.queues[job.origin]
        if at_front:
            q.insert(0, job.id)
        else:
            q.append(job.id)

    def unqueue(self, job):
        q = self.queues[job.origin]
        if job.id in q:
            q.remove(job.id)

    def live_parent(self, pid):
        p = self.jobs.get(pid)
        return p if p is not None and p.alive else None

    def deps_met(self, child):
        for pid in child.parents:
            p = self.live_parent(pid)
            if p is None or p.status == 'finished':
                continue
            if p.status == 'failed' and child.allow_failure:
                continue
            return False
        return True

    def add(self, job, at_front=False):
        self.jobs[job.id] = job
        if any((p := self.live_parent(pid)) is not None and p.status != 'finished'
               for pid in job.parents):
            job.status = 'deferred'
            for pid in job.parents:
                p = self.live_parent(pid)
                if p is not None:
                    p.dependents.append(job.id)
        else:
            self.push(job, at_front)

    def release_dependents(self, parent):
        keep = []
        for cid in parent.dependents:
            c = self.jobs[cid]
            if c.alive and c.status == 'deferred' and self.deps_met(c):
                self.push(c)
            else:
                keep.append(cid)
        parent.dependents = keep

    def live_deferred_dependents(self, job):
        return [c for c in job.dependents if self.jobs[c].alive and self.jobs[c].status == 'deferred']

    def work(self, order, max_jobs):
        ran = []
        while max_jobs is None or len(ran) < max_jobs:
            name = next((n for n in order if self.queues[n]), None)
            if name is None:
                break
            job = self.jobs[self.queues[name].pop(0)]
            ran.append(job.id)
            job.attempts += 1
            if job.kind == 'ok' or (job.kind == 'flaky' and job.attempts > job.fails):
                job.status = 'finished'
                ttl = 500 if job.result_ttl is None else job.result_ttl
                job.expires_at = None if ttl == -1 else self.now + ttl
                self.release_dependents(job)
                if ttl == 0:
                    job.alive = False
            elif job.retries_left:
                job.retries_left -= 1
                if job.interval:
                    job.status = 'scheduled'
                    job.due = self.now + job.interval
                else:
                    self.push(job)
            else:
                job.status = 'failed'
                job.expires_at = self.now + ONE_YEAR
                self.release_dependents(job)
        return ran

    def boundaries(self):
        out = set()
        for j in self.alive():
            if j.status in ('finished', 'failed') and j.expires_at is not None:
                out.add(j.expires_at)
            if j.status == 'scheduled':
                out.add(j.due)
        return out

    def advance(self, seconds):
        """Move time; return the promoted jobs grouped by due time (ties unordered)."""
        self.now += seconds
        for j in self.alive():
            if j.status in ('finished', 'failed') and j.expires_at is not None \
                    and j.expires_at <= self.now:
                j.alive = False
        due = sorted((j for j in self.alive() if j.status == 'scheduled' and j.due <= self.now),
                     key=lambda j: j.due)
        groups = {}
        for j in due:
            groups.setdefault((j.origin, j.due), []).append(j)
        for j in due:
            self.push(j)
        return groups


class ModelTest(unittest.TestCase):
    QUEUES = ('q1', 'q2')
    STEPS = 120

    def test_random_operation_sequences(self):
        seeds = parse_seeds(os.environ.get('RQE_MODEL_SEEDS', '0-4'))
        for seed in seeds:
            with self.subTest(seed=seed):
                self.run_seed(seed)

    def run_seed(self, seed):
        rnd = random.Random(seed)
        key = 'model-%d-%x' % (seed, id(self))
        rec = J.new_recorder(key)
        clock = ManualClock(start=START)
        store = MemoryStore(clock=clock)
        queues = {name: Queue(name, connection=store) for name in self.QUEUES}
        model = _Model(START, self.QUEUES)
        handles = {}
        log = []
        counter = [0]
        seen_order = [0]

        def new_id():
            counter[0] += 1
            return 's%d-j%d' % (seed, counter[0])

        def pick(pred=lambda j: True, include_dead=False):
            pool = [j for j in model.jobs.values() if (include_dead or j.alive) and pred(j)]
            return rnd.choice(pool) if pool else None

        def handle_for(mj):
            if rnd.random() < 0.5 and mj.id in handles:
                return handles[mj.id]            # possibly stale object from enqueue
            return Job.fetch(mj.id, connection=store)

        def op_enqueue():
            q_name = rnd.choice(self.QUEUES)
            r = rnd.random()
            kind = 'fail' if r < 0.2 else 'flaky' if r < 0.35 else 'ok'
            jid = new_id()
            mj = _MJob(jid, q_name, kind)
            kwargs = {'job_id': jid}
            if kind == 'flaky':
                mj.fails = rnd.choice((1, 1, 2))
            if rnd.random() < 0.3:
                mj.retries_left = rnd.choice((1, 2))
                mj.interval = rnd.choice((0, 0, 3, 7, 20))
                kwargs['retry'] = Retry(max=mj.retries_left, interval=mj.interval)
            ttl = rnd.choice((None, None, None, 0, 5, 20, 60, -1))
            if ttl is not None:
                kwargs['result_ttl'] = mj.result_ttl = ttl
            at_front = False
            if rnd.random() < 0.25:
                n = rnd.choice((1, 1, 2))
                cands = [j for j in model.alive() if not model.live_deferred_dependents(j)]
                parents = rnd.sample(cands, min(n, len(cands)))
                if parents:
                    mj.parents = [p.id for p in parents]
                    if len(parents) == 1 and rnd.random() < 0.4:
                        mj.allow_failure = True
                        kwargs['depends_on'] = Dependency(jobs=[parents[0].id], allow_failure=True)
                    elif len(parents) == 1:
                        kwargs['depends_on'] = rnd.choice((parents[0].id, handles.get(parents[0].id) or parents[0].id))
                    else:
                        kwargs['depends_on'] = [p.id for p in parents]
            if not mj.parents and rnd.random() < 0.2:
                at_front = kwargs['at_front'] = True
            func_args = {'ok': (J.ok, key, jid), 'fail': (J.fail, key, 'm-' + jid),
                         'flaky': (J.flaky, key, mj.fails)}[kind]
            log.append('enqueue %s %s %s%s %r' % (jid, q_name, kind, mj.fails or '', sorted(
                (k, v if not hasattr(v, 'id') else v.id) for k, v in kwargs.items() if k != 'job_id')))
            handles[jid] = queues[q_name].enqueue(*func_args, **kwargs)
            model.add(mj, at_front)

        def op_schedule():
            q_name = rnd.choice(self.QUEUES)
            kind = 'fail' if rnd.random() < 0.3 else 'ok'
            jid = new_id()
            mj = _MJob(jid, q_name, kind)
            delay = rnd.randint(1, 40)
            func_args = (J.ok, key, jid) if kind == 'ok' else (J.fail, key, 'm-' + jid)
            how = rnd.choice(('at', 'in', 'in-seconds'))
            log.append('schedule %s %s %s %s +%ds' % (jid, q_name, kind, how, delay))
            if how == 'at':
                handles[jid] = queues[q_name].enqueue_at(
                    clock.now() + timedelta(seconds=delay), *func_args, job_id=jid)
            elif how == 'in':
                handles[jid] = queues[q_name].enqueue_in(timedelta(seconds=delay), *func_args, job_id=jid)
            else:
                handles[jid] = queues[q_name].enqueue_in(delay, *func_args, job_id=jid)
            mj.status = 'scheduled'
            mj.due = model.now + delay
            model.jobs[jid] = mj

        def op_cancel():
            mj = pick(lambda j: j.status in ('queued', 'scheduled', 'deferred', 'canceled'))
            if mj is None:
                return
            log.append('cancel %s (%s)' % (mj.id, mj.status))
            if mj.status == 'canceled':
                with self.assertRaises(InvalidJobOperation):
                    handle_for(mj).cancel()
                return
            if rnd.random() < 0.3:
                cancel_job(mj.id, connection=store)
            else:
                handle_for(mj).cancel()
            model.unqueue(mj)
            mj.status = 'canceled'

        def op_requeue():
            mj = pick(lambda j: j.status == 'failed') if rnd.random() < 0.7 else None
            mj = mj or pick()
            if mj is None:
                return
            log.append('requeue %s (%s)' % (mj.id, mj.status))
            use_helper = rnd.random() < 0.3
            if mj.status != 'failed':
                with self.assertRaises((InvalidJobOperation, NoSuchJobError)):
                    if use_helper:
                        requeue_job(mj.id, connection=store)
                    else:
                        handle_for(mj).requeue()
                return
            if use_helper:
                requeue_job(mj.id, connection=store)
            else:
                handle_for(mj).requeue()
            mj.expires_at = None
            model.push(mj)

        def op_delete():
            mj = pick()
            if mj is None:
                return
            log.append('delete %s (%s)' % (mj.id, mj.status))
            handle_for(mj).delete()
            model.unqueue(mj)
            mj.alive = False
            mj.dependents = []

        def op_dead_job():
            mj = pick(lambda j: not j.alive, include_dead=True)
            if mj is None:
                return
            log.append('operate on dead %s' % mj.id)
            with self.assertRaises(NoSuchJobError):
                Job.fetch(mj.id, connection=store)
            if mj.id in handles:
                what = rnd.choice(('cancel', 'requeue', 'get_status'))
                with self.assertRaises((NoSuchJobError, InvalidJobOperation)):
                    getattr(handles[mj.id], what)()

        def op_advance():
            seconds = rnd.choice((1, 2, 3, 5, 8, 15, 30, 70, 200, 600))
            bounds = model.boundaries()
            while model.now + seconds in bounds:      # keep off exact boundaries
                seconds += 1
            log.append('advance %d' % seconds)
            before = {n: list(model.queues[n]) for n in self.QUEUES}
            groups = model.advance(seconds)
            clock.advance(seconds)
            # Jobs due at the same instant may be promoted in any order: adopt
            # the emulator's order within each tie, after checking the set.
            for name in self.QUEUES:
                actual = queues[name].get_job_ids()
                expected = model.queues[name]
                if actual == expected:
                    continue
                self.assertEqual(actual[:len(before[name])], before[name],
                                 'queue %s: existing jobs disturbed by advance' % name)
                pos = len(before[name])
                for (q_name, _due), group in sorted(groups.items(), key=lambda kv: kv[0][1]):
                    if q_name != name:
                        continue
                    segment = actual[pos:pos + len(group)]
                    self.assertEqual(sorted(segment), sorted(j.id for j in group),
                                     'queue %s: wrong promotion order across due times' % name)
                    pos += len(group)
                self.assertEqual(len(actual), pos)
                model.queues[name] = list(actual)

        def op_work():
            order = list(self.QUEUES)
            rnd.shuffle(order)
            if rnd.random() < 0.3:
                order = order[:1]
            max_jobs = rnd.choice((None, None, 1, 3))
            log.append('work %s max_jobs=%s' % (order, max_jobs))
            expected = model.work(order, max_jobs)
            worker = Worker([queues[n] for n in order], connection=store)
            if max_jobs is None:
                result = worker.work(burst=True)
            else:
                result = worker.work(burst=True, max_jobs=max_jobs)
            with rec.lock:
                ran = rec.order[seen_order[0]:]
                seen_order[0] = len(rec.order)
            self.assertEqual(ran, expected, 'execution order')
            self.assertEqual(bool(result), bool(expected), 'work() return value')

        def op_fetch():
            mj = pick(include_dead=True)
            if mj is None:
                return
            log.append('fetch %s' % mj.id)
            q = queues[rnd.choice(self.QUEUES)]
            got = q.fetch_job(mj.id)
            if mj.alive and mj.origin == q.name:
                self.assertIsNotNone(got)
                self.assertEqual(got.id, mj.id)
                self.assertEqual(status_value(got.get_status()), mj.status)
            else:
                self.assertIsNone(got)

        ops = ((op_enqueue, 30), (op_schedule, 9), (op_cancel, 8), (op_requeue, 8),
               (op_delete, 5), (op_dead_job, 3), (op_advance, 12), (op_work, 18), (op_fetch, 7))
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]

        for step in range(self.STEPS):
            op = rnd.choices(funcs, weights)[0]
            try:
                op()
                self.check(model, store, queues)
            except Exception as exc:
                raise AssertionError(
                    'RQE_MODEL_SEEDS=%d failed at step %d (%s): %s: %s\nlast operations:\n  %s'
                    % (seed, step, op.__name__, type(exc).__name__, exc, '\n  '.join(log[-15:]))
                ) from exc

    def check(self, model, store, queues):
        for name, q in queues.items():
            self.assertEqual(q.get_job_ids(), model.queues[name], 'queue %s order' % name)
            for status, attr in REGISTRY_FOR_STATUS.items():
                if status == 'stopped':
                    continue
                expected = {j.id for j in model.alive() if j.origin == name and j.status == status}
                actual = set(getattr(q, attr).get_job_ids())
                self.assertEqual(actual, expected, '%s.%s' % (name, attr))
        for mj in model.jobs.values():
            if mj.alive:
                job = Job.fetch(mj.id, connection=store)
                self.assertEqual(status_value(job.get_status()), mj.status, 'status of %s' % mj.id)
                self.assertEqual(job.origin, mj.origin)
            else:
                with self.assertRaises(NoSuchJobError, msg='%s should be gone' % mj.id):
                    Job.fetch(mj.id, connection=store)


# =============================================================================
# 3. Faults
# =============================================================================

class FaultTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.key = 'fault-%s-%x' % (self._testMethodName, id(self))
        self.rec = J.new_recorder(self.key)
        self.clock = ManualClock(start=START)
        self.store = MemoryStore(clock=self.clock)
        self.q = Queue('faults', connection=self.store)

    def start_worker(self, **kwargs):
        w = Worker([self.q], connection=self.store, **kwargs)
        w.start()
        self.addCleanup(stop_quietly, w)
        return w

    def status(self, job):
        return fetch_status(job.id, self.store)

    def run_in_thread(self, target):
        box = {}

        def run():
            try:
                box['value'] = target()
            except BaseException as exc:           # noqa: BLE001
                box['error'] = exc
            box['done'] = time.monotonic()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, box

    # ---- raising jobs ---------------------------------------------------

    def test_exception_and_system_exit_fail_only_the_job(self):
        j1 = self.q.enqueue(J.fail, self.key, 'plain failure')
        j2 = self.q.enqueue(J.raise_system_exit, self.key)
        j3 = self.q.enqueue(J.ok, self.key, 7)
        w = Worker([self.q], connection=self.store)
        self.assertTrue(w.work(burst=True))          # SystemExit must not escape
        self.assertEqual(self.status(j1), 'failed')
        self.assertTrue(exc_text(j1.id, self.store).rstrip().endswith('ValueError: plain failure'))
        self.assertEqual(self.status(j2), 'failed')
        self.assertIn('SystemExit', exc_text(j2.id, self.store))
        self.assertEqual(self.status(j3), 'finished')
        self.assertEqual((w.successful_job_count, w.failed_job_count), (1, 2))

        # Same in a started (background) worker: it keeps going afterwards.
        w2 = self.start_worker()
        k1 = self.q.enqueue(J.raise_system_exit, self.key)
        k2 = self.q.enqueue(J.fail, self.key, 'again')
        k3 = self.q.enqueue(J.ok, self.key, 8)
        self.assertEqual(k3.get_result(timeout=WAIT), 8)
        self.assertEqual((self.status(k1), self.status(k2)), ('failed', 'failed'))
        k4 = self.q.enqueue(J.ok, self.key, 9)
        self.assertEqual(k4.get_result(timeout=WAIT), 9)
        self.assertTrue(w2.stop(timeout=5))
        for j in (j1, j2, j3, k1, k2, k3, k4):
            self.assertEqual(self.rec.count(j.id), 1)

    def test_keyboard_interrupt_in_job_fails_it_and_loses_nothing(self):
        # Decision: a job raising KeyboardInterrupt is failed
        # like any other; work() may re-raise the interrupt (Ctrl-C stops a
        # worker), but no job may be left 'started' or lost.
        j1 = self.q.enqueue(J.raise_keyboard_interrupt, self.key)
        j2 = self.q.enqueue(J.ok, self.key, 2)
        w = Worker([self.q], connection=self.store)
        try:
            w.work(burst=True)
        except KeyboardInterrupt:
            pass
        self.assertEqual(self.status(j1), 'failed')
        self.assertIn('KeyboardInterrupt', exc_text(j1.id, self.store))
        self.assertIn(j1.id, self.q.failed_job_registry.get_job_ids())
        self.assertEqual(self.q.started_job_registry.get_job_ids(), [])
        self.assertIn(self.status(j2), ('finished', 'queued'))
        if self.status(j2) == 'queued':
            Worker([self.q], connection=self.store).work(burst=True)
        self.assertEqual(self.status(j2), 'finished')
        self.assertEqual((self.rec.count(j1.id), self.rec.count(j2.id)), (1, 1))

    # ---- timeouts ---------------------------------------------------------

    def test_job_blocked_in_c_past_timeout(self):
        name = 'c-block-%x' % id(self)
        lk = J.lock(name)
        released = []

        def release():
            if not released:
                released.append(1)
                lk.release()
        self.addCleanup(release)
        w = self.start_worker()
        blocked = self.q.enqueue(J.block_in_c, self.key, name, job_timeout=JOB_TIMEOUT)
        after = self.q.enqueue(J.ok, self.key, 'after')
        self.assertTrue(J.event(name + ':entered').wait(WAIT))
        t0 = time.monotonic()
        self.assertEqual(after.get_result(timeout=WAIT), 'after')
        self.assertLess(time.monotonic() - t0, 5)
        self.assertFalse(J.event(name + ':returned').is_set(), 'job was not blocked?')
        self.assertEqual(self.status(blocked), 'failed')
        self.assertIn(TIMEOUT_LINE, exc_text(blocked.id, self.store))
        with self.assertRaises(JobFailedError):
            blocked.get_result(timeout=1)
        self.assertIn(blocked.id, self.q.failed_job_registry.get_job_ids())
        self.assertNotIn(blocked.id, self.q.started_job_registry.get_job_ids())
        self.assertTrue(w.stop(timeout=5))
        self.assertEqual((w.failed_job_count, w.successful_job_count), (1, 1))

        # Let the C call return: the late return value must be discarded.
        release()
        self.assertTrue(J.event(name + ':returned').wait(WAIT))
        attempt = self.rec.get(blocked.id)[0]
        attempt.thread.join(3)          # bounded: gives the abandoned thread time to unwind
        job = Job.fetch(blocked.id, connection=self.store)
        self.assertEqual(status_value(job.get_status()), 'failed')
        self.assertIsNone(job.return_value())
        self.assertIn(TIMEOUT_LINE, job.exc_info or '')
        self.assertNotIn(blocked.id, self.q.finished_job_registry.get_job_ids())
        self.assertIn(blocked.id, self.q.failed_job_registry.get_job_ids())
        self.assertEqual(self.rec.count(blocked.id), 1)

    # ---- callbacks and handlers ----------------------------------------

    def test_raising_success_callback_fails_the_job(self):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            j1 = self.q.enqueue(J.ok, self.key, 1, on_success=Callback(J.success_callback_raises))
            j2 = self.q.enqueue(J.ok, self.key, 2, on_success=J.success_callback_raises)
        child = self.q.enqueue(J.ok, self.key, 'child', depends_on=j1)
        j3 = self.q.enqueue(J.ok, self.key, 3)
        w = Worker([self.q], connection=self.store)
        self.assertTrue(w.work(burst=True))
        for j in (j1, j2):
            job = Job.fetch(j.id, connection=self.store)
            self.assertEqual(status_value(job.get_status()), 'failed')
            self.assertIn('on_success callback boom', job.exc_info or '')
            self.assertIsNone(job.return_value())
            self.assertIn(j.id, self.q.failed_job_registry.get_job_ids())
            self.assertNotIn(j.id, self.q.finished_job_registry.get_job_ids())
        self.assertEqual(self.status(child), 'deferred')
        self.assertEqual(self.status(j3), 'finished')

    def test_raising_failure_callback_does_not_kill_worker(self):
        j1 = self.q.enqueue(J.fail, self.key, 'first', on_failure=Callback(J.failure_callback_raises))
        j2 = self.q.enqueue(J.flaky, self.key, 1, retry=Retry(max=1),
                            on_failure=Callback(J.failure_callback_raises))
        j3 = self.q.enqueue(J.ok, self.key, 3)
        w = Worker([self.q], connection=self.store)
        self.assertTrue(w.work(burst=True))
        self.assertEqual(self.status(j1), 'failed')
        self.assertIn(j1.id, self.q.failed_job_registry.get_job_ids())
        self.assertEqual(self.status(j2), 'finished')    # retried despite the raising callback
        self.assertEqual(self.rec.count(j2.id), 2)
        self.assertEqual(self.status(j3), 'finished')
        # started worker also survives it
        w2 = self.start_worker()
        self.q.enqueue(J.fail, self.key, 'bg', on_failure=Callback(J.failure_callback_raises))
        k = self.q.enqueue(J.ok, self.key, 'bg-ok')
        self.assertEqual(k.get_result(timeout=WAIT), 'bg-ok')
        self.assertTrue(w2.stop(timeout=5))

    def test_raising_stopped_callback_does_not_kill_worker(self):
        name = 'stop-cb-%x' % id(self)
        self.addCleanup(J.event(name).set)
        w = self.start_worker()
        job = self.q.enqueue(J.wait_event, self.key, name,
                             on_stopped=Callback(J.stopped_callback_raises))
        nxt = self.q.enqueue(J.ok, self.key, 'next')
        self.assertTrue(J.event(name + ':entered').wait(WAIT))
        send_stop_job_command(self.store, job.id)
        self.assertEqual(nxt.get_result(timeout=WAIT), 'next')
        self.assertTrue(J.event('stopped-callback-called').wait(WAIT))
        self.assertEqual(self.status(job), 'stopped')
        self.assertIn(job.id, self.q.failed_job_registry.get_job_ids())
        self.assertNotIn(job.id, self.q.started_job_registry.get_job_ids())
        J.event(name).set()
        self.assertTrue(w.stop(timeout=5))
        self.assertEqual(self.rec.count(job.id), 1)

    def test_raising_exception_handler_does_not_kill_worker(self):
        calls = []

        def second_handler(job, *exc_info):
            calls.append(job.id)
            return True
        j1 = self.q.enqueue(J.fail, self.key, 'handled')
        j2 = self.q.enqueue(J.ok, self.key, 2)
        w = Worker([self.q], connection=self.store,
                   exception_handlers=[J.handler_raises, second_handler])
        self.assertTrue(w.work(burst=True))
        self.assertEqual(self.status(j1), 'failed')
        self.assertIn('ValueError: handled', exc_text(j1.id, self.store))
        self.assertEqual(self.status(j2), 'finished')
        self.assertEqual(w.failed_job_count, 1)

    # ---- stopping -------------------------------------------------------

    def test_stop_mid_job_finishes_it_and_takes_no_new_job(self):
        name = 'mid-%x' % id(self)
        self.addCleanup(J.event(name).set)
        w = self.start_worker()
        j1 = self.q.enqueue(J.wait_event, self.key, name, 'first')
        j2 = self.q.enqueue(J.ok, self.key, 'second')
        self.assertTrue(J.event(name + ':entered').wait(WAIT))
        self.assertFalse(w.stop(timeout=0))              # requested; job still in hand
        J.event(name).set()
        self.assertTrue(w.stop(timeout=5))
        self.assertEqual(self.status(j1), 'finished')
        self.assertEqual(j1.get_result(timeout=1), 'first')
        self.assertEqual(self.status(j2), 'queued')
        self.assertEqual(self.q.get_job_ids(), [j2.id])
        self.assertEqual(self.rec.count(j2.id), 0)
        Worker([self.q], connection=self.store).work(burst=True)
        self.assertEqual(self.status(j2), 'finished')

    def test_stop_racing_enqueue_loses_nothing(self):
        w = self.start_worker()
        midway = threading.Event()
        barrier = threading.Barrier(3)
        produced = [[] for _ in range(3)]
        errors = []

        def producer(pi):
            try:
                barrier.wait(WAIT)
                for i in range(300):
                    produced[pi].append(self.q.enqueue(J.ok, self.key, (pi, i)).id)
                    if pi == 0 and i == 100:
                        midway.set()
            except BaseException:                       # noqa: BLE001
                errors.append(traceback.format_exc())
        threads = [threading.Thread(target=producer, args=(pi,)) for pi in range(3)]
        for t in threads:
            t.start()
        self.assertTrue(midway.wait(WAIT))
        self.assertTrue(w.stop(timeout=5))
        for t in threads:
            t.join(WAIT)
            self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        queued = set(self.q.get_job_ids())
        for ids in produced:
            for jid in ids:
                n = self.rec.count(jid)
                st = fetch_status(jid, self.store)
                if n == 0:
                    self.assertEqual(st, 'queued', jid)
                    self.assertIn(jid, queued)
                else:
                    self.assertEqual((n, st), (1, 'finished'), jid)
                    self.assertNotIn(jid, queued)
            # each producer's queued jobs keep their enqueue order
            mine = [jid for jid in self.q.get_job_ids() if jid in set(ids)]
            self.assertEqual(mine, [jid for jid in ids if jid in queued])
        Worker([self.q], connection=self.store).work(burst=True)
        for ids in produced:
            for jid in ids:
                self.assertEqual(self.rec.count(jid), 1)
                self.assertEqual(fetch_status(jid, self.store), 'finished')

    # ---- waiting for results -------------------------------------------

    def test_many_threads_wait_for_one_result(self):
        name = 'many-%x' % id(self)
        self.addCleanup(J.event(name).set)
        good = self.q.enqueue(J.wait_event, self.key, name, 'shared value')
        bad = self.q.enqueue(J.fail, self.key, 'many waiters')
        n = 12
        barrier = threading.Barrier(2 * n + 1)
        outcomes = []
        lock = threading.Lock()

        def waiter(job_id, use_handle):
            job = {'good': good, 'bad': bad}[use_handle] if use_handle else Job.fetch(job_id, connection=self.store)
            barrier.wait(WAIT)
            try:
                value = ('value', job.get_result(timeout=WAIT))
            except JobFailedError as exc:
                value = ('failed', exc.job.id, str(exc))
            except BaseException as exc:                # noqa: BLE001
                value = ('error', repr(exc))
            with lock:
                outcomes.append((job_id, value))
        threads = []
        for i in range(n):
            threads.append(threading.Thread(target=waiter, args=(good.id, 'good' if i % 2 else None)))
            threads.append(threading.Thread(target=waiter, args=(bad.id, 'bad' if i % 2 else None)))
        for t in threads:
            t.start()
        barrier.wait(WAIT)
        w = self.start_worker()
        self.assertTrue(J.event(name + ':entered').wait(WAIT))
        J.event(name).set()
        for t in threads:
            t.join(WAIT + 5)
            self.assertFalse(t.is_alive())
        self.assertEqual(len(outcomes), 2 * n)
        for job_id, value in outcomes:
            if job_id == good.id:
                self.assertEqual(value, ('value', 'shared value'))
            else:
                self.assertEqual(value[:2], ('failed', bad.id), value)
                self.assertIn(bad.id, value[2])
                self.assertIn('failed', value[2])
                self.assertIn('ValueError: many waiters', value[2])
        self.assertTrue(w.stop(timeout=5))

    def test_waiter_woken_when_waiting_job_expires(self):
        # Decision: a job whose ttl runs out while it waits in the queue will
        # never end, so get_result() raises NoSuchJobError at once (it must
        # not sit out its timeout and raise TimeoutError).
        job = self.q.enqueue(J.ok, self.key, 1, ttl=10)
        ready = threading.Event()

        def wait():
            ready.set()
            return job.get_result(timeout=4)
        t, box = self.run_in_thread(wait)
        self.assertTrue(ready.wait(WAIT))
        t0 = time.monotonic()
        self.clock.advance(11)
        t.join(WAIT)
        self.assertFalse(t.is_alive())
        self.assertIsInstance(box.get('error'), (NoSuchJobError, InvalidJobOperation), box)
        self.assertLess(box['done'] - t0, 3, 'waiter was not woken by the expiry')

    def test_waiters_on_result_ttl_zero_job(self):
        # Decision: result_ttl=0 deletes the job right after success.  A thread
        # already waiting gets the value or NoSuchJobError, never TimeoutError.
        name = 'ttl0-%x' % id(self)
        self.addCleanup(J.event(name).set)
        job = self.q.enqueue(J.wait_event, self.key, name, 'gone soon', result_ttl=0)
        barrier = threading.Barrier(7)
        boxes = []
        threads = []
        for _ in range(6):
            def wait(h=Job.fetch(job.id, connection=self.store)):
                barrier.wait(WAIT)
                return h.get_result(timeout=WAIT)
            t, box = self.run_in_thread(wait)
            threads.append(t)
            boxes.append(box)
        barrier.wait(WAIT)
        w = self.start_worker()
        self.assertTrue(J.event(name + ':entered').wait(WAIT))
        J.event(name).set()
        for t in threads:
            t.join(WAIT + 5)
            self.assertFalse(t.is_alive())
        for box in boxes:
            if 'error' in box:
                self.assertIsInstance(box['error'], NoSuchJobError)
            else:
                self.assertEqual(box['value'], 'gone soon')
        self.assertFalse(Job.exists(job.id, connection=self.store))
        self.assertTrue(w.stop(timeout=5))

    def test_get_result_after_result_expired(self):
        # Decision: after result_ttl the job is gone; get_result() on an old
        # handle answers at once (its cached value, or NoSuchJobError).
        job = self.q.enqueue(J.ok, self.key, 'short-lived', result_ttl=5)
        Worker([self.q], connection=self.store).work(burst=True)
        self.assertEqual(job.get_result(timeout=1), 'short-lived')
        self.clock.advance(6)
        with self.assertRaises(NoSuchJobError):
            Job.fetch(job.id, connection=self.store)
        self.assertNotIn(job.id, self.q.finished_job_registry.get_job_ids())
        t0 = time.monotonic()
        try:
            self.assertEqual(job.get_result(timeout=2), 'short-lived')
        except NoSuchJobError:
            pass
        self.assertLess(time.monotonic() - t0, 1.5)

    # ---- results that cannot be stored -----------------------------------

    def test_unpicklable_result(self):
        # RQ stores the string 'Unserializable return value'; failing the job
        # with a clear message is also acceptable.  The worker must go on.
        j1 = self.q.enqueue(J.unpicklable_result, self.key)
        j2 = self.q.enqueue(J.ok, self.key, 2)
        w = Worker([self.q], connection=self.store)
        self.assertTrue(w.work(burst=True))
        job = Job.fetch(j1.id, connection=self.store)
        st = status_value(job.get_status())
        self.assertIn(st, ('finished', 'failed'))
        if st == 'finished':
            self.assertEqual(job.return_value(), 'Unserializable return value')
        else:
            self.assertRegex(job.exc_info or '', '(?i)pickl|serializ')
        self.assertEqual(self.status(j2), 'finished')
        self.assertEqual(self.rec.count(j1.id), 1)


class DependencyReleaseTest(BaseTestCase):
    """Deterministic reproductions of what the model test once found: dependents released in every case."""

    def setUp(self):
        super().setUp()
        self.key = 'deps-%s-%x' % (self._testMethodName, id(self))
        self.rec = J.new_recorder(self.key)
        self.store = MemoryStore(clock=ManualClock(start=START))
        self.q = Queue('deps', connection=self.store)

    def burst(self):
        return Worker([self.q], connection=self.store).work(burst=True)

    def test_result_ttl_zero_parent_releases_its_dependents(self):
        # RQ: the success path enqueues dependents, then deletes the job.
        parent = self.q.enqueue(J.ok, self.key, 'p', result_ttl=0)
        child = self.q.enqueue(J.ok, self.key, 'c', depends_on=parent)
        self.assertEqual(fetch_status(child.id, self.store), 'deferred')
        self.burst()
        self.assertFalse(Job.exists(parent.id, connection=self.store))
        self.assertEqual(fetch_status(child.id, self.store), 'finished')
        self.assertEqual(self.rec.count(child.id), 1)

    def test_failed_parent_requeued_and_finished_releases_child(self):
        # RQ removes a dependent from the parent's set only when it enqueues
        # it, so a child left deferred by a failed parent is released when
        # that parent is requeued and then finishes.
        parent = self.q.enqueue(J.flaky, self.key, 1)
        child = self.q.enqueue(J.ok, self.key, 'c', depends_on=parent)
        self.burst()
        self.assertEqual(fetch_status(parent.id, self.store), 'failed')
        self.assertEqual(fetch_status(child.id, self.store), 'deferred')
        parent.requeue()
        self.burst()
        self.assertEqual(fetch_status(parent.id, self.store), 'finished')
        self.assertEqual(fetch_status(child.id, self.store), 'finished')


# =============================================================================
# 4. Bad input
# =============================================================================

class BadInputTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.key = 'bad-%s-%x' % (self._testMethodName, id(self))
        self.rec = J.new_recorder(self.key)
        self.clock = ManualClock(start=START)
        self.store = MemoryStore(clock=self.clock)
        self.q = Queue('bad', connection=self.store)
        self.q2 = Queue('bad2', connection=self.store)
        q2 = self.q2
        self.finished = q2.enqueue(J.ok, self.key, 1, job_id='finished1')
        self.failed = q2.enqueue(J.fail, self.key, 'x', job_id='failed1')
        Worker([q2], connection=self.store).work(burst=True)
        self.queued = self.q.enqueue(J.ok, self.key, 2, job_id='queued1')
        self.front = self.q.enqueue(J.ok, self.key, 3, job_id='queued2', at_front=True)
        self.scheduled = self.q.enqueue_in(timedelta(seconds=60), J.ok, self.key, 4, job_id='sched1')
        self.deferred = self.q.enqueue(J.ok, self.key, 5, job_id='deferred1', depends_on=self.queued)
        self.canceled = q2.enqueue(J.ok, self.key, 6, job_id='canceled1')
        self.canceled.cancel()
        self.ids = ['finished1', 'failed1', 'queued1', 'queued2', 'sched1', 'deferred1', 'canceled1']

    def snapshot(self):
        state = {}
        for q in (self.q, self.q2):
            state[q.name] = {'queue': list(q.get_job_ids())}
            for attr in REGISTRY_ATTRS:
                state[q.name][attr] = sorted(getattr(q, attr).get_job_ids())
        for jid in self.ids:
            try:
                job = Job.fetch(jid, connection=self.store)
                state[jid] = (status_value(job.get_status()), job.origin, job.func_name,
                              job.args, job.retries_left)
            except NoSuchJobError:
                state[jid] = None
        state['queues'] = sorted(q.name for q in Queue.all(connection=self.store))
        return state

    def assertRejected(self, exc_types, bad_value, func, *args, **kwargs):
        before = self.snapshot()
        with self.assertRaises(exc_types) as cm:
            func(*args, **kwargs)
        msg = str(cm.exception)
        self.assertTrue(repr(bad_value) in msg or str(bad_value) in msg,
                        '%s message %r does not name %r' % (type(cm.exception).__name__, msg, bad_value))
        self.assertEqual(self.snapshot(), before, 'state changed by a rejected call')
        return cm.exception

    def test_snapshot_baseline(self):
        snap = self.snapshot()
        self.assertEqual(snap['bad']['queue'], ['queued2', 'queued1'])
        self.assertEqual(snap['bad2']['failed_job_registry'], ['failed1'])
        self.assertEqual(snap['deferred1'][0], 'deferred')

    def test_non_callable_function(self):
        for bad in (42, ['not', 'callable'], 4.5):
            with self.subTest(bad=bad):
                self.assertRejected((TypeError, ValueError), bad, self.q.enqueue, bad, 1)
                self.assertRejected((TypeError, ValueError), bad, self.q.enqueue_call, bad, args=(1,))
                self.assertRejected((TypeError, ValueError), bad, self.q.enqueue_in,
                                    timedelta(seconds=5), bad)

    def test_bad_job_id(self):
        for bad in ('bad id', 'a:b', 'x/y', 'semi;colon'):
            with self.subTest(bad=bad):
                self.assertRejected(ValueError, bad, self.q.enqueue, J.ok, self.key, 1, job_id=bad)
                self.assertRejected(ValueError, bad, self.q.enqueue_in, timedelta(seconds=5),
                                    J.ok, self.key, 1, job_id=bad)

    def test_job_timeout_zero(self):
        self.assertRejected(ValueError, 0, self.q.enqueue, J.ok, self.key, 1, job_timeout=0)

    def test_job_timeout_unparseable(self):
        for bad in ('abc', '5x', '1.2.3'):
            with self.subTest(bad=bad):
                self.assertRejected(TimeoutFormatError, bad, self.q.enqueue, J.ok, self.key, 1,
                                    job_timeout=bad)

    def test_ttl_not_positive(self):
        for bad in (0, -5):
            with self.subTest(bad=bad):
                self.assertRejected(ValueError, bad, self.q.enqueue, J.ok, self.key, 1, ttl=bad)

    def test_retry_max_zero(self):
        for bad in (0, -2):
            with self.subTest(bad=bad):
                self.assertRejected(ValueError, bad, Retry, max=bad)

    def test_retry_negative_interval(self):
        self.assertRejected(ValueError, -3, Retry, max=2, interval=-3)
        self.assertRejected(ValueError, -7, Retry, max=2, interval=[1, -7])

    def test_enqueue_at_not_datetime(self):
        for bad in ('2030-01-01T00:00:00', 1900000000, timedelta(seconds=5)):
            with self.subTest(bad=bad):
                self.assertRejected(TypeError, bad, self.q.enqueue_at, bad, J.ok, self.key, 1)

    def test_enqueue_in_not_timedelta(self):
        for bad in ('5 minutes', None, self.clock.now()):
            with self.subTest(bad=bad):
                self.assertRejected(TypeError, bad, self.q.enqueue_in, bad, J.ok, self.key, 1)

    def test_depends_on_wrong_type(self):
        for bad in (3.5, {'job': 'queued1'}, 12):
            with self.subTest(bad=bad):
                self.assertRejected((TypeError, ValueError), bad, self.q.enqueue, J.ok, self.key, 1,
                                    depends_on=bad)

    def test_unique_without_job_id(self):
        self.assertRejected(ValueError, 'job_id', self.q.enqueue, J.ok, self.key, 1, unique=True)

    def test_unique_with_existing_id(self):
        for jid in ('queued1', 'failed1', 'sched1', 'canceled1'):
            with self.subTest(job_id=jid):
                self.assertRejected(DuplicateJobError, jid, self.q.enqueue, J.ok, self.key, 99,
                                    job_id=jid, unique=True)
        self.assertRejected(DuplicateJobError, 'queued2', self.q.enqueue_in, timedelta(seconds=5),
                            J.ok, self.key, 99, job_id='queued2', unique=True)
        self.assertEqual(tuple(Job.fetch('queued1', connection=self.store).args), (self.key, 2))

    def test_unknown_dequeue_strategy(self):
        w = Worker([self.q], connection=self.store)
        self.assertRejected(ValueError, 'fastest', w.work, burst=True, dequeue_strategy='fastest')
        w2 = Worker([self.q], connection=self.store)
        self.addCleanup(stop_quietly, w2)
        self.assertRejected(ValueError, 'fastest', w2.start, burst=True, dequeue_strategy='fastest')
        self.assertEqual(self.rec.count('queued1'), 0)

    def test_worker_with_no_queues(self):
        self.assertRejected(ValueError, [], Worker, [])
        self.assertRejected(ValueError, [], Worker, [], connection=self.store)

    def test_operations_on_deleted_job(self):
        job = self.q.enqueue(J.ok, self.key, 7, job_id='doomed')
        job.delete()
        self.ids.append('doomed')
        self.assertRejected(NoSuchJobError, 'doomed', Job.fetch, 'doomed', connection=self.store)
        self.assertRejected(NoSuchJobError, 'doomed', job.refresh)
        self.assertRejected((NoSuchJobError, InvalidJobOperation), 'doomed', job.get_status)
        self.assertRejected((NoSuchJobError, InvalidJobOperation), 'doomed', job.cancel)
        self.assertRejected((NoSuchJobError, InvalidJobOperation), 'doomed', job.requeue)
        self.assertRejected(NoSuchJobError, 'doomed', cancel_job, 'doomed', connection=self.store)
        self.assertRejected(NoSuchJobError, 'doomed', requeue_job, 'doomed', connection=self.store)
        self.assertIsNone(self.q.fetch_job('doomed'))
        self.assertFalse(Job.exists('doomed', connection=self.store))

    def test_registries_can_be_built_directly(self):
        # sanity: the standalone registry classes agree with the queue properties
        for cls, attr in ((StartedJobRegistry, 'started_job_registry'),
                          (FinishedJobRegistry, 'finished_job_registry'),
                          (FailedJobRegistry, 'failed_job_registry'),
                          (DeferredJobRegistry, 'deferred_job_registry'),
                          (ScheduledJobRegistry, 'scheduled_job_registry'),
                          (CanceledJobRegistry, 'canceled_job_registry')):
            for q in (self.q, self.q2):
                self.assertEqual(sorted(cls(q.name, connection=self.store).get_job_ids()),
                                 sorted(getattr(q, attr).get_job_ids()))


if __name__ == '__main__':
    unittest.main()
