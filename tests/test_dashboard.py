"""The dashboard, in-process: ``serve_dashboard(connection=store, port=0)`` and plain HTTP.

Every page and JSON endpoint, the escaping of every value that comes from a job,
the Host check, the refusal of POSTs from another origin or without the token,
read-only mode, records that cannot be read, pagination, and each action.
Nothing here sleeps; a running job blocks on an Event.
"""

import base64
import contextlib
import datetime
import http.client
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request
import warnings

import rq_emulator
from tests.base import slow_tier
from rq_emulator import Job, JobStatus, MemoryStore, Queue, SqliteStore, Worker

PAYLOAD = '<img src=x onerror=alert(1)>'
ESCAPED = '&lt;img src=x onerror=alert(1)&gt;'
KINDS = ('queued', 'started', 'deferred', 'scheduled', 'finished', 'failed', 'canceled')

_running = {}                   # queue name -> (started Event, release Event)


def hold(queue_name):
    """A job that runs until the test releases it."""
    started, release = _running[queue_name]
    started.set()
    release.wait(10)


def fail(text):
    raise ValueError(text)


def echo(value):
    return value


class Vanishing:
    """An argument whose class the test removes, so that it can no longer be unpickled."""


def request(server, path, method='GET', body=None, headers=None):
    """(status, headers, text) of one request, following no redirect."""
    connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode('utf-8')
    finally:
        connection.close()


def post(server, action, fields, origin=None, token=None, headers=None):
    own = f'http://127.0.0.1:{server.port}'
    fields = dict(fields, csrf=server.csrf_token if token is None else token)
    all_headers = {'Origin': own if origin is None else origin,
                   'Content-Type': 'application/x-www-form-urlencoded'}
    all_headers.update(headers or {})
    all_headers = {k: v for k, v in all_headers.items() if v is not False}
    return request(server, f'/actions/{action}', 'POST', urllib.parse.urlencode(fields),
                   all_headers)


def api(server, path):
    status, _, text = request(server, '/api' + path)
    assert status == 200, (status, text)
    return json.loads(text)


class DashboardCase(unittest.TestCase):
    """A store with a job in every registry and a live worker running one of them."""

    read_only = False

    @classmethod
    def setUpClass(cls):
        cls.store = store = MemoryStore()
        cls.queue = queue = Queue('default', connection=store)
        cls.finished = queue.enqueue(echo, 42)
        cls.failed = queue.enqueue(fail, 'it broke')
        Worker([queue], connection=store).work(burst=True)
        cls.queued = queue.enqueue(echo, 1)
        cls.deferred = queue.enqueue(echo, 2, depends_on=cls.queued)
        cls.scheduled = queue.enqueue_in(datetime.timedelta(hours=1), echo, 3)
        cls.canceled = queue.enqueue(echo, 4)
        cls.canceled.cancel()
        cls.started, cls.worker = cls.run_held(store, 'slow')
        cls.server = rq_emulator.serve_dashboard(connection=store, port=0, read_only=cls.read_only)

    @classmethod
    def run_held(cls, store, queue_name):
        _running[queue_name] = started, release = threading.Event(), threading.Event()
        job = Queue(queue_name, connection=store).enqueue(hold, queue_name)
        worker = Worker([queue_name], connection=store, name=f'worker-{queue_name}')
        worker.start()
        assert started.wait(5), 'the held job did not start'
        return job, worker

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        for _, release in _running.values():
            release.set()
        cls.worker.stop(timeout=5)

    def get(self, path, status=200):
        code, headers, text = request(self.server, path)
        self.assertEqual(code, status, text[:2000])
        return text


