"""RQ 2.12's whole public import surface after ``install_as_rq()``.

RQ_SURFACE below lists every module of RQ 2.12 and the public names each one
defines or imports for its users (its ``__all__`` where it has one), read from
RQ 2.12.0's own sources. Every module must import and every name must resolve;
where the emulator lacks a feature, the name imports and using it raises an
error naming rq_emulator. Everything here runs in-process.

Left out, as incidental imports of other packages rather than RQ's own names:
  - names imported from the standard library or from redis/click/croniter
    (``os``, ``sys``, ``Optional``, ``TYPE_CHECKING``, ``Redis``, ``Pipeline``,
    ``WatchError``, ``click``, ``datetime``, ``timedelta``, ...);
  - ``setprocname`` (setproctitle's function, or a fallback for it) and
    ``ForkProcess`` (multiprocessing's Process class);
  - ``rq.cli.__main__`` (the ``python -m rq.cli`` entry point, not imported).
``rq.worker`` lists the private ``_signames`` because its ``__all__`` does.
"""

import importlib
import io
import logging
import os
import subprocess
import sys
import tempfile
import types
import unittest
from unittest import mock

import rq_emulator
from rq_emulator import MemoryStore

RQ_SURFACE = {
    'rq': (
        'Callback Queue Repeat Retry SimpleWorker SpawnWorker VERSION Webhook Worker __version__ '
        'cancel_job get_current_job requeue_job'
    ),
    'rq.cli': 'cron info main worker',
    'rq.cli.cli': (
        'FailedJobRegistry InvalidJobOperationError JobStatus Retry blue clean_registries '
        'clean_worker_registry connection_resume connection_suspend empty enqueue get_call_string '
        'info main parse_function_args parse_schedule pass_cli_config refresh requeue resume '
        'show_both show_queues show_workers suspend version'
    ),
    'rq.cli.cli_cron': 'CronScheduler cron main pass_cli_config read_config_file',
    'rq.cli.helpers': (
        'CliConfig DEFAULT_CONNECTION_CLASS DEFAULT_DEATH_PENALTY_CLASS DEFAULT_JOB_CLASS '
        'DEFAULT_QUEUE_CLASS DEFAULT_SERIALIZER_CLASS DEFAULT_WORKER_CLASS ParsingMode '
        'WorkerStatus get_redis_from_config get_scale green import_attribute import_job_class '
        'import_worker_class now pad parse_function_arg parse_function_args parse_schedule '
        'parse_timeout pass_cli_config read_config_file red refresh setup_loghandlers '
        'setup_loghandlers_from_args shared_options show_both show_queues show_workers '
        'state_symbol yellow'
    ),
    'rq.cli.workers': (
        'DEFAULT_JOB_MONITORING_INTERVAL DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT '
        'DEFAULT_MAINTENANCE_TASK_INTERVAL DEFAULT_RESULT_TTL DEFAULT_WORKER_TTL WorkerPool '
        'import_attribute is_suspended main pass_cli_config read_config_file resolve_serializer '
        'setup_loghandlers_from_args worker worker_pool'
    ),
    'rq.command': (
        'InvalidJobOperation Job PUBSUB_CHANNEL_TEMPLATE handle_command '
        'handle_kill_worker_command handle_shutdown_command handle_stop_job_command parse_payload '
        'send_command send_kill_horse_command send_shutdown_command send_stop_job_command'
    ),
    'rq.connections': (
        'NoRedisConnectionException REDIS_RUNTIME_CONNECTION_KWARGS get_connection_kwargs '
        'parse_connection'
    ),
    'rq.contrib': '',
    'rq.cron': (
        'CronJob CronScheduler DEFAULT_CRON_JOB_HISTORY_LIMIT DEFAULT_CRON_JOB_HISTORY_TTL '
        'DEFAULT_CRON_SCHEDULER_TTL DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT '
        'DEFAULT_RESULT_TTL Job NOT_JSON_SERIALIZABLE Queue SchedulerNotFound StopRequested '
        'Webhook as_text create_cron cron_job_registry cron_scheduler_registry decode_redis_hash '
        'get_cron_job_history_key get_cron_job_ids normalize_config_path now register '
        'resolve_serializer safe_json_dumps setup_loghandlers str_to_date utcformat utcparse '
        'validate_absolute_path'
    ),
    'rq.cron_job_registry': 'DEFAULT_CRON_JOB_HISTORY_TTL add get_names get_registry_key remove_stale_entries',
    'rq.cron_scheduler_registry': (
        'DEFAULT_CRON_SCHEDULER_TTL DuplicateSchedulerError SchedulerNotFound cleanup get_keys '
        'get_registry_key register unregister'
    ),
    'rq.decorators': 'Callback DEFAULT_RESULT_TTL Queue Webhook job',
    'rq.defaults': (
        'CALLBACK_TIMEOUT DEFAULT_CONNECTION_CLASS DEFAULT_CRON_JOB_HISTORY_LIMIT '
        'DEFAULT_CRON_JOB_HISTORY_TTL DEFAULT_CRON_SCHEDULER_TTL DEFAULT_DEATH_PENALTY_CLASS '
        'DEFAULT_FAILURE_TTL DEFAULT_JOB_CLASS DEFAULT_JOB_MONITORING_INTERVAL '
        'DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT DEFAULT_MAINTENANCE_TASK_INTERVAL '
        'DEFAULT_QUEUE_CLASS DEFAULT_RESULT_TTL DEFAULT_SCHEDULER_FALLBACK_PERIOD '
        'DEFAULT_SERIALIZER_CLASS DEFAULT_WORKER_CLASS DEFAULT_WORKER_TTL '
        'UNSERIALIZABLE_RETURN_VALUE_PAYLOAD'
    ),
    'rq.dependency': 'Dependency Job',
    'rq.exceptions': (
        'AbandonedJobError DequeueTimeout DeserializationError DuplicateJobError '
        'DuplicateSchedulerError InvalidJobDependency InvalidJobOperation '
        'InvalidJobOperationError NoSuchGroupError NoSuchJobError SchedulerNotFound '
        'ShutDownImminentException StopRequested TimeoutFormatError'
    ),
    'rq.executions': (
        'BaseRegistry Execution ExecutionRegistry Job StartedJobRegistry as_text '
        'cleanup_execution current_timestamp logger now parse_composite_key prepare_execution'
    ),
    'rq.group': 'EnqueueData Group Job NoSuchGroupError Queue as_text',
    'rq.intermediate_queue': 'IntermediateQueue now',
    'rq.job': (
        'BaseDeathPenalty CALLBACK_TIMEOUT Callback Dependency DeserializationError '
        'FailureCallbackType FunctionReferenceType InvalidJobOperation JOB_ID_PATTERN Job '
        'JobDependencyType JobStatus JobTimeoutException LocalStack NoSuchJobError Retry '
        'SuccessCallbackType UNEVALUATED UNSERIALIZABLE_RETURN_VALUE_PAYLOAD Webhook as_text '
        'cancel_job decode_redis_hash ensure_job_list get_call_string get_current_job '
        'import_attribute logger now parse_job_id parse_timeout requeue_job '
        'resolve_function_reference resolve_serializer str_to_date utcformat validate_job_id'
    ),
    'rq.local': 'Local LocalManager LocalProxy LocalStack release_local',
    'rq.logutils': (
        'ColorizingStreamHandler DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT blue '
        'colorizer green make_colorizer red setup_loghandlers yellow'
    ),
    'rq.maintenance': 'IntermediateQueue Queue clean_intermediate_queue',
    'rq.queue': (
        'BaseDeathPenalty Callback DEFAULT_RESULT_TTL Dependency DequeueTimeout EnqueueArgs '
        'EnqueueData FunctionReferenceType IntermediateQueue Job JobDependencyType JobStatus '
        'NoSuchJobError Queue Repeat Serializer UnixSignalDeathPenalty Webhook as_text '
        'backend_class blue compact get_version green import_attribute logger now parse_timeout '
        'resolve_serializer save_unique_job schedule_unique_job'
    ),
    'rq.registry': (
        'AbandonedJobError BaseDeathPenalty BaseRegistry CanceledJobRegistry DEFAULT_FAILURE_TTL '
        'DeferredJobRegistry FailedJobRegistry FinishedJobRegistry InvalidJobOperation Job '
        'JobStatus NoSuchJobError Queue ScheduledJobRegistry StartedJobRegistry '
        'UnixSignalDeathPenalty as_text backend_class clean_registries current_timestamp '
        'get_connection_kwargs logger now parse_composite_key resolve_serializer'
    ),
    'rq.repeat': 'Repeat',
    'rq.results': (
        'Job Result UNSERIALIZABLE_RETURN_VALUE_PAYLOAD decode_redis_hash get_key now '
        'resolve_serializer'
    ),
    'rq.scheduler': (
        'ACQUIRE_OR_REFRESH_LOCK_SCRIPT DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT '
        'DEFAULT_SCHEDULER_FALLBACK_PERIOD Job Queue RQScheduler SCHEDULER_KEY_TEMPLATE '
        'SCHEDULER_LOCKING_KEY_TEMPLATE ScheduledJobRegistry SchedulerNotFound SchedulerStatus '
        'acquire_or_refresh_lock current_timestamp decode_redis_hash now parse_connection '
        'parse_names release_lock resolve_serializer run setup_loghandlers utcformat utcparse'
    ),
    'rq.scripts': (
        'ACQUIRE_OR_REFRESH_LOCK_SCRIPT DuplicateJobError RELEASE_LOCK_SCRIPT '
        'UNIQUE_ENQUEUE_SCRIPT UNIQUE_SCHEDULE_SCRIPT acquire_or_refresh_lock blue '
        'get_unique_enqueue_script get_unique_schedule_script green logger release_lock '
        'save_unique_job schedule_unique_job'
    ),
    'rq.serializers': (
        'DefaultSerializer JSONSerializer PickleSerializer SERIALIZER_ALIASES Serializer '
        'import_attribute resolve_serializer'
    ),
    'rq.suspension': 'WORKERS_SUSPENDED is_suspended resume suspend',
    'rq.timeouts': (
        'BaseDeathPenalty BaseTimeoutException HorseMonitorTimeoutException JobTimeoutException '
        'TimerDeathPenalty UnixSignalDeathPenalty get_default_death_penalty_class'
    ),
    'rq.types': 'FailureCallbackType FunctionReferenceType JobDependencyType SuccessCallbackType',
    'rq.utils': (
        'NOT_JSON_SERIALIZABLE Platform TimeoutFormatError as_text backend_class ceildiv compact '
        'current_timestamp decode_redis_hash ensure_job_list get_call_string '
        'get_connection_from_queues get_platform get_version import_attribute import_job_class '
        'import_queue_class import_worker_class is_nonstring_iterable logger '
        'normalize_config_path now parse_composite_key parse_names parse_timeout '
        'resolve_function_reference safe_json_dumps split_list str_to_date truncate_long_string '
        'utcformat utcparse validate_absolute_path'
    ),
    'rq.version': 'VERSION',
    'rq.webhook': 'Webhook logger',
    'rq.worker': (
        'BaseWorker DEFAULT_RESULT_TTL DequeueStrategy HerokuWorker RandomWorker RoundRobinWorker '
        'SHUTDOWN_SIGNAL SimpleWorker SpawnWorker Worker WorkerStatus _signames logger '
        'signal_name'
    ),
    'rq.worker.base': (
        'BaseWorker DEFAULT_JOB_MONITORING_INTERVAL DEFAULT_LOGGING_DATE_FORMAT '
        'DEFAULT_LOGGING_FORMAT DEFAULT_MAINTENANCE_TASK_INTERVAL DEFAULT_RESULT_TTL '
        'DEFAULT_WORKER_TTL DequeueStrategy DequeueTimeout DeserializationError Execution Group '
        'Job JobStatus JobTimeoutException PUBSUB_CHANNEL_TEMPLATE Queue RQScheduler Result Retry '
        'SHUTDOWN_SIGNAL Serializer StartedJobRegistry StopRequested VERSION WorkerStatus as_text '
        'blue clean_registries cleanup_execution compact decode_redis_hash ensure_job_list '
        'get_connection_from_queues get_default_death_penalty_class get_version green '
        'handle_command import_job_class import_queue_class is_suspended logger now parse_payload '
        'prepare_execution resolve_serializer setup_loghandlers signal_name utcformat utcparse '
        'worker_registration yellow'
    ),
    'rq.worker.worker_classes': (
        'BaseWorker DEFAULT_WORKER_TTL HerokuWorker HorseMonitorTimeoutException '
        'InvalidJobOperation Job JobStatus RandomWorker RoundRobinWorker SHUTDOWN_SIGNAL '
        'ShutDownImminentException SimpleWorker SpawnWorker Worker WorkerStatus '
        'get_connection_kwargs now signal_name'
    ),
    'rq.worker_pool': (
        'BaseWorker DEFAULT_LOGGING_DATE_FORMAT DEFAULT_LOGGING_FORMAT DefaultSerializer Job '
        'Queue Worker WorkerData WorkerPool parse_connection parse_names run_worker '
        'setup_loghandlers'
    ),
    'rq.worker_registration': (
        'MAX_KEYS REDIS_WORKER_KEYS WORKERS_BY_QUEUE_KEY as_text clean_worker_registry get_keys '
        'register split_list unregister'
    ),
}
CLI_MODULES = {name for name in RQ_SURFACE if name == 'rq.cli' or name.startswith('rq.cli.')}
try:
    import click
