"""The seed example from the design document: enqueue a function, run a worker, get 15."""
import os
import sys

# Lets the example run from a checkout, from the repository root or from examples/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from rq_emulator import Queue, Worker, JobStatus


def add_numbers(a, b):
    return a + b


queue = Queue('default')
job = queue.enqueue(add_numbers, 5, 10)        # a function defined in __main__ works
worker = Worker([queue])
worker.start(burst=True)                       # background thread; drains and exits
assert job.get_result(timeout=5) == 15
print(job.get_result())                        # 15
worker.stop()
