"""Statuses, to_dict(), get_result(), and what a failing job looks like."""
import json
import os
import sys

# Lets the example run from a checkout, from the repository root or from examples/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from rq_emulator import JobFailedError, MemoryStore, Queue, Worker


def multiply(a, b):
    return a * b


def divide(a, b):
    return a / b


store = MemoryStore()                          # private; Queue('x') alone uses the default store
queue = Queue('basic', connection=store)
good = queue.enqueue(multiply, 6, 7)
bad = queue.enqueue(divide, 1, 0)
print('before:', good.get_status().value, bad.get_status().value, 'queued jobs:', queue.count)

ran = Worker([queue]).work(burst=True)         # runs in this thread until the queue is empty
print('worker ran jobs:', ran)
print('after:', good.get_status().value, bad.get_status().value)
print('result:', good.get_result(timeout=1))   # 42

info = good.to_dict()
print('to_dict:', json.dumps({k: info[k] for k in ('description', 'status', 'result', 'origin')}))

try:
    bad.get_result(timeout=1)
except JobFailedError as exc:
    print('failed:', exc.job.exc_info.strip().splitlines()[-1])   # ZeroDivisionError: ...
