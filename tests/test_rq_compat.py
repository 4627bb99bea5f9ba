"""Optional compatibility tests: the same scenarios run on real RQ (on a throw-away
redis-server) and on rq_emulator after ``install_as_rq()``, and must observe the same things.

The scenarios live in ``tests/compat_scenarios.py`` (written once against the ``rq`` API); each
back-end runs them in a subprocess of its own, so real RQ and the emulator never share a
``sys.modules``.  These tests skip, with the reason, when real RQ (``pip install rq==2.12.0
redis``) or ``redis-server`` is missing; ``.ci/run`` installs both.  Set ``RQ_COMPAT_SKIP=1`` to
skip them on purpose (e.g. to check the skip path on a machine that has both).
"""

import importlib.machinery
import json
import os
import shutil
import socket
import subprocess
import sys
import unittest

from tests.base import slow_tier

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNNER = os.path.join(HERE, 'compat_scenarios.py')

# Scenarios where rq_emulator deliberately differs from RQ 2.12, with the reason.  They must
# still run without an error on both sides; their observations are reported, not compared.
KNOWN_DIFFERENCES = {
    'enqueue_at_past_without_scheduler': 'every emulator worker enqueues due scheduled '
                                         'jobs (RQ needs with_scheduler=True)',
    'sync_queue_failure': 'is_async=False runs through the worker path, so a failed '
                          'job gets ended_at (RQ leaves it None)',
    'delete_failed_job': 'job.delete() removes the job\'s results too (RQ leaves the results '
                         'stream behind until it expires)',
    'enqueue_explicit_args_kwargs': 'extra positional arguments with args= raise TypeError '
                                    '(RQ: a bare AssertionError)',
    'sync_queue_retry': 'is_async=False honours retry= (RQ ignores it)',
    'bad_inputs_rq_accepts': 'bad input is refused at the call: Worker([]), an unknown dequeue_strategy, ttl<=0 and '
                             'unique=True on an existing id in enqueue_in raise at the call '
                             '(RQ 2.12 accepts them or fails later)',
    'repeat_interval_order': 'the emulator uses Repeat intervals in the documented '
                             'order (first, second, ..., then the last again); RQ 2.12 code '
                             'consumes the list back to front',
    'bad_inputs_exception_types': 'a clear error is given, not always RQ\'s exact type '
                                  '(RQ gives AttributeError for some); bad_inputs_raise checks '
                                  'that each call raises',
}



def _extra_known_differences():
    """KNOWN_DIFFERENCES declared by the ``compat_scenarios_<area>.py`` files beside this one."""
    import ast
    import glob
    found = {}
    for path in sorted(glob.glob(os.path.join(HERE, 'compat_scenarios_*.py'))):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and getattr(node.targets[0], 'id', None) == 'KNOWN_DIFFERENCES'):
                found.update(ast.literal_eval(node.value))
    return found


KNOWN_DIFFERENCES.update(_extra_known_differences())

MIN_SCENARIOS = 65
REAL_SHARDS = 4  # real RQ is mostly waiting (pubsub thread joins), so run it in parallel
SUBPROCESS_TIMEOUT = 90


def _real_rq_available():
    """True when the real `rq` and `redis` packages are importable.

    Uses PathFinder so that an emulator installed in sys.modules by another test module
    (install_as_rq()) is not mistaken for the real package."""
    finder = importlib.machinery.PathFinder
    return finder.find_spec('rq') is not None and finder.find_spec('redis') is not None


