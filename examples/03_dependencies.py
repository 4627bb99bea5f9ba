"""Chain jobs with depends_on; let a child run even when its parent fails."""
import os
import sys

# Lets the example run from a checkout, from the repository root or from examples/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from rq_emulator import Dependency, MemoryStore, Queue, Worker, get_current_job


def step(name):
    parents = get_current_job().dependency_ids
    print(f'running {name} (after {len(parents)} parent(s))')
    return name


def broken():
    raise RuntimeError('this parent fails')


queue = Queue('pipeline', connection=MemoryStore())
fetch = queue.enqueue(step, 'fetch')
parse = queue.enqueue(step, 'parse', depends_on=fetch)
store = queue.enqueue(step, 'store', depends_on=[parse.id])
print('parse is', parse.get_status().value, '- queued jobs:', queue.count)

parent = queue.enqueue(broken)
cleanup = queue.enqueue(step, 'cleanup', depends_on=Dependency(jobs=[parent], allow_failure=True))

Worker([queue]).work(burst=True)
for job in (fetch, parse, store, parent, cleanup):
    print(f'{job.description}: {job.get_status().value}')
