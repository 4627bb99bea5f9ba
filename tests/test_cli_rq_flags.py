"""The command line takes RQ's flags: ``rq_emulator.main([...])`` in-process, as
``rq worker`` / ``rq info`` 2.12 are used from Procfiles and systemd units, and
``python -m rq_emulator`` in subprocesses (slow tier).

Nothing here sleeps: subprocesses are waited for with ``communicate(timeout)``; the
one wait on another process (a job's status) waits on an Event between checks.
"""

import contextlib
import gc
import io
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import unittest
import uuid
import warnings
from unittest import mock

import rq_emulator
from rq_emulator import Job, JobStatus, Queue, SqliteStore, Worker
from tests.base import slow_tier

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
SLOW = slow_tier        # the suite's one switch for the slow tier


class FlagTestCase(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = os.path.realpath(tmp.name)
        self.db = os.path.join(self.dir, 'jobs.db')
        self.store = SqliteStore(self.db)
        self.addCleanup(self.store.close)               # before tmp.cleanup (Windows)
        self.q = Queue('default', connection=self.store)
        saved_path, cwd = sys.path[:], os.getcwd()
        self.addCleanup(sys.path.__setitem__, slice(None), saved_path)
        self.addCleanup(os.chdir, cwd)
        environ = mock.patch.dict(os.environ)
        environ.start()
        self.addCleanup(environ.stop)
        os.environ.pop('RQ_EMULATOR_DB', None)
        os.environ.pop('NO_COLOR', None)

    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = rq_emulator.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w', encoding='utf-8') as file:
            file.write(text)
        return path

    def module(self, text):
        """A fresh module in the temporary directory; its name."""
        name = f'flagmod_{uuid.uuid4().hex}'
        self.write(f'{name}.py', text)
        self.addCleanup(sys.modules.pop, name, None)
        return name

    def jobs_module(self):
        sys.path.insert(0, TESTS_DIR)
        import cli_rq_flags_jobs
        return cli_rq_flags_jobs


class PathTests(FlagTestCase):

    def test_path_defaults_to_the_current_directory(self):
        name = self.module('def count_words(text):\n    return len(text.split())\n')
        job = self.q.enqueue(f'{name}.count_words', 'the quick brown fox')
        os.chdir(self.dir)
        code, out, err = self.run_main('worker', '-b', '--db', self.db)
        self.assertEqual(code, 0, err)
        self.assertEqual(job.get_status(), JobStatus.FINISHED, job.exc_info)
        self.assertEqual(job.return_value(), 4)

    def test_path_is_appended_and_restored(self):
        before = sys.path[:]
        code, _, err = self.run_main('info', '--db', self.db, '-P', self.dir, '-P', TESTS_DIR)
        self.assertEqual(code, 0, err)
        self.assertEqual(sys.path, before)          # main() leaves sys.path as it found it
        seen = []
        with mock.patch.object(rq_emulator, '_cli_info', lambda store, args: seen.append(
                sys.path[:]) or 0):
            self.run_main('info', '--db', self.db, '-P', self.dir)
        self.assertEqual(seen[0][-1], self.dir)     # appended, as RQ does: never shadows the stdlib
        self.assertNotIn('.', seen[0][len(before):])  # an explicit -P replaces the default '.'


class DatabaseOptionTests(FlagTestCase):

    def test_url_relative_and_absolute(self):
        os.chdir(self.dir)
        code, out, err = self.run_main('enqueue', '-u', 'sqlite:///jobs.db', 'm.f', '--job-id', 'rel')
        self.assertEqual(code, 0, err)
        code, out, err = self.run_main('enqueue', '-u', f'sqlite:///{self.db}', 'm.f',
                                       '--job-id', 'abs')          # sqlite:////abs/path
        self.assertEqual(code, 0, err)
        self.assertTrue(Job.exists('rel', connection=self.store))
        self.assertTrue(Job.exists('abs', connection=self.store))

    def test_environment_takes_a_path_or_a_url(self):
        for value in (self.db, f'sqlite:///{self.db}'):
            with self.subTest(value=value):
                os.environ['RQ_EMULATOR_DB'] = value
                job_id = f'env-{len(value)}'
                code, _, err = self.run_main('enqueue', 'm.f', '--job-id', job_id)
                self.assertEqual(code, 0, err)
                self.assertTrue(Job.exists(job_id, connection=self.store))

    def test_redis_urls_say_what_to_use_instead(self):
        for url in ('redis://localhost:6379/0', 'rediss://h:1/0', 'unix:///tmp/redis.sock'):
            with self.subTest(url=url):
                code, out, err = self.run_main('worker', '-b', '-u', url)
                self.assertEqual(code, 2)
                self.assertIn('usage: rq-emulator worker', err)
                self.assertIn(f'{url!r} is a Redis URL', err)
                self.assertIn('sqlite:///path/to/jobs.db', err)

    def test_bad_sqlite_urls_and_both_options(self):
        for url in ('sqlite://', 'sqlite:///:memory:', 'jobs.db', 'postgres://x/y'):
            with self.subTest(url=url):
                code, _, err = self.run_main('info', '-u', url)
                self.assertEqual(code, 2)
                self.assertIn("expected 'sqlite:///relative/path.db'", err)
        code, _, err = self.run_main('info', '--db', self.db, '-u', f'sqlite:///{self.db}')
        self.assertEqual(code, 2)
        self.assertIn('not both', err)


class ConfigTests(FlagTestCase):

    def test_config_module_with_rq_setting_names(self):
        jobs = self.jobs_module()
        config = self.module(f"REDIS_URL = 'sqlite:///{self.db}'\nQUEUES = ['high', 'low']\n"
                             "NAME = 'from-config'\nlowercase = 'ignored'\n")
        high = Queue('high', connection=self.store).enqueue('cli_rq_flags_jobs.add', 1, 2)
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 2)          # 'default' is not in QUEUES
        code, out, err = self.run_main('worker', '-b', '-c', config, '-P', self.dir,
                                       '-P', TESTS_DIR, '-w', 'cli_rq_flags_jobs.RecordingWorker')
        self.assertEqual(code, 0, err)
        queues, kwargs = jobs.CREATED[-1]
        self.assertEqual((queues, kwargs['name']), (['high', 'low'], 'from-config'))
        self.assertEqual(high.return_value(), 3)
        self.assertEqual(self.q.count, 1)
        code, out, err = self.run_main('worker', '-b', '-c', config, '-P', self.dir,
                                       '-P', TESTS_DIR, 'default', '-n', 'flag-wins')
        self.assertEqual(code, 0, err)
        self.assertEqual(self.q.count, 0)

    def test_redis_settings_and_missing_modules_are_clear_errors(self):
        redis_config = self.module("REDIS_HOST = 'localhost'\nREDIS_PORT = 6379\n")
        code, _, err = self.run_main('info', '-c', redis_config, '-P', self.dir)
        self.assertEqual(code, 2)
        self.assertIn('sets REDIS_HOST, REDIS_PORT', err)
        self.assertIn("REDIS_URL = 'sqlite:///path/to/jobs.db'", err)
        code, _, err = self.run_main('info', '--db', self.db, '-c', redis_config, '-P', self.dir)
        self.assertEqual(code, 0, err)                  # --db wins, as -u wins over -c in RQ
        url_config = self.module("REDIS_URL = 'redis://localhost:6379/0'\n")
        code, _, err = self.run_main('info', '-c', url_config, '-P', self.dir)
        self.assertEqual(code, 2)
        self.assertIn(f'REDIS_URL of -c {url_config}', err)
        code, _, err = self.run_main('info', '-c', 'no_such_settings_module.py')
        self.assertEqual(code, 1)
        self.assertIn("-c/--config 'no_such_settings_module.py': cannot import it", err)
        self.assertIn("give a module name such as 'no_such_settings_module'", err)

    def test_dict_config_configures_the_worker_log(self):
        logger = logging.getLogger('rq_emulator')
        saved = (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        rq_logger = logging.getLogger('rq.worker')
        rq_saved = (rq_logger.handlers[:], rq_logger.level, rq_logger.propagate)

        def restore():
            logger.handlers[:], logger.level, logger.propagate, logger.disabled = saved
            rq_logger.handlers[:], rq_logger.level, rq_logger.propagate = rq_saved
        self.addCleanup(restore)
        config = self.module(
            f"REDIS_URL = 'sqlite:///{self.db}'\n"
            "DICT_CONFIG = {'version': 1, 'disable_existing_loggers': False,\n"
            "    'formatters': {'f': {'format': 'CONFIGURED %(levelname)s %(message)s'}},\n"
            "    'handlers': {'h': {'class': 'logging.StreamHandler', 'formatter': 'f',\n"
            "                       'stream': 'ext://sys.stdout'}},\n"
            "    'loggers': {'rq.worker': {'handlers': ['h'], 'level': 'INFO',\n"
            "                              'propagate': False}}}\n")
        code, out, err = self.run_main('worker', '-b', '-c', config, '-P', self.dir)
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertTrue(lines and all(line.startswith('CONFIGURED INFO ') for line in lines), out)


class LoggingTests(FlagTestCase):

    def setUp(self):
        super().setUp()
        self.jobs_module()

    def test_rq_format_and_streams(self):
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 2)
        code, out, err = self.run_main('worker', '-b', '--db', self.db, '-P', TESTS_DIR,
                                       '-n', 'w-log')
        self.assertEqual(code, 0, err)
        first = out.splitlines()[0]
        self.assertRegex(first, r'^\d\d:\d\d:\d\d Worker w-log: started with PID '
                                rf'{os.getpid()}, version {re.escape(rq_emulator.__version__)}$')
        self.assertIn(' *** Listening on default...\n', out)
        self.assertNotIn('\x1b[', out)                  # no colours when not on a terminal
        self.assertEqual(err, '')                       # stderr is for errors only, as in RQ

    def test_errors_go_to_stderr(self):
        seen = []

        def run(store, args):
            with rq_emulator._cli_logging(args):
                logging.getLogger('rq_emulator').error('an error line')
                logging.getLogger('rq_emulator').warning('a warning line')
            seen.append(True)
            return 0
        with mock.patch.object(rq_emulator, '_cli_worker', run):
            code, out, err = self.run_main('worker', '--db', self.db, '--log-format',
                                           '[%(levelname)s] %(message)s')
        self.assertEqual((code, seen), (0, [True]))
        self.assertEqual(out, '[WARNING] a warning line\n')
        self.assertEqual(err, '[ERROR] an error line\n')

    def test_level_flags(self):
        for flags, shown, hidden in ((['-v'], 'DEBUG', None), (['-q'], 'WARNING', 'INFO'),
                                     (['--logging_level', 'warning'], 'WARNING', 'INFO'),
                                     (['--logging-level', 'ERROR'], None, 'WARNING'),
                                     (['-l', 'debug'], 'DEBUG', None), ([], 'INFO', 'DEBUG')):
            with self.subTest(flags=flags):
                def run(store, args):
                    with rq_emulator._cli_logging(args):
                        for level in ('DEBUG', 'INFO', 'WARNING'):
                            logging.getLogger('rq_emulator').log(getattr(logging, level), level)
                    return 0
                with mock.patch.object(rq_emulator, '_cli_worker', run):
                    code, out, err = self.run_main('worker', '--db', self.db,
                                                   '--log-format', '%(message)s', *flags)
                self.assertEqual(code, 0, err)
                if shown:
                    self.assertIn(shown, out.split())
                if hidden:
                    self.assertNotIn(hidden, out.split())

    def test_verbose_and_quiet_exclude_each_other(self):
        code, _, err = self.run_main('worker', '-v', '-q', '--db', self.db)
        self.assertEqual(code, 2)
        self.assertIn('usage: rq-emulator worker', err)
        self.assertIn('-q/--quiet: not allowed with argument -v/--verbose', err)

    def test_date_format_and_quiet(self):
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 2)
        code, out, err = self.run_main('worker', '-b', '--db', self.db, '-P', TESTS_DIR,
                                       '--date-format', 'DAY %j', '-n', 'w-date')
        self.assertEqual(code, 0, err)
        self.assertRegex(out.splitlines()[0], r'^DAY \d{3} Worker w-date: started')
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 2)
        self.assertEqual(self.run_main('worker', '-b', '-q', '--db', self.db, '-P', TESTS_DIR),
                         (0, '', ''))

    def test_colours_on_a_terminal_only(self):
        class Terminal(io.StringIO):
            def isatty(self):
                return True
        record = logging.LogRecord('rq_emulator', logging.INFO, __file__, 1,
                                   'Worker %s: %s: %s (%s)', ('w', 'high', 'f()', 'id1'), None)
        coloured = rq_emulator._RQFormatter('%(message)s', None, Terminal()).format(record)
        self.assertEqual(coloured, 'Worker w: \x1b[32mhigh\x1b[39;49;00m: '
                                   '\x1b[34mf()\x1b[39;49;00m (id1)')
        plain = rq_emulator._RQFormatter('%(message)s', None, io.StringIO()).format(record)
        self.assertEqual(plain, 'Worker w: high: f() (id1)')
        self.assertEqual(record.getMessage(), plain)        # other handlers see it unchanged
        os.environ['NO_COLOR'] = '1'
        self.assertEqual(rq_emulator._RQFormatter('%(message)s', None, Terminal()).format(record),
                         plain)


