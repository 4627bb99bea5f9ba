#!/usr/bin/env python
"""How fast the dashboard pages a registry of 100,000 jobs (prints the figures).

    python benchmarks/dashboard_paging.py            # 100,000 jobs per registry
    python benchmarks/dashboard_paging.py --jobs 20000

For a MemoryStore and a SqliteStore it fills registries with N jobs, serves the
dashboard in-process (``serve_dashboard(port=0)``) and times, over HTTP, the
first, a middle and the last page (25 jobs) of each, as HTML and as JSON; then
the public calls one page is made of (``count``, ``get_job_ids(start, end,
desc=True)``, ``Job.fetch_many`` of 25 ids). Each figure is the median of 5.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import rq_emulator  # noqa: E402
from rq_emulator import Job, MemoryStore, Queue, SqliteStore, Worker  # noqa: E402

PER_PAGE = 25
REPEATS = 5


def median_ms(action):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def fill(store, jobs):
    """N queued jobs, N finished, N deferred, N canceled (each kind in its own queue)."""
    started = time.perf_counter()
    data = [Queue.prepare_data('builtins.divmod', (i, 7)) for i in range(jobs)]
    Queue('queued', connection=store).enqueue_many(data)
    finished = Queue('finished', connection=store)
    finished.enqueue_many(data)
    Worker([finished], connection=store).work(burst=True)
    parent = Queue('parent', connection=store).enqueue('builtins.divmod', 1, 1)
    deferred = [Queue.prepare_data('builtins.divmod', (i, 7), depends_on=parent)
                for i in range(jobs)]
    Queue('deferred', connection=store).enqueue_many(deferred)
    for job in Queue('canceled', connection=store).enqueue_many(data):
        job.cancel()
    print(f'  filled in {time.perf_counter() - started:.1f} s')


def measure(store, jobs, label):
    print(f'\n{label}: {jobs:,} jobs in each registry')
    fill(store, jobs)
    pages = -(-jobs // PER_PAGE)
    print(f'  {"registry":<10} {"page":>6}  {"HTML ms":>8}  {"JSON ms":>8}')
    with rq_emulator.serve_dashboard(connection=store, port=0) as server:
        for kind in ('queued', 'finished', 'deferred', 'canceled'):
            for page in (1, pages // 2, pages):
                path = f'queues/{kind}/{kind}?page={page}'
                html_ms = median_ms(lambda: urllib.request.urlopen(server.url + path).read())
                json_ms = median_ms(lambda: urllib.request.urlopen(server.url + 'api/' + path).read())
                print(f'  {kind:<10} {page:>6}  {html_ms:8.1f}  {json_ms:8.1f}')
    print('  the public calls of one page (finished registry, middle page):')
    registry = Queue('finished', connection=store).finished_job_registry
    start = (pages // 2) * PER_PAGE
    ids = registry.get_job_ids(start, start + PER_PAGE - 1, desc=True)
    for name, action in (
            ('registry.count', lambda: registry.count),
            ('get_job_ids(start, end, desc=True)',
             lambda: registry.get_job_ids(start, start + PER_PAGE - 1, desc=True, cleanup=False)),
            ('Job.fetch_many(25 ids)', lambda: Job.fetch_many(ids, connection=store)),
            ('queue.count', lambda: Queue('queued', connection=store).count),
            ('queue.get_job_ids(offset, 25)',
             lambda: Queue('queued', connection=store).get_job_ids(start, PER_PAGE))):
        print(f'    {name:<36} {median_ms(action):8.2f} ms')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=100_000)
    args = parser.parse_args()
    print(f'Python {sys.version.split()[0]}, rq_emulator {rq_emulator.__version__}')
    measure(MemoryStore(), args.jobs, 'MemoryStore')
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(os.path.join(tmp, 'jobs.db'))
        try:
            measure(store, args.jobs, 'SqliteStore')
        finally:
            store.close()


if __name__ == '__main__':
    main()