except ImportError:          # rq.cli exists only where click does, as in RQ
    click = None


def _is_emulator_module(module):
    return (module.__doc__ or '').startswith('rq_emulator standing in')


class FrontDoorTestCase(unittest.TestCase):
    """Installs the front door for each test and leaves sys.modules as it found it."""

    def setUp(self):
        self.was_installed = _is_emulator_module(sys.modules.get('rq', types.ModuleType('x')))
        rq_emulator.install_as_rq()
        if not self.was_installed:
            self.addCleanup(rq_emulator.uninstall_as_rq)
        self.store = MemoryStore()


class ImportSurfaceTests(FrontDoorTestCase):

    def test_every_module_imports_and_every_name_resolves(self):
        missing = []
        for module_name, names in sorted(RQ_SURFACE.items()):
            if module_name in CLI_MODULES and click is None:
                continue
            module = importlib.import_module(module_name)
            missing += [f'{module_name}.{name}' for name in names.split()
                        if not hasattr(module, name)]
        self.assertEqual(missing, [])

    def test_from_imports_of_submodules(self):
        from rq import contrib, job, local, worker  # noqa: F401
        from rq.worker import base, worker_classes  # noqa: F401
        import rq.worker_registration
        self.assertIs(base.worker_registration, rq.worker_registration)
        self.assertIs(sys.modules['rq.cron'].cron_job_registry, sys.modules['rq.cron_job_registry'])

    def test_rq_cli_exists_exactly_when_click_does(self):
        if click is None:
            self.assertRaises(ImportError, importlib.import_module, 'rq.cli')
        else:
            from rq import cli
            self.assertIsInstance(cli.main, click.Group)

    def test_same_name_is_the_same_object_in_every_module(self):
        import rq
        import rq.job
        import rq.queue
        import rq.utils
        import rq.worker.base
        self.assertIs(rq.queue.Job, rq.job.Job)
        self.assertIs(rq.worker.base.Queue, rq.Queue)
        self.assertIs(rq.job.now, rq.utils.now)

    def test_rq_dependency_is_the_internal_helper(self):
        import rq.dependency
        import rq.job
        self.assertIsNot(rq.dependency.Dependency, rq.job.Dependency)
        self.assertTrue(hasattr(rq.dependency.Dependency, 'get_jobs_with_met_dependencies'))

    def test_version(self):
        import rq
        import rq.version
        self.assertEqual((rq.VERSION, rq.__version__, rq.version.VERSION), ('2.12.0',) * 3)

    def test_uninstall_removes_every_module(self):
        rq_emulator.uninstall_as_rq()
        try:
            left = [name for name in RQ_SURFACE if name in sys.modules
                    and _is_emulator_module(sys.modules[name])]
            self.assertEqual(left, [])
        finally:
            rq_emulator.install_as_rq()

    def test_install_after_real_rq_warns_and_uninstall_restores_it(self):
        rq_emulator.uninstall_as_rq()
        saved = sys.modules.get('rq')
        fake = types.ModuleType('rq', 'a stand-in for the real package')
        sys.modules['rq'] = fake
        try:
            with self.assertWarnsRegex(RuntimeWarning, 'from rq import Queue'):
                rq_emulator.install_as_rq()
            self.assertTrue(_is_emulator_module(sys.modules['rq']))
            rq_emulator.uninstall_as_rq()
            self.assertIs(sys.modules['rq'], fake)
        finally:
            if saved is None:
                sys.modules.pop('rq', None)
            else:
                sys.modules['rq'] = saved
            rq_emulator.install_as_rq()

    def test_import_rq_emulator_does_not_import_click(self):
        code = "import rq_emulator, sys; assert 'click' not in sys.modules, 'click imported'"
        if os.environ.get('RQ_EMULATOR_SLOW_TESTS'):
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            subprocess.run([sys.executable, '-c', code], cwd=root, check=True, timeout=60)

    def test_without_click_there_is_no_rq_cli(self):
        rq_emulator.uninstall_as_rq()
        try:
            with mock.patch('importlib.util.find_spec', return_value=None):
                rq_emulator.install_as_rq()
            self.assertNotIn('rq.cli', sys.modules)
            self.assertRaises(ImportError, importlib.import_module, 'rq.cli.cli')
            self.assertTrue(_is_emulator_module(importlib.import_module('rq.utils')))
        finally:
            rq_emulator.uninstall_as_rq()
            rq_emulator.install_as_rq()


