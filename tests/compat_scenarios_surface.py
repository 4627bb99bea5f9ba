"""Dual-run scenarios for RQ's import surface: rq.utils, rq.defaults, rq.logutils,
rq.worker_registration, rq.webhook and the RoundRobinWorker / RandomWorker classes.

``base`` (the running compat_scenarios module) is set by the loader before any
scenario runs; ``base.rq`` is real RQ or the emulator's front door.
"""

import datetime
import importlib
import io
import logging
import os

base = globals().get('base')    # the running compat_scenarios module, set by its loader


def _ended_order(jobs, labels):
    """The labels of ``jobs`` in the order they ended."""
    for job in jobs:
        job.refresh()
    return [labels[job.id] for job in sorted(jobs, key=lambda job: job.ended_at)]


def scenario_surface_round_robin_worker(conn):
    worker_module = importlib.import_module('rq.worker')
    out = {}
    for name in ('RoundRobinWorker', 'RandomWorker', 'Worker'):
        queues = [base.Queue(f'{name}-q{i}', connection=conn) for i in range(2)]
        labels = {}
        for i in range(2):
            for index, queue in enumerate(queues):
                labels[queue.enqueue(base.cj.add, i, index).id] = f'q{index}'
        worker = getattr(worker_module, name)(queues, connection=conn)
        did_work = worker.work(burst=True)
        jobs = [base.Job.fetch(job_id, connection=conn) for job_id in labels]
        order = _ended_order(jobs, labels)
        out[name] = {'did_work': did_work, 'statuses': sorted({base.sv(j.get_status()) for j in jobs}),
                     'order': sorted(order) if name == 'RandomWorker' else order,
                     'is_worker_subclass': issubclass(getattr(worker_module, name),
                                                      worker_module.Worker)}
    return out


def scenario_surface_utils_values(conn):
    utils = importlib.import_module('rq.utils')
    utc = datetime.timezone.utc
    moment = datetime.datetime(2024, 1, 31, 12, 0, 0, 123456, tzinfo=utc)
    version = utils.get_version(conn)
    return {
        'parse_timeout': [utils.parse_timeout(v) for v in (
            '1h', '10m', '30s', '2d', '5M', ' 5m', '15', '0', 7, 0, -1, -5, 1.5, True, None)],
        'parse_timeout_bad': [base.exc_name(utils.parse_timeout, v) for v in ('abc', '1.5', '', 'm')],
        'ceildiv': [utils.ceildiv(7, 2), utils.ceildiv(6, 2), utils.ceildiv(-7, 2)],
        'compact': utils.compact([1, None, 0, None, 'a']),
        'as_text': [utils.as_text(b'caf\xc3\xa9'), utils.as_text('x')],
        'as_text_bad': base.exc_name(utils.as_text, 1),
        'call_string': utils.get_call_string('mod.f', (1, 'a'), {'b': 2, 'a': [1]}),
        'call_string_cut': utils.get_call_string('f', ('abcdefgh',), {'k': 'xyzxyzxyz'}, 4),
        'call_string_none': utils.get_call_string(None, (), {}),
        'utcformat': utils.utcformat(moment),
        'utcparse': utils.utcparse('2024-01-31T12:00:00.123456Z').isoformat(),
        'utcparse_old_format': utils.utcparse('2024-01-31T12:00:00Z').isoformat(),
        'str_to_date': utils.str_to_date(b'2024-01-31T12:00:00.000001Z').isoformat(),
        'now_is_utc': utils.now().tzinfo == utc,
        'current_timestamp_is_int': isinstance(utils.current_timestamp(), int),
        'ensure_job_list': [utils.ensure_job_list('a'), utils.ensure_job_list(('a', 'b'))],
        'split_list': [list(part) for part in utils.split_list([1, 2, 3, 4, 5], 2)],
        'truncate': [utils.truncate_long_string('abcdef', 3), utils.truncate_long_string('ab', 3),
                     utils.truncate_long_string('abcdef')],
        'is_nonstring_iterable': [utils.is_nonstring_iterable(v) for v in ('x', [], (), 1)],
        'parse_composite_key': list(utils.parse_composite_key('job:exec')),
        'safe_json_dumps': [utils.safe_json_dumps({'a': 1}), utils.safe_json_dumps({1})],
        'decode_redis_hash': utils.decode_redis_hash({b'a': 1, 'b': 2}),
        'import_attribute': utils.import_attribute('os.path.join') is os.path.join,
        'import_attribute_bad': base.exc_name(utils.import_attribute, 'no_such_module_x.f'),
        'backend_class': utils.backend_class(base.Queue, 'job_class') is base.Queue.job_class,
        'normalize_config_path': utils.normalize_config_path(os.path.join('app', 'cron.py')),
        'version_shape': [type(version).__name__, len(version),
                          all(isinstance(v, int) for v in version)],
        'platform': utils.get_platform().value,
    }