class WorkerFlagTests(FlagTestCase):

    def setUp(self):
        super().setUp()
        self.jobs = self.jobs_module()

    def test_rq_worker_options_reach_the_worker(self):
        ok = self.q.enqueue('cli_rq_flags_jobs.add', 2, 3)
        bad = self.q.enqueue('cli_rq_flags_jobs.fail')
        code, out, err = self.run_main(
            'worker', '-b', '--db', self.db, '-P', TESTS_DIR, '-q',
            '-w', 'cli_rq_flags_jobs.RecordingWorker', '-j', 'cli_rq_flags_jobs.JobSubclass',
            '--queue-class', 'cli_rq_flags_jobs.QueueSubclass', '-S', 'json',
            '--results-ttl', '77', '--exception-handler', 'cli_rq_flags_jobs.handler',
            '--exception-handler', 'cli_rq_flags_jobs.handler', '--disable-job-desc-logging',
            '-d', '--job-monitoring-interval', '5', '-n', 'w-flags')
        self.assertEqual(code, 0, err)
        queues, kwargs = self.jobs.CREATED[-1]
        self.assertEqual(queues, ['default'])
        self.assertEqual(kwargs['name'], 'w-flags')
        self.assertIs(kwargs['job_class'], self.jobs.JobSubclass)
        self.assertIs(kwargs['queue_class'], self.jobs.QueueSubclass)
        self.assertIs(kwargs['serializer'], rq_emulator.JSONSerializer)
        self.assertEqual(kwargs['exception_handlers'], [self.jobs.handler, self.jobs.handler])
        self.assertEqual((kwargs['default_result_ttl'], kwargs['log_job_description'],
                          kwargs['disable_default_exception_handler'],
                          kwargs['job_monitoring_interval']), (77, False, True, 5))
        self.assertEqual(ok.return_value(), 5)
        self.assertEqual(self.jobs.HANDLED[-2:], [(bad.id, 'ValueError')] * 2)

    def test_rq_class_paths_mean_the_emulator(self):
        code, _, err = self.run_main('worker', '-b', '-q', '--db', self.db,
                                     '-w', 'rq.worker.SimpleWorker', '-j', 'rq.job.Job',
                                     '--queue-class', 'rq.Queue')
        self.assertEqual(code, 0, err)
        seen = []
        with mock.patch.object(rq_emulator, '_cli_info', lambda store, args: seen.append(
                (args.worker_class, args.job_class, args.queue_class)) or 0):
            self.run_main('info', '--db', self.db, '-w', 'rq.Worker', '-j', 'rq.job.Job',
                          '--queue-class', 'rq.queue.Queue')
        worker_class, job_class, queue_class = seen[0]
        self.assertTrue(issubclass(worker_class, Worker))
        self.assertTrue(issubclass(job_class, Job))
        self.assertTrue(issubclass(queue_class, Queue))

    def test_bad_dotted_paths_name_their_flag(self):
        for flag in ('-w', '-j', '--queue-class', '--exception-handler'):
            with self.subTest(flag=flag):
                code, _, err = self.run_main('worker', '-b', '--db', self.db, flag, 'nosuch.Thing')
                self.assertEqual(code, 1)               # as RQ, which also exits 1 here
                self.assertIn("'nosuch.Thing': cannot import it", err)
                self.assertIn(flag, err)
        code, _, err = self.run_main('worker', '-b', '--db', self.db, '-S', 'nosuch.Serializer')
        self.assertEqual(code, 1)
        self.assertIn('-S/--serializer', err)

    def test_pid_file(self):
        pid_file = os.path.join(self.dir, 'worker.pid')
        code, _, err = self.run_main('worker', '-b', '-q', '--db', self.db, '--pid', pid_file)
        self.assertEqual(code, 0, err)
        with open(pid_file, encoding='ascii') as file:
            self.assertEqual(file.read(), str(os.getpid()))

    def test_flags_without_meaning_here_are_named(self):
        code, out, err = self.run_main('worker', '-b', '-q', '--db', self.db, '--worker-ttl', '30',
                                       '--maintenance-interval', '60',
                                       '--connection-class', 'redis.Redis')
        self.assertEqual(code, 0, err)
        for flag in ('--worker-ttl', '--maintenance-interval', '--connection-class'):
            self.assertIn(f'Warning: {flag} is accepted for RQ and ignored: ', err)
        for argv in (['--sentry-dsn', 'https://k@sentry.example/1'], ['--sentry-debug'],
                     ['--death-penalty-class', 'rq.timeouts.UnixSignalDeathPenalty']):
            with self.subTest(argv=argv):
                code, _, err = self.run_main('worker', '-b', '--db', self.db, *argv)
                self.assertEqual(code, 2)
                self.assertIn('usage: rq-emulator worker', err)
                self.assertIn(f'error: {argv[0]}: ', err)
                self.assertIn('RQ 2.12 refuses this flag too', err)

    def test_errors_show_the_command_usage(self):
        code, _, err = self.run_main('worker', '--url-typo', 'x')
        self.assertEqual(code, 2)
        self.assertTrue(err.startswith('usage: rq-emulator worker '), err)
        self.assertIn('unrecognized arguments: --url-typo', err)
        code, _, err = self.run_main('info', '--interval', 'often')
        self.assertEqual(code, 2)
        self.assertTrue(err.startswith('usage: rq-emulator info '), err)

    def test_queue_names_and_options_mix(self):
        high = Queue('high', connection=self.store).enqueue('cli_rq_flags_jobs.add', 1, 1)
        low = Queue('low', connection=self.store).enqueue('cli_rq_flags_jobs.add', 2, 2)
        code, _, err = self.run_main('worker', 'high', '-q', 'low', '--db', self.db, '-b',
                                     '-P', TESTS_DIR)
        self.assertEqual(code, 0, err)
        self.assertEqual((high.return_value(), low.return_value()), (2, 4))

    def test_unexpected_error_exits_non_zero(self):
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 1)
        broken = sqlite3.DatabaseError('database disk image is malformed')
        with mock.patch.object(SqliteStore, 'queue_pop', side_effect=broken), \
                self.assertLogs('rq_emulator', 'ERROR') as logs:
            code, out, err = self.run_main('worker', '-b', '--db', self.db, '-n', 'w-crash')
        self.assertEqual(code, 1)
        self.assertIn('stopped by an unexpected error', '\n'.join(logs.output))
        self.assertIn('Error: worker w-crash stopped by an unexpected error: SQLite database '
                      f'{self.db!r}: database disk image is malformed', err)
        with mock.patch.object(SqliteStore, 'queue_pop', side_effect=broken), \
                self.assertLogs('rq_emulator', 'ERROR'):
            code, _, err = self.run_main('worker', '-b', '--db', self.db, '-t', '2', '-n', 'pool')
        self.assertEqual(code, 1)
        self.assertIn('worker pool-0 stopped', err)