class UnemulatedTests(FrontDoorTestCase):

    def test_using_a_stand_in_raises_an_error_naming_the_emulator(self):
        import rq.intermediate_queue
        import rq.local
        import rq.timeouts
        for stand_in in (rq.timeouts.UnixSignalDeathPenalty,
                         rq.local.LocalProxy, rq.intermediate_queue.IntermediateQueue):
            with self.subTest(stand_in.__qualname__):
                with self.assertRaisesRegex(NotImplementedError, 'rq_emulator does not emulate'):
                    stand_in(object())

    def test_a_stand_in_can_be_subclassed_and_passed_around(self):
        import rq
        import rq.timeouts

        class Penalty(rq.timeouts.BaseDeathPenalty):
            pass
        queue = rq.Queue('q', connection=self.store, death_penalty_class=Penalty)
        self.assertEqual(queue.name, 'q')
        self.assertIs(rq.timeouts.get_default_death_penalty_class().__name__.endswith('Penalty'),
                      True)


class UtilsAndDefaultsTests(FrontDoorTestCase):

    def test_rq_utils(self):
        import datetime
        from rq import utils
        now = utils.now()
        self.assertEqual(now.tzinfo, datetime.timezone.utc)
        self.assertEqual(utils.utcparse(utils.utcformat(now)), now)
        self.assertEqual(utils.utcparse('2024-01-31T12:00:00Z').hour, 12)
        self.assertEqual(utils.str_to_date(b'2024-01-31T12:00:00.000001Z').microsecond, 1)
        self.assertEqual((utils.as_text(b'x'), utils.as_text('y')), ('x', 'y'))
        self.assertRaises(ValueError, utils.as_text, 1)
        self.assertEqual((utils.ceildiv(7, 2), utils.ceildiv(6, 2)), (4, 3))
        self.assertEqual(utils.compact([1, None, 2]), [1, 2])
        self.assertEqual(utils.ensure_job_list('a'), ['a'])
        self.assertEqual(utils.ensure_job_list(('a', 'b')), ['a', 'b'])
        self.assertEqual(list(utils.split_list([1, 2, 3], 2)), [[1, 2], [3]])
        self.assertEqual(utils.get_call_string('f', (1, 'a'), {'b': 2}), "f(1, 'a', b=2)")
        self.assertEqual(utils.get_call_string('f', ('abcdef',), {}, max_length=3), "f('ab...)")
        self.assertIsNone(utils.get_call_string(None, (), {}))
        self.assertEqual(utils.truncate_long_string('abcdef', 3), 'abc...')
        self.assertIs(utils.import_attribute('os.path.join'), os.path.join)
        self.assertEqual(utils.parse_timeout('1h'), 3600)
        self.assertEqual([utils.parse_timeout(v) for v in (0, -5, 1.5, '0', True, None)],
                         [0, -5, 1, 0, 1, None])     # RQ's converter, not the enqueue-time checks
        self.assertRaises(utils.TimeoutFormatError, utils.parse_timeout, 'abc')
        version = utils.get_version(self.store)
        self.assertEqual((len(version), all(isinstance(v, int) for v in version)), (3, True))
        self.assertEqual(utils.parse_composite_key('job:exec'), ('job', 'exec'))
        self.assertEqual(utils.safe_json_dumps({1}), utils.NOT_JSON_SERIALIZABLE)
        self.assertIsInstance(utils.get_platform(), utils.Platform)
        self.assertEqual(utils.normalize_config_path(os.path.join('app', 'cron.py')), 'app.cron')
        self.assertEqual(utils.decode_redis_hash({b'k': b'v'}, decode_values=True), {'k': 'v'})

    def test_backend_class_and_class_imports(self):
        import rq
        from rq import utils
        self.assertIs(utils.backend_class(rq.Queue, 'job_class'), rq.Queue.job_class)
        self.assertIs(utils.backend_class(rq.Queue, 'job_class', 'rq.job.Job'),
                      sys.modules['rq.job'].Job)
        self.assertIs(utils.import_queue_class('rq.Queue'), rq.Queue)
        self.assertIs(utils.import_worker_class('rq.worker.SimpleWorker'), rq.SimpleWorker)
        with self.assertRaisesRegex(ValueError, 'Invalid job class'):
            utils.import_job_class('rq.Queue')
        self.assertEqual(utils.parse_names([rq.Queue('a', connection=self.store), 'b']),
                         ['a', 'b'])
        queue = rq.Queue('a', connection=self.store)
        self.assertIs(utils.get_connection_from_queues(['b', queue]), queue.connection)

    def test_rq_defaults_have_rqs_values(self):
        from rq import defaults
        self.assertEqual(
            (defaults.DEFAULT_RESULT_TTL, defaults.DEFAULT_FAILURE_TTL, defaults.CALLBACK_TIMEOUT,
             defaults.DEFAULT_WORKER_TTL, defaults.DEFAULT_JOB_MONITORING_INTERVAL,
             defaults.DEFAULT_MAINTENANCE_TASK_INTERVAL, defaults.DEFAULT_SCHEDULER_FALLBACK_PERIOD,
             defaults.DEFAULT_LOGGING_FORMAT, defaults.DEFAULT_LOGGING_DATE_FORMAT,
             defaults.DEFAULT_JOB_CLASS, defaults.DEFAULT_WORKER_CLASS),
            (500, 31536000, 60, 420, 30, 600, 120, '%(asctime)s %(message)s', '%H:%M:%S',
             'rq.job.Job', 'rq.Worker'))

    def test_job_id_helpers(self):
        from rq import job
        self.assertEqual(job.parse_job_id('abc:exec'), 'abc')
        self.assertIsNone(job.validate_job_id('ok_id-1'))
        self.assertRaises(ValueError, job.validate_job_id, 'bad id')
        self.assertRaises(TypeError, job.validate_job_id, 1)
        self.assertTrue(job.JOB_ID_PATTERN.fullmatch('a-b_c'))

    def test_local_stack(self):
        from rq.local import LocalStack, release_local
        stack = LocalStack()
        self.assertIsNone(stack.top)
        stack.push(1)
        stack.push(2)
        self.assertEqual((stack.top, len(stack), stack.pop(), stack.top), (2, 2, 2, 1))
        release_local(stack)
        self.assertEqual((stack.top, len(stack), stack.pop()), (None, 0, None))


