#!/usr/bin/env python
"""Two ``cron`` processes on one SQLite file: every run is enqueued exactly once.

    python benchmarks/cron_two_processes.py                 # one minute
    python benchmarks/cron_two_processes.py --seconds 10

Starts ``python -m rq_emulator cron CONFIG --db FILE`` twice, 0.5 s apart, with one
job registered every second (``interval=1``), lets them run for ``--seconds``,
stops both with SIGINT, then reads the job's history from the file. Exactly
once means: no two runs less than 0.9 s apart (a run enqueued twice would show as
two runs milliseconds apart), none more than 1.5 s after the one before (no
run lost), the two processes' logs add up to the history, and both enqueued
some of the runs. Exits 1 when that does not hold.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import rq_emulator  # noqa: E402

CONFIG = """
from rq import cron
from cron_jobs import noop
cron.register(noop, queue_name='cron-two', interval=1, name='every-second')
"""


def run(seconds, folder):
    config = os.path.join(folder, 'cron_config.py')
    with open(config, 'w') as f:
        f.write(CONFIG)
    db = os.path.join(folder, 'cron.db')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, HERE]))
    command = [sys.executable, '-m', 'rq_emulator', 'cron', config, '--db', db]
    processes = []
    for _ in range(2):
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))   # logs: as RQ's
        time.sleep(0.5)     # start the second one half a second out of phase
    time.sleep(seconds)
    for process in processes:
        process.send_signal(signal.SIGINT)
    logs = [process.communicate(timeout=30)[0] for process in processes]
    store = rq_emulator.SqliteStore(db)
    queue = rq_emulator.Queue('cron-two', connection=store)
    ids = rq_emulator.cron.get_cron_job_ids('every-second', store)
    times = sorted(queue.fetch_job(job_id).enqueued_at.timestamp() for job_id in ids)
    store.close()
    per_process = [log.count('Enqueued job noop') for log in logs]
    return times, per_process, [process.returncode for process in processes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        times, per_process, codes = run(args.seconds, folder)
    gaps = [b - a for a, b in zip(times, times[1:])]
    ok = bool(gaps) and min(gaps) > 0.9 and max(gaps) < 1.5 and all(per_process) \
        and sum(per_process) == len(times)
    print(f'two cron processes, {args.seconds:g} s: {len(times)} runs enqueued '
          f'(per process {per_process}, exit codes {codes}); gaps between runs '
          f'min {min(gaps):.4f} s, max {max(gaps):.4f} s: '
          f'{"every run exactly once" if ok else "NOT exactly once"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