class MissingDatabaseTests(FlagTestCase):

    def test_only_worker_and_enqueue_create_a_database(self):
        missing = os.path.join(self.dir, 'typo.db')
        before = sorted(os.listdir(self.dir))
        for argv in (['info'], ['requeue', '--all'], ['empty', '--all'], ['suspend'], ['resume'],
                     ['info', '-u', f'sqlite:///{missing}']):
            with self.subTest(argv=argv):
                if '-u' not in argv:
                    argv = [*argv, '--db', missing]
                code, out, err = self.run_main(*argv)
                self.assertEqual(code, 1)
                self.assertIn(f"Error: no database at {missing!r}", err)
                self.assertIn('nothing was created', err)
                self.assertEqual(sorted(os.listdir(self.dir)), before)
        code, out, err = self.run_main('enqueue', '--db', missing, 'm.f')
        self.assertEqual(code, 0, err)
        self.assertIn(f'Created the database {missing}', err)
        other = os.path.join(self.dir, 'other.db')
        code, out, err = self.run_main('worker', '-b', '--db', other)
        self.assertEqual(code, 0, err)
        self.assertIn(f'Created the database {other}', out)          # in the worker's log
        code, out, err = self.run_main('info', '--db', other)
        self.assertEqual(code, 0, err)

    def test_the_default_database_is_named_too(self):
        os.chdir(self.dir)
        code, _, err = self.run_main('info')
        self.assertEqual(code, 1)
        self.assertIn(os.path.join(self.dir, 'rq_emulator.db'), err)
        self.assertIn('named by the default', err)
        os.environ['RQ_EMULATOR_DB'] = 'env.db'
        code, _, err = self.run_main('info')
        self.assertIn('named by $RQ_EMULATOR_DB', err)

    def test_sqlite_errors_name_the_path(self):
        garbage = self.write('garbage.db', 'this is not a database, ' * 100)
        for command in ('info', 'worker'):
            with self.subTest(command=command):
                code, _, err = self.run_main(command, '-b' if command == 'worker' else '-r',
                                             '--db', garbage)
                self.assertEqual(code, 1)
                self.assertIn(repr(garbage), err)
                self.assertIn('not a database', err)
        code, _, err = self.run_main('info', '--db', self.dir)      # a directory
        self.assertEqual(code, 1)
        self.assertIn(repr(self.dir), err)
        with self.assertRaises(sqlite3.Error) as caught:
            SqliteStore(os.path.join(self.dir, 'no', 'such', 'dir.db'))
        self.assertIn(os.path.join(self.dir, 'no', 'such', 'dir.db'), str(caught.exception))