class LogutilsTests(FrontDoorTestCase):

    def test_colorizing_stream_handler_is_a_working_stream_handler(self):
        from rq.logutils import ColorizingStreamHandler
        stream = io.StringIO()
        handler = ColorizingStreamHandler(stream=stream)
        self.assertIsInstance(handler, logging.StreamHandler)
        self.assertFalse(handler.is_tty)
        logger = logging.getLogger('rq_emulator.tests.surface.colour')
        logger.propagate = False
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        logger.warning('hello %s', 'there')
        self.assertEqual(stream.getvalue(), 'hello there\n')

    def test_setup_loghandlers_adds_stdout_and_stderr_handlers_once(self):
        from rq.logutils import setup_loghandlers
        name = 'rq_emulator_tests_surface_isolated'    # a top-level logger: no handled parent
        logger = logging.getLogger(name)
        self.addCleanup(logger.handlers.clear)
        root_handlers = logging.getLogger().handlers[:]
        logging.getLogger().handlers.clear()
        self.addCleanup(logging.getLogger().handlers.extend, root_handlers)
        setup_loghandlers('debug', name=name)
        setup_loghandlers(logging.INFO, name=name)
        self.assertEqual([h.stream for h in logger.handlers], [sys.stdout, sys.stderr])
        self.assertEqual(logger.level, logging.INFO)

    def test_colorizers_leave_plain_text_when_not_a_terminal(self):
        from rq import logutils
        colorizer = logutils.colorizer
        self.assertEqual(logutils.make_colorizer('red')('x'),
                         'x' if colorizer.notty else '\x1b[31;01mx\x1b[39;49;00m')