class PagesTest(DashboardCase):

    def test_overview_shows_every_queue_with_its_count_in_each_registry(self):
        text = self.get('/')
        self.assertIn('<h1>Queues</h1>', text)
        for kind in KINDS:
            self.assertIn(f'href="/queues/default/{kind}"', text)
        data = api(self.server, '/')
        counts = {q['name']: q['counts'] for q in data['queues']}
        self.assertEqual(counts['default'], {'queued': 1, 'started': 0, 'deferred': 1,
                                             'scheduled': 1, 'finished': 1, 'failed': 1,
                                             'canceled': 1})
        self.assertEqual(counts['slow']['started'], 1)
        self.assertEqual(data['workers'], 1)
        self.assertFalse(data['suspended'])

    def test_every_registry_page_lists_its_jobs(self):
        expected = {'queued': self.queued, 'deferred': self.deferred, 'scheduled': self.scheduled,
                    'finished': self.finished, 'failed': self.failed, 'canceled': self.canceled}
        for kind, job in expected.items():
            with self.subTest(kind):
                text = self.get(f'/queues/default/{kind}')
                self.assertIn(f'href="/jobs/{job.id}"', text)
                data = api(self.server, f'/queues/default/{kind}')
                self.assertEqual([j['id'] for j in data['jobs']], [job.id])
                self.assertEqual(data['jobs'][0]['status'], kind)
                self.assertEqual(data['total'], 1)
        text = self.get('/queues/slow/started')
        self.assertIn(self.started.id, text)
        self.assertIn('it broke', self.get('/queues/default/failed'))     # the error's last line
        scheduled = api(self.server, '/queues/default/scheduled')['jobs'][0]['scheduled_for']
        self.assertGreater(datetime.datetime.fromisoformat(scheduled),
                           datetime.datetime.now(datetime.timezone.utc))

    def test_job_page_shows_status_arguments_meta_result_traceback_and_history(self):
        text = self.get(f'/jobs/{self.failed.id}')
        for part in ('failed', 'default', 'fail', "&#x27;it broke&#x27;", 'Traceback',
                     'ValueError: it broke', 'id="results"', 'created at', 'ended at'):
            self.assertIn(part, text)
        data = api(self.server, f'/jobs/{self.finished.id}')
        self.assertEqual(data['status'], 'finished')
        self.assertEqual(data['result'], '42')
        self.assertEqual(data['args'], ['42'])
        self.assertEqual([r['type'] for r in data['results']], ['successful'])
        self.assertEqual(data['results'][0]['return_value'], '42')
        deferred = api(self.server, f'/jobs/{self.deferred.id}')
        self.assertEqual(deferred['dependencies'], [{'id': self.queued.id, 'status': 'queued'}])
        self.assertEqual(api(self.server, f'/jobs/{self.queued.id}')['dependents'],
                         [{'id': self.deferred.id, 'status': 'deferred'}])
        self.assertIn('scheduled_for', api(self.server, f'/jobs/{self.scheduled.id}'))
        started = api(self.server, f'/jobs/{self.started.id}')
        self.assertEqual((started['status'], started['worker_name']), ('started', 'worker-slow'))

    def test_long_values_are_truncated_unless_asked_for_in_full(self):
        job = Queue('long', connection=self.store).enqueue(echo, 'x' * 5000)
        short = api(self.server, f'/jobs/{job.id}')['args'][0]
        self.assertLess(len(short), 400)
        self.assertIn('more characters', short)
        self.assertEqual(api(self.server, f'/jobs/{job.id}?full=1')['args'][0], repr('x' * 5000))
        self.assertIn(f'href="/jobs/{job.id}?full=1"', self.get(f'/jobs/{job.id}'))

    def test_the_job_id_box_finds_a_job_in_any_queue(self):
        status, headers, _ = request(self.server, f'/jobs?id={self.started.id}')
        self.assertEqual((status, headers['Location']), (303, f'/jobs/{self.started.id}'))
        self.assertIn('<form method="get" action="/jobs">', self.get('/'))
        status, headers, _ = request(self.server, '/queues/slow')
        self.assertEqual((status, headers['Location']), (303, '/queues/slow/queued'))
        text = self.get('/jobs/no-such-job', status=404)
        self.assertIn("no job &#x27;no-such-job&#x27;", text)

    def test_workers_page(self):
        text = self.get('/workers')
        self.assertIn('worker-slow', text)
        self.assertIn(f'href="/jobs/{self.started.id}"', text)
        (worker,) = api(self.server, '/workers')['workers']
        self.assertEqual(worker['name'], 'worker-slow')
        self.assertEqual(worker['queues'], ['slow'])
        self.assertEqual(worker['current_job_id'], self.started.id)
        self.assertEqual(worker['pid'], os.getpid())
        self.assertEqual(worker['hostname'], socket.gethostname())
        self.assertEqual(worker['state'], 'busy')
        for field in ('successful_job_count', 'failed_job_count', 'total_working_time',
                      'birth_date', 'last_heartbeat'):
            self.assertIn(field, worker)

    def test_cron_page_works_with_or_without_cron_schedulers(self):
        text = self.get('/cron')
        data = api(self.server, '/cron')
        if hasattr(rq_emulator, 'CronScheduler'):
            self.assertIsInstance(data['cron_schedulers'], list)
        else:
            self.assertIsNone(data['cron_schedulers'])
            self.assertIn('no cron scheduler', text)

    def test_metrics_use_django_rq_exporter_names(self):
        status, headers, text = request(self.server, '/metrics')
        self.assertEqual(status, 200)
        self.assertTrue(headers['Content-Type'].startswith('text/plain; version=0.0.4'))
        lines = set(text.splitlines())
        for kind in KINDS:
            count = 0.0 if kind == 'started' else 1.0
            self.assertIn(f'rq_jobs{{queue="default",status="{kind}"}} {count}', lines)
        self.assertIn('rq_workers{name="worker-slow",state="busy",queues="slow"} 1.0', lines)
        for name in ('rq_job_successful_total', 'rq_job_failed_total', 'rq_working_seconds_total'):
            self.assertIn(f'# TYPE {name} counter', lines)
            self.assertTrue(any(line.startswith(f'{name}{{name="worker-slow",queues="slow"}} ')
                                for line in lines), name)
        self.assertIn('# TYPE rq_jobs gauge', lines)

    def test_head_and_label_escaping(self):
        status, headers, body = request(self.server, '/', 'HEAD')
        self.assertEqual((status, body), (200, ''))
        self.assertGreater(int(headers['Content-Length']), 0)
        Queue('say "hi"\\n', connection=self.store).enqueue(echo, 1)
        self.assertIn('rq_jobs{queue="say \\"hi\\"\\\\n",status="queued"} 1.0',
                      request(self.server, '/metrics')[2].splitlines())

    def test_every_response_forbids_caching_and_framing(self):
        for path in ('/', '/api/', '/metrics', '/jobs/nope', f'/jobs/{self.failed.id}', '/workers'):
            with self.subTest(path):
                _, headers, _ = request(self.server, path)
                self.assertEqual(headers['Cache-Control'], 'no-store')
                self.assertEqual(headers['X-Frame-Options'], 'DENY')
                self.assertEqual(headers['X-Content-Type-Options'], 'nosniff')
                self.assertIn("frame-ancestors 'none'", headers['Content-Security-Policy'])

    def test_the_page_script_is_the_only_one_and_carries_the_policy_nonce(self):
        _, headers, text = request(self.server, '/')
        nonce = re.search(r"script-src 'nonce-([^']+)'", headers['Content-Security-Policy']).group(1)
        self.assertEqual(re.findall(r'<script[^>]*>', text), [f'<script nonce="{nonce}">'])
        self.assertIn('var every = 5000', text)
        self.assertIn('setTimeout(tick, every)', text)      # planned after each one ends
        self.assertNotIn('setInterval', text)

    def test_unknown_pages_and_bad_pagination_are_clear_errors(self):
        self.assertIn('no page at', self.get('/nowhere', status=404))
        self.assertIn('no registry', self.get('/queues/default/lost', status=404))
        self.assertIn('page=&#x27;0&#x27;', self.get('/queues/default/queued?page=0', status=400))
        self.assertIn('order=', self.get('/queues/default/queued?order=up', status=400))
        self.assertEqual(request(self.server, '/actions/delete')[0], 404)   # no change by GET


