"""The command line: ``rq_emulator.main([...])`` in-process, and ``python -m rq_emulator
worker`` as real subprocesses sharing a SQLite file with the test.

Nothing here sleeps. Subprocesses are waited for with ``proc.wait(timeout)`` or
``communicate(timeout)``; the one bounded poll (a job's status, written by
another process) waits on an Event that is never set between checks.
"""

import contextlib
import datetime
import io
import os
import re
import signal
import subprocess
import sys
import threading
import unittest
from unittest import mock

import rq_emulator
from rq_emulator import Job, JobStatus, Queue, Worker
from tests.base import BaseTestCase, slow_tier

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
ENQUEUED = re.compile(r"^Enqueued (.*) with job-id '([\w-]+)'\.$")


class CliTestCase(BaseTestCase):
    """The base's store and queue on a SQLite file (self.db) in a folder of its own (self.dir)."""

    def make_store(self, clock):
        self.db = self.sqlite_path('jobs.db')
        self.dir = os.path.dirname(self.db)
        return self.open_sqlite(self.db)            # the CLI's own stores use the real clock

    def setUp(self):
        super().setUp()
        saved_path = sys.path[:]
        self.addCleanup(sys.path.__setitem__, slice(None), saved_path)

    def cli(self, command, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = rq_emulator.main([command, '--db', self.db, *argv])
        return code, out.getvalue(), err.getvalue()

    def enqueue_cli(self, *argv):
        code, out, err = self.cli('enqueue', *argv)
        self.assertEqual(code, 0, err)
        match = ENQUEUED.match(out.strip())
        self.assertIsNotNone(match, out)
        return match.group(1), Job.fetch(match.group(2), connection=self.store)

    def path(self, name, content=None):
        path = os.path.join(self.dir, name)
        if content is not None:
            with open(path, 'w', encoding='utf-8') as file:
                file.write(content)
        return path


class EnqueueTests(CliTestCase):

    def test_plain_arguments_are_strings(self):
        call, job = self.enqueue_cli('cli_jobs.echo', '1', 'two', 'k=3', 'url=http://x/?a=b')
        self.assertEqual(list(job.args), ['1', 'two'])
        self.assertEqual(job.kwargs, {'k': '3', 'url': 'http://x/?a=b'})
        self.assertEqual(call, "cli_jobs.echo('1', 'two', k='3', url='http://x/?a=b')")
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.q.count, 1)

    def test_json_and_literal_arguments(self):
        _, job = self.enqueue_cli('cli_jobs.echo', ':[1, 2]', ':null', '%(1, "a")', '%{3}',
                                  'j:={"a": [true]}', 'n%=3.5', 's%=None')
        self.assertEqual(list(job.args), [[1, 2], None, (1, 'a'), {3}])
        self.assertEqual(job.kwargs, {'j': {'a': [True]}, 'n': 3.5, 's': None})

    def test_file_arguments(self):
        text = self.path('text.txt', 'hello\n')
        data = self.path('data.json', '{"x": [1, 2]}')
        literal = self.path('data.py', "('t', 1)")
        _, job = self.enqueue_cli('cli_jobs.echo', '@' + text, ':@' + data, '%@' + literal,
                                  'k=@' + text, 'j:=@' + data)
        self.assertEqual(list(job.args), ['hello\n', {'x': [1, 2]}, ('t', 1)])
        self.assertEqual(job.kwargs, {'k': 'hello\n', 'j': {'x': [1, 2]}})

    def test_bad_arguments_are_usage_errors(self):
        cases = [((':{nope',), 'Unable to parse 1. non keyword argument as JSON.'),
                 (('a', 'k:=[1'), 'Unable to parse k as JSON.'),
                 (('%open("x")',), 'Unable to eval 1. non keyword argument as Python object.'),
                 (('k=1', 'k=2'), "You can't specify multiple values for the same keyword"),
                 (('@' + os.path.join(self.dir, 'missing'),), 'Could not open file'),
                 (('--schedule-in', '1m', '--schedule-at', '2030-01-01T00:00:00'),
                  "You can't specify both --schedule-in and --schedule-at")]
        for argv, message in cases:
            with self.subTest(argv=argv):
                code, out, err = self.cli('enqueue', 'cli_jobs.echo', *argv)
                self.assertEqual(code, 2)
                self.assertEqual(out, '')
                self.assertIn(message, err)
        self.assertEqual(self.q.count, 0)

    def test_job_options(self):
        _, parent = self.enqueue_cli('cli_jobs.add', ':1', ':2', '--job-id', 'parent')
        self.assertEqual(parent.id, 'parent')
        call, job = self.enqueue_cli(
            'cli_jobs.add', ':1', ':2', '-q', 'low', '--timeout', '5m', '--result-ttl', '60',
            '--ttl', '600', '--failure-ttl', '30', '--description', 'adding', '--depends-on',
            'parent', '--retry-max', '2', '--retry-interval', '1', '--retry-interval', '3')
        self.assertEqual(call, 'cli_jobs.add(1, 2)')
        self.assertEqual((job.origin, job.timeout, job.result_ttl, job.ttl, job.failure_ttl),
                         ('low', 300, 60, 600, 30))
        self.assertEqual(job.description, 'adding')
        self.assertEqual(job.dependency_ids, ['parent'])
        self.assertEqual(job.get_status(), JobStatus.DEFERRED)
        self.assertEqual((job.retries_left, job.retry_intervals), (2, [1, 3]))

    def test_at_front_and_quiet(self):
        self.enqueue_cli('cli_jobs.add', ':1', ':2')
        code, out, err = self.cli('enqueue', 'cli_jobs.add', ':3', ':4', '--at-front', '--quiet')
        self.assertEqual((code, out, err), (0, '', ''))
        self.assertEqual(list(self.q.get_jobs()[0].args), [3, 4])

    def test_schedule_in_and_at(self):
        _, later = self.enqueue_cli('cli_jobs.add', ':1', ':2', '--schedule-in', '1h')
        self.assertEqual(later.get_status(), JobStatus.SCHEDULED)
        registry = self.q.scheduled_job_registry
        delay = registry.get_scheduled_time(later).timestamp() - self.store.now()
        self.assertTrue(3500 < delay <= 3600, delay)
        _, at = self.enqueue_cli('cli_jobs.add', ':1', ':2', '--schedule-at', '2030-05-27T21:45:00')
        expected = datetime.datetime(2030, 5, 27, 21, 45).timestamp()   # naive: local time
        self.assertEqual(registry.get_scheduled_time(at).timestamp(), expected)
        self.assertEqual((self.q.count, registry.count), (0, 2))
        code, _, err = self.cli('enqueue', 'cli_jobs.add', '--schedule-at', 'tomorrow')
        self.assertEqual(code, 2)
        self.assertIn('--schedule-at', err)

    def test_bad_timeout_is_an_error(self):
        code, out, err = self.cli('enqueue', 'cli_jobs.add', '--timeout', 'soon')
        self.assertEqual((code, out), (1, ''))
        self.assertIn('Error:', err)


