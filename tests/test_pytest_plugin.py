"""The pytest plugin (``-p rq_emulator``), run as a user runs it: pytest in a subprocess on a
scratch test folder. Slow tier (a pytest start-up each); skipped when pytest is absent. The
Django check also needs django and pytest-django.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

from tests.base import slow_tier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLOW = slow_tier        # the suite's one switch for the slow tier
HAS_PYTEST = importlib.util.find_spec('pytest') is not None
HAS_DJANGO = HAS_PYTEST and all(importlib.util.find_spec(name) is not None
                                for name in ('django', 'pytest_django'))

APP = '''
import rq
from rq import Queue

def add(a, b):
    return a + b

def boom():
    raise ValueError('boom in a job')
'''

TESTS = '''
import datetime
import pytest
import rq
import rq_emulator
import app

def test_front_door_was_installed_before_the_app_imported_rq():
    assert app.Queue is rq_emulator._RQQueue

def test_first(rq_run_jobs):
    queue = app.Queue('q', connection=None)
    job = queue.enqueue(app.add, 1, 2)
    assert queue.count == 1
    assert rq_run_jobs() == 1
    assert job.return_value() == 3
    queue.enqueue(app.add, 1, 2)

def test_second_starts_empty():
    assert app.Queue('q', connection=None).count == 0

def test_failure_is_raised_in_the_test(rq_run_jobs):
    app.Queue('q', connection=None).enqueue(app.boom)
    with pytest.raises(ValueError, match='boom in a job'):
        rq_run_jobs()

def test_clock(rq_clock, rq_run_jobs):
    job = app.Queue('q', connection=None).enqueue_in(datetime.timedelta(minutes=5), app.add, 2, 2)
    assert rq_run_jobs() == 0
    rq_clock.advance(300)
    assert rq_run_jobs() == 1
    assert job.return_value() == 4
'''


def run_pytest(folder, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
    env.pop('PYTEST_ADDOPTS', None)
    return subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def write(folder, files):
    for name, text in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))


@SLOW
@unittest.skipUnless(HAS_PYTEST, 'pytest is not installed')
class PytestPluginTests(unittest.TestCase):

    def check(self, files, *args, passed):
        with tempfile.TemporaryDirectory() as folder:
            write(folder, files)
            result = run_pytest(folder, *args)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f'{passed} passed', result.stdout)
        self.assertNotIn('warning', result.stdout.lower())

    def test_enabled_in_addopts(self):
        self.check({'pytest.ini': '[pytest]\naddopts = -p rq_emulator\nfilterwarnings = error\n',
                    'app.py': APP, 'test_app.py': TESTS}, passed=5)

    def test_enabled_in_conftest(self):
        self.check({'pytest.ini': '[pytest]\nfilterwarnings = error\n',
                    'conftest.py': "pytest_plugins = ['rq_emulator']\n",
                    'app.py': APP, 'test_app.py': TESTS}, passed=5)

    @unittest.skipUnless(HAS_DJANGO, 'django and pytest-django are not installed')
    def test_django_settings_that_import_rq_get_the_emulator(self):
        files = {
            'pytest.ini': '[pytest]\nDJANGO_SETTINGS_MODULE = proj.settings\n'
                          'addopts = -p rq_emulator\nfilterwarnings = error\n',
            'proj/__init__.py': '',
            'proj/settings.py': '''
                import rq
                RQ_QUEUE_CLASS = rq.Queue
                SECRET_KEY = 'test'
                INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth']
                DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}
                USE_TZ = True
            ''',
            'test_settings.py': '''
                import rq_emulator
                from django.conf import settings

                def test_settings_saw_the_emulator():
                    assert settings.RQ_QUEUE_CLASS is rq_emulator._RQQueue
            ''',
        }
        self.check(files, passed=1)


if __name__ == '__main__':
    unittest.main()
