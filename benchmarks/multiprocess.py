#!/usr/bin/env python
"""SQLite across processes: rq_emulator + SqliteStore against RQ 2.12 + redis-server.

    python benchmarks/multiprocess.py            # about 3 minutes on 2 cores
    python benchmarks/multiprocess.py --quick    # under a minute
    python benchmarks/multiprocess.py --reps 5 --out /tmp/mp

The way a user scales on one machine: N worker processes (1, 2, 4) on one
SqliteStore file (``python -m rq_emulator worker --db PATH``), against the same
number of ``rq worker -w rq.worker.SimpleWorker`` processes on a local
redis-server (both run jobs in the worker process; RQ's default forking
``Worker`` is measured too, for reference, on trivial jobs). Jobs are enqueued
by a separate process (``multiprocess.py --enqueue ...``).

Figures (medians over repetitions):

- jobs/s: the workers are started and idle; the enqueuer enqueues M jobs as fast
  as it can; from its first enqueue until the last job ended (each job returns
  ``time.time()`` at its end). Two kinds: ``noop`` and a 5 ms ``time.sleep``.
- enqueue -> start latency (ms, p50/p99), one idle worker process: the enqueuer
  records ``time.time()`` before each enqueue, with random gaps of 5-50 ms
  between jobs; the job returns ``time.time()`` when it runs.
- idle CPU: utime+stime (``/proc/<pid>/stat``) of one idle worker process over a
  few seconds, as a percentage of one core
  (``/proc/<pid>/task/*/schedstat`` when it exists: nanoseconds on a CPU).
"""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import run as run_benchmarks     # benchmarks/run.py: its redis-server helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUEUE = 'mp'
SYSTEMS = ['sqlite', 'rq', 'rq_fork']
LABELS = {'sqlite': 'rq_emulator + SqliteStore',
          'rq': 'RQ 2.12 + redis-server (SimpleWorker)',
          'rq_fork': 'RQ 2.12 + redis-server (forking Worker)'}


def params(quick):
    if quick:
        return dict(reps=1, counts=[1, 2, 4], noop=300, io_per_worker=60, fork_noop=60,
                    lat=40, idle=2.0)
    return dict(reps=3, counts=[1, 2, 4], noop=800, io_per_worker=120, fork_noop=120,
                lat=80, idle=3.0)


def pct(values, p):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ---------------------------------------------------------------------------
# The enqueuing process (a child of this script)
# ---------------------------------------------------------------------------