class EscapingTest(unittest.TestCase):

    def test_every_value_from_a_job_is_escaped(self):
        store = MemoryStore()
        queue = Queue(PAYLOAD, connection=store)
        job = queue.enqueue(fail, PAYLOAD, description=PAYLOAD, meta={PAYLOAD: PAYLOAD},
                            job_id='xss-job')
        done = queue.enqueue(echo, PAYLOAD, description=PAYLOAD)
        Worker([queue], connection=store).work(burst=True)
        Worker([queue], connection=store, name=PAYLOAD).register_birth()
        with rq_emulator.serve_dashboard(connection=store, port=0) as server:
            quoted = urllib.parse.quote(PAYLOAD, safe='')
            for path in ('/', f'/queues/{quoted}/failed', f'/queues/{quoted}/finished',
                         f'/jobs/{job.id}', f'/jobs/{done.id}', '/workers', f'/jobs/{quoted}',
                         f'/queues/{quoted}/{quoted}'):
                with self.subTest(path):
                    _, _, text = request(server, path)
                    self.assertNotIn('<img', text)
                    self.assertIn('&lt;img src=x onerror=alert(1)', text)
            _, _, text = request(server, '/api/jobs/xss-job')
            self.assertNotIn('<', text)
            self.assertEqual(json.loads(text)['description'], PAYLOAD)
            _, _, text = request(server, f'/jobs/{done.id}')
            self.assertIn(f'&#x27;{ESCAPED}&#x27;', text)      # the result's repr


