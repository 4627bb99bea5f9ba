"""job_timeout is honest: a job stuck in time.sleep fails on time and the worker moves on."""
import os
import sys
import time

# Lets the example run from a checkout, from the repository root or from examples/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from rq_emulator import MemoryStore, Queue, Worker


def stuck():
    time.sleep(30)                    # blocked in C code; no Python-level check could stop it


def quick():
    return 'quick job done'


queue = Queue('timeouts', connection=MemoryStore())
slow = queue.enqueue(stuck, job_timeout=1)
fast = queue.enqueue(quick)

began = time.monotonic()
worker = Worker([queue])
worker.start(burst=True)
print('next job:', fast.get_result(timeout=5))             # runs as soon as `slow` times out
print(f'both jobs done after {time.monotonic() - began:.1f} s')
print('slow job:', slow.get_status().value)
print(slow.exc_info.strip().splitlines()[-1])
worker.stop()