def scenario_surface_defaults_and_constants(conn):
    defaults = importlib.import_module('rq.defaults')
    names = sorted(n for n in vars(defaults) if n.isupper())
    version = importlib.import_module('rq.version')
    registration = importlib.import_module('rq.worker_registration')
    job_module = importlib.import_module('rq.job')
    return {
        'defaults': {name: getattr(defaults, name) for name in names},
        'version': [base.rq.VERSION, base.rq.__version__, version.VERSION],
        'registration': [registration.WORKERS_BY_QUEUE_KEY, registration.REDIS_WORKER_KEYS,
                         registration.MAX_KEYS],
        'suspended_key': importlib.import_module('rq.suspension').WORKERS_SUSPENDED,
        'pubsub': importlib.import_module('rq.command').PUBSUB_CHANNEL_TEMPLATE,
        'results_key': importlib.import_module('rq.results').get_key('abc'),
        'serializer_aliases': sorted(importlib.import_module('rq.serializers').SERIALIZER_ALIASES),
        'parse_job_id': [job_module.parse_job_id('a:b'), job_module.parse_job_id('a')],
        'validate_job_id': [base.exc_name(job_module.validate_job_id, v)
                            for v in ('ok-id_1', 'bad id', 1)],
        'job_id_pattern': bool(job_module.JOB_ID_PATTERN.fullmatch('a-b_C9')),
    }


def scenario_surface_webhook_validation(conn):
    Webhook = base.rq.Webhook
    hook = Webhook('https://example.com/h', 'failed', method='POST', headers={'A': 'b'})
    bad = {
        'scheme': (('ftp://example.com', 'failed'), {}),
        'no_host': (('https://', 'failed'), {}),
        'status': (('https://example.com', 'done'), {}),
        'method': (('https://example.com', 'finished'), {'method': 'PUT'}),
        'headers': (('https://example.com', 'finished'), {'headers': [('a', 'b')]}),
        'timeout': (('https://example.com', 'finished'), {'timeout': 0}),
        'timeout_str': (('https://example.com', 'finished'), {'timeout': '5'}),
        'url_type': ((1, 'finished'), {}),
    }
    return {
        'to_dict': hook.to_dict(),
        'round_trip': Webhook.from_dict(hook.to_dict()).to_dict() == hook.to_dict(),
        'errors': {name: base.exc_name(Webhook, *args, **kwargs)
                   for name, (args, kwargs) in bad.items()},
    }


def scenario_surface_worker_registration(conn):
    registration = importlib.import_module('rq.worker_registration')
    queue = base.Queue('reg', connection=conn)
    worker = base.SimpleWorker([queue], name='surface-reg', connection=conn)
    before = registration.get_keys(connection=conn)
    worker.register_birth()
    after_birth = [registration.get_keys(connection=conn) == {worker.key},
                   registration.get_keys(queue) == {worker.key},
                   registration.get_keys(base.Queue('other', connection=conn)) == set()]
    registration.clean_worker_registry(queue)
    after_clean = registration.get_keys(queue) == {worker.key}
    worker.register_death()
    return {'before': sorted(before), 'after_birth': after_birth, 'after_clean': after_clean,
            'after_death': sorted(registration.get_keys(connection=conn)),
            'no_argument': base.exc_name(registration.get_keys)}


def scenario_surface_logutils(conn):
    logutils = importlib.import_module('rq.logutils')
    stream = io.StringIO()
    handler = logutils.ColorizingStreamHandler(stream=stream)
    logger = logging.getLogger('surface_scenario_colour')
    logger.propagate = False
    logger.addHandler(handler)
    logger.warning('hello %s', 'there')
    logger.removeHandler(handler)
    fresh = logging.getLogger('surface_scenario_setup')
    fresh.propagate = False
    root_handlers = logging.getLogger().handlers[:]
    logging.getLogger().handlers.clear()
    try:
        logutils.setup_loghandlers('warning', name='surface_scenario_setup')
        logutils.setup_loghandlers(name='surface_scenario_setup')
    finally:
        logging.getLogger().handlers.extend(root_handlers)
    return {
        'is_stream_handler': isinstance(handler, logging.StreamHandler),
        'is_tty': bool(handler.is_tty),
        'output': stream.getvalue(),
        'setup_handlers': [isinstance(h, logutils.ColorizingStreamHandler) for h in fresh.handlers],
        'setup_level': logging.getLevelName(fresh.level),
        'plain_colour': logutils.make_colorizer('red')('x') if logutils.colorizer.notty else 'x',
    }


def scenario_surface_every_name_resolves(conn):
    """RQ's own modules and names, as listed in tests/test_rq_surface.py."""
    import test_rq_surface
    missing = []
    for module_name, names in sorted(test_rq_surface.RQ_SURFACE.items()):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing.append(f'{module_name}: {type(exc).__name__}')
            continue
        missing += [f'{module_name}.{name}' for name in names.split() if not hasattr(module, name)]
    return {'missing': missing, 'modules': len(test_rq_surface.RQ_SURFACE)}
