"""A worker process killed mid-job: the job is abandoned, nothing is lost or run twice.

Two worker subprocesses share a SQLite file with the test (heartbeats every
second, so a worker is presumed dead 3 s after its last one). The test
enqueues 2000 quick jobs and one slow job, SIGKILLs the worker that runs the
slow job, and lets the other worker finish: it must notice, by the missed
heartbeats, that the slow job was abandoned, and retry it (``Retry(max=1)``)
or fail it with AbandonedJobError (no retry). Then every job must have ended
exactly once, in exactly one registry matching its status.

POSIX only (SIGKILL/SIGINT, atomic O_APPEND writes). Nothing sleeps: the
test waits on subprocesses with ``proc.wait(timeout)`` and polls the store or
a marker file with ``Event().wait(0.05)`` between checks, every wait bounded.
The test process never calls a registry with cleanup (that housekeeps, and
would let the test, not the surviving worker, detect the abandoned job).
"""

import collections
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

from rq_emulator import FailedJobRegistry, Job, JobStatus, Queue, Retry, Worker

from tests.base import BaseTestCase, slow_tier
from tests import crash_jobs

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS_DIR)
QUEUE = 'crash'
QUICK_JOBS = 2000
SLOW_AT = 300               # the slow job is enqueued after this many quick ones
# A worker is presumed dead 3 intervals after its last heartbeat. At 0.2 s (0.6 s) a live
# worker of this loaded 2-core machine sometimes missed it (its process stalled on CPU or the
# SQLite write lock), and the other worker abandoned one of its quick jobs; 1 s gives 3 s.
MONITORING_INTERVAL = 1.0
DETECT_WITHIN = 10.0        # seconds from SIGKILL to the abandoned job leaving 'started'
MAX_IDLE = 40               # a worker ends by itself after this many idle seconds (backstop)

WORKER_SCRIPT = '''
import faulthandler, logging, signal, sys
faulthandler.register(signal.SIGUSR1, all_threads=True)   # the test's post-mortem on a hang
# Ctrl-C stops work() gracefully; a SIGINT ignored by whoever started the test
# (a shell's background job) would be inherited, so install Python's handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
from rq_emulator import SqliteStore, Worker
logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format='%(process)d %(levelname)s %(message)s')
store = SqliteStore(sys.argv[1])
worker = Worker([sys.argv[2]], connection=store, name=sys.argv[3],
                job_monitoring_interval=float(sys.argv[4]))
did = worker.work(burst=False, max_idle_time=float(sys.argv[5]))
print('exit', did, worker.successful_job_count, worker.failed_job_count, flush=True)
store.close()
'''


def poll(predicate, timeout, what):
    """Check ``predicate`` every 0.05 s (another process changes what it reads); bounded."""
    pause = threading.Event()
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            what = what() if callable(what) else what
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        pause.wait(0.05)


def state_name(worker):
    """'idle' for WorkerStatus.IDLE, 'idle' or 'WorkerStatus.IDLE' (a lenient precondition)."""
    return str(getattr(worker.get_state(), 'value', worker.get_state())).rsplit('.', 1)[-1].lower()


