"""Retry a flaky job (ManualClock makes the retry interval instant) and use callbacks."""
import os
import sys

# Lets the example run from a checkout, from the repository root or from examples/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from rq_emulator import ManualClock, MemoryStore, Queue, Retry, Worker

attempts = []


def flaky(name):
    attempts.append(name)
    if len(attempts) < 3:
        raise ConnectionError(f'attempt {len(attempts)} failed')
    return f'hello {name} after {len(attempts)} attempts'


def report_success(job, connection, result):
    print('on_success:', result)


def report_failure(job, connection, exc_type, exc_value, traceback):
    print('on_failure:', exc_type.__name__, exc_value)


clock = ManualClock()
queue = Queue('retry', connection=MemoryStore(clock=clock))
job = queue.enqueue(flaky, 'world', retry=Retry(max=3, interval=60),
                    on_success=report_success, on_failure=report_failure)
worker = Worker([queue])
for attempt in range(1, 4):
    worker.work(burst=True)                    # one attempt; a failure parks the job for 60 s
    print(f'attempt {attempt}:', job.get_status().value, '- retries left:', job.retries_left)
    clock.advance(60)                          # no real waiting: the retry is due at once
print('result:', job.get_result(timeout=1))