class InfoTests(FlagTestCase):

    def setUp(self):
        super().setUp()
        self.jobs_module()

    def start_worker(self, name, queues):
        worker = Worker(queues, connection=self.store, name=name)
        worker.start()
        self.addCleanup(worker.stop, 10)
        return worker

    def test_worker_host_pid_and_counts(self):
        worker = self.start_worker('w-info', ['default', 'low'])
        host, pid = worker.hostname, os.getpid()
        code, out, _ = self.run_main('info', '-W', '--db', self.db)
        self.assertEqual(code, 0)
        self.assertRegex(out, rf'^w-info \({re.escape(host)} {pid}\): (started|idle) default, low\. '
                              r'jobs: \d+ finished, \d+ failed\n1 workers, \d+ queues\n$')
        code, out, _ = self.run_main('info', '-W', '-r', '--db', self.db)
        self.assertRegex(out, rf'^worker w-info \({re.escape(host)} {pid}\) (started|idle) '
                              r'default, low\. jobs: \d+ finished, \d+ failed\n$')
        self.assertTrue(worker.stop(10))

    def test_counts_come_from_the_worker_record(self):
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 1)
        self.q.enqueue('cli_rq_flags_jobs.fail')
        worker = self.start_worker('w-count', ['default'])
        self.assertTrue(_wait(lambda: worker.successful_job_count + worker.failed_job_count == 2))
        code, out, _ = self.run_main('info', '-W', '--db', self.db)
        self.assertIn(': idle default. jobs: 1 finished, 1 failed\n', out)

    def test_by_queue(self):
        Queue('low', connection=self.store).enqueue('cli_rq_flags_jobs.add', 1, 1)
        self.q.enqueue('cli_rq_flags_jobs.add', 1, 1)
        Queue('high', connection=self.store)
        worker = self.start_worker('w-r', ['low'])
        self.assertTrue(_wait(lambda: Queue('low', connection=self.store).count == 0))
        code, out, _ = self.run_main('info', '-R', '-W', '--db', self.db, 'default', 'low')
        self.assertEqual(code, 0)
        self.assertRegex(out, r'^default: –\nlow:     w-r \((idle|busy|started)\)\n'
                              r'1 workers, 2 queues\n$')
        self.assertTrue(worker.stop(10))

    def test_interval_redraws_until_interrupted(self):
        pauses = []

        def pause(seconds):
            pauses.append(seconds)
            if len(pauses) == 2:
                raise KeyboardInterrupt
        with mock.patch.object(rq_emulator, '_info_pause', pause):
            code, out, _ = self.run_main('info', '-i', '0.5', '-Q', '--db', self.db)
        self.assertEqual((code, pauses), (0, [0.5, 0.5]))
        self.assertEqual(out.count('queues, 0 jobs total'), 2)
        self.assertTrue(out.endswith('\n\n'))