class WorkerCommandTests(CliTestCase):

    def test_burst_runs_the_jobs_with_path(self):
        jobs = [self.q.enqueue('cli_jobs.add', i, 1) for i in range(3)]
        failing = self.q.enqueue('cli_jobs.fail')
        code, out, err = self.cli('worker', '--burst', '-P', TESTS_DIR, '--name', 'w-burst')
        self.assertEqual(code, 0, err)
        self.assertEqual([j.get_status() for j in jobs], [JobStatus.FINISHED] * 3)
        self.assertEqual([j.return_value() for j in jobs], [1, 2, 3])
        jobs[0].refresh()
        self.assertEqual(jobs[0].worker_name, 'w-burst')
        self.assertEqual(failing.get_status(), JobStatus.FAILED)
        self.assertIn('cli_jobs.add(0, 1)', out)          # RQ's log line for each job, on stdout
        self.assertEqual(Worker.all(connection=self.store), [])

    def test_quiet_and_logging_level(self):
        self.q.enqueue('cli_jobs.add', 1, 1)
        code, _, err = self.cli('worker', '-b', '-P', TESTS_DIR, '-q')
        self.assertEqual((code, err), (0, ''))
        self.q.enqueue('cli_jobs.add', 1, 1)
        code, _, err = self.cli('worker', '-b', '-P', TESTS_DIR, '--logging-level', 'warning')
        self.assertEqual((code, err), (0, ''))

    def test_max_jobs_without_burst(self):
        jobs = [self.q.enqueue('cli_jobs.add', i, 1) for i in range(3)]
        code, _, err = self.cli('worker', '--max-jobs', '2', '-P', TESTS_DIR, '-q')
        self.assertEqual(code, 0, err)
        self.assertEqual([j.get_status() for j in jobs],
                         [JobStatus.FINISHED, JobStatus.FINISHED, JobStatus.QUEUED])

    def test_queue_order_and_dequeue_strategy(self):
        log = self.path('order.txt')
        for strategy, expected in (('default', 'h0 h1 l0 l1'), ('round_robin', 'h0 l0 h1 l1')):
            with self.subTest(strategy=strategy):
                for name in ('high', 'low'):
                    for i in range(2):
                        Queue(name, connection=self.store).enqueue('cli_jobs.record', log,
                                                                   f'{name[0]}{i}')
                code, _, err = self.cli('worker', 'high', 'low', '-b', '-ds', strategy,
                                        '-P', TESTS_DIR, '-q')
                self.assertEqual(code, 0, err)
                with open(log, encoding='utf-8') as file:
                    self.assertEqual(file.read().split(), expected.split())
                os.remove(log)
        code, _, err = self.cli('worker', '-b', '--dequeue-strategy', 'fastest')
        self.assertEqual(code, 2)
        self.assertIn('invalid choice', err)

    def test_threads_and_worker_class(self):
        jobs = [self.q.enqueue('cli_jobs.add', i, i) for i in range(6)]
        code, _, err = self.cli('worker', '-b', '--threads', '3', '-n', 'pool', '-P', TESTS_DIR,
                                '-w', 'rq_emulator.SimpleWorker', '--with-scheduler', '-q')
        self.assertEqual(code, 0, err)
        self.assertEqual([j.return_value() for j in jobs], [0, 2, 4, 6, 8, 10])
        names = {Job.fetch(j.id, connection=self.store).worker_name for j in jobs}
        self.assertTrue(names <= {'pool-0', 'pool-1', 'pool-2'}, names)

    def test_bad_worker_class(self):
        code, out, err = self.cli('worker', '-b', '-w', 'no_such_module.Worker')
        self.assertEqual(code, 1)
        self.assertIn('no_such_module.Worker', err)

    def test_suspended_worker_exits_1(self):
        code, out, _ = self.cli('suspend')
        self.assertEqual(code, 0)
        self.assertEqual(out, 'Suspending workers.  No new jobs will be started.  '
                              'But current jobs will be completed\n')
        self.assertTrue(rq_emulator.is_suspended(self.store))
        job = self.q.enqueue('cli_jobs.add', 1, 2)
        code, _, err = self.cli('worker', '-b', '-P', TESTS_DIR)
        self.assertEqual(code, 1)
        self.assertIn('RQ is currently suspended', err)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.cli('resume'), (0, 'Resuming workers.\n', ''))
        self.assertFalse(rq_emulator.is_suspended(self.store))
        code, _, err = self.cli('worker', '-b', '-P', TESTS_DIR, '-q')
        self.assertEqual(code, 0, err)
        self.assertEqual(job.get_status(), JobStatus.FINISHED)

    def test_suspend_duration(self):
        code, out, _ = self.cli('suspend', '--duration', '60')
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith('Suspending workers for 60 seconds.'))
        self.assertTrue(rq_emulator.is_suspended(self.store))
        code, _, err = self.cli('suspend', '--duration', '0')
        self.assertEqual(code, 1)
        self.assertIn('Duration must be an integer greater than 1', err)


