"""Schedule jobs: a live worker runs them when due; a ManualClock makes time jump."""
import os
import sys
import time
from datetime import datetime, timedelta, timezone

# Lets the example run from a checkout, from the repository root or from examples/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from rq_emulator import ManualClock, MemoryStore, Queue, Worker


def stamp(label):
    return f'{label} ran at {time.time():.3f}'


# Real time: a live worker's scheduler enqueues the job when it is due.
queue = Queue('real', connection=MemoryStore())
worker = Worker([queue])
worker.start()
start = time.time()
job = queue.enqueue_in(timedelta(seconds=0.2), stamp, 'in 0.2 s')
print('status:', job.get_status().value)                   # scheduled
job.get_result(timeout=5)
print(f'ran after {job.started_at.timestamp() - start:.2f} s')
worker.stop()

# Manual time: advance() releases due jobs at once, with no waiting and no worker.
clock = ManualClock(start=datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc))
queue = Queue('manual', connection=MemoryStore(clock=clock))
later = queue.enqueue_at(datetime(2030, 1, 1, 17, 0, tzinfo=timezone.utc), stamp, 'at 17:00')
clock.advance(timedelta(hours=7))
print('after 7 h:', later.get_status().value)               # still scheduled
clock.advance(timedelta(hours=1))
print('after 8 h:', later.get_status().value)               # queued
Worker([queue]).work(burst=True)
print('finished:', later.is_finished())
