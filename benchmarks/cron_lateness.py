#!/usr/bin/env python
"""How late a running CronScheduler enqueues its jobs, on the real clock.

    python benchmarks/cron_lateness.py            # about 20 s
    python benchmarks/cron_lateness.py --seconds 5

A scheduler started in a background thread enqueues four interval jobs (every
0.10, 0.13, 0.17 and 0.25 s) for ``--seconds`` on a MemoryStore, then again
on a SqliteStore. A run of an interval job is due ``interval`` seconds after
the previous enqueue; its lateness is the job's ``enqueued_at`` minus that due
time. Prints the count, p50, p99 and max lateness in milliseconds per store.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import rq_emulator  # noqa: E402
from cron_jobs import noop  # noqa: E402

INTERVALS = (0.10, 0.13, 0.17, 0.25)


def measure(store, seconds):
    scheduler = rq_emulator.CronScheduler(connection=store, name='bench')
    jobs = [scheduler.register(noop, 'cron-bench', args=(i,), interval=interval, name=f'j{i}')
            for i, interval in enumerate(INTERVALS)]
    scheduler.start(background=True)
    time.sleep(seconds)     # the benchmark's own measuring period, not a synchronisation
    assert scheduler.stop(timeout=5)
    late = []
    queue = rq_emulator.Queue('cron-bench', connection=store)
    for cron_job, interval in zip(jobs, INTERVALS):
        times = sorted(queue.fetch_job(job_id).enqueued_at.timestamp()
                       for job_id in cron_job.get_job_ids(store))
        late += [(b - a - interval) * 1000 for a, b in zip(times, times[1:])]
    late.sort()
    return {'runs': len(late), 'p50': statistics.median(late),
            'p99': late[min(len(late) - 1, int(len(late) * 0.99))], 'max': late[-1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stores = [('MemoryStore', rq_emulator.MemoryStore()),
                  ('SqliteStore', rq_emulator.SqliteStore(os.path.join(folder, 'cron.db')))]
        print(f'cron lateness, {args.seconds:g} s per store, intervals {INTERVALS} s')
        for name, store in stores:
            figures = measure(store, args.seconds)
            print(f'{name:<12} runs {figures["runs"]:>4}  p50 {figures["p50"]:.2f} ms  '
                  f'p99 {figures["p99"]:.2f} ms  max {figures["max"]:.2f} ms')


if __name__ == '__main__':
    main()