class AdminCommandTests(CliTestCase):

    def run_failing_job(self):
        job = self.q.enqueue('cli_jobs.fail')
        sys.path.insert(0, TESTS_DIR)
        Worker([self.q], connection=self.store).work(burst=True)
        self.assertEqual(job.get_status(), JobStatus.FAILED)
        return job

    def test_info_queues(self):
        self.q.enqueue('cli_jobs.add', 1, 2)
        self.q.enqueue('cli_jobs.add', 1, 2)
        Queue('low', connection=self.store).enqueue_in(datetime.timedelta(hours=1), 'cli_jobs.add')
        code, out, _ = self.cli('info')
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertRegex(lines[0], r'^default\s+\|\S+ 2, 0 executing, 0 finished, 0 failed, '
                                   r'0 deferred, 0 scheduled, 0 canceled$')
        self.assertIn('low          | 0, 0 executing, 0 finished, 0 failed, 0 deferred, '
                      '1 scheduled, 0 canceled', lines)
        self.assertIn('2 queues, 2 jobs total', lines)
        self.assertIn('0 workers, 2 queues', lines)
        self.assertTrue(lines[-1].startswith('Updated: '))
        code, out, _ = self.cli('info', '--raw', '--only-queues', 'default')
        self.assertEqual(out, 'queue default 2, 0 executing, 0 finished, 0 failed, 0 deferred, '
                              '0 scheduled, 0 canceled\n')

    def test_info_counts_failed(self):
        self.run_failing_job()
        code, out, _ = self.cli('info', '-Q', '-r')
        self.assertEqual(out, 'queue default 0, 0 executing, 0 finished, 1 failed, 0 deferred, '
                              '0 scheduled, 0 canceled\n')

    def test_info_workers(self):
        worker = Worker(['default', 'low'], connection=self.store, name='w-info')
        worker.start()
        self.addCleanup(worker.stop, 10)
        # Until the worker first waits for work its record says 'starting' and names no
        # queue; a Condition wait (this SQLite store also polls) until it is idle.
        with self.store.transaction() as tx:
            self.assertTrue(tx.wait(lambda: worker.get_state() == 'idle', 10))
        code, out, _ = self.cli('info', '-W')
        self.assertEqual(code, 0)
        host = re.escape(worker.hostname)
        self.assertRegex(out, rf'^w-info \({host} {os.getpid()}\): (started|idle) default, low\. '
                              r'jobs: 0 finished, 0 failed\n1 workers, \d+ queues\n$')
        code, out, _ = self.cli('info', '-W', '--raw')
        self.assertRegex(out, rf'^worker w-info \({host} {os.getpid()}\) (started|idle) '
                              r'default, low\. jobs: 0 finished, 0 failed\n$')
        code, out, _ = self.cli('info', '-W', 'other')
        self.assertEqual(out, '0 workers, 1 queues\n')
        self.assertTrue(worker.stop(10))

    def test_requeue(self):
        self.assertEqual(self.cli('requeue'), (0, 'Nothing to do\n', ''))
        job = self.run_failing_job()
        self.assertEqual(self.cli('requeue', '--all'),
                         (0, 'Requeueing 1 jobs from failed queue\n', ''))
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.q.failed_job_registry.count, 0)
        Worker([self.q], connection=self.store).work(burst=True)
        code, out, _ = self.cli('requeue', '-q', 'default', job.id, 'no-such-job')
        self.assertEqual(out, 'Requeueing 2 jobs from failed queue\n'
                              'Unable to requeue 1 jobs from failed job registry\n')
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertEqual(self.cli('requeue', '-q', 'low', '-a'), (0, 'Nothing to do\n', ''))

    def test_empty(self):
        for _ in range(3):
            self.q.enqueue('cli_jobs.add', 1, 2)
        low = Queue('low', connection=self.store)
        kept = low.enqueue('cli_jobs.add', 1, 2)
        self.assertEqual(self.cli('empty', 'default'), (0, '3 jobs removed from default queue\n', ''))
        self.assertEqual((self.q.count, low.count), (0, 1))
        self.assertTrue(Job.exists(kept.id, connection=self.store))
        code, out, _ = self.cli('empty', '--all')
        self.assertIn('1 jobs removed from low queue\n', out)
        self.assertFalse(Job.exists(kept.id, connection=self.store))
        self.assertEqual(self.cli('empty'), (0, 'Nothing to do\n', ''))


