"""The dashboard in a real browser: headless Chromium driven over WebDriver with the
standard library only (urllib + json against chromedriver).

Slow tier (set RQ_EMULATOR_SLOW_TESTS=1); skipped with the reason when Debian's
``chromium`` and ``chromium-driver`` packages are not installed. With
RQ_EMULATOR_SCREENSHOTS=DIR the same run saves the README's screenshots
(``dashboard-*.png``, 1000x700) into DIR.

Nothing here sleeps: chromedriver's start is awaited with a bounded poll of its
/status (another process, which cannot notify this one), and the page's own
refresh is awaited with WebDriver's implicit wait for an element, and the page a
click leads to with a bounded poll of the browser's state.
"""

import base64
import datetime
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from unittest import mock

import rq_emulator
from tests.base import slow_tier
from rq_emulator import Job, JobStatus, MemoryStore, Queue, Worker, get_current_job

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
PAYLOAD = '<img src=x onerror=alert(1)>'
SCREENSHOTS = os.environ.get('RQ_EMULATOR_SCREENSHOTS')
KINDS = ('queued', 'started', 'deferred', 'scheduled', 'finished', 'failed', 'canceled')

_release = threading.Event()
_started = threading.Event()
_demo_release = threading.Event()


def hold():
    _started.set()
    _release.wait(30)


def echo(value):
    return value


def fail(text):
    raise ValueError(text)


def fail_then_return(text):
    """Fails on its first run (exception text ``text``), returns ``text`` once requeued."""
    job = get_current_job()
    if not job.meta.get('failed_once'):
        job.meta['failed_once'] = True
        job.save_meta()
        raise RuntimeError(text)
    return text


def send_welcome_email(user_id):
    return f'sent to user {user_id}'


def resize_image(path, width):
    raise OSError(f'cannot identify image file {path!r}')


def generate_report(month):
    _demo_release.wait(30)


def _missing():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    return f'{" and ".join(missing)} missing: apt-get install chromium chromium-driver' if missing else ''


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class WebDriver:
    """Just enough W3C WebDriver, over urllib."""

    def __init__(self, width=1000, height=700):
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix='rq-dashboard-chromium-')
        self.process = subprocess.Popen([CHROMEDRIVER, f'--port={self.port}'],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f'http://127.0.0.1:{self.port}'
        self._await_driver()
        args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--hide-scrollbars', f'--user-data-dir={self.profile}',
                f'--window-size={width},{height}']
        capabilities = {'capabilities': {'alwaysMatch': {
            'browserName': 'chrome', 'unhandledPromptBehavior': 'ignore',
            'goog:chromeOptions': {'binary': CHROMIUM, 'args': args}}}}
        self.session = self._call('POST', '/session', capabilities)['sessionId']
        self.call('POST', '/timeouts', {'implicit': 5000, 'pageLoad': 10000})

    def _await_driver(self):
        deadline = time.monotonic() + 20
        while True:                 # a bounded poll: chromedriver is another process
            try:
                with urllib.request.urlopen(self.base + '/status', timeout=1) as response:
                    if json.load(response)['value'].get('ready'):
                        return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError('chromedriver did not start')
            threading.Event().wait(0.05)

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)['value']
        except urllib.error.HTTPError as exc:
            value = json.load(exc)['value']
            raise WebDriverError(value.get('error'), value.get('message')) from None

    def call(self, method, path, body=None):
        return self._call(method, f'/session/{self.session}{path}', body)

    def close(self):
        try:
            self._call('DELETE', f'/session/{self.session}')
        finally:
            self.process.terminate()
            self.process.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)

    def get(self, url):
        self.call('POST', '/url', {'url': url})

    def find(self, css):
        return next(iter(self.call('POST', '/element', {'using': 'css selector', 'value': css}).values()))

    def text(self, css='body'):
        return self.call('GET', f'/element/{self.find(css)}/text')

    def click(self, css):
        self.call('POST', f'/element/{self.find(css)}/click', {})

    def click_and_load(self, css):
        """Click, then wait until the page the click leads to has loaded."""
        self.run('window.rqOldPage = true')
        self.click(css)
        deadline = time.monotonic() + 10
        while not self.run('return !window.rqOldPage && document.readyState === "complete"'):
            if time.monotonic() > deadline:     # a bounded poll: the browser is another process
                raise RuntimeError(f'clicking {css!r} led to no new page')
            threading.Event().wait(0.02)

    def alert_text(self):
        """The text of an open alert(), or None."""
        try:
            return self.call('GET', '/alert/text')
        except WebDriverError as exc:
            if exc.error == 'no such alert':
                return None
            raise

    def title(self):
        return self.call('GET', '/title')

    def run(self, script):
        return self.call('POST', '/execute/sync', {'script': script, 'args': []})

    def screenshot(self, path):
        with open(path, 'wb') as file:
            file.write(base64.b64decode(self.call('GET', '/screenshot')))