def _skip_reason():
    if os.environ.get('RQ_COMPAT_SKIP'):
        return 'RQ_COMPAT_SKIP is set'
    if not _real_rq_available():
        return "real RQ is not installed (pip install 'rq==2.12.0' redis)"
    if shutil.which('redis-server') is None:
        return 'redis-server is not on PATH (apt-get install redis-server)'
    return None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _redis_answers(port):
    """One PING over a fresh connection; False while the server is not ready."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5) as s:
            s.settimeout(0.5)
            s.sendall(b'PING\r\n')
            return s.recv(16).startswith(b'+PONG')
    except OSError:
        return False


def _start_redis():
    """Starts redis-server on a free loopback port; returns (process, port)."""
    last_error = 'not started'
    for _ in range(3):  # the port picked may be taken between the probe and the start
        port = _free_port()
        proc = subprocess.Popen(
            [shutil.which('redis-server'), '--port', str(port), '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(200):  # bounded: about 10 s
            if _redis_answers(port):
                return proc, port
            try:
                proc.wait(timeout=0.05)  # doubles as the pause between attempts
            except subprocess.TimeoutExpired:
                continue
            last_error = proc.stdout.read().decode(errors='replace')[-500:]
            break
        else:
            proc.kill()
            proc.wait()
            last_error = 'redis-server did not answer PING within 10 s'
    raise RuntimeError('could not start redis-server: %s' % last_error)


def _launch(backend, port=None, shard=0, shards=1):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [ROOT, HERE] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    cmd = [sys.executable, RUNNER, '--backend', backend]
    if port is not None:
        cmd += ['--port', str(port), '--shard', '%d/%d' % (shard, shards), '--db', str(shard)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _collect(proc, backend):
    """Returns (observations, None) or (None, a message saying why there are none)."""
    try:
        out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, ('%s scenarios did not finish within %s s; stderr tail:\n%s'
                      % (backend, SUBPROCESS_TIMEOUT, err.decode(errors='replace')[-3000:]))
    if proc.returncode != 0:
        return None, ('%s scenarios exited %s; stderr tail:\n%s'
                      % (backend, proc.returncode, err.decode(errors='replace')[-3000:]))
    try:
        return json.loads(out.decode()), None
    except ValueError as e:
        return None, '%s scenarios printed no JSON (%s); stdout head: %r' % (backend, e, out[:300])


def _emulator_reason():
    path = os.path.join(ROOT, 'rq_emulator.py')
    if not os.path.exists(path):
        return 'rq_emulator.py does not exist yet'
    with open(path, encoding='utf-8') as f:
        if 'def install_as_rq' not in f.read():
            return 'rq_emulator.py has no install_as_rq() yet'
    return None


@slow_tier
@unittest.skipIf(_skip_reason() is not None, _skip_reason() or '')
class RQCompatibilityTest(unittest.TestCase):
    """Runs every scenario on real RQ and on the emulator and compares the observations."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.redis_proc, port = _start_redis()
        try:
            reals = [_launch('real', port, i, REAL_SHARDS) for i in range(REAL_SHARDS)]
            cls.emulator_reason = _emulator_reason()
            emu = None if cls.emulator_reason else _launch('emulator')
            cls.real, cls.real_error = {}, None
            for i, proc in enumerate(reals):
                part, error = _collect(proc, 'real RQ (shard %d)' % i)
                if error:
                    cls.real_error = cls.real_error or error
                else:
                    cls.real.update(part)
            cls.emulator, cls.emulator_error = (None, None) if emu is None else _collect(emu, 'emulator')
        except BaseException:
            cls._stop_redis()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop_redis()

    @classmethod
    def _stop_redis(cls):
        proc = getattr(cls, 'redis_proc', None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    def _need_emulator(self):
        if self.emulator_reason:
            self.skipTest(self.emulator_reason)
        if self.emulator_error:
            self.fail(self.emulator_error)

    def test_real_rq_runs_every_scenario(self):
        if self.real_error:
            self.fail(self.real_error)
        self.assertGreaterEqual(len(self.real), MIN_SCENARIOS)
        errors = {name: obs['error'] for name, obs in self.real.items()
                  if isinstance(obs, dict) and set(obs) == {'error'}}
        self.assertEqual(errors, {}, 'scenarios that fail on real RQ itself')

    def test_emulator_matches_real_rq(self):
        self._need_emulator()
        if self.real_error:
            self.skipTest('real RQ side did not run (see test_real_rq_runs_every_scenario)')
        self.assertEqual(sorted(self.emulator), sorted(self.real))
        for name in sorted(self.real):
            if name in KNOWN_DIFFERENCES:
                continue
            with self.subTest(scenario=name):
                self.assertEqual(self.emulator[name], self.real[name])

    def test_known_differences_run_on_both_sides(self):
        self._need_emulator()
        if self.real_error:
            self.skipTest('real RQ side did not run (see test_real_rq_runs_every_scenario)')
        for name in sorted(KNOWN_DIFFERENCES):
            with self.subTest(scenario=name):
                self.assertIn(name, self.real)
                for side in (self.real, self.emulator):
                    obs = side[name]
                    self.assertFalse(isinstance(obs, dict) and set(obs) == {'error'}, obs)


if __name__ == '__main__':
    unittest.main()