@slow_tier
@unittest.skipUnless(os.name == 'posix', 'POSIX only: SIGKILL/SIGINT and atomic O_APPEND writes')
class CrashTest(BaseTestCase):

    def make_store(self, clock):
        self.db = self.sqlite_path('jobs.db')
        self.dir = os.path.dirname(self.db)
        return self.open_sqlite(self.db)        # the real clock, as the worker processes use

    def setUp(self):
        self.started_at = time.monotonic()
        super().setUp()
        self.log = os.path.join(self.dir, 'executions.log')
        self.marker = os.path.join(self.dir, 'slow.started')
        self.q = Queue(QUEUE, connection=self.store)
        self.procs = {}                 # name -> Popen
        self.addCleanup(self._kill_leftovers)

    def _kill_leftovers(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def spawn_worker(self, name):
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [ROOT, TESTS_DIR] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
        out = open(os.path.join(self.dir, f'{name}.out'), 'w+')
        err = open(os.path.join(self.dir, f'{name}.err'), 'w+')
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        proc = subprocess.Popen(
            [sys.executable, '-c', WORKER_SCRIPT, self.db, QUEUE, name,
             str(MONITORING_INTERVAL), str(MAX_IDLE)],
            env=env, cwd=self.dir, stdout=out, stderr=err)
        self.procs[name] = proc
        return proc

    def wait_or_dump(self, name, timeout):
        """proc.wait(timeout); if it hangs, fail with its threads' stacks (faulthandler)."""
        proc = self.procs[name]
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
            self.fail(f'{name} did not exit within {timeout} s; stdout, stderr: '
                      f'{self.output(name)}')

    def output(self, name):
        with open(os.path.join(self.dir, f'{name}.out')) as out, \
                open(os.path.join(self.dir, f'{name}.err')) as err:
            return out.read(), err.read()

    def failed_quick_jobs(self):
        """id -> exc_info of every failed job but the slow one (a diagnosis for failures)."""
        ids = self.q.failed_job_registry.get_job_ids(cleanup=False)
        return {job.id: job.exc_info for job in Job.fetch_many(ids, connection=self.store)
                if job is not None and job.id != 'slow-job'}

    def executions(self):
        """job id -> [(attempt, pid), ...] in log order."""
        runs = collections.defaultdict(list)
        with open(self.log) as file:
            for line in file:
                job_id, attempt, pid = line.split()
                runs[job_id].append((int(attempt), int(pid)))
        return runs

    def enqueue_all(self, retry, survivor_idle=False):
        """2000 quick jobs and the slow one; returns (ids, slow id).

        The slow job comes after SLOW_AT quick ones, or (``survivor_idle``) is
        enqueued only once every quick job has finished, so that the worker
        that survives the kill is idle, waiting for work, when it happens.
        """
        data = [Queue.prepare_data(crash_jobs.quick, (self.log, n)) for n in range(QUICK_JOBS)]
        slow = Queue.prepare_data(crash_jobs.slow, (self.log, self.marker),
                                  job_id='slow-job', timeout=120,
                                  retry=Retry(max=1) if retry else None,
                                  meta={'retry_max': 1 if retry else 0})
        if not survivor_idle:
            data.insert(SLOW_AT, slow)
        jobs = []
        for start in range(0, len(data), 100):        # one transaction per 100 jobs
            jobs.extend(self.q.enqueue_many(data[start:start + 100]))
        if survivor_idle:
            finished = self.q.finished_job_registry
            failed = self.q.failed_job_registry
            poll(lambda: self.q.count == 0 and finished.get_job_count(cleanup=False)
                 + failed.get_job_count(cleanup=False) == QUICK_JOBS, 30,
                 lambda: 'the quick jobs to end (queued %d, finished %d, failed %d)' % (
                     self.q.count, finished.get_job_count(cleanup=False),
                     failed.get_job_count(cleanup=False)))
            self.assertEqual(self.failed_quick_jobs(), {}, 'quick jobs failed (all should succeed)')
            # (state_name: remote states read 'WorkerStatus.IDLE' today; see
            # test_remote_worker_state_reads_as_in_rq.)
            poll(lambda: sorted(state_name(w) for w in Worker.all(connection=self.store))
                 == ['idle', 'idle'], 10, 'both workers to report themselves idle')
            jobs.extend(self.q.enqueue_many([slow]))
        ids = [job.id for job in jobs]
        self.assertEqual(len(set(ids)), QUICK_JOBS + 1)
        return ids, slow.job_id

    # -- the scenario ------------------------------------------------------------

    def run_crash(self, retry, survivor_idle=False):
        self.spawn_worker('worker-a')
        self.spawn_worker('worker-b')
        ids, slow_id = self.enqueue_all(retry, survivor_idle)

        # 1. The slow job has started somewhere: find its worker through the store.
        poll(lambda: os.path.exists(self.marker) and os.path.getsize(self.marker) > 0,
             20, 'the slow job to start')
        with open(self.marker) as file:
            marker_pid = int(file.read())
        job = Job.fetch(slow_id, connection=self.store)
        self.assertEqual(job.get_status(), JobStatus.STARTED,
                         'the slow job, still running in pid %d, is no longer started: %r; '
                         'executions %r' % (marker_pid, job.exc_info, self.executions()[slow_id]))
        victim_name = job.worker_name
        self.assertIn(victim_name, self.procs)
        victim = self.procs[victim_name]
        survivor_name = next(n for n in self.procs if n != victim_name)
        survivor = self.procs[survivor_name]
        self.assertEqual(marker_pid, victim.pid)

        def victim_view():
            for worker in Worker.all(connection=self.store):
                if worker.name == victim_name and worker.get_current_job_id() == slow_id:
                    return worker
            return None
        # Its worker record (renewed with each heartbeat) names its pid and the job.
        view = poll(victim_view, 10, f'{victim_name} to report {slow_id} in its worker record')
        self.assertEqual(view.pid, victim.pid)

        # 2. SIGKILL it mid-job.
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        self.queued_at_kill = self.q.count
        self.assertEqual(victim.wait(10), -signal.SIGKILL)

        # 3. The survivor notices the missed heartbeats within a few seconds ...
        poll(lambda: Job.fetch(slow_id, connection=self.store).get_status() != JobStatus.STARTED,
             DETECT_WITHIN, f'the survivor to notice that {slow_id} was abandoned')
        detected_after = time.monotonic() - killed_at
        # ... and the dead worker drops out of Worker.all() once its heartbeat expires.
        poll(lambda: [w.name for w in Worker.all(connection=self.store)] == [survivor_name],
             10, f'Worker.all() to list {survivor_name} only')

        # 4. The survivor finishes everything.
        finished_reg, failed_reg = self.q.finished_job_registry, self.q.failed_job_registry
        expect_failed = 0 if retry else 1

        def all_done():
            return (self.q.count == 0
                    and failed_reg.get_job_count(cleanup=False) == expect_failed
                    and finished_reg.get_job_count(cleanup=False) == len(ids) - expect_failed)
        poll(all_done, 45, lambda: 'every job to end (queue %d, finished %d, failed %d: %r)' % (
            self.q.count, finished_reg.get_job_count(cleanup=False),
            failed_reg.get_job_count(cleanup=False), self.failed_quick_jobs()))

        # 5. It exits cleanly when told (Ctrl-C: stop after the job in hand).
        self.assertIsNone(survivor.poll(), 'the surviving worker died: %r' % (self.output(survivor_name),))
        survivor.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_or_dump(survivor_name, 15), 0, self.output(survivor_name))
        out, err = self.output(survivor_name)
        self.assertEqual(Worker.all(connection=self.store), [])

        self.check_everything(ids, slow_id, retry, victim.pid, survivor.pid, out, err)
        return detected_after

    def check_everything(self, ids, slow_id, retry, victim_pid, survivor_pid, out, err):
        quick_ids = [i for i in ids if i != slow_id]
        runs = self.executions()

        # Each quick job ran exactly once; nothing unknown ran.
        self.assertEqual(set(runs) - set(ids), set())
        twice = {i: runs[i] for i in quick_ids if len(runs.get(i, ())) != 1}
        self.assertEqual(twice, {}, 'quick jobs not run exactly once')
        for i in quick_ids:
            self.assertEqual(runs[i][0][0], 1)

        # The slow job: first attempt in the killed worker; a second one only with a retry.
        if retry:
            self.assertEqual(runs[slow_id], [(1, victim_pid), (2, survivor_pid)])
        else:
            self.assertEqual(runs[slow_id], [(1, victim_pid)])

        # Every job exists, in a terminal state, in exactly one registry matching it.
        jobs = Job.fetch_many(ids, connection=self.store)
        missing = [i for i, job in zip(ids, jobs) if job is None]
        self.assertEqual(missing, [])
        places = {
            'queued': set(self.q.get_job_ids()),
            'started': set(self.q.started_job_registry.get_job_ids(cleanup=False)),
            'finished': set(self.q.finished_job_registry.get_job_ids(cleanup=False)),
            'failed': set(self.q.failed_job_registry.get_job_ids(cleanup=False)),
            'deferred': set(self.q.deferred_job_registry.get_job_ids(cleanup=False)),
            'scheduled': set(self.q.scheduled_job_registry.get_job_ids(cleanup=False)),
            'canceled': set(self.q.canceled_job_registry.get_job_ids(cleanup=False)),
        }
        self.assertEqual(places['queued'], set())
        self.assertEqual(places['started'], set())
        wrong = {}
        for job in jobs:
            where = sorted(kind for kind, members in places.items() if job.id in members)
            status = job.get_status(refresh=False)
            if where != [str(status.value)]:
                wrong[job.id] = (status, where)
        self.assertEqual(wrong, {}, 'jobs whose registries do not match their status')
        self.assertEqual(set().union(*places.values()), set(ids))

        quick_status = collections.Counter(
            job.get_status(refresh=False) for job in jobs if job.id != slow_id)
        self.assertEqual(quick_status, {JobStatus.FINISHED: len(quick_ids)})
        for job in jobs[:50]:
            if job.id != slow_id:
                self.assertEqual(job.return_value(), job.args[1] * 2)

        slow = Job.fetch(slow_id, connection=self.store)
        if retry:
            self.assertEqual(slow.get_status(), JobStatus.FINISHED)
            self.assertEqual(slow.return_value(), 'rerun')
            self.assertEqual(slow.retries_left, 0)
            self.assertEqual(slow.worker_name, 'worker-a' if survivor_pid == self.procs['worker-a'].pid
                             else 'worker-b')
        else:
            self.assertEqual(slow.get_status(), JobStatus.FAILED)
            self.assertIn('AbandonedJobError', slow.exc_info)
            self.assertTrue(slow.exc_info.startswith(
                'Moved to FailedJobRegistry, due to AbandonedJobError, at '), slow.exc_info)
            self.assertIn(slow_id, FailedJobRegistry(QUEUE, connection=self.store))
            self.assertIn(slow, self.q.failed_job_registry)
        # The surviving worker (not this process) detected the abandonment.
        self.assertIn('AbandonedJobError', err)
        self.assertIn(slow_id, err)

        # Its counters count exactly what it executed (an abandonment is nobody's run).
        self.assertTrue(out.startswith('exit True '), out)
        successful, failed = map(int, out.split()[2:4])
        survivor_runs = sum(1 for attempts in runs.values() for _, pid in attempts
                            if pid == survivor_pid)
        self.assertEqual(successful + failed, survivor_runs)
        self.assertEqual(failed, 0)

    def test_killed_worker_job_with_retry_runs_again(self):
        detected = self.run_crash(retry=True)
        self.report(detected)

    def test_killed_worker_job_without_retry_fails_abandoned(self):
        detected = self.run_crash(retry=False)
        self.report(detected)

    def test_idle_survivor_wakes_for_the_abandoned_job(self):
        detected = self.run_crash(retry=True, survivor_idle=True)
        self.report(detected)

    def test_remote_worker_state_reads_as_in_rq(self):
        """Another process's worker reads 'idle', as RQ's Worker.find_by_key gives it."""
        proc = self.spawn_worker('worker-a')
        poll(lambda: Worker.all(connection=self.store), 10, 'the worker to register')
        try:
            poll(lambda: [w.get_state() for w in Worker.all(connection=self.store)] == ['idle'],
                 3, lambda: "Worker.all()[0].get_state() == 'idle' (it is %r)"
                 % ([w.get_state() for w in Worker.all(connection=self.store)],))
        finally:
            proc.send_signal(signal.SIGINT)
            self.assertEqual(self.wait_or_dump('worker-a', 15), 0, self.output('worker-a'))

    def report(self, detected):
        if os.environ.get('RQE_CRASH_VERBOSE'):
            print(f'\n{self.id()}: abandoned job detected {detected:.2f} s after SIGKILL; '
                  f'{self.queued_at_kill} jobs still queued at the kill; '
                  f'test took {time.monotonic() - self.started_at:.1f} s', file=sys.stderr)


if __name__ == '__main__':
    unittest.main()