def connect(system, target):
    """(Queue, job fetcher) for the system; target is a SQLite path or a redis port."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    if system == 'sqlite':
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        import rq_emulator as m
        store = m.SqliteStore(target)
        q = m.Queue(QUEUE, connection=store)
        return q, lambda ids: m.Job.fetch_many(ids, connection=store)
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    conn = Redis(host='127.0.0.1', port=int(target))
    q = Queue(QUEUE, connection=conn)
    return q, lambda ids: Job.fetch_many(ids, connection=conn)


def ended(q):
    return q.finished_job_registry.count + q.failed_job_registry.count


def wait_ended(q, n, timeout=180):
    """Wait (polling another process's work, every 10 ms) until n jobs ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = ended(q)
        if done >= n:
            return
        time.sleep(0.01)
    raise RuntimeError('only %d of %d jobs ended within %s s' % (done, n, timeout))


def results_of(fetch, ids):
    jobs = fetch(ids)
    values = [j.return_value() if j is not None else None for j in jobs]
    bad = sum(1 for v in values if not isinstance(v, float))
    if bad:
        raise RuntimeError('%d of %d jobs have no result' % (bad, len(ids)))
    return values


def enqueue_main(system, target, kind, n):
    import mp_jobs
    q, fetch = connect(system, target)
    func = mp_jobs.noop_t if kind == 'noop' else mp_jobs.io5_t
    base = ended(q) + 1
    q.enqueue(func).id                          # warm the enqueue path
    wait_ended(q, base)
    t0 = time.time()
    ids = [q.enqueue(func).id for _ in range(n)]
    t1 = time.time()
    wait_ended(q, base + n)
    ends = results_of(fetch, ids)
    print(json.dumps({'t0': t0, 'enqueue_s': t1 - t0, 'total_s': max(ends) - t0, 'n': n}))


def latency_main(system, target, n):
    import mp_jobs
    q, fetch = connect(system, target)
    base = ended(q) + 1
    q.enqueue(mp_jobs.noop_t)
    wait_ended(q, base)
    rnd = random.Random(1)
    ids, sent = [], []
    for _ in range(n):
        time.sleep(rnd.uniform(0.005, 0.05))    # the worker is idle again by then
        t = time.time()
        ids.append(q.enqueue(mp_jobs.noop_t).id)
        sent.append(t)
    wait_ended(q, base + n)
    starts = results_of(fetch, ids)
    lat = [(s - t) * 1000 for s, t in zip(starts, sent)]
    print(json.dumps({'p50_ms': pct(lat, 50), 'p99_ms': pct(lat, 99), 'max_ms': max(lat), 'n': n}))


# ---------------------------------------------------------------------------
# The parent: redis-server, worker processes, orchestration
# ---------------------------------------------------------------------------

class RedisServer(run_benchmarks.RedisServer):
    """run.py's throw-away redis-server, emptied between measurements."""

    def flush(self):
        with socket.create_connection(('127.0.0.1', self.port), 2) as c:
            c.sendall(b'FLUSHALL\r\n')
            c.recv(16)


def worker_cmd(system, target):
    if system == 'sqlite':
        return [sys.executable, '-m', 'rq_emulator', 'worker', '--db', target, '-q',
                '-P', HERE, QUEUE]
    cls = 'rq.worker.SimpleWorker' if system == 'rq' else 'rq.worker.Worker'
    return [sys.executable, '-m', 'rq.cli', 'worker', '-u', 'redis://127.0.0.1:%s' % target,
            '-w', cls, '-q', '-P', HERE, QUEUE]


def worker_count(system, target):
    if system == 'sqlite':
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        import contextlib
        import rq_emulator as m
        with contextlib.closing(m.SqliteStore(target)) as store:
            return m.Worker.count(connection=store)
    from redis import Redis
    from rq import Worker
    conn = Redis(host='127.0.0.1', port=int(target))
    try:
        return Worker.count(connection=conn)
    finally:
        conn.close()


def start_workers(system, target, n):
    procs = [subprocess.Popen(worker_cmd(system, target), cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for _ in range(n)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:          # waiting for other processes to register
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError('worker exited with %s: %s' % (
                    p.returncode, p.stderr.read().decode(errors='replace')[-2000:]))
        if worker_count(system, target) >= n:
            time.sleep(0.3)                     # let them reach their idle wait
            return procs
        time.sleep(0.05)
    stop_workers(procs)
    raise RuntimeError('%d %s workers did not register within 30 s' % (n, system))


def stop_workers(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM if hasattr(signal, 'SIGTERM') else signal.SIGINT)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stderr.close()


def cpu_seconds(pid):
    """CPU time of a process, all threads (Linux /proc: schedstat in ns, else utime+stime); None elsewhere."""
    try:
        total = 0
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/schedstat' % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def idle_cpu(proc, seconds):
    a = cpu_seconds(proc.pid)
    if a is None:
        return None
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(proc.pid) - a) / seconds


def run_child(args, timeout=300):
    cmd = [sys.executable, os.path.abspath(__file__)] + [str(a) for a in args]
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if cp.returncode != 0:
        raise RuntimeError('%s failed: %s' % (' '.join(cmd[2:]), cp.stderr[-3000:]))
    return json.loads(cp.stdout.strip().splitlines()[-1])


def measure(system, count, p, redis, raw, log):
    """One repetition of one (system, worker count): throughput, and at 1 worker latency + idle CPU."""
    tmpdir = None
    if system == 'sqlite':
        tmpdir = tempfile.mkdtemp(prefix='rqe-mp-')
        target = os.path.join(tmpdir, 'jobs.sqlite3')
    else:
        redis.flush()
        target = redis.port
    try:
        procs = start_workers(system, target, count)
        try:
            if count == 1 and system != 'rq_fork':
                raw.setdefault((system, 'idle_cpu'), []).append(idle_cpu(procs[0], p['idle']))
                lat = run_child(['--latency', system, target, p['lat']])
                raw.setdefault((system, 'lat_p50'), []).append(lat['p50_ms'])
                raw.setdefault((system, 'lat_p99'), []).append(lat['p99_ms'])
            kinds = ['noop'] if system == 'rq_fork' else ['noop', 'io5']
            for kind in kinds:
                n = (p['fork_noop'] if system == 'rq_fork' else
                     p['noop'] if kind == 'noop' else p['io_per_worker'] * count)
                r = run_child(['--enqueue', system, target, kind, n])
                rate = r['n'] / r['total_s']
                raw.setdefault((system, '%s_%d' % (kind, count)), []).append(rate)
                raw.setdefault((system, 'enqueue_%s_%d' % (kind, count)), []).append(
                    r['n'] / r['enqueue_s'])
                log('  %-8s %d worker(s) %-4s %7.0f jobs/s  (enqueuer alone %7.0f/s)' % (
                    system, count, kind, rate, r['n'] / r['enqueue_s']))
        finally:
            stop_workers(procs)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def report(raw, systems, p, cmdline):
    med = {}
    for (system, fig), values in raw.items():
        values = [v for v in values if v is not None]
        med[(system, fig)] = statistics.median(values) if values else None

    def cell(system, fig, fmt):
        v = med.get((system, fig))
        return 'n/a' if v is None else fmt % v

    def ratio(fig, invert=False):
        a, b = med.get(('sqlite', fig)), med.get(('rq', fig))
        if not a or not b:
            return 'n/a'
        return '%.2f ×' % ((b / a) if invert else (a / b))

    lines = ['| figure | %s | %s | ratio | %s |' % (LABELS['sqlite'], LABELS['rq'], LABELS['rq_fork']),
             '|---|---|---|---|---|']
    for kind, label in (('noop', 'trivial jobs (`noop`)'), ('io5', '5 ms I/O jobs (`time.sleep(0.005)`)')):
        for c in p['counts']:
            fig = '%s_%d' % (kind, c)
            lines.append('| %s, %d worker process%s, jobs/s | %s | %s | %s | %s |' % (
                label, c, '' if c == 1 else 'es', cell('sqlite', fig, '%.0f'),
                cell('rq', fig, '%.0f'), ratio(fig),
                cell('rq_fork', fig, '%.0f') if kind == 'noop' else '–'))
    for fig, label in (('lat_p50', 'enqueue → start, p50 (ms)'), ('lat_p99', 'enqueue → start, p99 (ms)'),
                       ('idle_cpu', 'idle worker process CPU (% of a core)')):
        fmt = '%.2f' if fig == 'idle_cpu' else '%.1f'
        lines.append('| %s | %s | %s | %s | – |' % (label, cell('sqlite', fig, fmt),
                                                  cell('rq', fig, fmt), ratio(fig)))
    text = '\n'.join(lines)
    head = ('Medians of %d repetition(s); ratio = SqliteStore ÷ RQ (above 1: SqliteStore does '
            'more jobs/s, or has the higher latency / CPU). `%s` on %s, Python %s, %d CPUs.' % (
                p['reps'], cmdline, platform.platform(terse=True), platform.python_version(),
                os.cpu_count() or 0))
    return head + '\n\n' + text + '\n', med


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--reps', type=int)
    ap.add_argument('--out', default=os.path.join(HERE, 'results'))
    ap.add_argument('--systems', default=','.join(SYSTEMS), help='default: %(default)s')
    ap.add_argument('--counts', help='worker process counts (default: 1,2,4)')
    ap.add_argument('--enqueue', nargs=4, metavar=('SYSTEM', 'TARGET', 'KIND', 'N'))
    ap.add_argument('--latency', nargs=3, metavar=('SYSTEM', 'TARGET', 'N'))
    opts = ap.parse_args()
    if opts.enqueue:
        s, t, k, n = opts.enqueue
        return enqueue_main(s, t, k, int(n))
    if opts.latency:
        s, t, n = opts.latency
        return latency_main(s, t, int(n))

    p = params(opts.quick)
    if opts.reps:
        p['reps'] = opts.reps
    if opts.counts:
        p['counts'] = [int(c) for c in opts.counts.split(',')]
    systems = [s for s in opts.systems.split(',') if s]
    redis = RedisServer()
    if any(s != 'sqlite' for s in systems):
        if not redis.start():
            print('RQ skipped: %s' % redis.skip_reason)
            systems = [s for s in systems if s == 'sqlite']
    raw = {}
    began = time.monotonic()
    try:
        for rep in range(p['reps']):
            print('repetition %d/%d' % (rep + 1, p['reps']), flush=True)
            order = systems[rep % len(systems):] + systems[:rep % len(systems)]
            for count in p['counts']:
                for system in order:
                    measure(system, count, p, redis, raw, lambda s: print(s, flush=True))
    finally:
        redis.stop()
    cmdline = 'python benchmarks/multiprocess.py' + (' --quick' if opts.quick else '') + (
        ' --reps %d' % opts.reps if opts.reps else '')
    text, med = report(raw, systems, p, cmdline)
    text += '\nWall time %.0f s.\n' % (time.monotonic() - began)
    print()
    print(text)
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, 'multiprocess.md'), 'w') as f:
        f.write(text)
    with open(os.path.join(opts.out, 'multiprocess.json'), 'w') as f:
        json.dump({'params': p, 'systems': systems,
                   'medians': {'%s/%s' % k: v for k, v in med.items()},
                   'raw': {'%s/%s' % k: v for k, v in raw.items()}}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