class HostAndOriginTest(DashboardCase):

    def test_a_foreign_host_header_is_refused(self):
        for method in ('GET', 'POST'):
            status, _, text = request(self.server, '/', method,
                                      headers={'Host': f'evil.example:{self.server.port}'})
            self.assertEqual(status, 400)
            self.assertIn('is not this dashboard', text)
            self.assertNotIn('MemoryStore', text)       # nothing about the store
        status, _, _ = request(self.server, '/', headers={'Host': f'localhost:{self.server.port}'})
        self.assertEqual(status, 200)

    def test_a_post_needs_the_exact_own_origin_and_the_token(self):
        job = Queue('guarded', connection=self.store).enqueue(echo, 1)
        own = f'http://127.0.0.1:{self.server.port}'
        attempts = {
            'no origin': dict(origin=False),
            'another port of 127.0.0.1': dict(origin=f'http://127.0.0.1:{self.server.port + 1}'),
            'localhost for 127.0.0.1': dict(origin=f'http://localhost:{self.server.port}'),
            'https': dict(origin=f'https://127.0.0.1:{self.server.port}'),
            'null': dict(origin='null'),
            'same-site fetch': dict(headers={'Sec-Fetch-Site': 'same-site'}),
            'no token': dict(token=''),
            'wrong token': dict(token='x' * 43),
        }
        for name, options in attempts.items():
            with self.subTest(name):
                status, _, text = post(self.server, 'delete', {'job_id': job.id, 'confirmed': '1'},
                                       **options)
                self.assertEqual(status, 403, text)
                self.assertEqual(job.get_status(), JobStatus.QUEUED)
        status, headers, _ = post(self.server, 'delete', {'job_id': job.id, 'confirmed': '1'},
                                  origin=own)
        self.assertEqual(status, 303)
        self.assertFalse(Job.exists(job.id, connection=self.store))

    def test_the_token_is_in_every_form_of_the_page(self):
        text = self.get(f'/jobs/{self.failed.id}')
        forms = re.findall(r'<form class="inline" method="post".*?</form>', text)
        self.assertTrue(forms)
        for form in forms:
            self.assertIn(f'name="csrf" value="{self.server.csrf_token}"', form)

    def test_a_redirect_after_an_action_stays_on_this_site(self):
        for target in ('//evil.example/', 'http://evil.example/', '/\\evil.example', 'evil',
                       '/\r\nSet-Cookie: a=b', '/\nx'):
            status, headers, _ = post(self.server, 'suspend', {'next': target})
            self.assertEqual((status, headers['Location']), (303, '/'))
        post(self.server, 'resume', {})
        status, headers, _ = post(self.server, 'resume', {'next': '/workers'})
        self.assertEqual(headers['Location'], '/workers')