class CommandFixTests(FlagTestCase):

    def test_requeue_names_the_ids_it_could_not_requeue(self):
        self.jobs_module()
        failed = self.q.enqueue('cli_rq_flags_jobs.fail')
        finished = self.q.enqueue('cli_rq_flags_jobs.add', 1, 1)
        Worker([self.q], connection=self.store).work(burst=True)
        code, out, err = self.run_main('requeue', '--db', self.db, failed.id, 'not-a-job-id',
                                       finished.id)
        self.assertEqual(code, 0)
        self.assertEqual(out, 'Requeueing 3 jobs from failed queue\n'
                              'Unable to requeue 2 jobs from failed job registry\n')
        self.assertIn("Unable to requeue 'not-a-job-id': there is no job with this id", err)
        self.assertIn(f'Unable to requeue {finished.id!r}: ', err)
        self.assertEqual(failed.get_status(), JobStatus.QUEUED)

    def test_enqueue_help_shows_single_percent(self):
        code, out, _ = self.run_main('enqueue', '--help')
        self.assertEqual(code, 0)
        self.assertIn("'%literal',", out)
        self.assertIn("'k%=literal'", out)
        self.assertNotIn('%%', out)

    def test_enqueue_serializer(self):
        code, out, err = self.run_main('enqueue', '--db', self.db, '-S', 'json', 'm.f', ':[1, 2]',
                                       '--job-id', 'json-job')
        self.assertEqual(code, 0, err)
        job = Job.fetch('json-job', connection=self.store)
        self.assertIs(job.serializer, rq_emulator.JSONSerializer)
        self.assertEqual(job.args, [[1, 2]])