class WebDriverError(Exception):
    def __init__(self, error, message):
        super().__init__(f'{error}: {message}')
        self.error = error


@slow_tier
@unittest.skipIf(_missing(), _missing())
class BrowserTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.store = store = MemoryStore()
        queue = Queue('default', connection=store)
        cls.jobs = {'finished': queue.enqueue(echo, 42), 'failed': queue.enqueue(fail, 'it broke')}
        cls.xss = queue.enqueue(fail_then_return, PAYLOAD, description=PAYLOAD,
                                meta={'note': PAYLOAD}, job_id='xss')
        cls.to_requeue = Queue('retry', connection=store).enqueue(fail, 'once')
        Worker([queue, 'retry'], connection=store, name='burst').work(burst=True)
        cls.xss.requeue()
        Worker([queue], connection=store, name='burst').work(burst=True)   # now finished
        for i in range(3):
            Queue('high', connection=store).enqueue(echo, i)
        cls.jobs['queued'] = queue.enqueue(echo, 1)
        cls.jobs['deferred'] = queue.enqueue(echo, 2, depends_on=cls.jobs['queued'])
        cls.jobs['scheduled'] = queue.enqueue_in(datetime.timedelta(hours=1), echo, 3)
        cls.jobs['canceled'] = queue.enqueue(echo, 4)
        cls.jobs['canceled'].cancel()
        cls.jobs['started'] = Queue('slow', connection=store).enqueue(hold)
        cls.worker = Worker(['slow'], connection=store, name='worker-1')
        cls.worker.start()
        assert _started.wait(5)
        cls.server = rq_emulator.serve_dashboard(connection=store, port=0, refresh=0.3)
        cls.driver = WebDriver()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.driver.close()
        finally:
            cls.server.shutdown()
            _release.set()
            cls.worker.stop(timeout=10)

    def open(self, path):
        self.driver.get(self.server.url.rstrip('/') + path)
        self.assertIsNone(self.driver.alert_text(), path)

    def test_screenshots_for_the_readme(self):
        if not SCREENSHOTS:
            self.skipTest('set RQ_EMULATOR_SCREENSHOTS=DIR to save the README screenshots')
        store = MemoryStore()
        high, default, low = (Queue(name, connection=store) for name in ('high', 'default', 'low'))
        for user_id in range(101, 109):
            high.enqueue(send_welcome_email, user_id)
        failed = [low.enqueue(resize_image, f'uploads/{n}.heic', 640) for n in (7, 12, 31)]
        Worker([high, low], connection=store, name='web-1.burst').work(burst=True)
        for user_id in range(109, 113):
            high.enqueue(send_welcome_email, user_id)
        report = default.enqueue(generate_report, '2026-11', job_id='report-2026-11')
        default.enqueue(send_welcome_email, 0, depends_on=report, description='notify finance')
        default.enqueue_in(datetime.timedelta(hours=2), send_welcome_email, 200)
        worker = Worker([default], connection=store, name='web-1')
        worker.start()
        self.addCleanup(worker.stop, 10)
        self.addCleanup(_demo_release.set)
        with rq_emulator.serve_dashboard(connection=store, port=0, refresh=0) as server:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            pages = (('queues', '/'), ('failed', '/queues/low/failed'),
                     ('job', f'/jobs/{failed[0].id}'), ('workers', '/workers'))
            for name, path in pages:
                self.driver.get(server.url.rstrip('/') + path)
                self.driver.find('main')
                self.driver.screenshot(os.path.join(SCREENSHOTS, f'dashboard-{name}.png'))

    def test_every_page_loads(self):
        self.open('/')
        self.assertIn('Queues', self.driver.text('h1'))
        self.assertIn('default', self.driver.text('#queues'))
        for kind in KINDS:
            queue = 'slow' if kind == 'started' else 'default'
            with self.subTest(kind):
                self.open(f'/queues/{queue}/{kind}')
                self.assertEqual(self.driver.text('h1'), f'Queue {queue}: {kind}')
                self.assertIn(self.jobs[kind].id, self.driver.text('#jobs'))
        self.open('/queues/default/failed')
        self.open(f'/jobs/{self.jobs["failed"].id}')
        self.assertIn('ValueError: it broke', self.driver.text('#exception'))
        self.open('/workers')
        self.assertIn('worker-1', self.driver.text('#workers'))
        for path in ('/cron', '/metrics', '/api/'):
            self.open(path)
        self.assertIn('"queues"', self.driver.text())

    def test_a_job_made_of_markup_shows_the_text_and_runs_no_script(self):
        self.assertEqual(self.xss.get_status(), JobStatus.FINISHED)
        for path in ('/jobs/xss', '/queues/default/finished', '/queues/default/queued?order=asc'):
            with self.subTest(path):
                self.open(path)
                self.assertEqual(self.driver.run('return document.images.length'), 0)
        self.open('/jobs/xss')
        for row in ('description', 'args', 'meta', 'result'):
            self.assertIn(PAYLOAD, self.driver.text(f'#{row}'), row)
        self.assertIn(f'RuntimeError: {PAYLOAD}', self.driver.text('#results'))
        self.assertIsNone(self.driver.alert_text())

    def test_an_action_button_changes_the_store(self):
        job = self.to_requeue
        self.open(f'/jobs/{job.id}')
        self.driver.click_and_load('#requeue')
        self.assertIsNone(self.driver.alert_text())
        self.assertEqual(job.get_status(), JobStatus.QUEUED)
        self.assertIn('queued', self.driver.text('#status'))
        # a destructive one asks first
        target = Queue('doomed', connection=self.store).enqueue(echo, 0)
        self.open(f'/jobs/{target.id}')
        self.driver.click_and_load('#delete')
        self.assertIn('Are you sure?', self.driver.text('h1'))
        self.assertTrue(Job.exists(target.id, connection=self.store))
        self.driver.click_and_load('#confirm')
        self.assertFalse(Job.exists(target.id, connection=self.store))

    def test_a_post_from_another_origin_is_refused_and_changes_nothing(self):
        victim = Queue('victim', connection=self.store).enqueue(echo, 0)
        action = self.server.url + 'actions/delete'
        # Even a page that knows the token (the worst case) is refused: its origin is wrong.
        page = (f'<form id="f" method="post" action="{action}">'
                f'<input name="job_id" value="{victim.id}"><input name="confirmed" value="1">'
                f'<input name="csrf" value="{self.server.csrf_token}"></form>'
                '<script>document.getElementById("f").submit()</script>').encode()

        class Evil(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Type', 'text/html')
                self.send_header('Content-Length', str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        evil = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Evil)
        thread = threading.Thread(target=evil.serve_forever, kwargs={'poll_interval': 0.05})
        thread.start()
        try:
            self.driver.get(f'http://127.0.0.1:{evil.server_address[1]}/')
            self.assertIn('refused', self.driver.text('#error'))    # the dashboard's 403 page
        finally:
            evil.shutdown()
            thread.join()
            evil.server_close()
        self.assertEqual(victim.get_status(), JobStatus.QUEUED)

    def test_the_page_refreshes_itself_without_overlapping_requests(self):
        handler = self.server.RequestHandlerClass
        original = handler.do_GET
        lock, state = threading.Lock(), {'now': 0, 'most': 0, 'count': 0}

        def counting(request):
            refresh = request.headers.get('X-Dashboard-Refresh') == '1'
            if refresh:
                with lock:
                    state['now'] += 1
                    state['count'] += 1
                    state['most'] = max(state['most'], state['now'])
            try:
                original(request)
            finally:
                if refresh:
                    with lock:
                        state['now'] -= 1

        # On the class, not a subclass: Chromium preconnects, so a handler may already wait
        # on a socket it opened before this test began.
        with mock.patch.object(handler, 'do_GET', counting):
            queue = Queue('arrives-later', connection=self.store)
            self.open('/')
            self.assertNotIn('arrives-later', self.driver.text('#queues'))
            queue.enqueue(echo, 1)
            # found once a refresh has replaced the page's <main> (implicit wait, up to 5 s)
            self.driver.find('#queues a[href="/queues/arrives-later/queued"]')
            self.driver.get('about:blank')
        self.assertGreaterEqual(state['count'], 1)
        self.assertEqual(state['most'], 1)


if __name__ == '__main__':
    unittest.main()