class ActionsTest(DashboardCase):

    def act(self, action, status=303, **fields):
        code, _, text = post(self.server, action, dict(fields, confirmed='1'))
        self.assertEqual(code, status, text[:2000])
        return text

    def test_requeue_a_failed_job(self):
        queue = Queue('requeue', connection=self.store)
        job = queue.enqueue(fail, 'x')
        Worker([queue], connection=self.store).work(burst=True)
        self.act('requeue', job_id=job.id)
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertIn('cannot requeue', self.act('requeue', status=409, job_id=job.id))

    def test_requeue_every_failed_job_of_a_queue(self):
        queue = Queue('requeue-all', connection=self.store)
        jobs = [queue.enqueue(fail, 'x') for _ in range(3)]
        Worker([queue], connection=self.store).work(burst=True)
        self.act('requeue-all', queue='requeue-all')
        self.assertEqual([j.get_status() for j in jobs], [JobStatus.QUEUED] * 3)
        self.assertEqual(queue.failed_job_registry.count, 0)

    def test_destructive_actions_ask_first_and_change_nothing_until_confirmed(self):
        job = Queue('confirm', connection=self.store).enqueue(echo, 1)
        for action in ('cancel', 'delete'):
            status, _, text = post(self.server, action, {'job_id': job.id})
            self.assertEqual(status, 200)
            self.assertIn('Are you sure?', text)
            self.assertIn(f'{action.capitalize()} job {job.id}?', text)
            self.assertIn('name="confirmed" value="1"', text)
            self.assertEqual(job.get_status(), JobStatus.QUEUED)

    def test_cancel_and_delete(self):
        queue = Queue('cancel', connection=self.store)
        job = queue.enqueue(echo, 1)
        self.act('cancel', job_id=job.id)
        self.assertEqual(job.get_status(), JobStatus.CANCELED)
        self.act('delete', job_id=job.id)
        self.assertFalse(Job.exists(job.id, connection=self.store))
        self.assertIn('No such job', self.act('delete', status=409, job_id=job.id))

    def test_empty_a_registry_and_a_queue(self):
        queue = Queue('empty', connection=self.store)
        failed = [queue.enqueue(fail, 'x') for _ in range(2)]
        Worker([queue], connection=self.store).work(burst=True)
        queued = [queue.enqueue(echo, 1) for _ in range(2)]
        self.act('empty', queue='empty', registry='failed')
        self.assertEqual(queue.failed_job_registry.count, 0)
        self.assertFalse(any(Job.exists(j.id, connection=self.store) for j in failed))
        self.act('empty', queue='empty', registry='queued')
        self.assertEqual(queue.count, 0)
        self.assertFalse(any(Job.exists(j.id, connection=self.store) for j in queued))
        self.assertIn('running jobs are stopped', self.act('empty', status=409, queue='empty',
                                                          registry='started'))

    def test_stop_a_running_job(self):
        job, worker = self.run_held(self.store, 'stoppable')
        self.addCleanup(worker.stop, 5)
        self.addCleanup(_running['stoppable'][1].set)
        self.act('stop', job_id=job.id)
        self.assertEqual(job.get_status(), JobStatus.STOPPED)
        self.assertIn('not currently executing', self.act('stop', status=409, job_id=job.id))

    def test_suspend_and_resume_workers(self):
        self.addCleanup(rq_emulator.resume, self.store)
        self.act('suspend')
        self.assertTrue(rq_emulator.is_suspended(self.store))
        self.assertIn('id="resume"', self.get('/workers'))
        self.assertIn('workers suspended', self.get('/'))
        self.act('resume')
        self.assertFalse(rq_emulator.is_suspended(self.store))

    def test_an_unknown_action(self):
        self.assertEqual(post(self.server, 'explode', {})[0], 404)


class ReadOnlyTest(DashboardCase):
    read_only = True

    def test_pages_show_no_action_and_every_post_is_refused(self):
        for path in ('/', '/queues/default/failed', f'/jobs/{self.failed.id}', '/workers'):
            with self.subTest(path):
                text = self.get(path)
                self.assertNotIn('method="post"', text)
                self.assertIn('read-only', text)
        for action, fields in (('requeue', {'job_id': self.failed.id}), ('suspend', {}),
                               ('delete', {'job_id': self.queued.id, 'confirmed': '1'})):
            status, _, text = post(self.server, action, fields)
            self.assertEqual(status, 403)
            self.assertIn('read-only', text)
        self.assertEqual(self.failed.get_status(), JobStatus.FAILED)
        self.assertTrue(Job.exists(self.queued.id, connection=self.store))
        self.assertFalse(rq_emulator.is_suspended(self.store))


class TokenTest(unittest.TestCase):

    def test_a_token_is_required_as_basic_password_or_bearer(self):
        with rq_emulator.serve_dashboard(connection=MemoryStore(), port=0, token='s3cret') as server:
            status, headers, _ = request(server, '/')
            self.assertEqual(status, 401)
            self.assertIn('Basic', headers['WWW-Authenticate'])
            basic = lambda text: 'Basic ' + base64.b64encode(text.encode()).decode()  # noqa: E731
            for value, expected in ((basic('any:wrong'), 401), (basic('any:s3cret'), 200),
                                    ('Bearer s3cret', 200), ('Bearer s3cre', 401),
                                    ('Basic !!!', 401), ('Token s3cret', 401)):
                with self.subTest(value):
                    self.assertEqual(request(server, '/metrics',
                                             headers={'Authorization': value})[0], expected)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, 'token='):
            rq_emulator.serve_dashboard(connection=MemoryStore(), port=0, token='')
        with self.assertRaisesRegex(ValueError, 'refresh='):
            rq_emulator.serve_dashboard(connection=MemoryStore(), port=0, refresh=-1)


