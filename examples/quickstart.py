"""The seed example from the design document: enqueue a function, run a worker, get 15."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # run from a checkout

from rq_emulator import Queue, Worker, JobStatus


def add_numbers(a, b):
    return a + b


queue = Queue('default')
job = queue.enqueue(add_numbers, 5, 10)        # a function defined in __main__ works
worker = Worker([queue])
worker.start(burst=True)                       # background thread; drains and exits
assert job.get_result(timeout=5) == 15
print(job.get_result())                        # 15
assert job.get_status() == JobStatus.FINISHED
worker.stop()