class StoreClosingTests(unittest.TestCase):

    def test_close_is_idempotent_and_closing_works(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'c.db')
            with contextlib.closing(SqliteStore(path)) as store:
                Queue('q', connection=store).enqueue('m.f')
            store.close()                       # twice is fine
            with self.assertRaises(sqlite3.ProgrammingError):
                Queue('q', connection=store).count

    def test_a_forgotten_store_is_closed_without_a_resource_warning(self):
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter('always')
            store = SqliteStore(os.path.join(tmp, 'f.db'))
            Queue('q', connection=store).enqueue('m.f')
            del store
            gc.collect()
        self.assertEqual([w for w in seen if issubclass(w.category, ResourceWarning)], [])


def _wait(predicate, checks=200):
    pause = threading.Event()
    for _ in range(checks):
        if predicate():
            return True
        pause.wait(0.05)
    return predicate()


@SLOW
@unittest.skipUnless(os.name == 'posix', 'worker subprocess tests need POSIX signals')
class ProcfileTests(FlagTestCase):
    """A Procfile line copied from RQ, on a SQLite URL, in a real process."""

    def start(self, *argv):
        env = dict(os.environ)
        module_dir = os.path.dirname(os.path.abspath(rq_emulator.__file__))
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [module_dir, TESTS_DIR,
                                                          env.get('PYTHONPATH')]))
        proc = subprocess.Popen([sys.executable, '-m', 'rq_emulator', *argv], cwd=self.dir,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        killer = threading.Timer(60, proc.kill)
        killer.start()
        self.addCleanup(killer.cancel)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.kill)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        return proc

    def test_rq_procfile_line(self):
        name = self.module('def count_words(text):\n    return len(text.split())\n\n'
                           "def fail():\n    raise ValueError('nope')\n")
        ok = Queue('high', connection=self.store).enqueue(f'{name}.count_words', 'a b c')
        bad = Queue('low', connection=self.store).enqueue(f'{name}.fail')
        proc = self.start('worker', '-u', 'sqlite:///jobs.db', 'high', 'default', 'low',
                          '--with-scheduler', '-v')
        self.assertTrue(_wait(lambda: bad.get_status() == JobStatus.FAILED, 400), bad.get_status())
        self.assertTrue(_wait(lambda: 'jobs: 1 finished, 1 failed' in self.run_main(
            'info', '-W', '--db', self.db)[1], 400))
        code, out, _ = self.run_main('info', '-W', '--db', self.db)
        self.assertRegex(out, rf'^\S+ \(\S+ {proc.pid}\): idle high, default, low\. '
                              r'jobs: 1 finished, 1 failed\n1 workers, ')
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(ok.return_value(), 3)
        self.assertIn(f': started with PID {proc.pid}, version {rq_emulator.__version__}\n', out)
        self.assertIn(' *** Listening on high, default, low...\n', out)
        self.assertIn(f' [PID {proc.pid}]: warm shut down requested\n', out)
        self.assertIn('ValueError: nope', bad.exc_info)

    def test_corrupted_database_exits_non_zero(self):
        garbage = self.write('garbage.db', 'not a database at all. ' * 200)
        proc = self.start('worker', '-b', '--db', garbage)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(repr(garbage), err)


if __name__ == '__main__':
    unittest.main()