class ExposedTest(unittest.TestCase):

    def test_listening_beyond_loopback_warns_and_still_checks_the_host(self):
        with self.assertWarnsRegex(RuntimeWarning, 'not on a loopback address'):
            server = rq_emulator.serve_dashboard(connection=MemoryStore(), host='0.0.0.0', port=0,
                                                 allowed_hosts=['jobs.example'])
        with server:
            port = server.port
            self.assertEqual(request(server, '/', headers={'Host': f'jobs.example:{port}'})[0], 200)
            self.assertEqual(request(server, '/', headers={'Host': f'evil.example:{port}'})[0], 400)
            self.assertEqual(request(server, '/')[0], 200)

    def test_loopback_is_quiet(self):
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            rq_emulator.serve_dashboard(connection=MemoryStore(), port=0).shutdown()


class UnreadableTest(unittest.TestCase):

    def test_a_record_that_cannot_be_unpickled_is_shown_as_such(self):
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(os.path.join(tmp, 'jobs.db'))
            try:
                queue = Queue('default', connection=store)
                good = queue.enqueue(divmod, 7, 2)
                bad = queue.enqueue(divmod, 1, 1)
                queue.enqueue(divmod, 2, 2).cancel()
                with contextlib.closing(sqlite3.connect(store.path)) as db, db:
                    db.execute("UPDATE jobs SET record = X'8004deadbeef' WHERE id = ?", (bad.id,))
                with rq_emulator.serve_dashboard(connection=store, port=0) as server:
                    _, _, text = request(server, '/queues/default/queued')
                    self.assertIn('cannot be read', text)
                    self.assertIn(f'href="/jobs/{good.id}"', text)
                    status, _, text = request(server, f'/jobs/{bad.id}')
                    self.assertEqual(status, 200)
                    self.assertIn('This record cannot be read', text)
                    self.assertIn('unreadable', api(server, f'/jobs/{bad.id}'))
                    self.assertEqual(request(server, '/')[0], 200)
                    self.assertEqual(request(server, '/metrics')[0], 200)
            finally:
                store.close()

    def test_arguments_that_cannot_be_unpickled_spoil_only_themselves(self):
        store = MemoryStore()
        job = Queue('default', connection=store).enqueue(echo, Vanishing(), meta={'v': Vanishing()})
        module, cls = sys.modules[__name__], Vanishing
        del module.Vanishing
        try:
            with rq_emulator.serve_dashboard(connection=store, port=0) as server:
                status, _, text = request(server, f'/jobs/{job.id}')
                self.assertEqual(status, 200)
                self.assertIn('cannot be read', text)
                data = api(server, f'/jobs/{job.id}')
                self.assertIn('unreadable', data['args'])
                self.assertIn('unreadable', data['meta'])
                self.assertEqual(data['status'], 'queued')
                self.assertEqual(request(server, '/queues/default/queued')[0], 200)
        finally:
            module.Vanishing = cls


class PaginationTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.store = MemoryStore()
        queue = Queue('paged', connection=cls.store)
        cls.ids = [queue.enqueue(echo, i).id for i in range(60)]
        cls.canceled = [queue.enqueue(echo, i) for i in range(30)]
        for job in cls.canceled:
            job.cancel()
        cls.server = rq_emulator.serve_dashboard(connection=cls.store, port=0)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def page(self, query, kind='queued'):
        return api(self.server, f'/queues/paged/{kind}?{query}')

    def test_a_queue_pages_newest_first_by_default(self):
        first = self.page('')
        self.assertEqual((first['total'], first['pages'], first['page']), (60, 3, 1))
        self.assertEqual([j['id'] for j in first['jobs']], self.ids[::-1][:25])
        self.assertEqual([j['id'] for j in self.page('page=3')['jobs']], self.ids[::-1][50:])
        self.assertEqual([j['id'] for j in self.page('page=4')['jobs']], [])
        self.assertEqual([j['id'] for j in self.page('order=asc&per_page=10&page=2')['jobs']],
                         self.ids[10:20])

    def test_a_registry_pages_on_the_server(self):
        ids = [job.id for job in self.canceled]
        data = self.page('per_page=7&page=2', 'canceled')
        self.assertEqual((data['total'], data['pages']), (30, 5))
        self.assertEqual([j['id'] for j in data['jobs']], ids[::-1][7:14])
        self.assertEqual([j['id'] for j in self.page('order=asc&per_page=7&page=5',
                                                     'canceled')['jobs']], ids[28:])

    def test_the_page_links(self):
        _, _, text = request(self.server, '/queues/paged/queued?page=2')
        self.assertIn('href="/queues/paged/queued?page=1"', text)
        self.assertIn('href="/queues/paged/queued?page=3"', text)
        self.assertIn('href="/queues/paged/queued?page=1&amp;order=asc"', text)
        self.assertIn('page 2 of 3', text)