class WorkerRegistrationTests(FrontDoorTestCase):

    def test_register_get_keys_unregister(self):
        import rq
        from rq import worker_registration as registration
        queue = rq.Queue('q', connection=self.store)
        worker = rq.Worker([queue], name='w1', connection=self.store)
        self.assertEqual(registration.get_keys(connection=self.store), set())
        registration.register(worker)
        self.assertEqual(registration.get_keys(connection=self.store), {worker.key})
        self.assertEqual(registration.get_keys(queue), {worker.key})
        self.assertEqual(registration.get_keys(rq.Queue('other', connection=self.store)), set())
        registration.unregister(worker)
        self.assertEqual(registration.get_keys(connection=self.store), set())
        self.assertRaises(ValueError, registration.get_keys)

    def test_clean_worker_registry_forgets_workers_without_a_record(self):
        import rq
        from rq import worker_registration as registration
        queue = rq.Queue('q', connection=self.store)
        worker = rq.Worker([queue], name='w1', connection=self.store)
        registration.register(worker)
        with self.store.transaction() as tx:
            tx.sadd(('workers',), 'ghost')
        registration.clean_worker_registry(queue)
        with self.store.transaction() as tx:
            self.assertEqual(set(tx.smembers(('workers',))), {'w1'})


class WebhookTests(FrontDoorTestCase):

    def test_validation_as_in_rq(self):
        from rq import Webhook
        hook = Webhook('https://example.com/hook', 'failed', method='POST', headers={'A': 'b'})
        self.assertEqual(Webhook.from_dict(hook.to_dict()), hook)
        for args, kwargs, error in (
                (('ftp://example.com', 'failed'), {}, ValueError),
                (('https://example.com', 'done'), {}, ValueError),
                (('https://example.com', 'finished'), {'method': 'PUT'}, ValueError),
                (('https://example.com', 'finished'), {'headers': [1]}, TypeError),
                (('https://example.com', 'finished'), {'timeout': 0}, ValueError),
                ((1, 'finished'), {}, ValueError)):
            with self.subTest(args=args, kwargs=kwargs):
                self.assertRaises(error, Webhook, *args, **kwargs)

    def test_payload(self):
        import rq
        job = rq.Queue('q', connection=self.store).enqueue(divmod, 7, 2)
        payload = rq.Webhook('http://example.com', 'failed').get_payload(job, exc_string='boom')
        self.assertEqual((payload['job_id'], payload['status'], payload['exc_info']),
                         (job.id, 'failed', 'boom'))