class MainTests(CliTestCase):

    def run_main(self, argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = rq_emulator.main(argv)
        return code, out.getvalue(), err.getvalue()

    def test_usage(self):
        code, _, err = self.run_main([])
        self.assertEqual(code, 2)
        self.assertIn('usage:', err)
        code, out, _ = self.run_main(['--help'])
        self.assertEqual(code, 0)
        for command in ('worker', 'info', 'enqueue', 'requeue', 'empty', 'suspend', 'resume'):
            self.assertIn(command, out)
        code, out, _ = self.run_main(['--version'])
        self.assertEqual((code, out.strip()), (0, f'rq-emulator {rq_emulator.__version__}'))

    def test_db_from_environment_then_current_directory(self):
        other = os.path.join(self.dir, 'env.db')
        with mock.patch.dict(os.environ, {'RQ_EMULATOR_DB': other}):
            code, _, err = self.run_main(['enqueue', 'cli_jobs.add', '--job-id', 'in-env'])
        self.assertEqual(code, 0, err)
        store = rq_emulator.SqliteStore(other)
        self.addCleanup(store.close)
        self.assertTrue(Job.exists('in-env', connection=store))
        cwd = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, cwd)
        with mock.patch.dict(os.environ):
            os.environ.pop('RQ_EMULATOR_DB', None)
            code, _, err = self.run_main(['enqueue', 'cli_jobs.add', '--job-id', 'in-cwd'])
        self.assertEqual(code, 0, err)
        store = rq_emulator.SqliteStore(os.path.join(self.dir, 'rq_emulator.db'))
        self.addCleanup(store.close)
        self.assertTrue(Job.exists('in-cwd', connection=store))