@unittest.skipUnless(hasattr(rq_emulator, 'CronScheduler'), 'this version has no CronScheduler')
class CronTest(unittest.TestCase):

    def test_cron_schedulers_and_their_jobs(self):
        store = MemoryStore()
        scheduler = rq_emulator.CronScheduler(connection=store, name=PAYLOAD)
        scheduler.register(echo, queue_name='maintenance', args=(1,), interval=1800)
        scheduler.register(echo, queue_name='email', cron='30 10 * * 2', name=PAYLOAD)
        scheduler.register_birth()
        self.addCleanup(scheduler.register_death)
        with rq_emulator.serve_dashboard(connection=store, port=0) as server:
            (data,) = api(server, '/cron')['cron_schedulers']
            self.assertEqual(data['name'], PAYLOAD)
            self.assertEqual([(j['queue_name'], j['interval'], j['cron']) for j in data['jobs']],
                             [('maintenance', 1800, None), ('email', None, '30 10 * * 2')])
            self.assertTrue(data['jobs'][1]['next_enqueue_time'])
            for path in ('/cron', '/'):
                _, _, text = request(server, path)
                self.assertIn('Cron schedulers', text)
                self.assertNotIn('<img', text)
                self.assertIn(ESCAPED, text)


class CliTest(unittest.TestCase):

    def test_the_dashboard_command_names_an_address_it_cannot_listen_on(self):
        with tempfile.TemporaryDirectory() as tmp, socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            db = os.path.join(tmp, 'jobs.db')
            SqliteStore(db).close()
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr):
                code = rq_emulator.main(['dashboard', '--db', db, '--port', str(port)])
            self.assertEqual(code, 1)
            self.assertIn(f'cannot listen on 127.0.0.1:{port}', stderr.getvalue())

    @slow_tier
    def test_python_m_rq_emulator_dashboard_serves_a_sqlite_file(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, 'jobs.db')
            with contextlib.closing(SqliteStore(db)) as store:
                job = Queue('web', connection=store).enqueue(divmod, 7, 2)
            process = subprocess.Popen(
                [sys.executable, '-m', 'rq_emulator', 'dashboard', '--db', db, '--port', '0',
                 '--host', '0.0.0.0', '--read-only'], cwd=root, stderr=subprocess.PIPE, text=True)
            try:
                warning, banner = process.stderr.readline(), process.stderr.readline()
                self.assertIn('WARNING: the rq_emulator dashboard listens on', warning)
                url = re.search(r'at (http://\S+/)', banner).group(1)
                self.assertIn('(read-only)', banner)
                with urllib.request.urlopen(url + 'api/queues/web/queued', timeout=10) as response:
                    self.assertEqual(json.load(response)['jobs'][0]['id'], job.id)
            finally:
                process.send_signal(signal.SIGINT)
                self.assertEqual(process.wait(10), 0)
                process.stderr.close()

    def test_help(self):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            self.assertEqual(rq_emulator.main(['dashboard', '--help']), 0)
        for option in ('--host', '--port', '--read-only', '--token', '--allowed-host'):
            self.assertIn(option, stdout.getvalue())

    def test_serve_dashboard_is_public(self):
        self.assertIn('serve_dashboard', rq_emulator.__all__)
        self.assertEqual(sorted(rq_emulator.__all__), rq_emulator.__all__)


if __name__ == '__main__':
    unittest.main()