class WorkerClassTests(FrontDoorTestCase):

    def _run(self, worker_class):
        import rq
        queues = [rq.Queue(f'q{i}', connection=self.store) for i in range(2)]
        jobs = {}
        for i in range(2):
            for queue in queues:
                jobs[queue.enqueue(divmod, 7, 2).id] = f'{queue.name}-{i}'
        worker = worker_class(queues, connection=self.store)
        self.assertTrue(worker.work(burst=True))
        finished = rq.registry.FinishedJobRegistry
        order = sorted(jobs, key=lambda job_id: rq.job.Job.fetch(job_id, self.store).ended_at)
        self.assertEqual(sum(len(finished(queue=q)) for q in queues), 4)
        return [jobs[job_id].split('-')[0] for job_id in order]

    def test_round_robin_worker_alternates(self):
        import rq.worker
        self.assertTrue(issubclass(rq.worker.RoundRobinWorker, rq.worker.Worker))
        self.assertEqual(self._run(rq.worker.RoundRobinWorker), ['q0', 'q1', 'q0', 'q1'])

    def test_plain_worker_keeps_priority_order(self):
        import rq.worker
        self.assertEqual(self._run(rq.worker.Worker), ['q0', 'q0', 'q1', 'q1'])

    def test_random_worker_runs_every_job(self):
        import rq.worker
        self.assertTrue(issubclass(rq.worker.RandomWorker, rq.worker.Worker))
        self.assertEqual(sorted(self._run(rq.worker.RandomWorker)), ['q0', 'q0', 'q1', 'q1'])

    def test_internal_dependency_helper(self):
        import rq
        from rq.dependency import Dependency
        queue = rq.Queue('q', connection=self.store)
        parent = queue.enqueue(divmod, 7, 2)
        child = queue.enqueue(divmod, 8, 2, depends_on=parent)
        self.assertEqual(Dependency.get_jobs_with_met_dependencies([child], None), ([], [child]))
        rq.SimpleWorker([queue], connection=self.store).work(burst=True)
        self.assertEqual(Dependency.get_jobs_with_met_dependencies([child], None), ([child], []))