@slow_tier
@unittest.skipUnless(os.name == 'posix', 'worker subprocess tests need POSIX signals')
class WorkerProcessTests(CliTestCase):
    """``python -m rq_emulator worker`` in a child process, on the test's SQLite file."""

    def start_worker(self, *argv):
        env = dict(os.environ)
        module_dir = os.path.dirname(os.path.abspath(rq_emulator.__file__))
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [module_dir, env.get('PYTHONPATH')]))
        env.pop('RQ_EMULATOR_DB', None)
        proc = subprocess.Popen(
            [sys.executable, '-m', 'rq_emulator', 'worker', '--db', self.db, '-P', TESTS_DIR,
             *argv], cwd=self.dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        killer = threading.Timer(60, proc.kill)     # never let a stuck child hang the suite
        killer.start()
        self.addCleanup(killer.cancel)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.kill)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        return proc

    def wait_until_started(self, job, proc):
        # Polls (bounded): the status is written by the worker process, which cannot notify
        # this one; the pause is an Event that is never set.
        pause = threading.Event()
        for _ in range(400):                        # about 20 s
            if job.get_status() == JobStatus.STARTED:
                return
            if proc.poll() is not None:
                self.fail(f'the worker ended early: {proc.stderr.read()}')
            pause.wait(0.05)
        self.fail(f'job {job.id} was not started; status {job.get_status()}')

    def read_stdout_until(self, proc, text):
        lines = []
        for line in proc.stdout:                    # EOF if the child dies
            lines.append(line)
            if text in line:
                return lines
        self.fail(f'{text!r} never logged; stdout: {"".join(lines)}')

    def test_burst_worker_process(self):
        jobs = [self.q.enqueue('cli_jobs.add', i, 10) for i in range(3)]
        failing = self.q.enqueue('cli_jobs.fail', 'no')
        proc = self.start_worker('--burst')
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual([j.get_status() for j in jobs], [JobStatus.FINISHED] * 3)
        self.assertEqual([j.return_value() for j in jobs], [10, 11, 12])
        self.assertEqual(failing.get_status(), JobStatus.FAILED)
        self.assertIn('ValueError: no', failing.exc_info)
        self.assertIn('cli_jobs.add(0, 10)', out)
        self.assertEqual(Worker.all(connection=self.store), [])

    def test_max_idle_time_ends_a_worker_process(self):
        job = self.q.enqueue('cli_jobs.add', 2, 2)
        proc = self.start_worker('--max-idle-time', '1', '--with-scheduler')
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(job.return_value(), 4)

    def test_signal_stops_after_the_job_in_hand(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=signum.name):
                queue = Queue(signum.name.lower(), connection=self.store)
                go = self.path(f'go-{signum.name}')
                job = queue.enqueue('cli_jobs.wait_for_file', go)
                waiting = queue.enqueue('cli_jobs.add', 1, 2)
                proc = self.start_worker(queue.name, '--name', f'w-{signum.name}')
                self.wait_until_started(job, proc)
                proc.send_signal(signum)
                self.read_stdout_until(proc, 'warm shut down requested')
                self.assertIsNone(proc.poll())          # the job in hand still runs
                self.path(f'go-{signum.name}', '')
                proc.communicate(timeout=30)
                self.assertEqual(proc.returncode, 0)
                self.assertEqual(job.get_status(), JobStatus.FINISHED)
                self.assertEqual(job.return_value(), 'done')
                self.assertEqual(waiting.get_status(), JobStatus.QUEUED)   # not taken after

    def test_second_signal_exits_at_once(self):
        job = self.q.enqueue('cli_jobs.wait_for_file', self.path('never'))
        proc = self.start_worker()
        self.wait_until_started(job, proc)
        proc.send_signal(signal.SIGTERM)
        self.read_stdout_until(proc, 'warm shut down requested')
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(job.get_status(), JobStatus.STARTED)   # left for abandoned-job cleanup


if __name__ == '__main__':
    unittest.main()