@unittest.skipIf(click is None, 'rq.cli needs click, as in RQ')
class CliTests(FrontDoorTestCase):

    def setUp(self):
        super().setUp()
        from click.testing import CliRunner
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.db = os.path.join(tmp.name, 'jobs.db')
        self.runner = CliRunner(env={'RQ_EMULATOR_DB': self.db})

    def invoke(self, *argv):
        from rq.cli import main
        return self.runner.invoke(main, list(argv), catch_exceptions=False)

    def test_worker_params_are_click_options_with_rqs_names(self):
        from rq.cli import worker
        options = {p.name: p for p in worker.params if isinstance(p, click.Option)}
        for name in ('burst', 'logging_level', 'name', 'results_ttl', 'worker_ttl', 'verbose',
                     'quiet', 'exception_handler', 'pid', 'max_jobs', 'with_scheduler',
                     'dequeue_strategy', 'url', 'config', 'worker_class', 'serializer', 'path'):
            self.assertIn(name, options)
        self.assertEqual(options['burst'].opts, ['--burst', '-b'])
        self.assertEqual(options['dequeue_strategy'].opts, ['--dequeue-strategy', '-ds'])
        self.assertEqual((options['results_ttl'].default, options['worker_ttl'].default),
                         (500, 420))
        self.assertEqual(options['url'].envvar, 'RQ_REDIS_URL')

    def test_commands_of_the_group(self):
        from rq.cli import main
        self.assertEqual(sorted(main.commands), ['cron', 'empty', 'enqueue', 'info', 'requeue',
                                                  'resume', 'suspend', 'worker', 'worker-pool'])
        self.assertIn('2.12.0', self.invoke('--version').output)

    def test_enqueue_then_work_then_info(self):
        result = self.invoke('enqueue', '-q', 'jobs', 'operator.add', ':1', ':2')
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn('Enqueued operator.add(1, 2)', result.output)
        result = self.invoke('worker', '--burst', 'jobs')
        self.assertEqual(result.exit_code, 0, result.output)
        store = rq_emulator.SqliteStore(self.db)
        self.addCleanup(store.close)
        import rq
        self.assertEqual(len(rq.Queue('jobs', connection=store).finished_job_registry), 1)
        result = self.invoke('info', '--raw', '--only-queues', 'jobs')
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn('jobs', result.output)

    def test_empty_and_suspend(self):
        self.invoke('enqueue', 'operator.add', ':1', ':2')
        result = self.invoke('empty', 'default')
        self.assertEqual((result.exit_code, result.output.strip()),
                         (0, '1 jobs removed from default queue'))
        self.assertEqual(self.invoke('suspend').exit_code, 0)
        self.assertEqual(self.invoke('resume').exit_code, 0)

    def test_an_option_without_meaning_here_is_named(self):
        result = self.invoke('worker', '--burst', '--maintenance-interval', '5')
        self.assertEqual(result.exit_code, 0, result.output)
        result = self.invoke('worker', '--burst', '--sentry-dsn', 'https://x@y/1')
        self.assertEqual(result.exit_code, 2, result.output)
        self.assertIn('--sentry-dsn', result.output)

    def test_helpers(self):
        from rq.cli import helpers
        self.assertEqual(helpers.get_scale(30), 50)
        self.assertEqual(helpers.pad('ab', 4), 'ab  ')
        self.assertEqual(helpers.parse_function_args([':1', 'k=v']), ([1], {'k': 'v'}))
        self.assertIn('SEEK_SET', helpers.read_config_file('os'))
        self.assertEqual(len(helpers.shared_options), 8)


if __name__ == '__main__':
    unittest.main()
